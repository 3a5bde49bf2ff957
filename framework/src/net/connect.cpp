// Outgoing connections: an endpoint parsed from text, then TCP (each resolved address in turn) or a
// unix-domain socket, all under one deadline.
#include "mailwright/net/connect.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <charconv>

#include "mailwright/net/error.hpp"
#include "socket_stream.hpp"

namespace mailwright::net {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

std::optional<endpoint> fail(std::string* error, std::string what) {
    if (error) {
        *error = std::move(what);
    }
    return std::nullopt;
}

// Cancels whatever `cancel` names when the deadline passes, unless destroyed first. The timer's handler may
// already be queued with success when the connection completes in the same turn of the loop (cancel() cannot
// take it back): it then finds the deadline gone and touches nothing of the frame `cancel` refers to.
class deadline {
  public:
    template <class Executor, class Cancel>
    deadline(Executor executor, std::chrono::milliseconds after, Cancel cancel) : timer_(executor, after) {
        timer_.async_wait([state = state_, cancel = std::move(cancel)](std::error_code ec) {
            if (!ec && state->armed) {
                state->fired = true;
                cancel();
            }
        });
    }
    ~deadline() {
        state_->armed = false;
        timer_.cancel();
    }
    bool passed() const noexcept { return state_->fired; }

  private:
    struct state {
        bool armed = true;
        bool fired = false;
    };
    std::shared_ptr<state> state_ = std::make_shared<state>();
    asio::steady_timer timer_;
};

}  // namespace

std::string endpoint::to_string() const {
    if (is_unix()) {
        return "unix:" + unix_path;
    }
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<endpoint> endpoint::parse(std::string_view text, std::string* error, std::uint16_t default_port) {
    endpoint e;
    if (text.starts_with("unix:")) {
        e.unix_path = std::string(text.substr(5));
        if (e.unix_path.empty() || e.unix_path.front() != '/') {
            return fail(error, "a unix socket needs an absolute path (unix:/run/...)");
        }
        return e;
    }
    std::string_view port;
    if (text.starts_with("[")) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            return fail(error, "an IPv6 address needs its closing bracket ([::1]:24)");
        }
        e.host = std::string(text.substr(1, close - 1));
        const auto rest = text.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') {
            return fail(error, "expected :port after the bracketed address");
        }
        port = rest.empty() ? rest : rest.substr(1);
    } else {
        const auto colon = text.rfind(':');
        if (colon != std::string_view::npos && text.find(':') != colon) {
            return fail(error, "write an IPv6 address in brackets ([::1]:24)");
        }
        e.host = std::string(text.substr(0, colon));
        port = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
    }
    if (e.host.empty()) {
        return fail(error, "the host is missing (host:port, [v6]:port or unix:/path)");
    }
    if (port.empty()) {
        if (default_port == 0) {
            return fail(error, "the port is missing (host:port)");
        }
        e.port = default_port;
        return e;
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
        return fail(error, "the port must be a number from 1 to 65535");
    }
    e.port = static_cast<std::uint16_t>(value);
    return e;
}

namespace {

asio::awaitable<connect_result> connect_unix(const endpoint& where, std::chrono::milliseconds timeout) {
    auto executor = co_await asio::this_coro::executor;
    asio::local::stream_protocol::socket socket(executor);
    const deadline d(executor, timeout, [&socket] {
        std::error_code ignored;
        socket.cancel(ignored);
    });
    auto [ec] = co_await socket.async_connect(asio::local::stream_protocol::endpoint(where.unix_path), use_tuple);
    if (d.passed()) {
        ec = errc::timeout;
    }
    if (ec) {
        co_return connect_result{ec, nullptr};
    }
    auto s = std::make_unique<unix_stream>(std::move(socket));
    s->set_timeout(timeout);
    co_return connect_result{{}, std::move(s)};
}

asio::awaitable<connect_result> connect_tcp(const endpoint& where, std::chrono::milliseconds timeout) {
    auto executor = co_await asio::this_coro::executor;
    asio::ip::tcp::resolver resolver(executor);
    asio::ip::tcp::socket socket(executor);
    const deadline d(executor, timeout, [&resolver, &socket] {
        resolver.cancel();
        std::error_code ignored;
        socket.cancel(ignored);
    });
    auto [rec, addresses] = co_await resolver.async_resolve(where.host, std::to_string(where.port),
                                                            asio::ip::tcp::resolver::numeric_service, use_tuple);
    std::error_code last = rec ? rec : std::error_code(asio::error::host_not_found);
    for (const auto& entry : addresses) {
        if (d.passed()) {
            break;
        }
        std::error_code ignored;
        socket.close(ignored);
        auto [ec] = co_await socket.async_connect(entry.endpoint(), use_tuple);
        if (!ec && !d.passed()) {
            socket.set_option(asio::ip::tcp::no_delay(true), ignored);
            auto s = std::make_unique<tcp_stream>(std::move(socket));
            s->set_timeout(timeout);
            co_return connect_result{{}, std::move(s)};
        }
        last = ec;
    }
    co_return connect_result{d.passed() ? std::error_code(errc::timeout) : last, nullptr};
}

}  // namespace

asio::awaitable<connect_result> connect(const endpoint& where, std::chrono::milliseconds timeout) {
    if (where.is_unix()) {
        co_return co_await connect_unix(where, timeout);
    }
    co_return co_await connect_tcp(where, timeout);
}

}  // namespace mailwright::net
