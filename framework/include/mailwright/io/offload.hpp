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
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace mailwright::io {

// The process-wide pool for blocking work; made on first use with blocking_threads() threads.
asio::thread_pool& blocking_pool();
// How many threads the pool gets (default 8: enough for a disk's parallelism, few enough to bound memory).
// Takes effect only before the pool's first use.
void set_blocking_threads(unsigned count) noexcept;

template <class F>
auto offload(F work) {
    using result = std::invoke_result_t<F&>;
    static_assert(!std::is_void_v<result>, "offload() work returns a value (return a status)");
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, result)>(
        [](auto handler, F work) {
            // The caller's io_context must not finish (and be destroyed) while a pool thread is still inside
            // the post() that hands the result back: the work guard ends only after that post() returns.
            auto keep_alive = asio::make_work_guard(asio::get_associated_executor(handler));
            asio::post(blocking_pool(), [handler = std::move(handler), work = std::move(work),
                                         keep_alive = std::move(keep_alive)]() mutable {
                std::exception_ptr error;
                std::optional<result> value;
                try {
                    value.emplace(work());
                } catch (...) {
                    error = std::current_exception();
                }
                auto executor = asio::get_associated_executor(handler);
                asio::post(executor, [handler = std::move(handler), error, value = std::move(value)]() mutable {
                    if (error) {
                        std::move(handler)(error, result{});
                    } else {
                        std::move(handler)(nullptr, std::move(*value));
                    }
                });
                keep_alive.reset();
            });
        },
        asio::use_awaitable, std::move(work));
}

}  // namespace mailwright::io
