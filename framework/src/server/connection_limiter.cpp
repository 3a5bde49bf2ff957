// connection_limiter: see the header for the synchronization rule.
#include "connection_limiter.hpp"

#include <cstring>

namespace mailwright::server {

std::size_t address_key_hash::operator()(const address_key& key) const noexcept {
    std::size_t h = 1469598103934665603ull;  // FNV-1a: the map holds at most max_connections entries
    for (unsigned char c : key) {
        h = (h ^ c) * 1099511628211ull;
    }
    return h;
}

address_key connection_limiter::group_of(const address_key& address) const noexcept {
    static constexpr unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(address.data(), v4_mapped, sizeof v4_mapped) == 0 || ipv6_prefix_ >= 128) {
        return address;
    }
    address_key group{};
    const unsigned whole = ipv6_prefix_ / 8;
    std::memcpy(group.data(), address.data(), whole);
    if (const unsigned bits = ipv6_prefix_ % 8; bits != 0) {
        group[whole] = static_cast<unsigned char>(address[whole] & (0xff << (8 - bits)));
    }
    return group;
}

connection_limiter::verdict connection_limiter::try_acquire(const address_key& key) {
    const address_key address = group_of(key);
    std::lock_guard lock(mutex_);
    if (total_ >= max_total_) {
        return verdict::too_many_total;
    }
    auto& count = per_address_[address];
    if (count >= max_per_address_) {
        if (count == 0) {
            per_address_.erase(address);
        }
        return verdict::too_many_from_address;
    }
    ++count;
    ++total_;
    return verdict::accepted;
}

void connection_limiter::release(const address_key& key) {
    const address_key address = group_of(key);
    std::lock_guard lock(mutex_);
    auto it = per_address_.find(address);
    if (it == per_address_.end()) {
        return;
    }
    --total_;
    if (--it->second == 0) {
        per_address_.erase(it);
    }
}

void connection_limiter::set_limits(std::size_t max_total, std::size_t max_per_address) {
    std::lock_guard lock(mutex_);
    max_total_ = max_total;
    max_per_address_ = max_per_address;
}

std::size_t connection_limiter::total() const {
    std::lock_guard lock(mutex_);
    return total_;
}

}  // namespace mailwright::server
