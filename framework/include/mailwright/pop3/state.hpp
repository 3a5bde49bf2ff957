// The POP3 state table (RFC 1939 3-6, RFC 2449, RFC 2595 4, RFC 5034, RFC 6856): which command is allowed in
// which state, and where it leads when it succeeds.
//
// Theory of operation. A session starts in AUTHORIZATION, whatever the transport: implicit TLS only wraps the
// dialogue (RFC 8314), it never replaces authentication. USER moves to a sub-state that only PASS completes
// (RFC 1939 7: PASS is valid only right after a successful USER). A successful PASS, APOP or AUTH moves to
// TRANSACTION; QUIT there enters UPDATE, applies the deletions and ends the session. STLS succeeds only in
// AUTHORIZATION before any authentication began, and leads back to a fresh AUTHORIZATION. Every other
// command in every state is answered -ERR and changes nothing: a missing entry here is a protocol error,
// never a fall-through. A command that fails leads where the table says too: a failed USER, PASS, APOP or
// AUTH returns to AUTHORIZATION (the name USER gave is forgotten, RFC 1939 7); any other stays. The session
// sets no state by hand.
#pragma once

#include <string_view>

#include "mailwright/pop3/command.hpp"

namespace mailwright::pop3 {

enum class state {
    authorization,  // greeted; nobody authenticated yet
    user_given,     // USER accepted, PASS expected
    transaction,    // authenticated, the maildrop is open and locked
    update,         // QUIT from TRANSACTION: deletions applied, then the connection closes
};

std::string_view to_string(state s) noexcept;

// Whether `c` may be issued in `s`. Conditions that depend on the session (TLS active, plaintext allowed,
// the message exists) are checked by the session after this.
bool allowed(command c, state s) noexcept;

enum class outcome { success, failure };

// Where `c`, issued in `s` where it is allowed, leads when it succeeds, or when it fails.
state after(command c, state s, outcome o = outcome::success) noexcept;

}  // namespace mailwright::pop3
