// echo: greeting "220", each line back as "250 <line>", "221" on QUIT, "500" for a line over the limit,
// "421" on timeout and on shutdown. The codes follow SMTP's conventions so that people reading a trace know
// them.
#include "mailwright/services/echo.hpp"

#include <fmt/format.h>

#include "mailwright/server/session.hpp"

namespace mailwright::services {

namespace {
bool is_quit(std::string_view line) {
    return line.size() == 4 && (line[0] | 0x20) == 'q' && (line[1] | 0x20) == 'u' && (line[2] | 0x20) == 'i' &&
           (line[3] | 0x20) == 't';
}
}  // namespace

asio::awaitable<void> echo::serve(server::session& s) {
    s.reply("220 mailwright echo ready\r\n");
    for (;;) {
        const auto r = co_await s.read_line();
        switch (r.status) {
            case server::read_status::line:
                if (is_quit(r.line)) {
                    s.reply("221 bye\r\n");
                    co_return;
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

std::string echo::refusal_line(server::refusal why) const {
    return why == server::refusal::too_many_connections ? "421 too many connections, try later\r\n"
                                                        : "421 too many connections from your address\r\n";
}

}  // namespace mailwright::services
