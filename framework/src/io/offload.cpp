// The blocking pool.
#include "mailwright/io/offload.hpp"

#include <atomic>

namespace mailwright::io {

namespace {
std::atomic<unsigned> configured_threads{8};
}

void set_blocking_threads(unsigned count) noexcept { configured_threads = count == 0 ? 1 : count; }

asio::thread_pool& blocking_pool() {
    static asio::thread_pool pool(configured_threads.load());
    return pool;
}

}  // namespace mailwright::io
