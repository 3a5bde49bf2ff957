// An in-memory stream for session tests (after Boost.Beast's test stream): input arrives in the chunks given,
// as separate TCP segments would; reads can be made short; any read or write can be made to fail; the end of
// input can be an orderly close, a timeout or a shutdown request, or the stream can wait for more input (pushed
// by the test while the session waits, as a client between commands). Everything written is kept for
// inspection.
#pragma once

#include <cstddef>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <asio/steady_timer.hpp>

#include "mailwright/net/stream.hpp"

namespace mailwright::testing {

class memory_stream final : public net::stream {
  public:
    // What a read reports once the input is used up; `wait`: nothing, it waits for push(), interrupt() or
    // close() (a test then drives the io_context with poll() and pushes while the session waits).
    enum class ending { eof, timeout, reset, wait };

    explicit memory_stream(std::vector<std::string> chunks = {});

    // Appends input, as a new segment, and wakes a read or a wait_readable() waiting for it.
    void push(std::string chunk);
    void end_with(ending e) { ending_ = e; }
    // At most this many octets per read.
    void max_read(std::size_t n) { max_read_ = n; }
    // The n-th read (0-based) or write fails with connection_reset.
    void fail_read_at(std::size_t n) { fail_read_at_ = n; }
    void fail_write_at(std::size_t n) { fail_write_at_ = n; }

    const std::string& output() const noexcept { return output_; }
    std::size_t reads() const noexcept { return reads_; }
    std::size_t writes() const noexcept { return writes_; }
    bool closed() const noexcept { return closed_; }
    bool interrupted() const noexcept { return interrupted_; }
    // Whether a read or wait_readable() is waiting for input now (ending::wait).
    bool waiting() const noexcept { return waiting_ != nullptr; }

    asio::awaitable<net::io_result> read_some(std::span<char> buffer) override;
    // Ready at once unless the input is used up and the ending is `wait`; then waits as a socket would.
    asio::awaitable<std::error_code> wait_readable() override;
    asio::awaitable<net::io_result> write_all(std::span<const char> data) override;
    void set_timeout(std::chrono::milliseconds) override {}
    void interrupt() override;
    void close() override;

  private:
    bool input_used_up() noexcept;
    asio::awaitable<void> wait_for_input();
    void wake() noexcept;

    std::deque<std::string> input_;
    std::string output_;
    ending ending_ = ending::eof;
    std::size_t max_read_ = std::numeric_limits<std::size_t>::max();
    std::optional<std::size_t> fail_read_at_;
    std::optional<std::size_t> fail_write_at_;
    std::size_t reads_ = 0;
    std::size_t writes_ = 0;
    bool closed_ = false;
    bool interrupted_ = false;
    asio::steady_timer* waiting_ = nullptr;  // the timer a waiting read or wait_readable() sleeps on
};

}  // namespace mailwright::testing
