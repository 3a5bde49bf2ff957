// The per-thread buffer pool; see buffer_pool.hpp.
#include "mailwright/io/buffer_pool.hpp"

#include <string.h>

#include <algorithm>
#include <array>
#include <bit>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define MAILWRIGHT_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MAILWRIGHT_POOL_ASAN 1
#endif
#endif
#ifdef MAILWRIGHT_POOL_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace mailwright::io {

namespace {

constexpr std::size_t smallest = 512;
constexpr std::size_t largest = 64 * 1024;
constexpr std::size_t classes = 8;  // 512 ... 64 KiB
constexpr std::size_t held_per_class = 256 * 1024;

static_assert(smallest << (classes - 1) == largest);

std::size_t class_of(std::size_t size) noexcept {
    return static_cast<std::size_t>(std::countr_zero(std::bit_ceil(std::max(size, smallest)) / smallest));
}

// A buffer in the free list is poisoned under ASan, so a view that outlived its read is caught there too.
void poison(char* data, std::size_t size) noexcept {
#ifdef MAILWRIGHT_POOL_ASAN
    ASAN_POISON_MEMORY_REGION(data, size);
#else
    (void)data;
    (void)size;
#endif
}
void unpoison(char* data, std::size_t size) noexcept {
#ifdef MAILWRIGHT_POOL_ASAN
    ASAN_UNPOISON_MEMORY_REGION(data, size);
#else
    (void)data;
    (void)size;
#endif
}

struct free_lists {
    std::array<std::vector<char*>, classes> lists;
    ~free_lists();
};

// Trivially destructible, so still usable while the thread's other thread_local objects are destroyed: a
// buffer given back after the free lists are gone is freed at once.
thread_local bool lists_gone = false;
thread_local long in_use = 0;
thread_local free_lists pool;

free_lists::~free_lists() {
    lists_gone = true;
    for (std::size_t c = 0; c < classes; ++c) {
        for (char* data : lists[c]) {
            unpoison(data, smallest << c);
            delete[] data;
        }
    }
}

}  // namespace

pooled_buffer::pooled_buffer(std::size_t size) {
    ++in_use;
    if (size > largest) {
        data_ = new char[size];
        size_ = size;
        return;
    }
    const std::size_t c = class_of(size);
    size_ = smallest << c;
    if (!lists_gone && !pool.lists[c].empty()) {
        data_ = pool.lists[c].back();
        pool.lists[c].pop_back();
        unpoison(data_, size_);
        return;
    }
    data_ = new char[size_];
}

pooled_buffer& pooled_buffer::operator=(pooled_buffer&& other) noexcept {
    if (this != &other) {
        release();
        data_ = other.data_;
        size_ = other.size_;
        other.data_ = nullptr;
        other.size_ = 0;
    }
    return *this;
}

void pooled_buffer::release() noexcept {
    if (data_ == nullptr) {
        return;
    }
    --in_use;
    // explicit_bzero: a plain memset of memory about to be freed or reused could be optimised away.
    ::explicit_bzero(data_, size_);
    char* const data = data_;
    const std::size_t size = size_;
    data_ = nullptr;
    size_ = 0;
    if (size <= largest && !lists_gone) {
        auto& list = pool.lists[class_of(size)];
        if (list.size() * size < held_per_class) {
            try {
                list.push_back(data);
                poison(data, size);
                return;
            } catch (...) {  // no room to remember it: free it instead
            }
        }
    }
    delete[] data;
}

buffer_pool_stats buffer_pool_statistics() noexcept {
    buffer_pool_stats stats;
    stats.in_use = in_use;
    if (lists_gone) {
        return stats;
    }
    for (std::size_t c = 0; c < classes; ++c) {
        stats.held += pool.lists[c].size();
        stats.held_octets += pool.lists[c].size() * (smallest << c);
    }
    return stats;
}

}  // namespace mailwright::io
