// Steps every line-based dialogue (POP3, SMTP, LMTP) takes alike, in the protocol's own words: what a read
// that brings no command means, and the STARTTLS/STLS upgrade. The protocol keeps its replies, its error
// counting and its state; these keep the order of the checks and the goodbyes.
#pragma once

#include <asio/awaitable.hpp>
#include <string_view>

#include "mailwright/server/session.hpp"

namespace mailwright::server {

// What a protocol says when a read brings no command.
struct read_replies {
    // A line the client got wrong, handed back for the protocol's own bad-command path, in the form it takes.
    std::string_view too_long;
    std::string_view bare_lf;
    // Whole reply lines, without their CRLF, said before the connection closes.
    std::string_view idle;      // the read timed out
    std::string_view stopping;  // the server is shutting down
};

struct read_step {
    enum class kind {
        command,   // `text` is the line (valid until the next read)
        bad_line,  // `text` is the protocol's complaint (read_replies::too_long or bare_lf)
        over,      // the dialogue ends: the goodbye, if any, is queued
    };
    kind what = kind::over;
    std::string_view text;
};

// What a read gives a dialogue's loop. A read that ends the dialogue queues the protocol's goodbye first
// (say_goodbye).
read_step interpret(session& s, const read_result& r, const read_replies& replies);

// The goodbye for a dialogue ended by `why`, in its loop or inside an exchange (AUTH): the idle or the
// shutdown line. A client that left, or a broken connection, hears nothing.
void say_goodbye(session& s, read_status why, const read_replies& replies);

enum class tls_upgrade {
    started,         // TLS is up: the protocol forgets what it learned before
    already_active,  // refused: never inside TLS, upgraded or implicit (RFC 2595 4, RFC 3207 4)
    not_available,   // refused: the listener has no TLS
    failed,          // the handshake failed: the protocol closes, never plaintext after it
};

// STARTTLS/STLS: refuses inside TLS and without TLS on the listener; otherwise queues `ready` (a whole line
// without its CRLF), which goes out in plaintext, and runs the handshake (session::start_tls(), which
// discards what the client sent after the command).
asio::awaitable<tls_upgrade> upgrade_to_tls(session& s, std::string_view ready);

}  // namespace mailwright::server
