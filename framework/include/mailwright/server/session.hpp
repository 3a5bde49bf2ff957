// One client connection as a service sees it: who is talking, over which listener, and line-oriented I/O
// with the limits and deadlines already applied. A session lives on one worker thread from accept to close,
// so nothing in it needs a lock.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "mailwright/io/line_buffer.hpp"
#include "mailwright/net/stream.hpp"
#include "mailwright/tls/context.hpp"
#include "mailwright/tls/peer.hpp"

namespace mailwright::server {

struct endpoint_info {
    std::string address;  // numeric, e.g. "127.0.0.1" or "::1"
    std::uint16_t port = 0;

    std::string to_string() const;  // "127.0.0.1:25", "[::1]:25"
};

struct session_info {
    std::uint64_t id = 0;  // unique within the process, for logs
    endpoint_info peer;
    endpoint_info local;
    std::string listener;  // the listener's name from the configuration
};

enum class read_status {
    line,      // a complete line (terminator stripped) is in read_result::line
    too_long,  // the client sent a line over the limit; it is being skipped
    bare_lf,   // the line ended in a bare LF and the listener rejects that
    eof,       // the client closed the connection
    timeout,   // the client said nothing before the deadline
    stopping,  // the server is shutting down: say goodbye and return
    error,     // the connection failed (reset, ...); see read_result::ec
};

struct session_options {
    io::line_limits limits;
    std::chrono::milliseconds read_timeout{std::chrono::minutes(5)};
    // The listener's TLS context, if it has one: what start_tls() uses.
    std::shared_ptr<const tls::context_holder> tls;
    // The client's TLS as a trusted proxy that ended it reported it (PROXY protocol v2's SSL TLV): the session
    // is in TLS from the start (tls_active(), tls_channel()), so STARTTLS/STLS is refused as "already in
    // TLS", and has no channel binding. A handshake of ours (implicit TLS behind a re-encrypting proxy) then
    // secures only the proxy's leg and leaves these facts as they are.
    std::optional<tls::channel_info> proxied_tls;
};

struct read_result {
    read_status status;
    std::string_view line;  // valid until the next read_line() or discard_input()
    std::error_code ec;
};

// Services, service plugins included, hold a session by reference and never see its members: every member
// function is defined in libmailwright (session.cpp), none inline here, so the layout below can change without
// breaking a plugin built against an earlier one (docs/plugins.md, "ABI rules").
class session {
  public:
    session(std::unique_ptr<net::stream> stream, session_info info, session_options options);
    session(const session&) = delete;
    session& operator=(const session&) = delete;
    ~session();

    const session_info& info() const noexcept;
    std::uint64_t id() const noexcept;
    // Replaces who the client is, for everything that asks from now on (hooks, limits, penalties, logs: the
    // log prefix too), where a trusted proxy says whom it speaks for (SMTP XCLIENT). The connection, its TLS
    // and its slot in the connection limits stay the proxy's.
    void replace_peer(endpoint_info peer);

    // Reads the next line. Replies queued with reply() are flushed first whenever no complete line is
    // buffered, so a batch of pipelined commands gets all its replies in one write (RFC 2920, RFC 2449).
    // The whole line must arrive within the read timeout from the call on (read_status::timeout otherwise).
    asio::awaitable<read_result> read_line();
    // The same for one line that may be up to `max_line` octets with its CRLF, whatever the listener's limit
    // (a SASL response: RFC 4954 4). The next read_line() holds lines to the listener's limit again.
    asio::awaitable<read_result> read_line(std::size_t max_line);

    // Raw octets for message data (SMTP DATA, BDAT): what is buffered after the last line read, or, when
    // nothing is, what the next read brings (replies queued are flushed first). read_status::line with the
    // octets in `line`; consume_input() says how many were used. Never longer than the line limit.
    asio::awaitable<read_result> read_raw();
    void consume_input(std::size_t n) noexcept;
    // Whether the client sends anything within `wait`, before it was asked to (an SMTP client talking before
    // the greeting). What it sent stays buffered for the next read.
    asio::awaitable<bool> talks_within(std::chrono::milliseconds wait);
    // Whether the client sent more than was read: pipelining where it is not allowed, injection after STARTTLS.
    bool input_buffered() const noexcept;

    // Queues text for the client; it goes out at the next flush() or before the next blocking read.
    void reply(std::string_view text);
    bool has_pending_output() const noexcept;
    std::size_t pending_output() const noexcept;  // octets queued

    // Writes everything queued. A failed write closes the conversation: later reads report the error.
    asio::awaitable<std::error_code> flush();

    // Drops every input octet buffered but not yet returned as a line, and returns the count. STARTTLS and
    // STLS call it so that nothing sent before the handshake is ever executed after it.
    std::size_t discard_input() noexcept;

    // Overwrites a line read_line() returned, once the secret in it (a password, a SASL response) was used.
    void wipe_line(std::string_view line) noexcept;

    // Whether start_tls() can be offered: the listener has a TLS context and TLS is not active yet.
    bool can_start_tls() const noexcept;
    bool tls_active() const noexcept;
    // The negotiated channel and the client's certificate; empty until TLS is active.
    const tls::channel_info& tls_channel() const noexcept;

    // Upgrades the connection to TLS in place (STARTTLS, STLS, or the start of an implicit-TLS session).
    // Queued replies are flushed first, in plaintext: the protocol's "go ahead" must reach the client before
    // the handshake. Then every input octet still buffered is discarded and logged as a possible command
    // injection, and the line reader is replaced: nothing read before the handshake can be served after it
    // (RFC 3207 4.2, CVE-2011-0411, CVE-2021-33515). On failure the session must end: the stream is
    // unusable and never falls back to plaintext.
    asio::awaitable<std::error_code> start_tls();

    // Graceful shutdown: the current or next read_line() returns read_status::stopping.
    void request_stop();
    bool stop_requested() const noexcept;

    net::stream& stream() noexcept;

    // "session=12 peer=127.0.0.1:40000": what every log line about this session starts with.
    const std::string& log_prefix() const noexcept;

    // What an administrator sees of the session (mailwrightctl sessions, server::sessions()): the user the
    // protocol authenticated (empty before), a short name of the protocol's state, set by the protocol as they
    // change, and when the connection was accepted.
    void set_user(std::string_view user);
    const std::string& user() const noexcept;
    void set_state(std::string_view state);
    const std::string& state() const noexcept;
    std::chrono::steady_clock::time_point started() const noexcept;

  private:
    // The conversation's end, when a write failed or a stop was asked for.
    std::optional<read_result> ended() const;
    // A line or an ending already decided without reading (ended(), a line buffered, one too long, a bare LF).
    std::optional<read_result> buffered_line();
    // Applies what is left of `deadline` (if any) to the stream; false when nothing is left.
    bool set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline);
    // Before waiting for the client: the line buffer's storage (when nothing is buffered) and the output
    // string's go back to the pool and the heap.
    void give_back_buffers() noexcept;

    // Held by every idle session, so kept small: of session_options only what is used, and the TLS facts
    // on the heap, only once there are any (docs/performance.md, "Idle sessions").
    std::unique_ptr<net::stream> stream_;
    session_info info_;
    io::line_limits limits_;  // the listener's (input_ may hold a larger line limit for the moment)
    std::chrono::milliseconds read_timeout_;
    std::shared_ptr<const tls::context_holder> tls_context_;
    io::line_buffer input_;
    std::unique_ptr<const tls::channel_info> channel_;  // null until TLS is active
    bool proxied_tls_ = false;                          // channel_ is what the proxy reported, and stays so
    bool handshaken_ = false;                           // our own handshake ran
    std::string output_;
    std::string log_prefix_;
    std::error_code write_error_;
    bool stop_requested_ = false;
    std::string user_;
    std::string state_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace mailwright::server
