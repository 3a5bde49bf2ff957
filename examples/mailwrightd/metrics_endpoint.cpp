// The metrics endpoint: see the header. HTTP/1.1 (RFC 9112) only as far as a scraper needs it: the request
// line and headers are read (bounded, with a deadline) and the body, if any, ignored; the answer carries
// Content-Length and Connection: close, and the connection ends after it.
#include "metrics_endpoint.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "mailwright/metrics/instruments.hpp"

namespace mailwrightd {

using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// A scrape's request is a line and a few headers (Prometheus sends about 250 octets): 8 KiB is plenty, and
// bounds what a client can make the admin thread hold.
constexpr std::size_t max_request = 8 * 1024;
// The whole exchange, request and answer, within this, or the connection is dropped: a client that connects
// and says nothing holds a slot only this long.
constexpr std::chrono::seconds exchange_deadline{10};
// Scrapes served at once; a connection beyond them is closed at once. A Prometheus server scrapes a target
// one request at a time, so a few are room for several servers and a curl.
constexpr int max_open = 8;
// After a failed accept (no descriptors left, say), wait this long before the next: no spinning.
constexpr std::chrono::milliseconds accept_pause{100};

std::string response(std::string_view status, std::string_view content_type, std::string_view body) {
    return fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", status,
                       content_type, body.size(), body);
}

std::string answer(std::string_view request) {
    const std::string_view line = request.substr(0, request.find("\r\n"));
    const auto first = line.find(' ');
    const auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos || !line.substr(second + 1).starts_with("HTTP/1.")) {
        return response("400 Bad Request", "text/plain; charset=utf-8", "malformed request\n");
    }
    const std::string_view method = line.substr(0, first);
    const std::string_view target = line.substr(first + 1, second - first - 1);
    if (method == "GET" && (target == "/metrics" || target.starts_with("/metrics?"))) {
        return response("200 OK", "text/plain; version=0.0.4; charset=utf-8",
                        mailwright::metrics::process_registry().expose());
    }
    return response("404 Not Found", "text/plain; charset=utf-8", "the metrics are at GET /metrics\n");
}

std::string to_string(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address().to_string();
    return endpoint.address().is_v6() ? fmt::format("[{}]:{}", address, endpoint.port())
                                      : fmt::format("{}:{}", address, endpoint.port());
}

}  // namespace

struct metrics_endpoint::state {
    explicit state(asio::io_context& io) : acceptor(io) {}
    tcp::acceptor acceptor;
    int open = 0;  // scrapes being served; only the admin thread touches it
};

namespace {

// One connection: one request, one answer, closed.
asio::awaitable<void> serve_one(std::shared_ptr<metrics_endpoint::state> st, tcp::socket accepted) {
    struct counted {
        explicit counted(int& n) : n_(n) { ++n_; }
        counted(const counted&) = delete;
        counted& operator=(const counted&) = delete;
        ~counted() { --n_; }
        int& n_;
    } slot(st->open);
    const auto socket = std::make_shared<tcp::socket>(std::move(accepted));
    asio::steady_timer deadline(socket->get_executor(), exchange_deadline);
    deadline.async_wait([weak = std::weak_ptr<tcp::socket>(socket)](std::error_code ec) {
        if (const auto s = weak.lock(); s && !ec) {
            std::error_code ignored;
            s->close(ignored);  // the read or write in progress ends with an error
        }
    });
    std::string request;
    auto buffer = asio::dynamic_buffer(request, max_request);
    const auto [read_error, length] = co_await asio::async_read_until(*socket, buffer, "\r\n\r\n", use_tuple);
    std::string reply;
    if (read_error == asio::error::not_found) {
        reply = response("431 Request Header Fields Too Large", "text/plain; charset=utf-8", "request too large\n");
    } else if (read_error) {
        co_return;  // gone, or too slow
    } else {
        reply = answer(std::string_view(request).substr(0, length));
    }
    const auto sent = co_await asio::async_write(*socket, asio::buffer(reply), use_tuple);
    (void)sent;  // a client that went away: nothing more to do than close
    std::error_code ignored;
    socket->shutdown(tcp::socket::shutdown_both, ignored);
    socket->close(ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<metrics_endpoint::state> st) {
    asio::steady_timer pause(st->acceptor.get_executor());
    for (;;) {
        auto [ec, socket] = co_await st->acceptor.async_accept(use_tuple);
        if (!st->acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            spdlog::debug("metrics endpoint: accept failed: {}", ec.message());
            pause.expires_after(accept_pause);
            co_await pause.async_wait(use_tuple);
            continue;
        }
        if (st->open >= max_open) {
            continue;  // the socket closes here
        }
        asio::co_spawn(st->acceptor.get_executor(), serve_one(st, std::move(socket)), [](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {  // no memory for the exposition, say: only this scrape fails
                    spdlog::error("metrics endpoint: {}", ex.what());
                }
            }
        });
    }
}

}  // namespace

metrics_endpoint::metrics_endpoint(asio::io_context& admin, const std::string& address)
    : state_(std::make_shared<state>(admin)) {
    const auto parsed = mailwright::config::parse_listen_address(address);
    if (!parsed) {
        throw std::invalid_argument("[admin] metrics: '" + address + "' is not an address:port");
    }
    const tcp::endpoint endpoint(asio::ip::make_address(parsed->address), parsed->port);
    auto& acceptor = state_->acceptor;
    std::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec && endpoint.address().is_v6()) {
        acceptor.set_option(asio::ip::v6_only(true), ec);
    }
    if (!ec) {
        acceptor.set_option(asio::socket_base::reuse_address(true), ec);  // restarts despite TIME_WAIT
    }
    if (!ec) {
        acceptor.bind(endpoint, ec);
    }
    if (!ec) {
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        throw std::system_error(ec, "[admin] metrics cannot listen on " + to_string(endpoint));
    }
}

metrics_endpoint::~metrics_endpoint() = default;

std::unique_ptr<metrics_endpoint> metrics_endpoint::open(asio::io_context& admin,
                                                         const mailwright::config::daemon_config& cfg) {
    if (cfg.admin.metrics.empty()) {
        return nullptr;
    }
    auto endpoint = std::make_unique<metrics_endpoint>(admin, cfg.admin.metrics);
    for (const auto& l : cfg.listeners) {
        mailwright::metrics::declare_listener(l.name, l.tls_mode != mailwright::tls::mode::none);
    }
    endpoint->start();
    return endpoint;
}

void metrics_endpoint::start() {
    std::error_code ec;
    const auto local = state_->acceptor.local_endpoint(ec);
    spdlog::info("metrics endpoint on http://{}/metrics", to_string(local));
    asio::co_spawn(state_->acceptor.get_executor(), accept_loop(state_), asio::detached);
}

void metrics_endpoint::stop() {
    asio::post(state_->acceptor.get_executor(), [st = state_] {
        std::error_code ignored;
        st->acceptor.close(ignored);
    });
}

}  // namespace mailwrightd
