// A fixed table of token buckets shared by every worker thread, updated without a lock.
//
// Theory of operation. Each bucket is one std::atomic<uint64_t> holding a "theoretical arrival time" (the
// generic cell rate algorithm, GCRA, ITU-T I.371): the instant at which the bucket would be full again, in
// nanoseconds of the limiter's clock. For a rate of `count` per `interval`, a token is worth
// T = interval / count (rounded up), and the bucket is full when that instant lies in the past. Taking a
// token moves it T later; a take that would move it more than count * T past now finds the bucket empty, and
// the client can retry once it is back within reach. This is exactly a token bucket of capacity `count`
// refilled continuously at `count` per `interval`, kept in a single word, so one compare-exchange updates it:
// no lock, no torn state, and a take lost to a race simply retries with the value it saw.
//
// Buckets are found by a keyed hash of the key (keyed_hash.hpp), not stored with it: two keys whose hashes
// land in the same slot share a bucket. A slot's value only ever moves later (except give_back(), which undoes
// exactly what its own take did), so sharing only errs on the strict side: a key sees its bucket at most as
// full as it would be alone. Size the table for the keys an interval sees (`slots`).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace mailwright::ratelimit {

// `count` events per `interval`.
struct rate {
    std::uint32_t count = 0;
    std::chrono::nanoseconds interval{0};
};

class bucket_table {
  public:
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "the hot path must not take a lock");

    explicit bucket_table(std::size_t slots);

    std::size_t size() const noexcept { return slots_; }

    // Takes one token from the bucket of `hash` at `now` (nanoseconds of a monotonic clock). Returns zero if
    // it was taken, else how long until one can be.
    std::chrono::nanoseconds take(std::uint64_t hash, const rate& r, std::chrono::nanoseconds now) noexcept;

    // Puts back the token a take() of the same hash and rate took (a later rule refused the event).
    void give_back(std::uint64_t hash, const rate& r) noexcept;

  private:
    std::atomic<std::uint64_t>& slot(std::uint64_t hash) noexcept;

    std::size_t slots_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> table_;
};

}  // namespace mailwright::ratelimit
