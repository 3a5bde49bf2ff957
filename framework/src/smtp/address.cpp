// SMTP paths and mailboxes: see the header for what is accepted and why.
#include "mailwright/smtp/address.hpp"

#include <asio/ip/address.hpp>

#include "mailwright/io/utf8.hpp"

namespace mailwright::smtp {

namespace {

constexpr std::size_t max_local = 64;    // RFC 5321 4.5.3.1.1
constexpr std::size_t max_domain = 255;  // RFC 5321 4.5.3.1.2
constexpr std::size_t max_path = 256;    // RFC 5321 4.5.3.1.3, the angle brackets included

bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool non_ascii(char c) { return static_cast<unsigned char>(c) >= 0x80; }

// RFC 5322 atext: ALPHA / DIGIT / "!#$%&'*+-/=?^_`{|}~", and UTF-8 with SMTPUTF8 (RFC 6531 3.3).
bool atext(char c, bool utf8) {
    static constexpr std::string_view specials = "!#$%&'*+-/=?^_`{|}~";
    return alpha(c) || digit(c) || specials.find(c) != std::string_view::npos || (utf8 && non_ascii(c));
}

// Dot-string = Atom *("." Atom)
bool dot_string(std::string_view s, bool utf8) {
    if (s.empty() || s.front() == '.' || s.back() == '.') {
        return false;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '.') {
            if (s[i - 1] == '.') {
                return false;
            }
        } else if (!atext(s[i], utf8)) {
            return false;
        }
    }
    return true;
}

// Quoted-string = DQUOTE *QcontentSMTP DQUOTE; qtextSMTP is %d32-33 / %d35-91 / %d93-126 (and UTF-8 with
// SMTPUTF8), quoted-pairSMTP is "\" followed by %d32-126. Returns the length including both quotes, or 0.
std::size_t quoted_string(std::string_view s, bool utf8) {
    if (s.empty() || s.front() != '"') {
        return 0;
    }
    for (std::size_t i = 1; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '"') {
            return i + 1;
        }
        if (c == '\\') {
            if (i + 1 >= s.size() || static_cast<unsigned char>(s[i + 1]) < 32 ||
                static_cast<unsigned char>(s[i + 1]) > 126) {
                return 0;
            }
            ++i;
            continue;
        }
        if ((c >= 32 && c <= 126) || (utf8 && c >= 0x80)) {
            continue;
        }
        return 0;  // control characters, NUL, DEL: never, even quoted
    }
    return 0;  // no closing quote
}

bool address_literal(std::string_view s) {
    if (s.size() < 3 || s.front() != '[' || s.back() != ']') {
        return false;
    }
    const std::string_view inner = s.substr(1, s.size() - 2);
    std::error_code ec;
    // The grammar's characters only (RFC 5321 4.1.3): asio reads a C string, so text after a NUL would never
    // be checked, and it ignores a "%zone" on addresses that are not link-local (found by fuzz_smtp_command).
    if (inner.size() > 5 && (inner.substr(0, 5) == "IPv6:" || inner.substr(0, 5) == "ipv6:")) {
        const std::string_view v6 = inner.substr(5);
        if (v6.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
            return false;
        }
        const auto a = asio::ip::make_address_v6(std::string(v6), ec);
        return !ec && a.scope_id() == 0;
    }
    if (inner.find_first_not_of("0123456789.") != std::string_view::npos) {
        return false;
    }
    asio::ip::make_address_v4(std::string(inner), ec);
    return !ec;
}

// Let-dig [Ldh-str] per label, or a U-label (well-formed UTF-8, no dots, no controls) with SMTPUTF8.
bool label(std::string_view l, bool utf8) {
    if (l.empty() || l.size() > 63) {
        return false;
    }
    bool has_utf8 = false;
    for (char c : l) {
        if (non_ascii(c)) {
            has_utf8 = true;
        } else if (!alpha(c) && !digit(c) && c != '-') {
            return false;
        }
    }
    if (l.front() == '-' || l.back() == '-') {
        return false;
    }
    return !has_utf8 || (utf8 && io::well_formed_utf8(l));
}

}  // namespace

bool valid_utf8_text(std::string_view text) {
    if (!io::well_formed_utf8(text)) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f) {
            return false;
        }
        if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xa0) {
            return false;  // U+0080-U+009F, the C1 controls
        }
    }
    return true;
}

bool valid_domain(std::string_view domain, bool utf8) {
    if (domain.empty() || domain.size() > max_domain) {
        return false;
    }
    if (domain.front() == '[') {
        return address_literal(domain);
    }
    std::size_t start = 0;
    for (;;) {
        const auto dot = domain.find('.', start);
        if (!label(domain.substr(start, dot == std::string_view::npos ? dot : dot - start), utf8)) {
            return false;
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        start = dot + 1;
    }
}

namespace {

// The '>' that ends the path that `text` starts with: outside a quoted local part; npos when there is none.
std::size_t closing_bracket(std::string_view text) {
    bool quoted = false;
    for (std::size_t i = 1; i < text.size(); ++i) {
        if (quoted && text[i] == '\\') {
            ++i;
        } else if (text[i] == '"') {
            quoted = !quoted;
        } else if (!quoted && text[i] == '>') {
            return i;
        }
    }
    return std::string_view::npos;
}

// A source route, "@one,@two:", is obsolete: read and ignored (RFC 5321 4.1.2, appendix C). What follows
// it, or nothing when the route is malformed.
std::optional<std::string_view> after_source_route(std::string_view inner, bool utf8) {
    const auto colon = inner.find(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view route = inner.substr(0, colon);
    while (!route.empty()) {
        const auto comma = route.find(',');
        const auto hop = route.substr(0, comma);
        if (hop.size() < 2 || hop.front() != '@' || !valid_domain(hop.substr(1), utf8)) {
            return std::nullopt;
        }
        route = comma == std::string_view::npos ? std::string_view{} : route.substr(comma + 1);
        if (comma != std::string_view::npos && route.empty()) {
            return std::nullopt;
        }
    }
    return inner.substr(colon + 1);
}

bool is_postmaster(std::string_view local) {
    static constexpr std::string_view postmaster = "postmaster";
    bool same = local.size() == postmaster.size();
    for (std::size_t i = 0; same && i < local.size(); ++i) {
        same = (local[i] | 0x20) == postmaster[i];
    }
    return same;
}

}  // namespace

path_result parse_path(std::string_view text, bool allow_null, bool allow_postmaster, bool utf8) {
    path_result out;
    out.error = address_error::syntax;
    if (text.empty() || text.front() != '<') {
        return out;
    }
    const std::size_t close = closing_bracket(text);
    if (close == std::string_view::npos) {
        return out;
    }
    if (close + 1 > max_path) {
        out.error = address_error::too_long;
        return out;
    }
    out.consumed = close + 1;
    std::string_view inner = text.substr(1, close - 1);
    if (inner.empty()) {
        out.error = allow_null ? address_error::none : address_error::syntax;
        return out;
    }
    if (inner.front() == '@') {
        const auto mailbox_part = after_source_route(inner, utf8);
        if (!mailbox_part) {
            return out;
        }
        inner = *mailbox_part;
    }
    mailbox box;
    std::size_t local_end = 0;
    if (!inner.empty() && inner.front() == '"') {
        local_end = quoted_string(inner, utf8);
        if (local_end == 0) {
            return out;
        }
    } else {
        local_end = inner.rfind('@');
        if (local_end == std::string_view::npos) {
            // Only <Postmaster> may go without a domain (RFC 5321 4.5.1), case-insensitively.
            if (allow_postmaster && is_postmaster(inner)) {
                box.local = std::string(inner);
                out.box = std::move(box);
                out.error = address_error::none;
            }
            return out;
        }
        if (!dot_string(inner.substr(0, local_end), true)) {
            return out;
        }
    }
    const std::string_view local = inner.substr(0, local_end);
    if (local_end >= inner.size() || inner[local_end] != '@') {
        return out;
    }
    const std::string_view domain = inner.substr(local_end + 1);
    if (local.size() > max_local || domain.size() > max_domain) {
        out.error = address_error::too_long;
        return out;
    }
    const bool non_ascii_seen = io::has_non_ascii(local) || io::has_non_ascii(domain);
    if (non_ascii_seen && !utf8) {
        out.error = address_error::needs_smtputf8;
        return out;
    }
    if (non_ascii_seen && (!valid_utf8_text(local) || !io::well_formed_utf8(domain))) {
        return out;
    }
    if ((local.front() != '"' && !dot_string(local, utf8)) || !valid_domain(domain, utf8)) {
        return out;
    }
    box.local = std::string(local);
    box.domain = std::string(domain);
    box.utf8 = non_ascii_seen;
    out.box = std::move(box);
    out.error = address_error::none;
    return out;
}

}  // namespace mailwright::smtp
