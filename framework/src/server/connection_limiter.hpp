// Global and per-client-address connection limits, shared by all worker threads.
//
// Synchronization: one mutex around a small hash map. It is taken twice per connection (accept and close),
// never while doing I/O, so at the ~25,000 connections/s a 2-core machine can accept it is not contended
// enough to matter, and it is obviously correct. IPv4 addresses are counted as their IPv4-mapped IPv6 form
// so a dual-stack client cannot double its allowance. IPv6 addresses are counted by their prefix (a /64 by
// default, Dovecot groups its penalties by /48): a single host is routinely handed a whole /64, and would
// otherwise own 2^64 allowances.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <unordered_map>

namespace mailwright::server {

using address_key = std::array<unsigned char, 16>;

struct address_key_hash {
    std::size_t operator()(const address_key& key) const noexcept;
};

class connection_limiter {
  public:
    enum class verdict { accepted, too_many_total, too_many_from_address };

    // `ipv6_prefix`: how many leading bits of an IPv6 address name the group that max_per_address counts
    // (1-128); IPv4 addresses always count one by one.
    connection_limiter(std::size_t max_total, std::size_t max_per_address, unsigned ipv6_prefix = 64)
        : max_total_(max_total), max_per_address_(max_per_address), ipv6_prefix_(ipv6_prefix) {}

    // On accepted, the caller owns one slot and must release() it exactly once, with the same address.
    verdict try_acquire(const address_key& address);
    void release(const address_key& address);

    // The group an address is counted in: an IPv4-mapped address itself, an IPv6 address its prefix.
    address_key group_of(const address_key& address) const noexcept;

    std::size_t total() const;

    // New limits for the connections to come (a reload); the ones open stay open.
    void set_limits(std::size_t max_total, std::size_t max_per_address);

  private:
    std::size_t max_total_;
    std::size_t max_per_address_;
    const unsigned ipv6_prefix_;
    mutable std::mutex mutex_;
    std::size_t total_ = 0;
    std::unordered_map<address_key, std::size_t, address_key_hash> per_address_;
};

}  // namespace mailwright::server
