// ASCII text helpers for protocol keywords (POP3 and SMTP verbs, parameters), which are case-insensitive and
// ASCII-only whatever else a line holds. No locale.
#pragma once

#include <string_view>

namespace mailwright::io {

constexpr char ascii_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// Equal but for the case of ASCII letters.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_upper(a[i]) != ascii_upper(b[i])) {
            return false;
        }
    }
    return true;
}

}  // namespace mailwright::io
