// Every text the POP3 dialogue says (session.cpp, transaction.cpp), in one place: fixed texts as constants,
// texts that carry a value as functions, the default words for a plugin's reply (plugin/reply_text.hpp). Each
// is the text after "+OK " or "-ERR " (the dialogue's ok() and err() add those and the CRLF), with its
// response code (RFC 2449 8, RFC 3206) where it has one; the few whole lines say so. Tests read these texts
// byte for byte: change one only on purpose. Private to the framework.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "mailwright/pop3/command.hpp"
#include "mailwright/pop3/state.hpp"
#include "mailwright/server/dialogue_steps.hpp"

namespace mailwright::pop3::replies {

// "N message(s) (M octets)": the maildrop's size, as LIST, RSET and a login say it.
inline std::string drop_size(std::size_t count, std::uint64_t octets) {
    return fmt::format("{} message{} ({} octets)", count, count == 1 ? "" : "s", octets);
}

// --- greeting, session (+OK) ---------------------------------------------------------------------------------

// `timestamp`: APOP's (RFC 1939 7), or empty without APOP.
inline std::string greeting(std::string_view timestamp) {
    std::string text = "Mailwright POP3 server ready";
    if (!timestamp.empty()) {
        text += fmt::format(" {}", timestamp);
    }
    return text;
}
inline constexpr std::string_view utf8_enabled = "UTF8 enabled";
inline constexpr std::string_view capa_follows = "capability list follows";
inline constexpr std::string_view bye = "bye";
inline constexpr std::string_view stls_ready = "+OK begin TLS negotiation";  // a whole line

// --- bad commands (-ERR), counted against max_bad_commands ---------------------------------------------------

inline constexpr std::string_view unknown_command = "unknown command";
inline std::string not_allowed(command c, state s) {
    return fmt::format("{} is not allowed in the {} state", to_string(c), to_string(s));
}
inline std::string syntax_error(command c) { return fmt::format("syntax error in {}", to_string(c)); }
inline constexpr std::string_view line_too_long = "line too long";
inline constexpr std::string_view bare_lf = "a line must end with CRLF";
// The last bad command: its own text, then this; the connection closes.
inline std::string too_many_bad_commands(std::string_view text) {
    return fmt::format("{}; too many bad commands, closing", text);
}

// --- AUTHORIZATION ---------------------------------------------------------------------------------------------

inline constexpr std::string_view send_pass = "send PASS";  // after USER, whether or not the user exists
inline constexpr std::string_view invalid_user_name = "[AUTH] invalid user name";
inline constexpr std::string_view utf8_user_needs_utf8 = "[UTF8] a UTF-8 user name needs the UTF8 command first";
inline constexpr std::string_view user_not_utf8 = "[AUTH] the user name is not valid UTF-8";
// USER and PASS outside TLS on a listener without plaintext_auth.
inline constexpr std::string_view plaintext_needs_tls =
    "[AUTH] plaintext authentication is not allowed without TLS: use STLS first";
// APOP and AUTH outside TLS on a listener with auth_requires_tls.
inline constexpr std::string_view auth_needs_tls = "[AUTH] authentication is not allowed without TLS: use STLS first";
inline constexpr std::string_view apop_unavailable = "APOP is not available on this server";
inline constexpr std::string_view auth_challenge_prefix = "+ ";  // a whole line's start: "+ <base64>"
// RFC 5034 4: the client gave up; not a failed attempt.
inline constexpr std::string_view auth_cancelled = "authentication cancelled";
// `mechanism` as printable() made it; also for one that needs TLS (RFC 5034 has no reply of its own for it).
inline std::string mechanism_unavailable(std::string_view mechanism) {
    return fmt::format("{} authentication is not available here", mechanism);
}
// The auth chain could not decide (response code SYS/TEMP); an auth backend may say it in its own words.
inline constexpr std::string_view auth_tempfail = "authentication is temporarily unavailable, try again later";
inline constexpr std::string_view auth_failed = "[AUTH] authentication failed";
inline constexpr std::string_view auth_failed_closing = "[AUTH] authentication failed; too many failures, closing";
inline constexpr std::string_view tls_already_active = "TLS is already active";
inline constexpr std::string_view stls_unavailable = "STLS is not available on this listener";

// The login: the maildrop opened, or why not.
inline std::string logged_in(std::string_view user, std::size_t count, std::uint64_t octets) {
    return fmt::format("{} has {}", user, drop_size(count, octets));
}
// RFC 2449 8.1.1: the maildrop is locked by another session; trying again later may work.
inline constexpr std::string_view in_use = "[IN-USE] the maildrop is in use by another session";
inline constexpr std::string_view drop_tempfail = "[SYS/TEMP] the maildrop cannot be opened now, try again later";
inline constexpr std::string_view drop_permfail = "[SYS/PERM] the maildrop cannot be opened";
inline std::string login_delay(std::chrono::seconds delay) {
    return fmt::format("[LOGIN-DELAY] wait {} seconds between logins", delay.count());
}

// --- TRANSACTION -----------------------------------------------------------------------------------------------

inline std::string stat(std::size_t count, std::uint64_t octets) { return fmt::format("{} {}", count, octets); }
// One line of LIST or UIDL (and the text of LIST n, UIDL n): the message number, its size or unique id.
inline std::string list_entry(std::size_t number, std::uint64_t size) { return fmt::format("{} {}", number, size); }
inline std::string uidl_entry(std::size_t number, std::string_view uid) { return fmt::format("{} {}", number, uid); }
inline constexpr std::string_view uid_listing_follows = "unique-id listing follows";
// `argument` as printable() made it.
inline std::string invalid_message_number(std::string_view argument) {
    return fmt::format("invalid message number {}", argument);
}
inline std::string no_message(std::size_t number) { return fmt::format("no message {}", number); }
inline std::string message_is_deleted(std::size_t number) { return fmt::format("message {} is deleted", number); }
inline constexpr std::string_view invalid_line_count = "invalid line count";  // TOP's second argument
inline std::string retr_follows(std::uint64_t octets) { return fmt::format("{} octets", octets); }
inline constexpr std::string_view top_follows = "top of message follows";
inline constexpr std::string_view message_gone = "[SYS/PERM] the message is gone";
inline constexpr std::string_view message_unreadable = "[SYS/TEMP] the message cannot be read now";
inline std::string deleted(std::size_t number) { return fmt::format("message {} deleted", number); }
inline std::string reset(std::size_t count, std::uint64_t octets) {
    return fmt::format("maildrop has {}", drop_size(count, octets));
}
// UPDATE could not remove every message marked; the connection closes.
inline constexpr std::string_view commit_failed = "[SYS/TEMP] some deleted messages were not removed";

// --- a plugin's refusal: the response code when the plugin names none, and the text when it gives none ---------

inline constexpr std::string_view temp_code = "SYS/TEMP";  // any refusal for now
inline constexpr std::string_view auth_code = "AUTH";      // a login refused for good
inline constexpr std::string_view no_code = "";            // a retrieval or deletion refused for good
inline constexpr std::string_view login_refused = "login refused";
inline constexpr std::string_view retrieval_refused = "retrieval refused";
inline constexpr std::string_view deletion_refused = "deletion refused";

// --- limits, timeouts and shutdown: whole lines -----------------------------------------------------------------

// server::refusal, before the dialogue starts.
inline constexpr std::string_view too_many_connections = "-ERR [SYS/TEMP] too many connections, try again later";
inline constexpr std::string_view too_many_from_address =
    "-ERR [SYS/TEMP] too many connections from your address, try again later";
// RFC 1939 3: the autologout timer closes the session without entering UPDATE: nothing is deleted (the
// maildrop is released without commit()). Nor does a dropped connection, which hears nothing.
inline constexpr std::string_view idle = "-ERR autologout: idle for too long";
inline constexpr std::string_view shutting_down = "-ERR [SYS/TEMP] server shutting down, try again later";

// What a read that brings no command says (server::interpret, server::say_goodbye): the first two go through
// the bad-command path, so they are texts; the last two are whole lines.
inline constexpr server::read_replies to_reads{
    .too_long = line_too_long, .bare_lf = bare_lf, .idle = idle, .stopping = shutting_down};

}  // namespace mailwright::pop3::replies
