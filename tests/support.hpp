// Test helpers: run a coroutine to completion on a private io_context.
//
// The context is destroyed only once the blocking and compute pools are idle: a pool thread ends a job by
// releasing the work it held on the caller's context (asio's work_finished(), which may stop the context), and
// it may still be inside that call when the context's run() returns (server::run() waits for both pools the
// same way before it destroys its workers' contexts).
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <exception>
#include <optional>
#include <stdexcept>

#include "mailwright/io/compute.hpp"
#include "mailwright/io/offload.hpp"

namespace mailwright::test {

template <class T>
T run(asio::awaitable<T> task) {
    asio::io_context context;
    std::optional<T> result;
    std::exception_ptr error;
    asio::co_spawn(context, std::move(task), [&](std::exception_ptr e, T value) {
        error = e;
        if (!e) {
            result.emplace(std::move(value));
        }
    });
    context.run();
    io::wait_blocking_idle();
    io::wait_compute_idle();
    if (error) {
        std::rethrow_exception(error);
    }
    if (!result) {
        throw std::logic_error("coroutine did not finish");
    }
    return std::move(*result);
}

inline void run(asio::awaitable<void> task) {
    asio::io_context context;
    std::exception_ptr error;
    bool done = false;
    asio::co_spawn(context, std::move(task), [&](std::exception_ptr e) {
        error = e;
        done = true;
    });
    context.run();
    io::wait_blocking_idle();
    io::wait_compute_idle();
    if (error) {
        std::rethrow_exception(error);
    }
    if (!done) {
        throw std::logic_error("coroutine did not finish");
    }
}

}  // namespace mailwright::test
