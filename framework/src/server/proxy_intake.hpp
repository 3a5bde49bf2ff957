// The PROXY protocol at the start of a connection (private to src/server): who may send a header, reading it
// under its deadline, and what the session then knows instead of the socket's addresses.
#pragma once

#include <asio/awaitable.hpp>
#include <memory>
#include <optional>

#include "mailwright/net/stream.hpp"
#include "mailwright/server/server.hpp"
#include "mailwright/server/session.hpp"
#include "mailwright/tls/peer.hpp"

namespace mailwright::server {

// What a session of a PROXY listener starts with once the header was read.
struct proxied_start {
    bool admitted = false;                 // false: close the connection (already logged and counted)
    std::optional<tls::channel_info> tls;  // the client's TLS, when the proxy ended it
};

// Before anything else on a PROXY listener: a peer outside `options.trusted` is refused at once; a trusted one
// must send a whole, well-formed header within `options.timeout`. Then `info` names the client (peer) and the
// address it connected to (local), unless the header was LOCAL or UNKNOWN (a health check: the socket's own
// stay), and `stream` is wrapped so that octets that came after the header are read first. Logs the proxy's
// own address once, under the client's session prefix.
asio::awaitable<proxied_start> read_proxy_header(const proxy_protocol_options& options,
                                                 std::unique_ptr<net::stream>& stream, session_info& info);

}  // namespace mailwright::server
