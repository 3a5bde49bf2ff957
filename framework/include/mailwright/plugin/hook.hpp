// The hook plugin kind: a say at each SMTP phase and POP3 event. Every hook configured runs, in the order
// of [plugins] hooks; the first answer that is not accept decides, and the client hears it: a hook answers
// with a plugin::reply (reply.hpp), e.g. reply::smtp(450, "4.7.1", "try again later"), or reply::reject()
// for the protocol's own words.
//
// A hook may also resolve recipients (resolve(): aliases, catch-alls) and look into messages (filter(): one
// message_filter per message, filter.hpp). Those run in the same order.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/plugin/envelope.hpp"
#include "mailwright/plugin/filter.hpp"
#include "mailwright/plugin/plugin.hpp"
#include "mailwright/plugin/reply.hpp"
#include "mailwright/tls/peer.hpp"

namespace mailwright::plugin {

enum class smtp_phase { connect, helo, mail, rcpt, data, queue };
enum class pop3_event { login, retrieve, remove };

// What a hook learns about the session and the event. Valid for the call only: copy what you keep.
struct event_context {
    std::string_view peer_address;  // the client's numeric IP address
    std::string_view user;          // authenticated user, if any
    std::string_view argument;      // the HELO name, the address of MAIL/RCPT, the message number, ...
    // From smtp_phase::rcpt on: the transaction so far (the sender, DSN parameters, the recipients accepted
    // before this one); at smtp_phase::queue and for a message filter, the whole envelope.
    const plugin::envelope* envelope = nullptr;
    std::uint64_t session = 0;               // the session's id, as its log lines show it ("session=N")
    std::string_view helo;                   // SMTP: the name the client gave in HELO/EHLO/LHLO; empty before
    std::string_view service;                // "smtp", "submission", "lmtp" or "pop3"
    std::string_view server_name;            // this server's host name, as the listener announces it
    const tls::channel_info* tls = nullptr;  // the TLS channel (version, cipher, client certificate); null in the clear
};

std::string_view to_string(smtp_phase phase) noexcept;  // "connect", "helo", ... as the log shows them
std::string_view to_string(pop3_event event) noexcept;  // "login", "retrieve", "remove"

// A hook's answer to "who receives mail for this address?" (hook::resolve).
struct resolution {
    // Not accept: the RCPT is refused with it (e.g. reply::smtp(550, "5.4.6", "alias loop")).
    reply answer = reply::accept();
    // With accept: the local users whose mailboxes receive the message, each checked with the auth backend
    // (an unknown one refuses the recipient, 550 5.1.1). Empty: not this hook's address; the next hook is
    // asked, and after the last the local part names the user (<postmaster> the configured one).
    std::vector<std::string> users;

    static resolution not_mine() { return {}; }
    static resolution to(std::vector<std::string> users) { return {reply::accept(), std::move(users)}; }
    static resolution refuse(reply r) { return {std::move(r), {}}; }
};

class hook : public plugin_base {
  public:
    plugin_kind kind() const noexcept final { return plugin_kind::hook; }
    virtual asio::awaitable<reply> on_smtp(smtp_phase /*phase*/, const event_context& /*context*/) {
        co_return reply::accept();
    }
    virtual asio::awaitable<reply> on_pop3(pop3_event /*event*/, const event_context& /*context*/) {
        co_return reply::accept();
    }
    // RCPT, for an address in one of the listener's local domains (or <postmaster>): which local users it
    // stands for. Aliases, catch-alls and recipient delimiters are made here. Hooks are asked in order until
    // one answers; on_smtp(rcpt) runs afterwards, for the address as given.
    virtual asio::awaitable<resolution> resolve(std::string_view /*local_part*/, std::string_view /*domain*/,
                                                const event_context& /*context*/) {
        co_return resolution::not_mine();
    }
    // A filter for one message (filter.hpp), made once the message is about to arrive (context.envelope is
    // the whole envelope); null: this hook does not look into messages.
    virtual std::unique_ptr<message_filter> filter(const event_context& /*context*/) { return nullptr; }
};

}  // namespace mailwright::plugin
