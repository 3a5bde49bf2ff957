// The byte stream a session talks over: TCP now, TLS over TCP once upgraded. Sessions see only this
// interface, so a session can be driven over an in-memory stream in tests (mailwright/testing/).
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <span>
#include <system_error>

namespace mailwright::net {

struct io_result {
    std::error_code ec;
    std::size_t bytes = 0;
};

class stream {
  public:
    virtual ~stream() = default;

    // Reads at least one byte, or fails: end of stream (asio::error::eof), errc::timeout, errc::stopping or
    // whatever the transport reports. Every read has a deadline (set_timeout).
    virtual asio::awaitable<io_result> read_some(std::span<char> buffer) = 0;

    // Waits until read_some() would not wait: input is there (or the end of the stream, or a failure, which the
    // read then reports), under the same deadline as a read and ending the same ways (errc::timeout,
    // errc::stopping). A session waits here between commands, without a buffer to read into (io/buffer_pool.hpp).
    // The default, for a stream that cannot wait without reading, says "ready" at once: the read then waits.
    virtual asio::awaitable<std::error_code> wait_readable() { co_return std::error_code{}; }

    // Writes all of data or fails. Every write has the same deadline as a read: a peer that stops reading
    // cannot hold a session forever.
    virtual asio::awaitable<io_result> write_all(std::span<const char> data) = 0;

    // The deadline applied to each read and each write from now on.
    virtual void set_timeout(std::chrono::milliseconds timeout) = 0;

    // Graceful shutdown: a pending read and every later one end with errc::stopping, so the session can still
    // write its goodbye. Called on the stream's own thread.
    virtual void interrupt() = 0;

    // Ends the conversation politely: TLS sends its close_notify, TCP shuts its sending side down. Best effort,
    // bounded by the deadline; close() follows either way.
    virtual asio::awaitable<void> shutdown() { co_return; }

    // Closes the connection at once; pending operations fail.
    virtual void close() = 0;
    // Nothing is pending and nothing will be until the next read or write (a pooled client connection):
    // gives up what waits meanwhile, such as the deadline's timer, so that an idle connection does not keep
    // its event loop running (a stopping worker would otherwise wait for it).
    virtual void park() noexcept {}
};

}  // namespace mailwright::net
