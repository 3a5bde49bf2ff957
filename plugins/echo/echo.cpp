// echo: greeting "220", each line back as "250 <line>", "221" on QUIT, "500" for a line over the limit,
// "421" on timeout and on shutdown. On a listener with TLS, STARTTLS upgrades the connection ("220", then
// the handshake) and is refused inside TLS ("503"). The codes follow SMTP's conventions so that people
// reading a trace know them. TLSINFO shows what the session knows of the TLS channel (tls::channel_info).
#include "echo.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "mailwright/io/ascii.hpp"
#include "mailwright/server/session.hpp"

namespace mailwright::echo {

namespace {
// What TLS told the session, on one line: the diagnostic view of tls::channel_info.
std::string describe_tls(const server::session& s) {
    if (!s.tls_active()) {
        return "250 tls=none\r\n";
    }
    const auto& c = s.tls_channel();
    return fmt::format(
        "250 tls={} cipher={} sni={} cert={} verified={} subject={} cn={} emails={} dns={} sha256={} cb-type={} "
        "cb={:02x}\r\n",
        c.version, c.cipher, c.server_name.empty() ? "-" : c.server_name, c.peer.present ? "yes" : "no",
        c.peer.verified ? "yes" : "no", c.peer.subject.empty() ? "-" : c.peer.subject,
        c.peer.common_name.empty() ? "-" : c.peer.common_name, fmt::join(c.peer.san_emails, ","),
        fmt::join(c.peer.san_dns, ","), c.peer.sha256_fingerprint.empty() ? "-" : c.peer.sha256_fingerprint,
        c.channel_binding_type.empty() ? "-" : c.channel_binding_type, fmt::join(c.channel_binding, ""));
}

}  // namespace

asio::awaitable<void> service::serve(server::session& s) {
    s.reply("220 mailwright echo ready\r\n");
    for (;;) {
        const auto r = co_await s.read_line();
        switch (r.status) {
            case server::read_status::line:
                if (io::iequals(r.line, "quit")) {
                    s.reply("221 bye\r\n");
                    co_return;
                }
                if (io::iequals(r.line, "tlsinfo")) {
                    s.reply(describe_tls(s));
                    break;
                }
                if (io::iequals(r.line, "starttls")) {
                    if (s.tls_active()) {
                        s.reply("503 TLS is already active\r\n");
                    } else if (!s.can_start_tls()) {
                        s.reply("502 TLS is not available here\r\n");
                    } else {
                        s.reply("220 go ahead\r\n");
                        const std::error_code failed = co_await s.start_tls();
                        if (failed) {
                            co_return;  // the handshake failed: nothing more can be said
                        }
                    }
                    break;
                }
                s.reply(fmt::format("250 {}\r\n", r.line));
                break;
            case server::read_status::too_long:
                s.reply("500 line too long\r\n");
                break;
            case server::read_status::bare_lf:
                s.reply("500 line must end with CRLF\r\n");
                break;
            case server::read_status::timeout:
                s.reply("421 idle timeout, closing\r\n");
                co_return;
            case server::read_status::stopping:
                s.reply("421 server shutting down\r\n");
                co_return;
            case server::read_status::eof:
            case server::read_status::error:
                co_return;
        }
    }
}

std::string service::refusal_line(server::refusal why) const {
    return why == server::refusal::too_many_connections ? "421 too many connections, try later\r\n"
                                                        : "421 too many connections from your address\r\n";
}

}  // namespace mailwright::echo
