// The AUTH command shared by POP3 (RFC 5034) and SMTP (RFC 4954): what may be offered now, the exchange from
// the mechanism's name to its outcome, and the count of failed logins. The two protocols differ only in how
// a challenge is framed ("+ " and "334 ") and in what they answer: authenticate() returns an outcome, and
// the protocol turns it into its own reply and state. Challenges go out base64-encoded; responses are
// strictly base64-decoded and wiped from the line buffer once used; "*" cancels.
#pragma once

#include <asio/awaitable.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/sasl/mechanism.hpp"
#include "mailwright/sasl/penalty.hpp"
#include "mailwright/server/session.hpp"

namespace mailwright::server {

struct sasl_outcome {
    enum class kind {
        success,    // step.user is authenticated
        failure,    // wrong credentials, malformed input or an unusable line: a failed attempt
        tempfail,   // the backend could not decide
        cancelled,  // the client sent "*": not a failed attempt (RFC 4954 4, RFC 5034 4)
        ended,      // the connection ended or timed out mid-exchange; see `ended_by`
    };
    kind result = kind::failure;
    sasl::step step;                          // the last step: user, attempted identity, log reason
    read_status ended_by = read_status::eof;  // for kind::ended
};

// Runs `mechanism` to its end. `initial_response` is the client's initial response as sent (base64, "="
// for an empty one), or nullopt when it sent none.
asio::awaitable<sasl_outcome> run_sasl(session& s, sasl::mechanism& mechanism,
                                       std::optional<std::string_view> initial_response,
                                       std::string_view challenge_prefix);

// A failed login's penalty (sasl::failure_penalty): records the failure of this client's address and of the
// user name tried, then waits the delay on a timer, never blocking the worker. The same delay for an unknown
// user and a wrong password. `penalty` may be null: no delay.
asio::awaitable<void> penalise_failure(sasl::failure_penalty* penalty, const session& s, std::string_view attempted);

// A listener's authentication settings, as the steps below need them: pop3::options and smtp::options both
// hold them, and each dialogue gathers them here.
struct auth_settings {
    std::span<const std::string> mechanisms;   // configured: what may ever be offered
    bool plaintext_auth = false;               // PLAIN and LOGIN without TLS
    bool requires_tls = false;                 // no authentication of any kind before TLS
    plugin::auth_backend* auth = nullptr;      // required
    sasl::failure_penalty* penalty = nullptr;  // null: failures are answered at once
    std::string_view hostname;                 // for CRAM-MD5 challenges
    unsigned max_failures = 3;                 // failed logins before the connection closes
};

// The settings from a service's options and environment (pop3::, smtp::), which name these keys alike.
template <class Options, class Environment>
auth_settings auth_settings_of(const Options& o, const Environment& env) {
    return {.mechanisms = o.mechanisms,
            .plaintext_auth = o.plaintext_auth,
            .requires_tls = o.auth_requires_tls,
            .auth = env.auth,
            .penalty = env.penalty.get(),
            .hostname = o.hostname,
            .max_failures = o.max_auth_failures};
}

// The mechanisms a client may use now, in the configured order (sasl::offered()); none at all before TLS
// when TLS is required.
std::vector<std::string> offered_mechanisms(const session& s, const auth_settings& settings);

struct auth_request {
    std::string_view mechanism;                        // as the client named it, in any case
    std::optional<std::string_view> initial_response;  // as sent (base64, "=" for an empty one); nullopt: none
    std::string_view challenge_prefix;                 // "+ " (POP3), "334 " (SMTP)
};

struct auth_outcome {
    enum class kind {
        success,      // `user` is authenticated; the protocol completes the login
        failure,      // a failed attempt, already logged with its reason; the protocol calls failed_login()
        tempfail,     // the backend could not decide; `reason` says why, for the protocol to log
        cancelled,    // the client sent "*": not a failed attempt (RFC 4954 4, RFC 5034 4)
        ended,        // the connection ended or timed out mid-exchange (`ended_by`): the protocol closes
        not_offered,  // no such mechanism here
        needs_tls,    // a mechanism this listener has, but not without TLS (SMTP answers 538, RFC 4954 6)
    };
    kind what = kind::failure;
    std::string mechanism;         // the name upper-cased, as logs and replies show it
    std::string user;              // success
    std::string attempted;         // failure: the identity tried, when the client named one
    std::string reason;            // tempfail
    plugin::reply tempfail_reply;  // tempfail: what the backend wants the client to hear
    read_status ended_by = read_status::eof;
};

// AUTH from the mechanism's name to its outcome: checks the name against offered_mechanisms(), makes the
// mechanism and runs it (run_sasl). Nothing is replied but the challenges; nothing is counted.
asio::awaitable<auth_outcome> authenticate(session& s, const auth_settings& settings, auth_request request);

// A failed login (AUTH, or POP3's PASS and APOP): logs it, counts it in `failures`, which the dialogue keeps,
// and waits the penalty (penalise_failure). True when it was the last one settings.max_failures allows: the
// protocol says so and closes. `mechanism`: the SASL mechanism, or "USER" (POP3 USER/PASS) or "APOP";
// `attempted`: the user name tried, empty when the client named none.
//
// The line is the one fail2ban matches (contrib/fail2ban), the same for POP3 and SMTP, and the same for an
// unknown user as for a wrong password (no enumeration):
//   session=7 peer=192.0.2.1:40000 authentication failed client=192.0.2.1 mechanism=PLAIN listener=pop3s user=alice
// What the client chose, the user name, comes last, so that a name such as "x client=6.6.6.6" cannot move
// what a filter reads as the client's address.
asio::awaitable<bool> failed_login(unsigned& failures, const auth_settings& settings, const session& s,
                                   std::string_view mechanism, std::string_view attempted);

}  // namespace mailwright::server
