// The access plugin's patterns (pattern.hpp): parsing each form, and matching a value against it.
#include "pattern.hpp"

#include <algorithm>

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

std::optional<pattern> parse_client(std::string_view text, std::string& error) {
    auto parsed = net::parse_network(text, error);
    if (!parsed) {
        return std::nullopt;
    }
    return pattern{.kind = pattern::form::network, .text = std::string(text), .network = *parsed};
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

std::optional<pattern> parse_pattern(subject what, std::string_view text, std::string& error) {
    switch (what) {
        case subject::client:
            return parse_client(text, error);
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
    return p.kind == pattern::form::network && p.network.contains(client);
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
