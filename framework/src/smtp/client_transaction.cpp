// A transaction over smtp::client::session: MAIL and RCPT (pipelined when offered, RFC 2920), DATA with
// dot-stuffing or BDAT chunks (RFC 3030), the replies after the message (one, or one per recipient for LMTP),
// RSET, NOOP and QUIT.
#include <spdlog/spdlog.h>

#include "client_session.hpp"

namespace mailwright::smtp::client {

using detail::own_reply;

asio::awaitable<void> session::impl::envelope_pipelined(const transaction& t, started& result) {
    const auto mail = detail::mail_command(t, caps);
    std::vector<detail::command_line> rcpts;
    std::string batch = mail.line + "\r\n";
    note(mail.line);
    for (const auto& r : t.recipients) {
        rcpts.push_back(detail::rcpt_command(r, caps));
        if (!rcpts.back().refusal) {
            note(rcpts.back().line);
            batch += rcpts.back().line + "\r\n";
        }
    }
    // RFC 2920 3.1: DATA may end the group; the 354 decides whether the message follows.
    const bool data = !caps.has("CHUNKING");
    if (data) {
        note("DATA");
        batch += "DATA\r\n";
    }
    co_await send(batch, opts.command_timeout);
    result.sender = co_await read_reply(opts.command_timeout);
    for (const auto& rcpt : rcpts) {
        if (rcpt.refusal) {
            result.recipients.push_back(*rcpt.refusal);
        } else {
            result.recipients.push_back(co_await read_reply(opts.command_timeout));
        }
    }
    if (data) {
        result.data = co_await read_reply(opts.command_timeout);
    }
}

asio::awaitable<void> session::impl::envelope_in_turn(const transaction& t, started& result) {
    const auto mail = detail::mail_command(t, caps);
    result.sender = co_await command(mail.line);
    if (!result.sender.positive()) {
        result.recipients.assign(t.recipients.size(), result.sender);  // none was tried
        co_return;
    }
    for (const auto& r : t.recipients) {
        const auto rcpt = detail::rcpt_command(r, caps);
        if (rcpt.refusal) {
            result.recipients.push_back(*rcpt.refusal);
        } else {
            result.recipients.push_back(co_await command(rcpt.line));
        }
    }
    const bool some =
        std::any_of(result.recipients.begin(), result.recipients.end(), [](const reply& r) { return r.positive(); });
    if (some && !caps.has("CHUNKING")) {
        result.data = co_await command("DATA");
    }
}

// RFC 2920 3.1: DATA went out with the envelope, every recipient was refused, and yet the server said 354.
// The message must not follow: an empty one ends the data at once, and its reply (a refusal) means nothing.
asio::awaitable<void> session::impl::abandon_empty_data() {
    note(".");
    const bool sent = co_await send(".\r\n", opts.data_timeout);
    if (sent) {
        co_await read_reply(opts.final_timeout);
    }
}

asio::awaitable<started> session::start(const transaction& t) {
    auto& i = *impl_;
    if (i.state != impl::phase::idle) {
        co_await reset();
    }
    started result;
    i.answers.clear();
    i.accepted = 0;
    i.data_octets = 0;
    i.stuffer = io::dot_stuffer{};
    const auto mail = detail::mail_command(t, i.caps);
    if (!i.usable() || mail.refusal) {
        result.sender = i.usable() ? *mail.refusal : *i.failure;
        result.recipients.assign(t.recipients.size(), result.sender);
        i.answers = result.recipients;
        co_return result;
    }
    if (i.caps.has("PIPELINING")) {
        co_await i.envelope_pipelined(t, result);
    } else {
        co_await i.envelope_in_turn(t, result);
    }
    i.answers = result.recipients;
    for (const auto& r : result.recipients) {
        i.accepted += r.positive() ? 1 : 0;
    }
    if (result.accepted()) {
        i.state = result.data.code == 354 ? impl::phase::data : impl::phase::chunks;
        co_return result;
    }
    if (result.data.code == 354) {
        co_await i.abandon_empty_data();
    }
    if (i.usable() && result.sender.positive()) {
        co_await reset();  // the server keeps the sender (and any recipient) until told otherwise
    }
    co_return result;
}

asio::awaitable<bool> session::write(std::span<const char> piece) {
    auto& i = *impl_;
    if (!i.usable() || i.state == impl::phase::idle) {
        co_return false;
    }
    if (piece.empty()) {
        co_return true;  // BDAT 0 is only for LAST
    }
    i.out.clear();
    i.data_octets += piece.size();
    if (i.state == impl::phase::data) {
        i.stuffer.append({piece.data(), piece.size()}, i.out);
        co_return co_await i.send(i.out, i.opts.data_timeout);
    }
    // One chunk per write, each with its own reply (RFC 3030 2): a refusal ends the transaction.
    i.out = "BDAT " + std::to_string(piece.size()) + "\r\n";
    i.note(i.out.substr(0, i.out.size() - 2));
    i.out.append(piece.data(), piece.size());
    const bool sent = co_await i.send(i.out, i.opts.data_timeout);
    if (!sent) {
        co_return false;
    }
    const auto answer = co_await i.read_reply(i.opts.data_timeout);
    if (!answer.positive() && i.usable()) {
        // The server dropped the message: every accepted recipient hears why, and the connection is not
        // worth trusting with another transaction in an unknown state.
        for (auto& a : i.answers) {
            a = a.positive() ? answer : a;
        }
        i.fail(answer);
    }
    co_return i.usable();
}

asio::awaitable<std::vector<reply>> session::impl::final_replies() {
    // SMTP: one reply for the whole message. LMTP (RFC 2033 4.2): one per accepted recipient, in RCPT order.
    const bool lmtp = opts.kind == protocol::lmtp;
    std::optional<reply> shared;
    for (auto& answer : answers) {
        if (!answer.positive()) {
            continue;
        }
        if (lmtp || !shared) {
            const auto got = co_await read_reply(opts.final_timeout);
            shared = got;
        }
        answer = *shared;
    }
    spdlog::debug("{} message of {} octets sent", peer, data_octets);
    co_return answers;
}

asio::awaitable<std::vector<reply>> session::finish() {
    auto& i = *impl_;
    const auto was = i.state;
    i.state = impl::phase::idle;
    if (was == impl::phase::idle) {
        co_return i.answers;
    }
    i.out.clear();
    if (was == impl::phase::data) {
        i.stuffer.finish(i.out);
        i.note(".");
    } else {
        i.out = "BDAT 0 LAST\r\n";
        i.note("BDAT 0 LAST");
    }
    co_await i.send(i.out, i.opts.data_timeout);
    co_return co_await i.final_replies();
}

asio::awaitable<void> session::reset() {
    auto& i = *impl_;
    const auto was = i.state;
    i.state = impl::phase::idle;
    if (!i.usable()) {
        co_return;
    }
    if (was == impl::phase::data) {
        // Inside DATA there is no way back but the end of the message, which would deliver it.
        i.fail(own_reply(451, "4.4.2", "transaction abandoned in the middle of the message"));
        co_return;
    }
    const auto answer = co_await i.command("RSET");
    if (answer.code != 250) {
        i.fail(answer);
    }
}

asio::awaitable<bool> session::alive() {
    if (!impl_->usable() || impl_->state != impl::phase::idle) {
        co_return false;
    }
    const auto answer = co_await impl_->command("NOOP");
    if (answer.code != 250) {
        impl_->fail(answer);
    }
    co_return impl_->usable();
}

asio::awaitable<void> session::quit() {
    auto& i = *impl_;
    if (i.usable()) {
        co_await i.command("QUIT");
    }
    if (i.usable()) {
        co_await i.stream->shutdown();
    }
    i.fail(own_reply(451, "4.4.2", "the connection was closed"));
}

}  // namespace mailwright::smtp::client
