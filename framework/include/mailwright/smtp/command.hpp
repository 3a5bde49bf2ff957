// SMTP and LMTP command lines (RFC 5321 4.1, RFC 2033 4.1 LHLO, RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 3030
// BDAT, RFC 3461 DSN, RFC 4954 AUTH, RFC 6531 SMTPUTF8): a pure tokenizer over one line, terminator already
// stripped. The argument views point into the line.
//
// MAIL and RCPT are taken apart further: the path (address.hpp) and the ESMTP parameters, each keyword
// once. Whether a parameter is allowed here (the extension advertised, the value meaningful) is the
// session's decision; the grammar is this file's.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "mailwright/smtp/address.hpp"

namespace mailwright::smtp {

// XCLIENT is Postfix's extension (xclient.hpp), known to the tokenizer always and offered only where a listener
// trusts someone to send it.
enum class verb {
    ehlo,
    helo,
    lhlo,
    mail,
    rcpt,
    data,
    bdat,
    rset,
    noop,
    quit,
    vrfy,
    expn,
    help,
    starttls,
    auth,
    xclient
};
inline constexpr std::size_t verb_count = 16;

std::string_view to_string(verb v) noexcept;

enum class errc {
    empty_line = 1,
    unknown_command,
    syntax,         // wrong or missing arguments (501)
    bad_address,    // MAIL/RCPT path not acceptable (501, or 553 for a mailbox syntax error)
    address_long,   // over RFC 5321's limits
    needs_utf8,     // a UTF-8 address without the SMTPUTF8 parameter (553 5.6.7)
    bad_parameter,  // a malformed or repeated ESMTP parameter (501 5.5.4)
};
const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

struct command {
    verb v = verb::noop;
    std::string_view argument;  // everything after the verb and one space (EHLO's domain, AUTH's words, ...)
    std::error_code error;
};

command parse(std::string_view line) noexcept;

struct parameter {
    std::string_view keyword;  // as written; compare case-insensitively
    std::optional<std::string_view> value;
};

struct envelope_command {
    std::optional<mailbox> box;  // empty: the null reverse-path "<>"
    std::vector<parameter> parameters;
    std::error_code error;
};

// "FROM:<path> [params]" for MAIL, "TO:<path> [params]" for RCPT. A UTF-8 path needs SMTPUTF8 among
// MAIL's parameters; RCPT passes `utf8` from its transaction.
envelope_command parse_mail(std::string_view argument);
envelope_command parse_rcpt(std::string_view argument, bool utf8);

// Case-insensitive ASCII comparison for keywords.
bool iequals(std::string_view a, std::string_view b) noexcept;

// RFC 3461 4: xtext, "+" followed by two upper-case hex digits for octets outside 33-126 and "+" and "=".
bool valid_xtext(std::string_view text) noexcept;

}  // namespace mailwright::smtp

template <>
struct std::is_error_code_enum<mailwright::smtp::errc> : std::true_type {};
