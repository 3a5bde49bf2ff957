// The lock-free GCRA bucket table: see bucket_table.hpp for the theory of operation.
#include "bucket_table.hpp"

#include <algorithm>

namespace mailwright::ratelimit {

namespace {

// One token's worth of time, rounded up so that `count` tokens never refill faster than configured.
std::uint64_t token_time(const rate& r) noexcept {
    const auto interval = static_cast<std::uint64_t>(r.interval.count());
    return std::max<std::uint64_t>(1, (interval + r.count - 1) / r.count);
}

}  // namespace

bucket_table::bucket_table(std::size_t slots)
    : slots_(std::max<std::size_t>(1, slots)), table_(new std::atomic<std::uint64_t>[slots_]) {
    for (std::size_t i = 0; i < slots_; ++i) {
        table_[i].store(0, std::memory_order_relaxed);  // an instant long past: every bucket starts full
    }
}

std::atomic<std::uint64_t>& bucket_table::slot(std::uint64_t hash) noexcept {
    // The hash is keyed and uniform, so the remainder spreads keys evenly over a table of any size.
    const auto index = static_cast<std::size_t>(hash % slots_);
    return table_[index];
}

std::chrono::nanoseconds bucket_table::take(std::uint64_t hash, const rate& r, std::chrono::nanoseconds now) noexcept {
    const std::uint64_t t = token_time(r);
    const std::uint64_t burst = t * r.count;  // how far ahead of now a full-to-empty bucket reaches
    const auto at = static_cast<std::uint64_t>(std::max<std::int64_t>(0, now.count()));
    auto& cell = slot(hash);
    // Relaxed is enough: the slot is the whole state, and nothing else is published through it.
    std::uint64_t seen = cell.load(std::memory_order_relaxed);
    for (;;) {
        const std::uint64_t next = std::max(seen, at) + t;
        if (next - at > burst) {
            return std::chrono::nanoseconds(static_cast<std::int64_t>(next - at - burst));
        }
        if (cell.compare_exchange_weak(seen, next, std::memory_order_relaxed)) {
            return std::chrono::nanoseconds(0);
        }
    }
}

void bucket_table::give_back(std::uint64_t hash, const rate& r) noexcept {
    const std::uint64_t t = token_time(r);
    auto& cell = slot(hash);
    std::uint64_t seen = cell.load(std::memory_order_relaxed);
    while (!cell.compare_exchange_weak(seen, seen >= t ? seen - t : 0, std::memory_order_relaxed)) {
    }
}

}  // namespace mailwright::ratelimit
