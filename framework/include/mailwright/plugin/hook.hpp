// The hook plugin kind: a say at each SMTP phase and POP3 event. Every hook configured runs, in the order
// of [plugins] hooks; the first answer that is not accept decides, and the client hears it: a hook answers
// with a plugin::reply (reply.hpp), e.g. reply::smtp(450, "4.7.1", "try again later"), or reply::reject()
// for the protocol's own words.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "mailwright/plugin/envelope.hpp"
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

class hook : public plugin_base {
  public:
    plugin_kind kind() const noexcept final { return plugin_kind::hook; }
    virtual asio::awaitable<reply> on_smtp(smtp_phase /*phase*/, const event_context& /*context*/) {
        co_return reply::accept();
    }
    virtual asio::awaitable<reply> on_pop3(pop3_event /*event*/, const event_context& /*context*/) {
        co_return reply::accept();
    }
};

}  // namespace mailwright::plugin
