// reply_text: see the header.
#include "reply_text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mailwright::plugin {

namespace {

// RFC 5321 4.5.3.1.5 allows 512 octets for a reply line; what is left after the codes.
constexpr std::size_t max_text = 400;

bool all_digits(std::string_view s) {
    return !s.empty() && s.size() <= 3 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// RFC 3463: class "." subject "." detail, the class matching the reply code's first digit.
bool valid_enhanced(std::string_view e, std::uint16_t code) {
    if (e.size() < 5 || e[0] != static_cast<char>('0' + code / 100) || e[1] != '.') {
        return false;
    }
    const auto dot = e.find('.', 2);
    return dot != std::string_view::npos && all_digits(e.substr(2, dot - 2)) && all_digits(e.substr(dot + 1));
}

// RFC 2449 8: atoms separated by "/", printable, no brackets.
bool valid_pop3_code(std::string_view c) {
    return !c.empty() && c.size() <= 64 && c.front() != '/' && c.back() != '/' &&
           std::all_of(c.begin(), c.end(), [](char ch) { return ch > ' ' && ch < 127 && ch != '[' && ch != ']'; });
}

std::uint16_t class_of(reply::outcome o) {
    return o == reply::outcome::ok ? 2 : o == reply::outcome::temporary ? 4 : 5;
}

}  // namespace

std::string clean_text(std::string_view text) {
    std::string out(text.substr(0, max_text));
    std::replace_if(
        out.begin(), out.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, ' ');
    return out;
}

std::string smtp_line(const reply& r, const smtp_words& fallback) {
    const bool code_fits = r.code >= 100 && r.code <= 599 && r.code / 100 == class_of(r.result);
    const std::uint16_t code = code_fits ? r.code : fallback.code;
    const std::string_view enhanced =
        valid_enhanced(r.enhanced, code) ? std::string_view(r.enhanced) : fallback.enhanced;
    const std::string text = clean_text(r.text);
    return fmt::format("{} {} {}", code, enhanced, text.empty() ? fallback.text : std::string_view(text));
}

std::string pop3_text(const reply& r, std::string_view code, std::string_view text) {
    const std::string_view chosen = valid_pop3_code(r.pop3_code) ? std::string_view(r.pop3_code) : code;
    const std::string own = clean_text(r.text);
    const std::string_view words = own.empty() ? text : std::string_view(own);
    return chosen.empty() ? std::string(words) : fmt::format("[{}] {}", chosen, words);
}

}  // namespace mailwright::plugin
