// Every line the SMTP/LMTP dialogue says (session.cpp, envelope.cpp, incoming.cpp), in one place: fixed
// replies as constants, replies that carry a value as functions, the protocol's default words for a plugin's
// reply (plugin/reply_text.hpp) as smtp_words. Each is a whole reply line without its CRLF. Tests read these
// texts byte for byte: change one only on purpose. Private to the framework.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "mailwright/server/dialogue_steps.hpp"
#include "mailwright/smtp/command.hpp"
#include "mailwright/smtp/state.hpp"
#include "mailwright/smtp/xclient.hpp"
#include "plugin/reply_text.hpp"

namespace mailwright::smtp::replies {

// --- greeting, session -------------------------------------------------------------------------------------

inline std::string greeting(std::string_view host, bool lmtp) {
    return fmt::format("220 {} {} Mailwright", host, lmtp ? "LMTP" : "ESMTP");
}
// RFC 5321 4.3.1: the client spoke before the greeting (Postfix postscreen's pregreet test).
inline std::string pregreet(std::string_view host) {
    return fmt::format("554 5.5.0 {} protocol error: talked before the greeting", host);
}
inline std::string helo(std::string_view host) { return fmt::format("250 {}", host); }
// The first line of the EHLO/LHLO reply; the extension keywords follow it.
inline std::string ehlo(std::string_view host, std::string_view client) {
    return fmt::format("{} greets {}", host, client);
}
inline std::string closing(std::string_view host) { return fmt::format("221 2.0.0 {} closing connection", host); }
inline constexpr std::string_view ok = "250 2.0.0 OK";
// RFC 5321 3.5.3: 252 neither confirms nor denies, so VRFY cannot enumerate users.
inline constexpr std::string_view vrfy = "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery";
inline constexpr std::string_view help =
    "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH";
inline constexpr std::string_view tls_ready = "220 2.0.0 Ready to start TLS";

// A connect hook's refusal; the connection then closes.
inline constexpr plugin::smtp_words service_refused_temp{421, "4.7.0", "service refused"};
inline constexpr plugin::smtp_words service_refused_perm{554, "5.7.1", "service refused"};
// Any other hook's refusal (HELO, MAIL, RCPT, DATA, the message).
inline constexpr plugin::smtp_words policy_refused_temp{451, "4.7.1", "refused by policy"};
inline constexpr plugin::smtp_words policy_refused_perm{554, "5.7.1", "refused by policy"};

// --- sequence (503), commands not offered (502) ------------------------------------------------------------

inline constexpr std::string_view send_hello_first = "503 5.5.1 Error: send HELO/EHLO first";
// The state table refuses `v` in `s`.
inline std::string not_allowed(verb v, state s) {
    return fmt::format("503 5.5.1 Error: {} is not allowed {}", to_string(v), to_string(s));
}
inline constexpr std::string_view tls_already_active = "503 5.5.1 TLS is already active";
inline constexpr std::string_view already_authenticated = "503 5.5.1 Already authenticated";
inline constexpr std::string_view send_ehlo_first = "503 5.5.1 Error: send EHLO first";  // AUTH after HELO
// BDAT after HELO: CHUNKING was never announced.
inline constexpr std::string_view bdat_needs_ehlo = "503 5.5.1 Error: BDAT needs EHLO";
// RFC 3030 3: a binary body cannot be framed by lines.
inline constexpr std::string_view binarymime_needs_bdat = "503 5.5.1 Error: BODY=BINARYMIME needs BDAT";
// Between BDAT chunks: what the state table's `chunking` row refuses.
inline constexpr std::string_view only_bdat_in_sequence =
    "503 5.5.1 Error: only BDAT, RSET, NOOP, HELP and QUIT inside a BDAT sequence";
inline constexpr std::string_view starttls_unavailable = "502 5.5.1 STARTTLS is not available here";
inline constexpr std::string_view expn_unavailable = "502 5.5.1 EXPN is not available";

// --- syntax (500, 501, 553, 555) ---------------------------------------------------------------------------

inline constexpr std::string_view command_line_too_long = "500 5.5.2 Line too long";
inline constexpr std::string_view bare_lf_command = "500 5.5.2 A command line must end with CRLF";
inline constexpr std::string_view unrecognized = "500 5.5.2 Command unrecognized";
inline constexpr std::string_view say_lhlo = "500 5.5.1 This is LMTP: say LHLO";    // EHLO/HELO to LMTP
inline constexpr std::string_view lhlo_is_for_lmtp = "500 5.5.1 LHLO is for LMTP";  // LHLO to SMTP
// RFC 2920 3.1: the client did not wait for a reply it had to wait for; the connection closes.
inline constexpr std::string_view improper_pipelining = "554 5.5.0 Error: improper command pipelining";
// A command whose argument does not parse.
inline std::string syntax_error(verb v) {
    if (v == verb::xclient) {
        return "501 5.5.4 Syntax: XCLIENT attribute=value...";  // Postfix's words
    }
    return v == verb::starttls ? std::string("501 5.5.4 STARTTLS takes no argument")
                               : fmt::format("501 5.5.4 Syntax error in {}", to_string(v));
}
// XCLIENT's arguments refused (xclient::parse). The attribute is named only when it is a plain word: the
// client's text is never echoed raw.
inline std::string xclient_syntax(const xclient::result& r) {
    std::string name(r.attribute.size() <= 16 ? r.attribute : "");
    for (const char c : name) {
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            name.clear();
            break;
        }
    }
    switch (r.problem) {
        case xclient::error::unknown_attribute:
            return name.empty() ? std::string("501 5.5.4 Bad XCLIENT attribute name")
                                : fmt::format("501 5.5.4 Bad XCLIENT attribute name: {}", name);
        case xclient::error::bad_value:
        case xclient::error::bad_xtext:
            return name.empty() ? std::string("501 5.5.4 Bad XCLIENT attribute value")
                                : fmt::format("501 5.5.4 Bad {} syntax", name);
        case xclient::error::value_too_long:
            return "501 5.5.4 Error: attribute value too long";
        case xclient::error::too_many:
            return "501 5.5.4 Error: too many attributes";
        case xclient::error::not_attribute_value:
            return "501 5.5.4 Error: attribute=value expected";
        case xclient::error::no_attributes:
        case xclient::error::none:
            break;
    }
    return syntax_error(verb::xclient);
}
inline constexpr std::string_view invalid_domain = "501 5.5.4 Invalid domain name";  // HELO/EHLO's argument
// A BDAT whose size is unknown: its octets cannot be skipped, so the connection closes.
inline constexpr std::string_view bdat_syntax = "501 5.5.4 Syntax error in BDAT, closing the connection";
inline constexpr std::string_view needs_smtputf8 = "553 5.6.7 Non-ASCII addresses need SMTPUTF8";
inline constexpr std::string_view invalid_parameters = "501 5.5.4 Invalid parameters";
inline constexpr std::string_view bad_sender = "501 5.1.7 Bad sender address syntax";
inline constexpr std::string_view bad_recipient = "501 5.1.3 Bad recipient address syntax";
inline constexpr std::string_view parameters_need_ehlo = "555 5.5.4 Parameters need EHLO";
inline constexpr std::string_view invalid_size = "501 5.5.4 Invalid SIZE";
inline constexpr std::string_view bad_parameter = "555 5.5.4 Unsupported or malformed parameter";

// --- TLS and authentication --------------------------------------------------------------------------------

inline constexpr std::string_view tls_first = "530 5.7.0 Must issue a STARTTLS command first";  // require_tls
inline constexpr std::string_view auth_required = "530 5.7.0 Authentication required";  // submission, RFC 6409 4.3
inline constexpr std::string_view auth_challenge_prefix = "334 ";
inline constexpr std::string_view auth_succeeded = "235 2.7.0 Authentication successful";
// The auth chain could not decide; an auth backend may say it in its own words (auth_result::tempfail_reply).
inline constexpr plugin::smtp_words auth_tempfail{454, "4.7.0", "Temporary authentication failure, try again later"};
inline constexpr std::string_view auth_cancelled = "501 5.0.0 Authentication cancelled";
inline constexpr std::string_view auth_unrecognized = "504 5.5.4 Unrecognized authentication type";
inline constexpr std::string_view auth_needs_tls =
    "538 5.7.11 Encryption required for requested authentication mechanism";
inline constexpr std::string_view auth_failed = "535 5.7.8 Authentication credentials invalid";
// XCLIENT from a client outside xclient_trusted (Postfix's words); nothing changes.
inline constexpr std::string_view xclient_unauthorized = "550 5.7.0 Error: insufficient authorization";

// --- the envelope: MAIL and RCPT ---------------------------------------------------------------------------

inline constexpr std::string_view sender_ok = "250 2.1.0 Sender OK";
inline constexpr std::string_view recipient_ok = "250 2.1.5 Recipient OK";
// Submission: RFC 6409 6.1, users do not send bounces.
inline constexpr std::string_view null_sender_refused = "553 5.7.1 <>: a null reverse-path is not accepted from a user";
inline std::string sender_not_owned(std::string_view address, std::string_view user) {
    return fmt::format("553 5.7.1 <{}>: sender address not owned by user {}", address, user);
}
// A recipient outside the local domains: on submission, then as a relay refusal on the other roles.
inline std::string not_our_domains(std::string_view address) {
    return fmt::format("550 5.7.1 <{}>: this server delivers to its own domains only", address);
}
inline std::string relay_denied(std::string_view address) {
    return fmt::format("554 5.7.1 <{}>: Relay access denied", address);
}
// A quoted local part: no user has one.
inline std::string recipient_rejected(std::string_view address) {
    return fmt::format("550 5.1.1 <{}>: Recipient address rejected", address);
}
inline std::string user_unknown(std::string_view address) {
    return fmt::format("550 5.1.1 <{}>: Recipient address rejected: User unknown", address);
}
// The auth backend could not say whether the user exists: the words, for plugin::smtp_line() with the
// backend's own reply (450 4.3.0).
inline std::string cannot_verify_text(std::string_view address) {
    return fmt::format("<{}>: Recipient cannot be verified now, try again later", address);
}
// The configured postmaster user is unknown: the configuration is wrong, not the address.
inline std::string postmaster_unavailable(std::string_view address) {
    return fmt::format("451 4.3.0 <{}>: Postmaster mailbox unavailable, try again later", address);
}

// --- the message ---------------------------------------------------------------------------------------------

inline constexpr std::string_view start_data = "354 End data with <CR><LF>.<CR><LF>";
inline std::string chunk_received(std::uint64_t octets) { return fmt::format("250 2.0.0 {} octets received", octets); }
// A BDAT chunk after the message was refused (a limit broken mid-way).
inline constexpr std::string_view chunk_dropped =
    "552 5.3.4 Message refused; its remaining chunks are read and dropped";
inline std::string stored(std::string_view id) { return fmt::format("250 2.0.0 OK: stored as {}", id); }
// SMTP: a mailbox failed for now, or refused the message (the store left the text empty).
inline constexpr plugin::smtp_words not_stored{451, "4.3.0", "Message not stored, try again later"};
inline constexpr plugin::smtp_words message_refused{554, "5.3.0", "Message refused"};
// LMTP, per recipient (RFC 2033 4.2): delivered (`text` from lmtp_stored), failed for now, refused.
inline std::string lmtp_stored(std::string_view id, std::uint64_t octets) {
    return fmt::format("OK {} ({} octets)", id, octets);
}
constexpr plugin::smtp_words lmtp_delivered(std::string_view text) { return {250, "2.0.0", text}; }
inline constexpr plugin::smtp_words mailbox_temp{451, "4.3.0", "Mailbox temporarily unavailable"};
inline constexpr plugin::smtp_words mailbox_perm{550, "5.2.0", "Mailbox unavailable"};

// --- limits ----------------------------------------------------------------------------------------------------

// RFC 1870: announced in MAIL's SIZE, or found while reading.
inline constexpr std::string_view message_too_big = "552 5.3.4 Message size exceeds fixed maximum message size";
inline constexpr std::string_view bare_line_end =
    "550 5.6.11 Message refused: bare <CR> or <LF> in the text; use <CR><LF>";
inline std::string text_line_too_long(std::size_t max) {
    return fmt::format("550 5.6.0 Message refused: a line is longer than {} octets", max);
}
inline constexpr std::string_view nul_in_text =
    "550 5.6.11 Message refused: a NUL in the text; only BODY=BINARYMIME may carry one";
// RFC 5321 4.5.3.1.8: the client sends the rest later.
inline constexpr std::string_view too_many_recipients = "452 4.5.3 Too many recipients";
inline constexpr std::string_view too_many_errors = "421 4.7.0 Too many errors, closing the connection";
inline constexpr std::string_view too_many_auth_failures =
    "421 4.7.0 Too many failed authentication attempts, closing the connection";
// server::refusal, before the dialogue starts.
inline constexpr std::string_view too_many_connections = "421 4.7.0 Too many connections, try again later";
inline constexpr std::string_view too_many_from_address = "421 4.7.0 Too many connections from your address";

// --- timeouts and shutdown -------------------------------------------------------------------------------------

inline constexpr std::string_view idle_timeout = "421 4.4.2 Idle timeout, closing the connection";
inline constexpr std::string_view data_timeout =
    "421 4.4.2 Timeout while receiving the message, closing the connection";
inline constexpr std::string_view shutting_down = "421 4.3.2 Server shutting down, try again later";

// What a read that brings no command says (server::interpret, server::say_goodbye).
inline constexpr server::read_replies to_reads{
    .too_long = command_line_too_long, .bare_lf = bare_lf_command, .idle = idle_timeout, .stopping = shutting_down};

}  // namespace mailwright::smtp::replies
