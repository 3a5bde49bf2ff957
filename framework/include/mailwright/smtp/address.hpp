// SMTP envelope addresses (RFC 5321 4.1.2, 4.5.3.1; RFC 6531 3.3 for UTF-8): a path "<local@domain>" is parsed
// into its parts, or refused with the reason. No I/O, no allocation beyond the result.
//
// What is accepted: a Dot-string or Quoted-string local part of at most 64 octets; a domain of LDH labels
// (at most 255 octets, 63 per label) or an address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]"); a
// source route ("<@a,@b:user@c>") is read and ignored (RFC 5321 4.1.2 and appendix C). With SMTPUTF8 the
// local part and the domain labels may hold UTF-8 (well-formed, no control characters). Nothing else: no NUL,
// no control characters, no unbalanced quotes, no spaces outside quotes. RFC 5322's atext does include
// characters a shell treats specially ($ ` | & ' ...); an address is data here and never reaches a shell or a
// file name unchecked (OpenSMTPD CVE-2020-7247 came from a local part that did).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailwright::smtp {

struct mailbox {
    std::string local;   // as written (a quoted local part keeps its quotes)
    std::string domain;  // as written; empty only for the special <Postmaster>
    bool utf8 = false;   // holds non-ASCII octets (needs SMTPUTF8)

    std::string to_string() const { return domain.empty() ? local : local + "@" + domain; }
};

enum class address_error {
    none,
    syntax,          // not a path
    too_long,        // RFC 5321 4.5.3.1: local part 64, domain 255, path 256 octets
    needs_smtputf8,  // non-ASCII without the SMTPUTF8 parameter
};

struct path_result {
    address_error error = address_error::none;
    std::optional<mailbox> box;  // empty for the null reverse-path "<>"
    std::size_t consumed = 0;    // octets of the input the path took, up to and including '>'
};

// Parses a path at the start of `text`: "<>" only when `allow_null` (MAIL FROM), "<Postmaster>" only when
// `allow_postmaster` (RCPT TO). `utf8`: the transaction announced SMTPUTF8.
path_result parse_path(std::string_view text, bool allow_null, bool allow_postmaster, bool utf8);

// Whether text is well-formed UTF-8 without C0/C1 controls or DEL.
bool valid_utf8_text(std::string_view text);

// RFC 5321 4.1.2 Domain (LDH labels; U-labels with utf8) or an address literal.
bool valid_domain(std::string_view domain, bool utf8);

}  // namespace mailwright::smtp
