// The SMTP/LMTP state table (RFC 5321 4.1.4, RFC 3207 4.2, RFC 3030 2, RFC 4954 4, RFC 2033 4): which command
// is allowed in which state, and where it leads when it succeeds.
//
// Theory of operation. A session starts in `connected`: only a greeting command (EHLO/HELO, or LHLO for
// LMTP) opens it. MAIL starts a transaction, RCPT adds recipients, DATA or a last BDAT ends it and the
// session is back in `greeted`. A greeting command or RSET at any point abandons the transaction. STARTTLS
// (only between transactions) leads back to `connected`: after the handshake the client is a stranger who
// must greet again (RFC 3207 4.2). A BDAT sequence (`chunking`) admits only BDAT, RSET, NOOP, HELP and QUIT.
// Everything else is 503 and changes nothing; a missing entry is a protocol error, never a fall-through.
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

std::string_view to_string(state s) noexcept;

bool allowed(verb v, state s) noexcept;

// Where `v`, allowed in `s`, leads when it succeeds. BDAT leads to `chunking`; its LAST chunk to `greeted`,
// which the session applies.
state after(verb v, state s) noexcept;

}  // namespace mailwright::smtp
