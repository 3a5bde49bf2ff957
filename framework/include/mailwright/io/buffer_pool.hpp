// Storage for buffers a session needs only while it reads or writes: line buffers and TLS record buffers.
// An idle session (waiting for its client's next command) gives its buffers back, so that a hundred thousand
// idle connections cost their sockets and their state, not their buffers.
//
// Each thread keeps its own free list (a session never leaves its worker thread, so no lock is needed),
// in power-of-two size classes from 512 octets to 64 KiB; a larger buffer is allocated and freed as it is.
// The free list is bounded, 256 KiB per size class, so a burst of activity does not pin its memory for good.
// Every buffer is wiped before it is given back: a password read into a line buffer never reaches another
// session (nor a core dump) through the pool.
#pragma once

#include <cstddef>

namespace mailwright::io {

class pooled_buffer {
  public:
    pooled_buffer() noexcept = default;
    // Takes a buffer of at least `size` octets from this thread's pool (its contents are unspecified).
    explicit pooled_buffer(std::size_t size);
    pooled_buffer(pooled_buffer&& other) noexcept : data_(other.data_), size_(other.size_) {
        other.data_ = nullptr;
        other.size_ = 0;
    }
    pooled_buffer& operator=(pooled_buffer&& other) noexcept;
    pooled_buffer(const pooled_buffer&) = delete;
    pooled_buffer& operator=(const pooled_buffer&) = delete;
    ~pooled_buffer() { release(); }

    // Wipes the buffer and gives it back to this thread's pool; the buffer is empty afterwards.
    void release() noexcept;

    char* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }  // at least what was asked for
    bool empty() const noexcept { return data_ == nullptr; }

  private:
    char* data_ = nullptr;
    std::size_t size_ = 0;
};

// This thread's pool, for tests and diagnostics.
struct buffer_pool_stats {
    long in_use = 0;              // buffers taken on this thread and not given back
    std::size_t held = 0;         // free buffers kept for reuse
    std::size_t held_octets = 0;  // their total size
};
buffer_pool_stats buffer_pool_statistics() noexcept;

}  // namespace mailwright::io
