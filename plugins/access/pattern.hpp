// The access plugin's patterns: what one rule compares a client address, a HELO name or a mail address with.
// Pure functions over strings, no I/O: the unit tests (tests/unit/test_access_rules.cpp) call them directly.
//
// Client patterns are IP addresses and networks (CIDR, IPv4 and IPv6), parsed with inet_pton(3) and compared
// as bits, never as text. Name and address patterns are exact strings, domains, or globs with `*` and `?`;
// there is no regular expression anywhere, so a match costs at most pattern length times value length.
// Everything but an IP address is compared in ASCII lower case (Postfix's access tables do the same: local
// parts are case-sensitive in RFC 5321 2.4, but no mail system hands out addresses differing only in case).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include "mailwright/io/ascii.hpp"
#include "mailwright/net/network.hpp"

namespace mailwright::access {

enum class subject { client, helo, sender, recipient };

using net::ip_address;
using net::parse_ip;

struct pattern {
    enum class form {
        network,      // client: an address or a network, e.g. 192.0.2.0/24, 2001:db8::/32, ::1
        exact,        // sender/recipient: user@example.org; helo: never (a plain name is a domain_tree)
        domain,       // sender/recipient: @example.org, that domain only
        domain_tree,  // example.org: the domain and every subdomain (HELO name or address domain)
        local_part,   // sender/recipient: user@, that local part in any domain (or none: <Postmaster>)
        glob,         // the whole value, with * (any run) and ? (one character)
        null_sender,  // sender: <>, the null reverse-path of bounces
    };
    form kind = form::exact;
    std::string text;      // lower case: the address, domain, local part or glob
    net::network network;  // form::network
};

// Parses one pattern for rules about `what`. On error returns nothing and says what would be right in `error`.
std::optional<pattern> parse_pattern(subject what, std::string_view text, std::string& error);

// Whether `p` matches a client address, or a HELO name or address of `what` already in lower case ("" is the
// null sender).
bool matches(const pattern& p, const ip_address& client) noexcept;
bool matches(const pattern& p, subject what, std::string_view lowered) noexcept;

// `*` matches any run of characters (also none), `?` exactly one; everything else itself. Iterative, with one
// backtracking point: O(pattern x value) at worst, never exponential.
bool glob_match(std::string_view glob, std::string_view value) noexcept;

using io::to_lower;  // patterns compare ASCII letters without case

}  // namespace mailwright::access
