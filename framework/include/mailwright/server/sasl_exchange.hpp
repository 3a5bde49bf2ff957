// A SASL exchange over a session's lines, shared by POP3 AUTH (RFC 5034) and SMTP AUTH (RFC 4954): they
// differ only in how a challenge is framed ("+ " and "334 "). Challenges go out base64-encoded; responses
// are strictly base64-decoded and wiped from the line buffer once used; "*" cancels. The protocol decides
// what to answer for each outcome.
#pragma once

#include <asio/awaitable.hpp>
#include <optional>
#include <string_view>

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

}  // namespace mailwright::server
