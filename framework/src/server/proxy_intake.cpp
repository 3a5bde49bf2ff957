// The PROXY protocol at the start of a connection: see the header.
#include "proxy_intake.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <array>
#include <asio/error.hpp>
#include <chrono>
#include <string>

#include "../net/prefixed_stream.hpp"
#include "mailwright/metrics/instruments.hpp"
#include "mailwright/net/error.hpp"
#include "mailwright/net/proxy_header.hpp"

namespace mailwright::server {

namespace {

using metrics::proxy_outcome;

endpoint_info info_of(const net::proxy::endpoint& e) { return {net::to_string(e.address), e.port}; }

// What the log says of the client's TLS as the proxy told it.
std::string tls_words(const tls::channel_info& c) {
    std::string out = fmt::format(" tls={} cipher={}", c.version.empty() ? "?" : c.version, c.cipher);
    if (!c.server_name.empty()) {
        out += fmt::format(" sni={}", c.server_name);
    }
    if (c.peer.present) {
        out += fmt::format(" client-cert-cn=\"{}\" verified={}", c.peer.common_name, c.peer.verified);
    }
    return out;
}

struct read_outcome {
    proxy_outcome what = proxy_outcome::closed;
    std::string reason;
    std::string rest;  // the client's octets that came with the header
};

// Reads until the parser has a verdict, all of it by one deadline (a peer that dribbles octets gets no more
// time than one that sends nothing).
asio::awaitable<read_outcome> read_header(net::stream& stream, net::proxy::parser& parser,
                                          std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // Enough for any v1 line and the usual v2 header in one read; a longer one takes a few.
    std::array<char, 1024> buffer;
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            co_return read_outcome{proxy_outcome::timeout, "no complete header in time", {}};
        }
        stream.set_timeout(left);
        const auto [ec, n] = co_await stream.read_some(buffer);
        if (ec == net::errc::timeout) {
            co_return read_outcome{proxy_outcome::timeout, "no complete header in time", {}};
        }
        if (ec) {
            co_return read_outcome{proxy_outcome::closed,
                                   ec == asio::error::eof ? "closed before the header was complete" : ec.message(),
                                   {}};
        }
        const std::string_view got(buffer.data(), n);
        const auto r = parser.feed(got);
        if (r.what == net::proxy::parser::status::malformed) {
            co_return read_outcome{proxy_outcome::malformed, std::string(r.reason), {}};
        }
        if (r.what == net::proxy::parser::status::done) {
            co_return read_outcome{proxy_outcome::accepted, {}, std::string(got.substr(r.consumed))};
        }
    }
}

}  // namespace

asio::awaitable<proxied_start> read_proxy_header(const proxy_protocol_options& options,
                                                 std::unique_ptr<net::stream>& stream, session_info& info) {
    const std::string proxy = info.peer.to_string();
    if (!options.trusted.contains(info.peer.address)) {
        // Not one octet for a peer that is not a configured proxy: a client that reaches the listener directly
        // must not be able to name its own address.
        spdlog::warn("session={} peer={} listener={} refused: not a trusted PROXY protocol sender (proxy_trusted)",
                     info.id, proxy, info.listener);
        metrics::count_proxy_header(info.listener, proxy_outcome::untrusted);
        co_return proxied_start{};
    }
    net::proxy::parser parser;
    auto got = co_await read_header(*stream, parser, options.timeout);
    metrics::count_proxy_header(info.listener, got.what);
    if (got.what != proxy_outcome::accepted) {
        spdlog::warn("session={} peer={} listener={} PROXY header refused: {}; connection closed", info.id, proxy,
                     info.listener, got.reason);
        co_return proxied_start{};
    }
    const auto& h = parser.value();
    if (!h.local) {
        info.peer = info_of(h.source);
        info.local = info_of(h.destination);
    }
    proxied_start start{true, net::proxy::proxied_channel(h)};
    spdlog::info("session={} peer={} listener={} PROXY v{} from proxy={}{}{}{}", info.id, info.peer.to_string(),
                 info.listener, h.version, proxy, h.local ? " local (the connection's own addresses)" : "",
                 start.tls ? tls_words(*start.tls) : "",
                 h.unique_id.empty() ? "" : fmt::format(" unique-id={}", h.unique_id));
    if (!got.rest.empty()) {
        stream = std::make_unique<net::prefixed_stream>(std::move(stream), std::move(got.rest));
    }
    co_return start;
}

}  // namespace mailwright::server
