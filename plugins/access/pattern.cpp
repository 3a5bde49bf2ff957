// The access plugin's patterns (pattern.hpp): parsing each form, and matching a value against it.
#include "pattern.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace mailwright::access {

namespace {

bool has_wildcard(std::string_view text) { return text.find_first_of("*?") != std::string_view::npos; }

// A host name or domain as a pattern may name it: letters, digits, '-', '.', '_' (seen in real HELO names),
// or an address literal in brackets ("[192.0.2.1]", the HELO of a host without a name).
bool plausible_domain(std::string_view d) {
    if (d.empty() || d.front() == '.' || d.back() == '.' || d.find("..") != std::string_view::npos) {
        return false;
    }
    if (d.front() == '[') {
        return d.size() > 2 && d.back() == ']';
    }
    return std::all_of(d.begin(), d.end(), [](char c) {
        return io::is_alnum(c) || c == '-' || c == '.' || c == '_' || static_cast<unsigned char>(c) >= 0x80;
    });
}

std::string network_text(const ip_address& a) {
    char buffer[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(a.v4 ? AF_INET : AF_INET6, a.octets.data(), buffer, sizeof buffer);
    return buffer;
}

// Whether the first `prefix` bits of a and b are equal.
bool same_prefix(const ip_address& a, const ip_address& b, unsigned prefix) noexcept {
    const unsigned whole = prefix / 8;
    if (std::memcmp(a.octets.data(), b.octets.data(), whole) != 0) {
        return false;
    }
    const unsigned rest = prefix % 8;
    if (rest == 0) {
        return true;
    }
    const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (a.octets[whole] & mask) == (b.octets[whole] & mask);
}

std::optional<pattern> parse_network(std::string_view text, std::string& error) {
    const auto slash = text.find('/');
    const auto address = parse_ip(text.substr(0, slash));
    if (!address || text.substr(0, slash).find('%') != std::string_view::npos) {
        error = "expected an IP address or network, e.g. 192.0.2.1, 192.0.2.0/24, 2001:db8::/32 or ::1";
        return std::nullopt;
    }
    const unsigned bits = address->v4 ? 32 : 128;
    unsigned prefix = bits;
    if (slash != std::string_view::npos) {
        const auto digits = text.substr(slash + 1);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || prefix > bits) {
            error = "the prefix length after '/' must be a number from 0 to " + std::to_string(bits);
            return std::nullopt;
        }
    }
    pattern p{.kind = pattern::form::network, .text = std::string(text), .network = *address, .prefix = prefix};
    ip_address masked{.v4 = address->v4};
    std::copy_n(address->octets.begin(), prefix / 8, masked.octets.begin());
    if (prefix % 8 != 0) {
        masked.octets[prefix / 8] = address->octets[prefix / 8] & static_cast<unsigned char>(0xff << (8 - prefix % 8));
    }
    if (masked.octets != address->octets) {
        // A typo in the address or the length: say which network the bits given name (Postfix cidr_table too).
        error = "host bits are set after the first " + std::to_string(prefix) + "; did you mean " +
                network_text(masked) + "/" + std::to_string(prefix) + "?";
        return std::nullopt;
    }
    return p;
}

std::optional<pattern> parse_address_pattern(subject what, std::string_view text, std::string& error) {
    using form = pattern::form;
    if (text == "<>") {
        if (what != subject::sender) {
            error = "<> (the null reverse-path) is a sender, never a recipient";
            return std::nullopt;
        }
        return pattern{.kind = form::null_sender};
    }
    const std::string lowered = to_lower(text);
    if (has_wildcard(text)) {
        return pattern{.kind = form::glob, .text = lowered};
    }
    const auto at = lowered.rfind('@');
    if (at == std::string::npos) {
        if (!plausible_domain(lowered)) {
            error = "expected user@domain, @domain, domain, user@ or a pattern with * and ?";
            return std::nullopt;
        }
        return pattern{.kind = form::domain_tree, .text = lowered};
    }
    if (at == 0 || at + 1 == lowered.size()) {
        const bool domain = at == 0;
        const auto part = domain ? lowered.substr(1) : lowered.substr(0, at);
        if (part.empty() || (domain && !plausible_domain(part))) {
            error = "expected @domain (an address in that domain) or user@ (that user in any domain)";
            return std::nullopt;
        }
        return pattern{.kind = domain ? form::domain : form::local_part, .text = part};
    }
    if (!plausible_domain(std::string_view(lowered).substr(at + 1))) {
        error = "the domain after '@' is not a domain name";
        return std::nullopt;
    }
    return pattern{.kind = form::exact, .text = lowered};
}

bool in_domain_tree(std::string_view domain, std::string_view tree) noexcept {
    return domain == tree ||
           (domain.size() > tree.size() && domain.ends_with(tree) && domain[domain.size() - tree.size() - 1] == '.');
}

}  // namespace

std::optional<ip_address> parse_ip(std::string_view text) {
    const std::string address(text.substr(0, text.find('%')));  // an IPv6 scope names an interface, not a host
    ip_address a;
    if (::inet_pton(AF_INET, address.c_str(), a.octets.data()) == 1) {
        a.v4 = true;
        return a;
    }
    if (::inet_pton(AF_INET6, address.c_str(), a.octets.data()) != 1) {
        return std::nullopt;
    }
    static constexpr unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a.octets.data(), v4_mapped, sizeof v4_mapped) == 0) {
        // An IPv4 client on a dual-stack socket: IPv4 rules are what the administrator wrote for it.
        ip_address v4{.v4 = true};
        std::copy_n(a.octets.begin() + 12, 4, v4.octets.begin());
        return v4;
    }
    return a;
}

std::optional<pattern> parse_pattern(subject what, std::string_view text, std::string& error) {
    switch (what) {
        case subject::client:
            return parse_network(text, error);
        case subject::helo:
            if (has_wildcard(text)) {
                return pattern{.kind = pattern::form::glob, .text = to_lower(text)};
            }
            if (!plausible_domain(text)) {
                error = "expected a host name (it matches its subdomains too), [address] or a pattern with * and ?";
                return std::nullopt;
            }
            return pattern{.kind = pattern::form::domain_tree, .text = to_lower(text)};
        case subject::sender:
        case subject::recipient:
            return parse_address_pattern(what, text, error);
    }
    return std::nullopt;
}

bool matches(const pattern& p, const ip_address& client) noexcept {
    return p.kind == pattern::form::network && p.network.v4 == client.v4 && same_prefix(p.network, client, p.prefix);
}

bool matches(const pattern& p, subject what, std::string_view value) noexcept {
    using form = pattern::form;
    const auto at = value.rfind('@');
    // A HELO name is all domain; an address has the domain after its last '@' (a quoted local part may hold
    // one), and <> and <Postmaster> have none.
    const bool address = what == subject::sender || what == subject::recipient;
    const auto domain = !address ? value : at == std::string_view::npos ? std::string_view() : value.substr(at + 1);
    switch (p.kind) {
        case form::network:
            return false;
        case form::exact:
            return value == p.text;
        case form::domain:
            return !domain.empty() && domain == p.text;
        case form::domain_tree:
            return !domain.empty() && in_domain_tree(domain, p.text);
        case form::local_part:
            return address && !value.empty() && value.substr(0, at) == p.text;
        case form::glob:
            return glob_match(p.text, value);
        case form::null_sender:
            return value.empty();
    }
    return false;
}

bool glob_match(std::string_view glob, std::string_view value) noexcept {
    std::size_t g = 0;
    std::size_t v = 0;
    std::size_t star = std::string_view::npos;  // where the last '*' was in glob
    std::size_t resume = 0;                     // where in value that '*' is to take one more character
    while (v < value.size()) {
        // '*' first: a '*' in the value (a local part may hold one) is matched by the glob's '*' as a
        // wildcard, never as a literal, or the place to come back to would be lost.
        if (g < glob.size() && glob[g] == '*') {
            star = g++;
            resume = v;
        } else if (g < glob.size() && (glob[g] == '?' || glob[g] == value[v])) {
            ++g;
            ++v;
        } else if (star != std::string_view::npos) {
            g = star + 1;
            v = ++resume;
        } else {
            return false;
        }
    }
    while (g < glob.size() && glob[g] == '*') {
        ++g;
    }
    return g == glob.size();
}

}  // namespace mailwright::access
