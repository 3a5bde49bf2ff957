// Test helpers: run a coroutine to completion on a private io_context.
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <exception>
#include <optional>
#include <stdexcept>

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
    if (error) {
        std::rethrow_exception(error);
    }
    if (!done) {
        throw std::logic_error("coroutine did not finish");
    }
}

}  // namespace mailwright::test
