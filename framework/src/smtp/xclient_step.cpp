// XCLIENT in the dialogue (Postfix's extension, https://www.postfix.org/XCLIENT_README.html): a trusted proxy
// names the client it speaks for, and the session restarts as if that client had just connected.
//
// Who may: a client whose address is in the listener's xclient_trusted networks, judged on the client as the
// session knows it now, so after one XCLIENT a second one is allowed only if the new address is trusted too
// (Postfix re-evaluates xclient_allowed the same way). Where the list is empty XCLIENT does not exist
// (session.cpp answers 500); otherwise an untrusted client gets 550 5.7.0 and nothing changes. When: outside a
// transaction (the state table; 503 5.5.1 inside one), before TLS too.
//
// What changes, as Postfix's xclient_cmd() has it:
// - the session's peer (server::session::replace_peer): address and port, so logs, the Received header,
//   hooks (access, ratelimit), failed-login penalties and the connect hook see the proxy's client. ADDR
//   without PORT leaves the port unknown (0): the proxy's own port says nothing about its client.
// - NAME goes into the Received header; HELO stands for the client's name through the proxy's next
//   EHLO/HELO (the proxy greets again with its own name, and Postfix would keep the client's when no HELO
//   follows); PROTO says SMTP or ESMTP in the Received header.
// - LOGIN=user: the session counts as authenticated as that user, as after AUTH (submission lets it send as
//   its own addresses); without LOGIN, or with LOGIN=[UNAVAILABLE], nobody is logged in.
// - the transaction, the greeting and the EHLO extensions are forgotten: state `connected`, and the server
//   greets again (220) after running the connect hook for the new client, whose refusal closes the
//   connection as at accept.
// What stays: the connection itself, its TLS (the proxy's channel: the Received header's "ESMTPS" and
//   require_tls speak of the hop that reached us), its slot in the connection limits, and the error counts.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dialogue.hpp"
#include "mailwright/smtp/xclient.hpp"
#include "replies.hpp"

namespace mailwright::smtp::detail {

bool dialogue::xclient_trusted() const { return options_.xclient_trusted.contains(s_.info().peer.address); }

asio::awaitable<next> dialogue::on_xclient(const command& c) {
    if (!xclient_trusted()) {
        spdlog::info("{} XCLIENT refused: not in xclient_trusted", s_.log_prefix());
        co_return error(replies::xclient_unauthorized);
    }
    const xclient::result r = xclient::parse(c.argument);
    if (r.problem != xclient::error::none) {
        const std::string text = replies::xclient_syntax(r);
        co_return error(text);
    }
    const xclient::facts& f = r.said;
    const server::endpoint_info& was = s_.info().peer;
    server::endpoint_info peer{.address = f.addr.value_or(was.address),
                               .port = f.port.value_or(f.addr ? std::uint16_t{0} : was.port)};
    if (f.name) {
        client_name_ = *f.name;
    }
    user_ = f.login.value_or("");
    xclient_helo_ = f.helo && !f.helo->empty() ? f.helo : std::nullopt;
    xclient_esmtp_ = f.esmtp;
    spdlog::info("{} XCLIENT: speaking for {} name={} helo={} login={}", s_.log_prefix(), peer.to_string(),
                 client_name_.empty() ? "unknown" : client_name_, xclient_helo_.value_or("unknown"),
                 user_.empty() ? "none" : user_);
    s_.replace_peer(std::move(peer));
    if (!user_.empty()) {
        spdlog::info("{} authenticated as {} with XCLIENT", s_.log_prefix(), user_);
    }
    // As a new connection: no greeting, no extensions, no transaction (the table allows none here anyway).
    state_ = after(verb::xclient, state_);
    extended_ = false;
    helo_.clear();
    helo_before_tls_.clear();
    txn_ = transaction{};
    const bool greeted = co_await greet();
    co_return greeted ? next::go_on : next::close;
}

}  // namespace mailwright::smtp::detail
