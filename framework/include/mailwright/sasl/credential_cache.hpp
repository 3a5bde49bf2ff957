// The verified-credentials cache (after Dovecot's auth cache): after a password matched its stored hash, a
// keyed MAC of (user, password, stored hash) is kept until it expires, and a login that brings the same three
// again is a match without hashing. Safe by construction:
//  - only matches are remembered; a wrong password is hashed every time, so guessing is never cheaper;
//  - the stored hash is part of the key: a changed password (file edited, row updated) misses at once;
//  - what is kept is HMAC-SHA-256 under a random key made for this process (wolfCrypt's RNG), never the
//    password; the three parts are length-prefixed, so no two different triples give one input;
//  - an entry lives `ttl` from the verification that made it (a hit does not extend it), and the oldest
//    entries go first when `size` is reached.
// What it costs: while an entry lives, someone who can read the process's memory (key and MACs) can test
// guesses of that user's password at HMAC speed instead of the hash's. `ttl` = 0 or `size` = 0 turns it off.
//
// Thread-safe (one mutex): every worker thread looks up and remembers. Plugins do not use it directly: they
// call sasl::check_password() (check_password.hpp), which does lookup, hashing and remembering in order.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailwright::sasl {

class credential_cache {
  public:
    using clock = std::chrono::steady_clock;
    struct options {
        std::chrono::milliseconds ttl{std::chrono::minutes(5)};
        std::size_t size = 10000;  // entries
    };
    struct stats {
        std::uint64_t hits = 0;
        std::uint64_t misses = 0;
        std::uint64_t evictions = 0;  // entries dropped for room (not for expiry)
        std::size_t entries = 0;
    };

    // `now` is the time source (tests pass their own clock).
    explicit credential_cache(options o, std::function<clock::time_point()> now = clock::now);
    credential_cache(const credential_cache&) = delete;
    credential_cache& operator=(const credential_cache&) = delete;
    ~credential_cache();  // wipes the key

    bool enabled() const noexcept;
    // The MAC a check is filed under. Empty when the cache is off (then nothing is computed).
    std::string key_of(std::string_view user, std::string_view password, std::string_view stored) const;
    // Whether `key` was remembered and has not expired (counts a hit or a miss; an expired entry is dropped).
    bool lookup(const std::string& key);
    // Files a verified match; returns how many older entries were evicted for room.
    std::size_t remember(const std::string& key);

    // New limits: entries are kept when the ttl stays and the size allows, else all are dropped.
    void configure(options o);
    void clear();
    stats statistics() const;

  private:
    struct entry {
        std::string key;
        clock::time_point expires;
    };
    void drop_expired_locked(clock::time_point now);

    std::string mac_key_;  // random, per cache; never leaves this object
    std::function<clock::time_point()> now_;
    mutable std::mutex mutex_;
    options options_;
    std::list<entry> order_;  // oldest first; with one ttl for all, also soonest to expire first
    std::unordered_map<std::string_view, std::list<entry>::iterator> index_;  // views into order_'s keys
    stats stats_;
};

}  // namespace mailwright::sasl
