// The verified-credentials cache: see the header.
#include "mailwright/sasl/credential_cache.hpp"

#include <cstdint>

#include "mailwright/sasl/crypto.hpp"

namespace mailwright::sasl {

namespace {
// Each part as its length (8 octets, big-endian) and its octets: ("ab", "c") and ("a", "bc") differ.
void append_part(std::string& out, std::string_view part) {
    auto size = static_cast<std::uint64_t>(part.size());
    for (int shift = 56; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((size >> shift) & 0xff));
    }
    out.append(part);
}
}  // namespace

credential_cache::credential_cache(options o, std::function<clock::time_point()> now)
    : mac_key_(random_bytes(32)), now_(std::move(now)), options_(o) {}

credential_cache::~credential_cache() { wipe(mac_key_); }

bool credential_cache::enabled() const noexcept {
    std::lock_guard lock(mutex_);
    return options_.ttl.count() > 0 && options_.size > 0;
}

std::string credential_cache::key_of(std::string_view user, std::string_view password, std::string_view stored) const {
    if (!enabled()) {
        return {};
    }
    std::string input;
    input.reserve(24 + user.size() + password.size() + stored.size());
    append_part(input, user);
    append_part(input, password);
    append_part(input, stored);
    auto mac = hmac(digest::sha256, mac_key_, input);
    wipe(input);  // it holds the password
    return mac;
}

void credential_cache::drop_expired_locked(clock::time_point now) {
    while (!order_.empty() && order_.front().expires <= now) {
        index_.erase(order_.front().key);
        order_.pop_front();
    }
}

bool credential_cache::lookup(const std::string& key) {
    const auto now = now_();
    std::lock_guard lock(mutex_);
    const auto found = key.empty() ? index_.end() : index_.find(key);
    if (found == index_.end()) {
        ++stats_.misses;
        return false;
    }
    if (const auto it = found->second; it->expires <= now) {
        index_.erase(found);  // first: its key is a view into the entry
        order_.erase(it);
        ++stats_.misses;
        return false;
    }
    ++stats_.hits;
    return true;
}

std::size_t credential_cache::remember(const std::string& key) {
    const auto now = now_();
    std::lock_guard lock(mutex_);
    if (key.empty() || options_.ttl.count() <= 0 || options_.size == 0) {
        return 0;
    }
    drop_expired_locked(now);
    if (const auto found = index_.find(key); found != index_.end()) {
        const auto it = found->second;  // verified again: it starts a new ttl, at the young end
        index_.erase(found);
        order_.erase(it);
    }
    std::size_t evicted = 0;
    while (order_.size() >= options_.size) {
        index_.erase(order_.front().key);
        order_.pop_front();
        ++evicted;
    }
    order_.push_back(entry{key, now + options_.ttl});
    index_.emplace(order_.back().key, std::prev(order_.end()));
    stats_.evictions += evicted;
    return evicted;
}

void credential_cache::configure(options o) {
    std::lock_guard lock(mutex_);
    const bool keep = o.ttl == options_.ttl && o.size >= order_.size() && o.size > 0 && o.ttl.count() > 0;
    options_ = o;
    if (!keep) {
        index_.clear();
        order_.clear();
    }
}

void credential_cache::clear() {
    std::lock_guard lock(mutex_);
    index_.clear();
    order_.clear();
}

credential_cache::stats credential_cache::statistics() const {
    std::lock_guard lock(mutex_);
    auto s = stats_;
    s.entries = order_.size();
    return s;
}

}  // namespace mailwright::sasl
