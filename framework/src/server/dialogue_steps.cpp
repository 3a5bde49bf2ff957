// The steps every line-based dialogue shares: see the header.
#include "mailwright/server/dialogue_steps.hpp"

#include <fmt/format.h>

#include <system_error>

namespace mailwright::server {

read_step interpret(session& s, const read_result& r, const read_replies& replies) {
    switch (r.status) {
        case read_status::line:
            return {read_step::kind::command, r.line};
        case read_status::too_long:
            return {read_step::kind::bad_line, replies.too_long};
        case read_status::bare_lf:
            return {read_step::kind::bad_line, replies.bare_lf};
        case read_status::timeout:
        case read_status::stopping:
        case read_status::eof:
        case read_status::error:
            break;
    }
    say_goodbye(s, r.status, replies);
    return {read_step::kind::over, {}};
}

void say_goodbye(session& s, read_status why, const read_replies& replies) {
    if (why == read_status::timeout) {
        s.reply(fmt::format("{}\r\n", replies.idle));
    } else if (why == read_status::stopping) {
        s.reply(fmt::format("{}\r\n", replies.stopping));
    }
}

asio::awaitable<tls_upgrade> upgrade_to_tls(session& s, std::string_view ready) {
    if (s.tls_active()) {
        co_return tls_upgrade::already_active;
    }
    if (!s.can_start_tls()) {
        co_return tls_upgrade::not_available;
    }
    s.reply(fmt::format("{}\r\n", ready));
    // Name an awaited result before testing it: g++ 12 miscompiles `if (co_await ...)` (docs/architecture.md).
    const std::error_code failed = co_await s.start_tls();
    co_return failed ? tls_upgrade::failed : tls_upgrade::started;
}

}  // namespace mailwright::server
