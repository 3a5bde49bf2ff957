// A stream over a TCP or unix-domain socket, with one deadline watchdog per connection.
//
// Why a watchdog and not a timer per read: arming and cancelling a timer on every read costs two timer-queue
// operations and a handler per line. Instead each operation only moves deadline_; a single timer wakes at
// the oldest deadline, and if the operation has since finished or the deadline moved, it re-arms (at most
// one extra wake-up per timeout period). When the deadline has passed it cancels the socket's operations,
// which then report errc::timeout.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <memory>

#include "mailwright/net/stream.hpp"

namespace mailwright::net {

template <class Protocol>
class socket_stream final : public stream {
  public:
    using socket_type = typename Protocol::socket;
    explicit socket_stream(socket_type socket);
    ~socket_stream() override;

    asio::awaitable<io_result> read_some(std::span<char> buffer) override;
    asio::awaitable<std::error_code> wait_readable() override;
    asio::awaitable<io_result> write_all(std::span<const char> data) override;
    void set_timeout(std::chrono::milliseconds timeout) override { timeout_ = timeout; }
    void interrupt() override;
    asio::awaitable<void> shutdown() override;
    void close() override;
    void park() noexcept override;

    socket_type& socket() noexcept { return socket_; }

  private:
    using clock = std::chrono::steady_clock;

    void arm();
    void disarm() noexcept { deadline_ = clock::time_point::max(); }
    void start_watchdog(clock::time_point at);
    void on_watchdog(std::error_code ec);
    std::error_code translate(std::error_code ec, bool reading);

    socket_type socket_;
    asio::steady_timer watchdog_;
    // The watchdog's handler may run after this object is gone (it was already queued when the timer was
    // destroyed); it checks this flag first and touches nothing else then.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::chrono::milliseconds timeout_{std::chrono::minutes(5)};
    clock::time_point deadline_ = clock::time_point::max();
    std::uint64_t watchdog_generation_ = 0;
    bool watchdog_armed_ = false;
    bool timed_out_ = false;
    bool interrupted_ = false;
};

using tcp_stream = socket_stream<asio::ip::tcp>;
using unix_stream = socket_stream<asio::local::stream_protocol>;

extern template class socket_stream<asio::ip::tcp>;
extern template class socket_stream<asio::local::stream_protocol>;

}  // namespace mailwright::net
