// The blocking pool, and the count of work in it that lets the plugin host unload a library safely.
#include "mailwright/io/offload.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace mailwright::io {

namespace {
std::atomic<unsigned> configured_threads{8};

std::mutex idle_mutex;
std::condition_variable idle;
std::size_t in_flight = 0;  // guarded by idle_mutex; queued and running
std::atomic<std::size_t> running{0};
thread_local bool on_pool_thread = false;
}  // namespace

void set_blocking_threads(unsigned count) noexcept { configured_threads = count == 0 ? 1 : count; }

asio::thread_pool& blocking_pool() {
    static asio::thread_pool pool(configured_threads.load());
    return pool;
}

void detail::post_blocking(std::unique_ptr<blocking_job> job) {
    {
        std::lock_guard lock(idle_mutex);
        ++in_flight;
    }
    asio::post(blocking_pool(), [job = std::move(job)]() mutable {
        on_pool_thread = true;
        running.fetch_add(1, std::memory_order_relaxed);
        job->run();
        job.reset();  // the caller's code ends here; from now on only ours runs
        running.fetch_sub(1, std::memory_order_relaxed);
        std::lock_guard lock(idle_mutex);
        if (--in_flight == 0) {
            idle.notify_all();
        }
    });
}

blocking_load blocking_pool_load() noexcept {
    blocking_load load;
    load.running = running.load(std::memory_order_relaxed);
    {
        std::lock_guard lock(idle_mutex);
        load.queued = in_flight > load.running ? in_flight - load.running : 0;
    }
    load.threads = configured_threads.load();
    return load;
}

void wait_blocking_idle() {
    if (on_pool_thread) {
        return;  // a pool thread waiting for the pool would wait for itself
    }
    std::unique_lock lock(idle_mutex);
    idle.wait(lock, [] { return in_flight == 0; });
}

}  // namespace mailwright::io
