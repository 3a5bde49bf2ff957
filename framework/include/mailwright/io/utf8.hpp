// UTF-8 validation (RFC 3629) for protocol text that may carry it: POP3 user names (RFC 6856), SMTP
// addresses and parameters (RFC 6531). No I/O.
#pragma once

#include <string_view>

namespace mailwright::io {

// Well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF, no truncated sequence.
bool well_formed_utf8(std::string_view text) noexcept;

// Whether any octet is outside ASCII.
bool has_non_ascii(std::string_view text) noexcept;

}  // namespace mailwright::io
