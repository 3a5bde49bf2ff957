// socket_stream: deadlines by watchdog, graceful interruption of reads.
#include "socket_stream.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <utility>

#include <sys/socket.h>

#include "mailwright/net/error.hpp"

namespace mailwright::net {

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}

template <class Protocol>
socket_stream<Protocol>::socket_stream(socket_type socket)
    : socket_(std::move(socket)), watchdog_(socket_.get_executor()) {}

template <class Protocol>
socket_stream<Protocol>::~socket_stream() {
    *alive_ = false;
}

template <class Protocol>
void socket_stream<Protocol>::arm() {
    deadline_ = clock::now() + timeout_;
    if (watchdog_armed_ && watchdog_.expiry() <= deadline_) {
        return;  // it wakes earlier and re-arms for this deadline then
    }
    start_watchdog(deadline_);
}

template <class Protocol>
void socket_stream<Protocol>::start_watchdog(clock::time_point at) {
    watchdog_armed_ = true;
    ++watchdog_generation_;
    // expires_at() cancels a wait already pending; its handler then sees an old generation and does nothing.
    watchdog_.expires_at(at);
    watchdog_.async_wait([this, alive = alive_, generation = watchdog_generation_](std::error_code ec) {
        if (*alive && generation == watchdog_generation_) {
            on_watchdog(ec);
        }
    });
}

template <class Protocol>
void socket_stream<Protocol>::on_watchdog(std::error_code ec) {
    watchdog_armed_ = false;
    if (ec == asio::error::operation_aborted || deadline_ == clock::time_point::max()) {
        return;  // no operation is waiting; the next one arms the watchdog again
    }
    if (clock::now() >= deadline_) {
        timed_out_ = true;
        std::error_code ignored;
        socket_.cancel(ignored);
        return;
    }
    start_watchdog(deadline_);
}

template <class Protocol>
std::error_code socket_stream<Protocol>::translate(std::error_code ec, bool reading) {
    const bool timed_out = std::exchange(timed_out_, false);  // the next operation gets a deadline of its own
    if (ec == asio::error::operation_aborted) {
        if (timed_out) {
            return errc::timeout;
        }
        if (interrupted_ && reading) {
            return errc::stopping;
        }
    }
    return ec;
}

template <class Protocol>
asio::awaitable<io_result> socket_stream<Protocol>::read_some(std::span<char> buffer) {
    if (interrupted_) {
        co_return io_result{errc::stopping, 0};
    }
    arm();
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer.data(), buffer.size()), use_tuple);
    disarm();
    co_return io_result{translate(ec, true), n};
}

template <class Protocol>
asio::awaitable<std::error_code> socket_stream<Protocol>::wait_readable() {
    if (interrupted_) {
        co_return errc::stopping;
    }
    // Asio's wait is not speculative and its epoll registration is edge-triggered: input (or the client's
    // FIN) that arrived while no read was pending raised its edge already and would not wake the wait. So
    // look first: anything there, the end of the stream or an error, and read_some() has its answer at once.
    char probe = 0;
    if (::recv(socket_.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 ||
        (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        co_return std::error_code{};
    }
    arm();
    auto [ec] = co_await socket_.async_wait(socket_type::wait_read, use_tuple);
    disarm();
    co_return translate(ec, true);
}

template <class Protocol>
asio::awaitable<io_result> socket_stream<Protocol>::write_all(std::span<const char> data) {
    arm();
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(data.data(), data.size()), use_tuple);
    disarm();
    co_return io_result{translate(ec, false), n};
}

template <class Protocol>
void socket_stream<Protocol>::park() noexcept {
    if (watchdog_armed_) {
        ++watchdog_generation_;  // the cancelled wait's handler then does nothing
        watchdog_armed_ = false;
        watchdog_.cancel();
    }
}

template <class Protocol>
void socket_stream<Protocol>::interrupt() {
    interrupted_ = true;
    // Cancels a pending read (it then reports errc::stopping). A pending write is cancelled too, and is
    // reported as the cancellation it is: the session is past saying goodbye anyway.
    std::error_code ignored;
    socket_.cancel(ignored);
}

template <class Protocol>
asio::awaitable<void> socket_stream<Protocol>::shutdown() {
    std::error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_send, ignored);
    co_return;
}

template <class Protocol>
void socket_stream<Protocol>::close() {
    std::error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_both, ignored);
    socket_.close(ignored);
    watchdog_.cancel();
}

template class socket_stream<asio::ip::tcp>;
template class socket_stream<asio::local::stream_protocol>;

}  // namespace mailwright::net
