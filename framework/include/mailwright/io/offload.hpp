// Blocking work (filesystem calls, fsync, password hashing) never runs on an event-loop thread: offload()
// runs it on a bounded pool of threads shared by the process, and the awaiting coroutine resumes on its own
// executor with the result (or the exception the work threw).
#pragma once

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace mailwright::io {

// The process-wide pool for blocking work; made on first use with blocking_threads() threads.
asio::thread_pool& blocking_pool();
// How many threads the pool gets (default 8: enough for a disk's parallelism, few enough to bound memory).
// Takes effect only before the pool's first use.
void set_blocking_threads(unsigned count) noexcept;

// Waits until no offloaded work is queued or running. Work runs code of the library that called offload(), so
// the plugin host calls this before it unloads a plugin's library. Returns at once on a pool thread.
void wait_blocking_idle();

// What the pool holds now, for the metrics (a snapshot: it may change before the caller reads it).
struct blocking_load {
    std::size_t queued = 0;   // jobs waiting for a thread
    std::size_t running = 0;  // jobs a thread is running
    unsigned threads = 0;     // the pool's size
};
blocking_load blocking_pool_load() noexcept;

namespace detail {
// What the pool runs. The pool's own loop, which runs a job, destroys it and only then counts it done, is
// libmailwright's code; a job's run() and destructor are the caller's, which wait_blocking_idle() protects.
class blocking_job {
  public:
    virtual ~blocking_job() = default;
    virtual void run() noexcept = 0;
};
void post_blocking(std::unique_ptr<blocking_job> job);

template <class Handler, class F, class Guard>
class offload_job final : public blocking_job {
  public:
    using result = std::invoke_result_t<F&>;
    offload_job(Handler handler, F work, Guard guard)
        : handler_(std::move(handler)), work_(std::move(work)), guard_(std::move(guard)) {}

    void run() noexcept override {
        std::exception_ptr error;
        std::optional<result> value;
        try {
            value.emplace(work_());
        } catch (...) {
            error = std::current_exception();
        }
        auto executor = asio::get_associated_executor(handler_);
        asio::post(executor, [handler = std::move(handler_), error, value = std::move(value)]() mutable {
            if (error) {
                std::move(handler)(error, result{});
            } else {
                std::move(handler)(nullptr, std::move(*value));
            }
        });
        // The caller's io_context must not finish (and be destroyed) while this thread is still inside the
        // post() that hands the result back: the work guard ends only after that post() returns.
        guard_.reset();
    }

  private:
    Handler handler_;
    F work_;
    Guard guard_;
};
}  // namespace detail

template <class F>
auto offload(F work) {
    using result = std::invoke_result_t<F&>;
    static_assert(!std::is_void_v<result>, "offload() work returns a value (return a status)");
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, result)>(
        [](auto handler, F work) {
            auto guard = asio::make_work_guard(asio::get_associated_executor(handler));
            using job = detail::offload_job<decltype(handler), F, decltype(guard)>;
            detail::post_blocking(std::make_unique<job>(std::move(handler), std::move(work), std::move(guard)));
        },
        asio::use_awaitable, std::move(work));
}

}  // namespace mailwright::io
