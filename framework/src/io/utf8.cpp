// UTF-8 validation: see the header.
#include "mailwright/io/utf8.hpp"

#include <algorithm>
#include <cstdint>

namespace mailwright::io {

bool well_formed_utf8(std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        std::uint32_t code = 0;
        if (c < 0x80) {
            ++i;
            continue;
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
            return false;  // a continuation octet first, an overlong two-octet lead (C0, C1), or F5-FF
        }
        if (i + extra >= text.size()) {
            return false;  // truncated
        }
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xc0) != 0x80) {
                return false;
            }
            code = (code << 6) | (cc & 0x3f);
        }
        if ((extra == 2 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) ||
            (extra == 3 && (code < 0x10000 || code > 0x10ffff))) {
            return false;
        }
        i += extra + 1;
    }
    return true;
}

bool has_non_ascii(std::string_view text) noexcept {
    return std::any_of(text.begin(), text.end(), [](unsigned char c) { return c >= 0x80; });
}

}  // namespace mailwright::io
