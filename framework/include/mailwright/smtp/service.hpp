// The SMTP service in its three roles (RFC 5321; RFC 6409 submission; RFC 2033 LMTP), with STARTTLS (RFC 3207),
// AUTH (RFC 4954), PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), ENHANCEDSTATUSCODES (RFC 2034,
// 3463), SMTPUTF8 (RFC 6531), CHUNKING (RFC 3030), DSN parameters kept with the message (RFC 3461) and implicit
// TLS (RFC 8314). The dialogue is src/smtp/session.cpp; the rules are in command.hpp, state.hpp and
// data_reader.hpp.
//
// Messages go to the mailstore for local users. Nothing is relayed unless the listener allows it for
// authenticated users (options::relay) and the mailstore hands messages on (mailstore::delivers_remote():
// plugins/forward, which acknowledges only what its next hop accepted): there is no outbound queue here.
//
// The keys of a listener's [listener.smtp] table are the service's too: read_settings() (src/smtp/settings.cpp)
// reads them into `options`, whose defaults are the only ones.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/config/section.hpp"
#include "mailwright/net/network.hpp"
#include "mailwright/pipeline/message_pipeline.hpp"
#include "mailwright/plugin/auth.hpp"
#include "mailwright/plugin/hook.hpp"
#include "mailwright/plugin/mailstore.hpp"
#include "mailwright/sasl/penalty.hpp"
#include "mailwright/server/service.hpp"
#include "mailwright/smtp/data_reader.hpp"

namespace mailwright::smtp {

// Who may send to recipients outside the local domains (through a mailstore that delivers_remote()).
enum class relay_policy {
    none,           // nobody: an MX refuses foreign domains (554 5.7.1), submission too (550 5.7.1)
    authenticated,  // a client after AUTH (submission through a smarthost); everyone else as `none`
};

enum class role {
    mx,          // port 25: mail for the local domains from anyone; AUTH optional
    submission,  // 587/465: AUTH required before MAIL; the sender must be one the user may use
    lmtp,        // RFC 2033: LHLO, one reply per recipient after the data
};

struct options {
    role kind = role::mx;
    std::string hostname = "localhost";
    // Domains whose mailboxes are here (case-insensitive). Empty: the host name alone.
    std::vector<std::string> local_domains;
    relay_policy relay = relay_policy::none;
    std::vector<std::string> mechanisms{"PLAIN", "LOGIN"};
    bool plaintext_auth = false;  // AUTH PLAIN/LOGIN without TLS
    // No AUTH of any kind (SCRAM and CRAM-MD5 included) before STARTTLS (538 5.7.11): the session it
    // unlocks would run in the clear (Dovecot's ssl = required). mailwrightd sets it on STARTTLS listeners.
    bool auth_requires_tls = false;
    // Before TLS only EHLO, HELO, STARTTLS, NOOP, RSET and QUIT (530 5.7.0 otherwise): submission on 587.
    bool require_tls = false;
    unsigned max_auth_failures = 3;
    unsigned max_errors = 20;                      // Postfix smtpd_hard_error_limit: then 421 and close
    std::size_t max_recipients = 1000;             // Postfix smtpd_recipient_limit: then 452
    std::uint64_t max_message_size = 10'240'000;   // Postfix message_size_limit: SIZE, and enforced (552)
    std::size_t max_text_line = 1000;              // RFC 5321 4.5.3.1.6, CRLF included
    std::size_t max_command_line = 512;            // RFC 5321 4.5.3.1.4, CRLF included
    bare_line_ends bare = bare_line_ends::reject;  // Postfix 3.9's default
    // A message must arrive at least this fast (octets per second) after a grace period, whatever each
    // read's deadline: a client trickling one octet per read timeout would otherwise hold the session for
    // ever (slow-loris; Postfix smtpd_min_data_rate). Zero: no minimum.
    std::uint64_t min_data_rate = 500;
    std::chrono::milliseconds data_rate_grace{std::chrono::seconds(10)};
    // Wait this long for the client before the greeting: a client that talks first is refused (554 5.5.0).
    // Zero: no wait (submission and LMTP clients are known; an MX may want a second or more).
    std::chrono::milliseconds pregreet_wait{0};
    // Submission: MAIL FROM:<> (a null reverse-path, RFC 5321 4.5.5) is refused with 553 5.7.1 unless this is
    // set: a user does not send bounces, and a null sender escapes the check that the user owns the address.
    bool allow_null_sender = false;
    // Leniency for old clients that send MAIL straight after STARTTLS without a new EHLO (RFC 3207 4.2 asks
    // for one): the session goes on as if it had sent HELO with its name from before TLS, and says so in
    // the log. Off: 503, as the RFC has it.
    bool implicit_helo_after_starttls = false;
    // The user whose mailbox receives mail for <postmaster> and postmaster@<local domain> (RFC 5321 4.5.1).
    // When the auth backend does not know it, such mail gets 451 4.3.0 (and an error in the log), not 550: the
    // address must work, so the fault is the configuration's, and the sender keeps the mail until it is fixed.
    std::string postmaster = "postmaster";
    // The proxies that may send XCLIENT (Postfix's extension, smtp/xclient.hpp): a client whose address is in
    // one of these networks hears it in the EHLO reply and may replace the session's client facts (address,
    // port, name, HELO, login) with those of the client it speaks for. Everyone else gets 550 5.7.0. Empty
    // (the default): XCLIENT is not offered and is answered as an unknown command. SMTP only: an LMTP client
    // is the local MTA, which has no client of its own to speak for.
    net::network_list xclient_trusted;
};

// [listener.smtp] (docs/configuration.md) of a listener serving `service`, "smtp" (role "mx" or "submission")
// or "lmtp": options{} with what the table says on top, checked; mistakes are reported through `section`.
// The hostname, mechanisms and other common keys come from the listener and the daemon.
options read_settings(config::section_reader& section, std::string_view service);

struct environment {
    plugin::auth_backend* auth = nullptr;  // required
    std::shared_ptr<plugin::mailstore> store;
    std::shared_ptr<sasl::failure_penalty> penalty;
    std::function<asio::awaitable<plugin::reply>(plugin::smtp_phase, const plugin::event_context&)> hooks;
    // Who receives mail for a local address (plugin::hook::resolve); unset: its local part names the user.
    std::function<asio::awaitable<plugin::resolution>(std::string_view local_part, std::string_view domain,
                                                      const plugin::event_context&)>
        resolve;
    // The message filters for one message, in order (plugin/filter.hpp); context.envelope is the message's.
    // Unset or empty: none.
    std::function<pipeline::filter_list(const plugin::event_context&)> filters;
};

class service final : public server::service {
  public:
    service(options o, environment env);

    std::string_view name() const override;  // "smtp" or "lmtp"
    // Command lines are held to max_command_line by the session; the buffer is larger, for message text. A
    // response to a SASL challenge may be up to 12288 octets whatever this is (RFC 4954 4).
    io::line_limits default_line_limits() const override { return {.max_line = 2048}; }
    asio::awaitable<void> serve(server::session& s) override;
    std::string refusal_line(server::refusal why) const override;

    const options& settings() const noexcept;
    const environment& env() const noexcept;

  private:
    options options_;
    environment env_;
};

}  // namespace mailwright::smtp
