// Authentication-Results: see the header.
#include "authres.hpp"

#include <algorithm>

namespace mailwright::headers {

namespace {

// RFC 5322 2.1.1 bounds a line at 998 octets; the field is written on one line (a filter cannot fold), so the
// one part of it whose length the client chooses, its certificate's subject, is cut short.
constexpr std::size_t max_subject = 300;

constexpr std::string_view tspecials = "()<>@,;:\\\"/[]?=";

bool is_control(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u < 32 || u == 127;
}

// RFC 5322 3.2.3 atext.
bool is_atext(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos || u >= 128;
}

// RFC 5322 3.2.3 dot-atom-text: atoms joined by single dots.
bool is_dot_atom(std::string_view text) noexcept {
    if (text.empty() || text.front() == '.' || text.back() == '.' || text.find("..") != std::string_view::npos) {
        return false;
    }
    return std::all_of(text.begin(), text.end(), [](char c) { return c == '.' || is_atext(c); });
}

std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += is_control(c) ? ' ' : c;
    }
    return out + "\"";
}

// `text` cut to at most `limit` octets, not inside a UTF-8 sequence, marked when cut.
std::string_view shortened(std::string_view text, std::size_t limit, bool& cut) noexcept {
    cut = text.size() > limit;
    if (!cut) {
        return text;
    }
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
        --end;  // text[end] continues a sequence: end before the sequence starts
    }
    return text.substr(0, end);
}

std::string tls_comment(const session_facts& facts) {
    std::string text = facts.tls_version;
    if (!facts.tls_cipher.empty()) {
        text += (text.empty() ? "" : " ") + facts.tls_cipher;
    }
    return comment(text.empty() ? "TLS" : text);
}

std::string certificate_comment(const session_facts& facts) {
    std::string text =
        facts.client_certificate_verified ? "client certificate verified" : "client certificate not verified";
    if (!facts.client_subject.empty()) {
        bool cut = false;
        text += ": ";
        text += shortened(facts.client_subject, max_subject, cut);
        text += cut ? "..." : "";
    }
    return comment(text);
}

// Skips white space, line ends and comments (RFC 5322 3.2.2 CFWS, comments nested, quoted-pairs in them).
// False when a comment does not end.
bool skip_cfws(std::string_view text, std::size_t& at) noexcept {
    int depth = 0;
    for (; at < text.size(); ++at) {
        const char c = text[at];
        if (depth > 0 && c == '\\') {
            ++at;  // the quoted-pair's second octet, whatever it is
        } else if (c == '(') {
            ++depth;
        } else if (depth > 0 && c == ')') {
            --depth;
        } else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            return true;
        }
    }
    return depth == 0;
}

std::optional<std::string> quoted_string_at(std::string_view text, std::size_t at) {
    std::string out;
    for (++at; at < text.size(); ++at) {
        if (text[at] == '"') {
            return out;
        }
        if (text[at] == '\\') {
            ++at;
            if (at == text.size()) {
                break;
            }
        }
        if (text[at] != '\r' && text[at] != '\n') {
            out += text[at];  // folding inside the quotes leaves its white space (RFC 5322 3.2.4)
        }
    }
    return std::nullopt;  // the quotes do not end: no authserv-id
}

}  // namespace

bool is_token(std::string_view text) noexcept {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 32 && u < 127 && tspecials.find(c) == std::string_view::npos;
    });
}

std::string comment(std::string_view text) {
    std::string out = "(";
    for (const char c : text) {
        if (c == '(' || c == ')' || c == '\\') {
            out += '\\';
        }
        out += is_control(c) ? ' ' : c;
    }
    return out + ")";
}

std::string property_value(std::string_view text) {
    if (is_token(text)) {
        return std::string(text);
    }
    const auto at = text.rfind('@');
    if (at != std::string_view::npos && is_dot_atom(text.substr(0, at)) && is_dot_atom(text.substr(at + 1))) {
        return std::string(text);  // local-part "@" domain-name (RFC 8601 2.2 pvalue)
    }
    return quoted(text);
}

std::string authentication_results(std::string_view authserv_id, const session_facts& facts) {
    std::string field = "Authentication-Results: ";
    field += is_token(authserv_id) ? std::string(authserv_id) : quoted(authserv_id);
    if (!facts.user.empty()) {
        field += "; auth=pass smtp.auth=" + property_value(facts.user);
    } else {
        field += "; none";
    }
    if (facts.tls) {
        field += " " + tls_comment(facts);
    }
    if (facts.client_certificate) {
        field += " " + certificate_comment(facts);
    }
    return field;
}

std::optional<std::string> claimed_authserv_id(std::string_view value) {
    std::size_t at = 0;
    if (!skip_cfws(value, at) || at == value.size()) {
        return std::nullopt;
    }
    if (value[at] == '"') {
        return quoted_string_at(value, at);
    }
    std::size_t end = at;
    while (end < value.size() && is_token(value.substr(end, 1))) {
        ++end;
    }
    if (end == at) {
        return std::nullopt;
    }
    return std::string(value.substr(at, end - at));
}

}  // namespace mailwright::headers
