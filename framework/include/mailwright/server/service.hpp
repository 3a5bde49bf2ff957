// A service is a protocol served on a listener: POP3, SMTP, LMTP, or one of your own. The server accepts
// the connection, applies the limits, and hands each client's session to serve(), a coroutine that reads
// as the dialogue it implements.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "mailwright/io/line_buffer.hpp"

namespace mailwright::server {

class session;

enum class refusal {
    too_many_connections,         // the server-wide limit is reached
    too_many_connections_per_ip,  // this client address has too many sessions open
};

class service {
  public:
    virtual ~service() = default;

    // A short name for logs, e.g. "pop3".
    virtual std::string_view name() const = 0;

    // Line limits this protocol wants unless the listener's configuration says otherwise.
    virtual io::line_limits default_line_limits() const { return {}; }

    // How long a client may stay silent unless the listener's configuration says otherwise.
    virtual std::chrono::milliseconds default_read_timeout() const { return std::chrono::minutes(5); }

    // The whole dialogue with one client. Return to close the connection. Network outcomes arrive as
    // values from session::read_line(); an exception escaping here is a bug: it is logged with the session
    // id and only this connection is closed.
    virtual asio::awaitable<void> serve(session& s) = 0;

    // The line (CRLF included) sent before closing a connection the server will not serve, in this
    // protocol's own words, e.g. "421 4.7.0 Too many connections\r\n". Empty: close without a word.
    virtual std::string refusal_line(refusal why) const = 0;
};

}  // namespace mailwright::server
