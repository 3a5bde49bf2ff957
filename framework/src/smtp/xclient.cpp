// XCLIENT's arguments: see the header. Every value is checked after xtext decoding, so an encoded octet
// cannot smuggle what the plain text may not carry (a NUL after an address, a CR in a HELO name).
#include "mailwright/smtp/xclient.hpp"

#include <charconv>

#include "mailwright/io/utf8.hpp"
#include "mailwright/net/network.hpp"
#include "mailwright/smtp/command.hpp"
#include "trace_name.hpp"

namespace mailwright::smtp::xclient {

namespace {

enum class attribute { addr, port, name, helo, login, proto, unknown };

attribute attribute_named(std::string_view name) {
    constexpr std::pair<std::string_view, attribute> names[] = {
        {"ADDR", attribute::addr}, {"PORT", attribute::port},   {"NAME", attribute::name},
        {"HELO", attribute::helo}, {"LOGIN", attribute::login}, {"PROTO", attribute::proto},
    };
    for (const auto& [text, a] : names) {
        if (iequals(name, text)) {
            return a;
        }
    }
    return attribute::unknown;
}

bool unavailable(std::string_view value) { return iequals(value, "[UNAVAILABLE]"); }
bool temporarily_unavailable(std::string_view value) { return iequals(value, "[TEMPUNAVAIL]"); }

int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;  // RFC 3461 4: upper case only
}

bool only(std::string_view text, std::string_view allowed_extra, bool hex) {
    for (const char c : text) {
        const bool digit = c >= '0' && c <= '9';
        const bool letter = (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!digit && !(hex && letter) && allowed_extra.find(c) == std::string_view::npos) {
            return false;
        }
    }
    return true;
}

// ADDR: a dotted quad, or "IPV6:" (any case) and an IPv6 address; a bare IPv6 address is taken too, as
// Postfix does. Checked character by character before inet_pton, which stops at the first NUL.
std::optional<std::string> address(std::string_view value) {
    if (unavailable(value) || temporarily_unavailable(value)) {
        return std::string("unknown");
    }
    constexpr std::string_view v6_prefix = "IPV6:";
    const bool v6 = value.size() > v6_prefix.size() && iequals(value.substr(0, v6_prefix.size()), v6_prefix);
    if (v6) {
        value.remove_prefix(v6_prefix.size());
    }
    const bool colon = value.find(':') != std::string_view::npos;
    if (value.empty() || value.size() > 45 || (v6 && !colon) || !only(value, colon ? ":." : ".", colon)) {
        return std::nullopt;
    }
    const auto ip = net::parse_ip(value);
    if (!ip) {
        return std::nullopt;
    }
    return net::to_string(*ip);  // "::ffff:192.0.2.7" becomes "192.0.2.7", as the listener gives such a client
}

std::optional<std::uint16_t> port(std::string_view value) {
    if (unavailable(value)) {
        return std::uint16_t{0};
    }
    unsigned n = 0;
    if (value.empty() || value.size() > 5 || !only(value, "", false)) {
        return std::nullopt;
    }
    std::from_chars(value.data(), value.data() + value.size(), n);
    return n <= 65535 ? std::optional<std::uint16_t>(static_cast<std::uint16_t>(n)) : std::nullopt;
}

std::optional<std::string> host_name(std::string_view value) {
    if (unavailable(value) || temporarily_unavailable(value)) {
        return std::string();
    }
    return is_ldh_domain(value) ? std::optional<std::string>(value) : std::nullopt;
}

// HELO: what the client said, as EHLO takes it (one word), printable ASCII: it goes into Received headers.
std::optional<std::string> helo(std::string_view value) {
    if (unavailable(value)) {
        return std::string();
    }
    for (const char c : value) {
        if (c < 33 || c > 126) {
            return std::nullopt;
        }
    }
    return std::string(value);
}

// LOGIN: a user name as AUTH would give it: UTF-8 without spaces or control characters.
std::optional<std::string> login(std::string_view value) {
    if (unavailable(value)) {
        return std::string();
    }
    if (!io::well_formed_utf8(value)) {
        return std::nullopt;
    }
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 33 || u == 127) {
            return std::nullopt;
        }
    }
    return std::string(value);
}

// Reads one attribute's decoded value into `out`; false when the value is not what the attribute takes.
bool take(attribute a, std::string_view value, facts& out) {
    switch (a) {
        case attribute::addr:
            out.addr = address(value);
            return out.addr.has_value();
        case attribute::port:
            out.port = port(value);
            return out.port.has_value();
        case attribute::name:
            out.name = host_name(value);
            return out.name.has_value();
        case attribute::helo:
            out.helo = helo(value);
            return out.helo.has_value();
        case attribute::login:
            out.login = login(value);
            return out.login.has_value();
        case attribute::proto:
            if (!iequals(value, "SMTP") && !iequals(value, "ESMTP")) {
                return false;
            }
            out.esmtp = iequals(value, "ESMTP");
            return true;
        case attribute::unknown:
            break;
    }
    return false;
}

}  // namespace

std::optional<std::string> decode_xtext(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '+') {
            const int high = i + 2 < text.size() ? hex_digit(text[i + 1]) : -1;
            const int low = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
            if (high < 0 || low < 0) {
                return std::nullopt;
            }
            out.push_back(static_cast<char>(high * 16 + low));
            i += 2;
        } else if (c < 33 || c > 126 || c == '=') {
            return std::nullopt;
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    return out;
}

result parse(std::string_view argument) {
    result r;
    if (argument.empty()) {
        r.problem = error::no_attributes;
        return r;
    }
    std::size_t count = 0;
    for (;;) {
        const auto space = argument.find(' ');
        const std::string_view word = argument.substr(0, space);
        const auto eq = word.find('=');
        r.attribute = word.substr(0, eq);
        if (++count > max_attributes) {
            r.problem = error::too_many;
            return r;
        }
        if (eq == std::string_view::npos || eq == 0 || eq + 1 == word.size()) {
            r.problem = word.empty() ? error::no_attributes : error::not_attribute_value;
            return r;
        }
        const std::string_view raw = word.substr(eq + 1);
        if (raw.size() > max_value) {
            r.problem = error::value_too_long;
            return r;
        }
        const auto value = decode_xtext(raw);
        if (!value) {
            r.problem = error::bad_xtext;
            return r;
        }
        const attribute a = attribute_named(r.attribute);
        if (a == attribute::unknown) {
            r.problem = error::unknown_attribute;
            return r;
        }
        if (!take(a, *value, r.said)) {
            r.problem = error::bad_value;
            return r;
        }
        if (space == std::string_view::npos) {
            break;
        }
        argument.remove_prefix(space + 1);
    }
    r.attribute = {};
    return r;
}

}  // namespace mailwright::smtp::xclient
