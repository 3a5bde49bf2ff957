// XCLIENT (Postfix's SMTP extension, https://www.postfix.org/XCLIENT_README.html): the arguments of one
// XCLIENT command line taken apart, without I/O. A proxy in front of the server (postscreen-like front ends,
// nginx's mail proxy, a load balancer that speaks SMTP) sends the facts of the client it talks to on behalf of
// it: "XCLIENT ADDR=192.0.2.7 PORT=40000 NAME=client.example HELO=client.example LOGIN=alice PROTO=ESMTP".
//
// Grammar: XCLIENT 1*( SP attribute-name "=" attribute-value ), names case-insensitive, values xtext
// (RFC 3461 4). Supported attributes: ADDR (IPv4, "IPV6:" and an IPv6 address, or [UNAVAILABLE] /
// [TEMPUNAVAIL]), PORT (0-65535 or [UNAVAILABLE]), NAME (a host name, or [UNAVAILABLE] / [TEMPUNAVAIL]),
// HELO (up to 255 printable ASCII octets, or [UNAVAILABLE]), LOGIN (a user name, or [UNAVAILABLE]: not
// logged in), PROTO (SMTP or ESMTP). Anything else (DESTADDR, DESTPORT, REVERSE_NAME, a name we do not know)
// is refused, as is a value that does not say what its attribute must. Who may send XCLIENT, and what the
// session does with the facts, is the dialogue's business (src/smtp/xclient_step.cpp); the grammar is this
// file's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailwright::smtp::xclient {

// The attributes the EHLO keyword names, in the order it names them.
inline constexpr std::string_view advertised = "XCLIENT ADDR PORT NAME HELO LOGIN PROTO";

// Postfix's limit on one raw (xtext) value: XCLIENT_README's NAME and HELO are at most 255 characters, and
// nothing else needs more. The command line itself is held to the listener's max_command_line (512).
inline constexpr std::size_t max_value = 255;
// At most this many attribute=value pairs on one line (a line of 512 octets holds at most about 80 "A=B"):
// repeating an attribute is allowed (the last wins, as Postfix), but not without bound.
inline constexpr std::size_t max_attributes = 16;

// What one XCLIENT line says. An attribute the line does not name is unset: the session keeps what it knew.
struct facts {
    std::optional<std::string> addr;    // normalised numeric ("192.0.2.7", "2001:db8::7"), or "unknown"
    std::optional<std::uint16_t> port;  // 0: [UNAVAILABLE]
    std::optional<std::string> name;    // a host name; empty: [UNAVAILABLE] or [TEMPUNAVAIL]
    std::optional<std::string> helo;    // empty: [UNAVAILABLE]
    std::optional<std::string> login;   // empty: [UNAVAILABLE], not logged in
    std::optional<bool> esmtp;          // PROTO: ESMTP (true) or SMTP (false)
};

enum class error {
    none,
    no_attributes,        // nothing after XCLIENT, or an empty attribute between spaces
    not_attribute_value,  // "ADDR" without "=", "=x", "ADDR="
    value_too_long,       // a raw value over max_value
    too_many,             // over max_attributes
    bad_xtext,            // "+" not followed by two upper-case hex digits, or an octet xtext does not allow
    unknown_attribute,    // a name this server does not support
    bad_value,            // the attribute's value is not what it must be (see `attribute`)
};

struct result {
    facts said;
    error problem = error::none;
    std::string_view attribute;  // the attribute at fault (a view into the argument), when there is one
};

// The argument of an XCLIENT command: everything after "XCLIENT ".
result parse(std::string_view argument);

// RFC 3461 4: xtext decoded, or nothing when it is not xtext ("+" and two upper-case hex digits stand for an
// octet; otherwise only octets 33-126 except "+" and "=").
std::optional<std::string> decode_xtext(std::string_view text);

}  // namespace mailwright::smtp::xclient
