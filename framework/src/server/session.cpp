// session: line reads with flush-before-block, so pipelined replies leave in one write.
#include "mailwright/server/session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <algorithm>
#include <asio/error.hpp>

#include "../tls/tls_stream.hpp"
#include "mailwright/metrics/instruments.hpp"
#include "mailwright/net/error.hpp"

namespace mailwright::server {

std::string endpoint_info::to_string() const {
    if (address.find(':') != std::string::npos) {
        return fmt::format("[{}]:{}", address, port);
    }
    return fmt::format("{}:{}", address, port);
}

namespace {

// What every log line of a session begins with: which session, and who its client is.
std::string log_prefix_of(const session_info& info) {
    return fmt::format("session={} peer={}", info.id, info.peer.to_string());
}

}  // namespace

session::session(std::unique_ptr<net::stream> stream, session_info info, session_options options)
    : stream_(std::move(stream)),
      info_(std::move(info)),
      limits_(options.limits),
      read_timeout_(options.read_timeout),
      tls_context_(std::move(options.tls)),
      input_(limits_),
      log_prefix_(log_prefix_of(info_)) {
    if (options.proxied_tls) {
        channel_ = std::make_unique<const tls::channel_info>(std::move(*options.proxied_tls));
        proxied_tls_ = true;
    }
}

session::~session() = default;

// The accessors, out of line so that no plugin compiles in this class's layout (session.hpp). A call per
// line is cheap next to the I/O around it.
const session_info& session::info() const noexcept { return info_; }
std::uint64_t session::id() const noexcept { return info_.id; }
void session::consume_input(std::size_t n) noexcept { input_.consume(n); }
bool session::input_buffered() const noexcept { return input_.has_buffered(); }
void session::reply(std::string_view text) { output_.append(text); }
bool session::has_pending_output() const noexcept { return !output_.empty(); }
std::size_t session::pending_output() const noexcept { return output_.size(); }
std::size_t session::discard_input() noexcept { return input_.discard(); }
void session::wipe_line(std::string_view line) noexcept { input_.wipe(line); }
bool session::can_start_tls() const noexcept { return tls_context_ != nullptr && !tls_active(); }
bool session::tls_active() const noexcept { return channel_ != nullptr; }
const tls::channel_info& session::tls_channel() const noexcept {
    static const tls::channel_info none;
    return channel_ ? *channel_ : none;
}
bool session::stop_requested() const noexcept { return stop_requested_; }
net::stream& session::stream() noexcept { return *stream_; }
const std::string& session::log_prefix() const noexcept { return log_prefix_; }

void session::replace_peer(endpoint_info peer) {
    info_.peer = std::move(peer);
    log_prefix_ = log_prefix_of(info_);
}
const std::string& session::user() const noexcept { return user_; }
const std::string& session::state() const noexcept { return state_; }
std::chrono::steady_clock::time_point session::started() const noexcept { return started_; }
void session::set_user(std::string_view user) { user_.assign(user); }
void session::set_state(std::string_view state) { state_.assign(state); }

// Not a coroutine: the awaitable of read_line(max_line) itself, so an idle session's chain of frames is one
// frame shorter.
asio::awaitable<read_result> session::read_line() { return read_line(limits_.max_line); }

namespace {

// A failed read or wait, as the session reports it.
read_result failure(std::error_code ec) {
    if (ec == asio::error::eof) {
        return read_result{read_status::eof, {}, ec};
    }
    if (ec == net::errc::timeout) {
        return read_result{read_status::timeout, {}, ec};
    }
    if (ec == net::errc::stopping) {
        return read_result{read_status::stopping, {}, ec};
    }
    return read_result{read_status::error, {}, ec};
}

}  // namespace

std::optional<read_result> session::ended() const {
    if (write_error_) {
        return read_result{read_status::error, {}, write_error_};
    }
    if (stop_requested_) {
        return read_result{read_status::stopping, {}, net::errc::stopping};
    }
    return std::nullopt;
}

std::optional<read_result> session::buffered_line() {
    if (auto over = ended()) {
        return over;
    }
    const auto next = input_.next();
    switch (next.kind) {
        case io::line_buffer::status::line:
            return read_result{read_status::line, next.line, {}};
        case io::line_buffer::status::too_long:
            return read_result{read_status::too_long, {}, {}};
        case io::line_buffer::status::bare_lf:
            return read_result{read_status::bare_lf, {}, {}};
        case io::line_buffer::status::need_more:
            break;
    }
    return std::nullopt;
}

// The loop waits and reads in this frame, not a helper coroutine's: a session between commands waits here, and
// every frame less in that chain is memory a hundred thousand idle sessions do not hold.
asio::awaitable<read_result> session::read_line(std::size_t max_line) {
    input_.set_max_line(max_line);
    // The whole line must arrive within the read timeout, not each octet of it: a client that dribbles one
    // octet just before every read's deadline would otherwise hold the session forever (slow-loris; RFC 5321
    // 4.5.3.2.7 gives the timeout per command).
    const auto deadline = std::chrono::steady_clock::now() + read_timeout_;
    for (;;) {
        if (auto done = buffered_line()) {
            co_return *done;
        }
        // Nothing complete is buffered: the client waits for our replies before it sends more, so this is
        // the moment to send them, all in one write.
        if (!output_.empty()) {
            const std::error_code failed = co_await flush();  // named first: GCC 12 (docs/architecture.md)
            if (failed) {
                co_return read_result{read_status::error, {}, failed};
            }
        }
        std::error_code ec = set_deadline(deadline) ? std::error_code{} : net::errc::timeout;
        if (!ec && !input_.has_buffered()) {
            // Between commands, which may take minutes: wait for the next octets without holding a buffer.
            give_back_buffers();
            ec = co_await stream_->wait_readable();
            if (!ec && !set_deadline(deadline)) {
                ec = net::errc::timeout;
            }
        }
        std::size_t n = 0;
        if (!ec) {
            const net::io_result r = co_await stream_->read_some(input_.prepare());
            ec = r.ec;
            n = r.bytes;
        }
        stream_->set_timeout(read_timeout_);  // writes and raw reads keep the timeout per operation
        if (ec) {
            co_return failure(ec);
        }
        input_.commit(n);
    }
}

bool session::set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) {
    if (deadline) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        stream_->set_timeout(left);
    }
    return true;
}

void session::give_back_buffers() noexcept {
    input_.give_back();
    if (output_.capacity() > std::string().capacity()) {
        std::string().swap(output_);
    }
}

asio::awaitable<read_result> session::read_raw() {
    if (auto over = ended()) {
        co_return *over;
    }
    if (input_.has_buffered()) {
        co_return read_result{read_status::line, input_.buffered(), {}};
    }
    // Nothing buffered: what is queued goes out, then the session waits without a buffer and reads once.
    if (!output_.empty()) {
        const std::error_code failed = co_await flush();
        if (failed) {
            co_return read_result{read_status::error, {}, failed};
        }
    }
    give_back_buffers();
    std::error_code ec = co_await stream_->wait_readable();
    std::size_t n = 0;
    if (!ec) {
        const net::io_result r = co_await stream_->read_some(input_.prepare());
        ec = r.ec;
        n = r.bytes;
    }
    if (ec) {
        co_return failure(ec);
    }
    input_.commit(n);
    co_return read_result{read_status::line, input_.buffered(), {}};
}

asio::awaitable<bool> session::talks_within(std::chrono::milliseconds wait) {
    if (input_.has_buffered()) {
        co_return true;
    }
    give_back_buffers();
    stream_->set_timeout(wait);
    const auto started = std::chrono::steady_clock::now();
    std::error_code ec = co_await stream_->wait_readable();
    std::size_t n = 0;
    if (!ec) {
        // A stream that cannot wait without reading said "readable" at once: the read waits out the rest.
        const auto left =
            wait - std::chrono::ceil<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
        stream_->set_timeout(std::max(left, std::chrono::milliseconds(1)));
        const net::io_result r = co_await stream_->read_some(input_.prepare());
        ec = r.ec;
        n = r.bytes;
    }
    stream_->set_timeout(read_timeout_);
    if (ec) {
        co_return false;  // silence; a real failure is reported again by the next read
    }
    input_.commit(n);
    co_return true;
}

asio::awaitable<std::error_code> session::flush() {
    if (write_error_ || output_.empty()) {
        output_.clear();
        co_return write_error_;
    }
    const auto result = co_await stream_->write_all(output_);
    output_.clear();
    if (output_.capacity() > 64 * 1024) {
        output_.shrink_to_fit();  // a large multi-line reply must not pin its buffer for the whole session
    }
    write_error_ = result.ec;
    co_return result.ec;
}

asio::awaitable<std::error_code> session::start_tls() {
    // Not can_start_tls(): a session whose proxy ended the client's TLS may still shake hands with that proxy
    // (implicit TLS), once.
    if (tls_context_ == nullptr || handshaken_ || (tls_active() && !proxied_tls_)) {
        co_return std::make_error_code(std::errc::operation_not_supported);
    }
    if (auto ec = co_await flush()) {
        co_return ec;
    }
    const std::size_t dropped = input_.discard();
    if (dropped != 0) {
        spdlog::warn("{} discarded {} octets sent before the TLS handshake: possible command injection", log_prefix_,
                     dropped);
    }
    input_ = io::line_buffer(limits_);  // the reader that served plaintext never serves TLS

    // The TLS stream is the session's stream before the handshake starts, and stays so even after a failure
    // (this connection never speaks plaintext again): request_stop() must reach a client that holds the
    // handshake open, as it reaches one in any other phase.
    auto owned = std::make_unique<tls::tls_stream>(std::move(stream_), tls_context_->get());
    tls::tls_stream& tls = *owned;
    stream_ = std::move(owned);
    const auto ec = co_await tls.handshake(read_timeout_);
    metrics::count_tls_handshake(info_.listener, !ec);
    if (ec) {
        write_error_ = ec;
        co_return ec;
    }
    tls::channel_info own = tls.channel();
    handshaken_ = true;
    spdlog::info(
        "{} TLS established: {} {}{}{}", log_prefix_, own.version, own.cipher,
        own.server_name.empty() ? "" : " sni=" + own.server_name,
        own.peer.present ? fmt::format(" client-cert=\"{}\" verified={}", own.peer.subject, own.peer.verified) : "");
    if (!proxied_tls_) {
        channel_ = std::make_unique<const tls::channel_info>(std::move(own));
    }
    co_return std::error_code{};
}

void session::request_stop() {
    stop_requested_ = true;
    stream_->interrupt();
}

}  // namespace mailwright::server
