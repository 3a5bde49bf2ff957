// UTF-8 validation: see the header.
#include "mailwright/io/utf8.hpp"

#include <algorithm>

namespace mailwright::io {

std::size_t utf8_sequence(std::string_view text, std::size_t at, char32_t& code) noexcept {
    const auto c = static_cast<unsigned char>(text[at]);
    std::size_t extra = 0;
    if (c < 0x80) {
        code = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        extra = 1;
        code = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        extra = 2;
        code = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        extra = 3;
        code = c & 0x07;
    } else {
        return 0;  // a continuation octet first, an overlong two-octet lead (C0, C1), or F5-FF
    }
    if (at + extra >= text.size()) {
        return 0;  // truncated
    }
    for (std::size_t k = 1; k <= extra; ++k) {
        const auto cc = static_cast<unsigned char>(text[at + k]);
        if ((cc & 0xc0) != 0x80) {
            return 0;
        }
        code = (code << 6) | (cc & 0x3f);
    }
    if ((extra == 2 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) ||
        (extra == 3 && (code < 0x10000 || code > 0x10ffff))) {
        return 0;
    }
    return extra + 1;
}

bool well_formed_utf8(std::string_view text) noexcept {
    char32_t code = 0;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_sequence(text, i, code);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

bool has_non_ascii(std::string_view text) noexcept {
    return std::any_of(text.begin(), text.end(), [](unsigned char c) { return c >= 0x80; });
}

}  // namespace mailwright::io
