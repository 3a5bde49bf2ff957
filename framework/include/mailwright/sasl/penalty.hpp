// Penalties for failed logins, shared by every session of the process (after Dovecot's auth_failure_delay:
// 2 s doubling to 15 s). A failed attempt is answered only after a delay that grows with the recent
// failures of its client address (IPv6 grouped by /48, which one subscriber usually owns) and of the user
// name it tried; a success is never slowed and clears both. Entries are forgotten after a quiet period and
// the table is bounded, so a flood of addresses cannot exhaust memory.
//
// Synchronization: one mutex around the table, taken once per failed or successful login.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailwright::sasl {

class failure_penalty {
  public:
    using clock = std::chrono::steady_clock;

    struct options {
        std::chrono::milliseconds initial{2000};
        std::chrono::milliseconds maximum{15000};
        std::chrono::seconds forget_after{900};  // a quarter of an hour without failures resets the count
        std::size_t max_entries = 100'000;       // oldest entries go first beyond this
    };

    failure_penalty() : failure_penalty(options{}) {}
    explicit failure_penalty(options o, std::function<clock::time_point()> now = clock::now)
        : options_(o), now_(std::move(now)) {}

    // Records a failure and returns how long to wait before answering it.
    std::chrono::milliseconds failed(std::string_view address, std::string_view user);
    // A success clears the address's and the user's record.
    void succeeded(std::string_view address, std::string_view user);

    // The key an address is counted under: IPv4 as is, IPv6 by its first 48 bits.
    static std::string address_key(std::string_view address);

  private:
    struct entry {
        unsigned failures = 0;
        clock::time_point last;
    };

    unsigned bump(const std::string& key, clock::time_point now);
    void evict_if_full();

    options options_;
    std::function<clock::time_point()> now_;
    std::mutex mutex_;
    std::unordered_map<std::string, entry> entries_;
};

}  // namespace mailwright::sasl
