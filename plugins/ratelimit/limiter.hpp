// The rate-limit engine: which buckets an event takes a token from, and the verdict. No I/O and no clock of
// its own (the caller passes `now`), so the unit tests drive it through hours in no time.
//
// An event (a connection, a message, a recipient) is counted against every rule configured for its kind, in
// the order client, network, user, sender; the first rule whose bucket is empty refuses it, and the tokens
// the earlier rules took are given back, so a refused event costs nothing. Keys:
//   client   the client's IP address (an IPv4-mapped IPv6 address counts as the IPv4 one)
//   network  its /24 (IPv4) or /64 (IPv6): one host seldom has a single address, a subnet is the unit
//   user     the authenticated user, as the auth backend named it
//   sender   the MAIL FROM address, ASCII case folded (a sender cannot slip past by changing case); the null
//            reverse-path <> is never limited by sender, since every bounce carries it
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <string_view>

#include "bucket_table.hpp"
#include "keyed_hash.hpp"

namespace mailwright::ratelimit {

enum class counted { connections, messages, recipients };
enum class scope { client, network, user, sender };
inline constexpr std::size_t counted_kinds = 3;
inline constexpr std::size_t scope_kinds = 4;

std::string_view to_string(counted what) noexcept;  // "connections", ...
std::string_view to_string(scope by) noexcept;      // "client", ...

// What is configured: a rate per kind of event and scope; a count of 0 is no limit.
struct rules {
    std::size_t slots = 65536;
    std::array<std::array<rate, scope_kinds>, counted_kinds> rates{};

    rate& at(counted what, scope by) noexcept {
        return rates[static_cast<std::size_t>(what)][static_cast<std::size_t>(by)];
    }
    const rate& at(counted what, scope by) const noexcept {
        return rates[static_cast<std::size_t>(what)][static_cast<std::size_t>(by)];
    }
    bool any() const noexcept;
};

// Who an event is counted for. Views, valid for the call.
struct subject {
    std::string_view address;  // the client's numeric IP address
    std::string_view user;     // the authenticated user; empty: none
    std::string_view sender;   // the reverse-path; empty: none yet, or <>
};

struct verdict {
    bool allowed = true;
    scope by = scope::client;                 // the rule that refused
    std::chrono::nanoseconds retry_after{0};  // when a token will be there again
};

class limiter {
  public:
    limiter(const rules& configured, const hash_key& key);

    // Counts one event at `now` (a monotonic clock, any origin, never going back). Thread-safe, lock-free.
    verdict take(counted what, const subject& who, std::chrono::nanoseconds now) noexcept;

    const rules& configured() const noexcept { return rules_; }

  private:
    std::uint64_t hash(counted what, scope by, const subject& who) const noexcept;

    rules rules_;
    hash_key key_;
    bucket_table table_;
};

}  // namespace mailwright::ratelimit
