// The rate-limit engine: keys and verdicts (limiter.hpp); the buckets themselves are in bucket_table.cpp.
#include "limiter.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace mailwright::ratelimit {

namespace {

constexpr std::array<scope, scope_kinds> all_scopes{scope::client, scope::network, scope::user, scope::sender};

// The client's address as bytes: 4 for IPv4 (also when it came as ::ffff:a.b.c.d), 16 for IPv6, 0 when it is
// not a numeric address (then the text itself is the key).
struct address_bytes {
    unsigned char data[16] = {};
    std::size_t size = 0;
};

address_bytes parse_address(std::string_view text) noexcept {
    address_bytes out;
    char buffer[INET6_ADDRSTRLEN + 1] = {};
    if (text.size() >= sizeof buffer) {
        return out;
    }
    std::memcpy(buffer, text.data(), text.size());
    if (inet_pton(AF_INET, buffer, out.data) == 1) {
        out.size = 4;
    } else if (inet_pton(AF_INET6, buffer, out.data) == 1) {
        static constexpr unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(out.data, mapped, sizeof mapped) == 0) {
            std::memmove(out.data, out.data + 12, 4);
            out.size = 4;
        } else {
            out.size = 16;
        }
    }
    return out;
}

void feed_address(keyed_hash& h, std::string_view text, bool network) noexcept {
    const address_bytes a = parse_address(text);
    if (a.size == 0) {
        h.byte('t');
        h.bytes(text);
        return;
    }
    // The family tag keeps an IPv4 /24 apart from an IPv6 prefix that happens to begin with the same bytes.
    h.byte(a.size == 4 ? '4' : '6');
    const std::size_t kept = network ? (a.size == 4 ? 3 : 8) : a.size;
    h.bytes(std::string_view(reinterpret_cast<const char*>(a.data), kept));
}

}  // namespace

std::string_view to_string(counted what) noexcept {
    switch (what) {
        case counted::connections:
            return "connections";
        case counted::messages:
            return "messages";
        case counted::recipients:
            return "recipients";
    }
    return "?";
}

std::string_view to_string(scope by) noexcept {
    switch (by) {
        case scope::client:
            return "client";
        case scope::network:
            return "network";
        case scope::user:
            return "user";
        case scope::sender:
            return "sender";
    }
    return "?";
}

bool rules::any() const noexcept {
    return std::any_of(rates.begin(), rates.end(), [](const auto& row) {
        return std::any_of(row.begin(), row.end(), [](const rate& r) { return r.count > 0; });
    });
}

limiter::limiter(const rules& configured, const hash_key& key)
    : rules_(configured), key_(key), table_(configured.slots) {}

std::uint64_t limiter::hash(counted what, scope by, const subject& who) const noexcept {
    keyed_hash h(key_);
    // Each rule has buckets of its own: the tag keeps a client's connections apart from its messages.
    h.byte(static_cast<unsigned char>(static_cast<std::size_t>(what) * scope_kinds + static_cast<std::size_t>(by)));
    switch (by) {
        case scope::client:
        case scope::network:
            feed_address(h, who.address, by == scope::network);
            break;
        case scope::user:
            h.bytes(who.user);
            break;
        case scope::sender:
            h.bytes_lowercase(who.sender);
            break;
    }
    return h.finish();
}

verdict limiter::take(counted what, const subject& who, std::chrono::nanoseconds now) noexcept {
    struct token {
        std::uint64_t hash;
        scope by;
    };
    std::array<token, scope_kinds> taken{};
    std::size_t taken_count = 0;
    for (const scope by : all_scopes) {
        const rate& r = rules_.at(what, by);
        const bool has_key = (by == scope::user && !who.user.empty()) || (by == scope::sender && !who.sender.empty()) ||
                             by == scope::client || by == scope::network;
        if (r.count == 0 || !has_key) {
            continue;
        }
        const std::uint64_t h = hash(what, by, who);
        const auto wait = table_.take(h, r, now);
        if (wait.count() > 0) {
            // Undo the earlier rules' takes: they were counted for an event that does not happen.
            for (std::size_t i = 0; i < taken_count; ++i) {
                table_.give_back(taken[i].hash, rules_.at(what, taken[i].by));
            }
            return verdict{false, by, wait};
        }
        taken[taken_count++] = token{h, by};
    }
    return verdict{};
}

}  // namespace mailwright::ratelimit
