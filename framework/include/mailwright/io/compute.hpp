// CPU work (password hashing, signature checks, key derivation) runs on a pool of its own, apart from the
// blocking pool of io::offload() that does file I/O and fsync: a burst of logins cannot hold up deliveries
// behind its hashes, and a slow disk cannot hold up logins. The pool is bounded twice: `threads` jobs run,
// `queue` more wait for a thread. A caller that finds both full waits (on a timer of its own executor, never
// blocking its thread) up to `wait` for a place, first come first served; after that compute() answers busy,
// and the caller answers a temporary failure (an auth backend: auth_status::tempfail). An overloaded server
// thus says "try later" at once instead of letting every login wait for minutes.
//
//     auto work = [stored, password] { return sasl::verify_password(stored, password); };
//     auto done = co_await io::compute(std::move(work));
//     if (done.busy()) { co_return tempfail; }
//     use(*done);
#pragma once

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "mailwright/io/offload.hpp"

namespace mailwright::io {

struct compute_options {
    unsigned threads = 0;                  // 0: one less than the cores, at least one
    std::size_t queue = 64;                // jobs admitted beyond the running ones, waiting for a thread
    std::chrono::milliseconds wait{1000};  // how long a caller waits for a place when all are taken; 0: not at all
};

// What the pool holds now, for the metrics (a snapshot).
struct compute_load {
    std::size_t queued = 0;     // admitted jobs waiting for a thread
    std::size_t running = 0;    // jobs a thread is running
    std::size_t waiting = 0;    // callers waiting for a place (not admitted yet)
    std::uint64_t refused = 0;  // callers answered busy, since the pool was made
    unsigned threads = 0;
    std::size_t queue_limit = 0;
};

// The result of compute(): the work's value, or busy (no place in the pool within the wait).
template <class T>
class computed {
  public:
    computed() = default;
    explicit computed(T value) : value_(std::move(value)) {}
    bool busy() const noexcept { return !value_.has_value(); }
    T& operator*() & { return *value_; }
    T&& operator*() && { return std::move(*value_); }
    T* operator->() { return &*value_; }

  private:
    std::optional<T> value_;
};

class compute_pool {
  public:
    explicit compute_pool(const compute_options& options);
    compute_pool(const compute_pool&) = delete;
    compute_pool& operator=(const compute_pool&) = delete;
    ~compute_pool();  // waits until idle, then joins its threads

    // A place for one job: true at once when one is free, else after another job ended within the wait; false
    // (busy) when the wait passed first. A true must be followed by post(), at once.
    asio::awaitable<bool> admit();
    // Runs an admitted job; its place goes to the first waiting caller, or back to the pool, once it is done.
    void post(std::unique_ptr<detail::blocking_job> job);

    // Waits until no job is admitted or running (returns at once on one of the pool's threads): jobs run the
    // code of the library that called compute(), so a plugin's library is unloaded only after this.
    void wait_idle();
    compute_load load() const noexcept;

  private:
    struct state;
    std::shared_ptr<state> state_;
};

// The process-wide pool, made on first use with the options set last by set_compute_options().
compute_pool& process_compute_pool();
// Takes effect only before the pool's first use (mailwrightd: [server] hashing_threads, _queue, _wait).
void set_compute_options(const compute_options& options) noexcept;
// The process-wide pool's wait_idle() and load(); neither makes the pool.
void wait_compute_idle();
compute_load compute_pool_load() noexcept;

namespace detail {
template <class F>
auto run_on(compute_pool& pool, F work) {
    using result = std::invoke_result_t<F&>;
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, result)>(
        [&pool](auto handler, F work) {
            auto guard = asio::make_work_guard(asio::get_associated_executor(handler));
            using job = offload_job<decltype(handler), F, decltype(guard)>;
            pool.post(std::make_unique<job>(std::move(handler), std::move(work), std::move(guard)));
        },
        asio::use_awaitable, std::move(work));
}
}  // namespace detail

// Runs `work` (which returns a value; an exception it throws is rethrown here) on `pool`, resuming on the
// caller's executor; busy when the pool had no place within its wait. Name the work before co_await (g++ 12,
// docs/architecture.md), and name the result before testing it.
template <class F>
asio::awaitable<computed<std::invoke_result_t<F&>>> compute(compute_pool& pool, F work) {
    using result = std::invoke_result_t<F&>;
    static_assert(!std::is_void_v<result>, "compute() work returns a value (return a status)");
    const bool admitted = co_await pool.admit();
    if (!admitted) {
        co_return computed<result>{};
    }
    result value = co_await detail::run_on(pool, std::move(work));
    co_return computed<result>{std::move(value)};
}

template <class F>
asio::awaitable<computed<std::invoke_result_t<F&>>> compute(F work) {
    return compute(process_compute_pool(), std::move(work));
}

}  // namespace mailwright::io
