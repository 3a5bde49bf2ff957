// POP3 command lines (RFC 1939 3, RFC 2449 4 for the length, RFC 2595, 5034, 6856): a pure tokenizer over one
// line, terminator already stripped. No I/O and no allocation: the arguments are views into the line.
//
// The grammar it accepts: a keyword of letters (case-insensitive), then arguments separated by single
// spaces. Each command knows its arity; PASS takes the rest of the line as one argument, because a password
// may contain spaces (RFC 1939 7, "PASS string"). Message numbers are decimal, without sign, from 1; TOP's
// line count from 0. A line that does not fit is a syntax error and the session changes nothing.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace mailwright::pop3 {

enum class command {
    user,
    pass,
    apop,
    auth,
    stls,
    capa,
    stat,
    list,
    retr,
    dele,
    noop,
    rset,
    quit,
    top,
    uidl,
    utf8,
};
inline constexpr std::size_t command_count = 16;

std::string_view to_string(command c) noexcept;  // "USER", ...

enum class errc {
    empty_line = 1,   // nothing but the terminator
    unknown_command,  // a keyword POP3 does not have
    syntax,           // a known keyword with the wrong arguments
};
const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

struct parsed {
    command cmd = command::noop;
    std::array<std::string_view, 2> args{};
    std::size_t argc = 0;
    std::error_code error;  // set: the line is not a command; cmd is meaningful only for errc::syntax
};

parsed parse(std::string_view line) noexcept;

// A message number argument: 1 and above; nullopt when it is not a plain decimal number.
std::optional<std::size_t> message_number(std::string_view text) noexcept;
// A non-negative decimal count (TOP's line count).
std::optional<std::size_t> count(std::string_view text) noexcept;

}  // namespace mailwright::pop3

template <>
struct std::is_error_code_enum<mailwright::pop3::errc> : std::true_type {};
