// imf::header_field: see the header.
#include "mailwright/imf/header.hpp"

#include "mailwright/io/ascii.hpp"

namespace mailwright::imf {

namespace {

bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

// RFC 5322 2.2: ftext is printable US-ASCII except the colon.
bool is_name_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u >= 33 && u <= 126 && c != ':';
}

std::string unfold(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        // A CR or LF that is part of a line end is dropped; the white space after it stays (RFC 5322 2.2.3).
        if (c == '\r' || c == '\n') {
            continue;
        }
        out += c;
    }
    const auto first = out.find_first_not_of(" \t");
    if (first == std::string::npos) {
        return {};
    }
    const auto last = out.find_last_not_of(" \t");
    return out.substr(first, last - first + 1);
}

}  // namespace

bool header_field::is(std::string_view n) const noexcept { return io::iequals(name, n); }

std::size_t field_end(std::string_view block, std::size_t at) noexcept {
    if (is_block_end(block.substr(at, 2)) || is_block_end(block.substr(at, 1))) {
        return at + (block[at] == '\r' ? 2 : 1);  // the empty line ends the block, whatever follows it
    }
    for (;;) {
        const std::size_t lf = block.find('\n', at);
        if (lf == std::string_view::npos) {
            return block.size();
        }
        at = lf + 1;
        if (at >= block.size() || !is_wsp(block[at])) {
            return at;
        }
    }
}

header_field parse_field(std::string_view raw) {
    header_field f;
    f.raw = raw;
    const std::size_t colon = raw.find(':');
    const std::size_t line_end = raw.find_first_of("\r\n");
    if (colon == std::string_view::npos || colon == 0 || (line_end != std::string_view::npos && line_end < colon)) {
        f.malformed = true;
        return f;
    }
    const std::string_view name = raw.substr(0, colon);
    for (const char c : name) {
        if (!is_name_char(c)) {
            f.malformed = true;
            return f;
        }
    }
    f.name = name;
    f.value = unfold(raw.substr(colon + 1));
    return f;
}

bool is_block_end(std::string_view line) noexcept { return line == "\r\n" || line == "\n"; }

}  // namespace mailwright::imf
