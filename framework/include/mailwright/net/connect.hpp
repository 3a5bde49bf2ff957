// Outgoing connections, for clients the framework and plugins run (the SMTP/LMTP client, milter): to a host
// and port over TCP, each address the name resolves to tried in turn, or to a unix-domain socket. The stream
// has the same per-read and per-write deadlines as a server session's.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "mailwright/net/stream.hpp"

namespace mailwright::net {

// Where to connect: "host:port", "[v6 address]:port" or "unix:/path/to/socket".
struct endpoint {
    std::string host;  // a name or a numeric address (no brackets); empty for a unix socket
    std::uint16_t port = 0;
    std::string unix_path;  // set: a unix-domain socket

    bool is_unix() const noexcept { return !unix_path.empty(); }
    std::string to_string() const;  // as parse() reads it
    // Nullopt when malformed, with what is wrong in *error ("port missing", "port out of range", ...).
    // `default_port` is used when "host" has none (0: a port is required).
    static std::optional<endpoint> parse(std::string_view text, std::string* error = nullptr,
                                         std::uint16_t default_port = 0);
};

struct connect_result {
    std::error_code ec;                   // the last address's error when none worked; errc::timeout after `timeout`
    std::unique_ptr<net::stream> stream;  // set on success, its deadline set to `timeout` until changed
};

// Connects on the calling coroutine's executor. Name resolution and every attempt share `timeout`.
asio::awaitable<connect_result> connect(const endpoint& where, std::chrono::milliseconds timeout);

}  // namespace mailwright::net
