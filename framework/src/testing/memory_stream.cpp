// memory_stream: scripted input, recorded output, failures on demand.
#include "mailwright/testing/memory_stream.hpp"

#include <algorithm>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cstring>

#include "mailwright/net/error.hpp"

namespace mailwright::testing {

memory_stream::memory_stream(std::vector<std::string> chunks) : input_(chunks.begin(), chunks.end()) {}

void memory_stream::push(std::string chunk) {
    input_.push_back(std::move(chunk));
    wake();
}

void memory_stream::interrupt() {
    interrupted_ = true;
    wake();
}

void memory_stream::close() {
    closed_ = true;
    wake();
}

void memory_stream::wake() noexcept {
    if (waiting_ != nullptr) {
        waiting_->cancel();
    }
}

bool memory_stream::input_used_up() noexcept {
    while (!input_.empty() && input_.front().empty()) {
        input_.pop_front();
    }
    return input_.empty();
}

asio::awaitable<void> memory_stream::wait_for_input() {
    while (ending_ == ending::wait && input_used_up() && !interrupted_ && !closed_) {
        asio::steady_timer timer(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
        waiting_ = &timer;
        co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        waiting_ = nullptr;
    }
}

asio::awaitable<std::error_code> memory_stream::wait_readable() {
    co_await wait_for_input();
    co_return interrupted_ && !closed_ ? std::error_code(net::errc::stopping) : std::error_code{};
}

asio::awaitable<net::io_result> memory_stream::read_some(std::span<char> buffer) {
    co_await wait_for_input();
    const std::size_t index = reads_++;
    if (closed_) {
        co_return net::io_result{asio::error::bad_descriptor, 0};
    }
    if (fail_read_at_ && *fail_read_at_ == index) {
        co_return net::io_result{asio::error::connection_reset, 0};
    }
    if (interrupted_) {
        co_return net::io_result{net::errc::stopping, 0};
    }
    if (input_used_up()) {
        switch (ending_) {
            case ending::wait:  // interrupted or closed while waiting: reported above
            case ending::eof:
                co_return net::io_result{asio::error::eof, 0};
            case ending::timeout:
                co_return net::io_result{net::errc::timeout, 0};
            case ending::reset:
                co_return net::io_result{asio::error::connection_reset, 0};
        }
    }
    auto& chunk = input_.front();
    const std::size_t n = std::min({buffer.size(), max_read_, chunk.size()});
    std::memcpy(buffer.data(), chunk.data(), n);
    chunk.erase(0, n);
    co_return net::io_result{{}, n};
}

asio::awaitable<net::io_result> memory_stream::write_all(std::span<const char> data) {
    const std::size_t index = writes_++;
    if (closed_ || (fail_write_at_ && *fail_write_at_ == index)) {
        co_return net::io_result{asio::error::connection_reset, 0};
    }
    output_.append(data.data(), data.size());
    co_return net::io_result{{}, data.size()};
}

}  // namespace mailwright::testing
