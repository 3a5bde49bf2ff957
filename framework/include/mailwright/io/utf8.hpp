// UTF-8 validation (RFC 3629) for protocol text that may carry it: POP3 user names (RFC 6856), SMTP
// addresses and parameters (RFC 6531). No I/O.
#pragma once

#include <cstddef>
#include <string_view>

namespace mailwright::io {

// The length of the well-formed UTF-8 sequence that starts at text[at] (1-4), with its code point in `code`;
// 0 when there is none there (a stray continuation octet, an overlong form, a surrogate, a truncation).
std::size_t utf8_sequence(std::string_view text, std::size_t at, char32_t& code) noexcept;

// Well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF, no truncated sequence.
bool well_formed_utf8(std::string_view text) noexcept;

// Whether any octet is outside ASCII.
bool has_non_ascii(std::string_view text) noexcept;

}  // namespace mailwright::io
