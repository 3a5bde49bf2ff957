// failure_penalty: see the header.
#include "mailwright/sasl/penalty.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace mailwright::sasl {

std::string failure_penalty::address_key(std::string_view address) {
    const std::string text(address);
    in6_addr v6{};
    if (text.find(':') != std::string::npos && ::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
        std::memset(v6.s6_addr + 6, 0, 10);  // keep the /48
        char out[INET6_ADDRSTRLEN];
        ::inet_ntop(AF_INET6, &v6, out, sizeof out);
        return std::string("ip:") + out + "/48";
    }
    return "ip:" + text;
}

unsigned failure_penalty::bump(const std::string& key, clock::time_point now) {
    auto& e = entries_[key];
    if (e.failures != 0 && now - e.last > options_.forget_after) {
        e.failures = 0;
    }
    e.failures = std::min(e.failures + 1, 64u);
    e.last = now;
    return e.failures;
}

void failure_penalty::evict_if_full() {
    while (entries_.size() > options_.max_entries) {
        auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                       [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
        entries_.erase(oldest);
    }
}

std::chrono::milliseconds failure_penalty::failed(std::string_view address, std::string_view user) {
    const auto now = now_();
    std::lock_guard lock(mutex_);
    const unsigned by_address = bump(address_key(address), now);
    const unsigned by_user = user.empty() ? 0 : bump("user:" + std::string(user), now);
    evict_if_full();
    const unsigned failures = std::max(by_address, by_user);
    auto delay = options_.initial;
    for (unsigned i = 1; i < failures && delay < options_.maximum; ++i) {
        delay *= 2;
    }
    return std::min(delay, options_.maximum);
}

void failure_penalty::succeeded(std::string_view address, std::string_view user) {
    std::lock_guard lock(mutex_);
    entries_.erase(address_key(address));
    entries_.erase("user:" + std::string(user));
}

}  // namespace mailwright::sasl
