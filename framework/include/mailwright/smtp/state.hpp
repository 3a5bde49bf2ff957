// The SMTP/LMTP state table (RFC 5321 4.1.4, RFC 3207 4.2, RFC 3030 2, RFC 4954 4, RFC 2033 4): which command
// is allowed in which state, and where it leads when it succeeds.
//
// Theory of operation. A session starts in `connected`: only a greeting command (EHLO/HELO, or LHLO for
// LMTP) opens it. MAIL starts a transaction, RCPT adds recipients, DATA or a last BDAT ends it and the
// session is back in `greeted`. A greeting command or RSET at any point abandons the transaction. STARTTLS
// (only between transactions) leads back to `connected`: after the handshake the client is a stranger who
// must greet again (RFC 3207 4.2). XCLIENT (Postfix's, from a trusted proxy) is allowed where STARTTLS is and
// before the first greeting too, and leads back to `connected` in the same way: the session restarts with the
// client facts it names. The first BDAT enters `chunking`, a BDAT sequence, which admits only BDAT,
// RSET, NOOP, HELP and QUIT; when the message ends (DATA's final dot, the LAST chunk, or a refusal) the
// session is back in `greeted` (after_message). Everything else is 503 and changes nothing; a missing entry
// is a protocol error, never a fall-through. A command that fails changes nothing either: the session
// applies after() only on success, and nowhere sets a state by hand.
//
// Two facts per verb live in the same table: whether it is allowed before TLS where a listener requires
// STARTTLS first (RFC 3207 4: only what is needed to get to TLS, and the harmless ones), and what it means
// for a pipelined group (RFC 2920 3.1).
#pragma once

#include <string_view>

#include "mailwright/smtp/command.hpp"

namespace mailwright::smtp {

enum class state {
    connected,  // greeted by the server, not by the client
    greeted,    // EHLO/HELO/LHLO accepted, no transaction
    mail,       // MAIL accepted, no recipient yet
    rcpt,       // at least one recipient accepted
    chunking,   // inside a BDAT sequence (RFC 3030)
};

std::string_view to_string(state s) noexcept;  // as replies say it: "after MAIL"
std::string_view name(state s) noexcept;       // as the enum says it, for a table: "mail"

bool allowed(verb v, state s) noexcept;

// Where `v`, allowed in `s`, leads when it succeeds. BDAT leads to `chunking`.
state after(verb v, state s) noexcept;

// Where the end of a message leads (DATA's final dot, the LAST chunk, a message refused): the transaction is
// over, whatever its outcome.
state after_message(state s) noexcept;

// Where a listener requires TLS first: whether `v` is allowed before it (530 5.7.0 otherwise).
bool allowed_before_tls(verb v) noexcept;

// RFC 2920 3.1: what a verb means for a pipelined group of commands.
enum class group_rule {
    continues,  // more commands may follow in the same group
    ends,       // the last of a group: input buffered after it is improper pipelining (554 5.5.0)
    own,        // what follows is the verb's own business: STARTTLS discards it, QUIT closes, BDAT's chunk
};
group_rule group_rule_of(verb v) noexcept;

}  // namespace mailwright::smtp
