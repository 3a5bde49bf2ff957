// The client's EHLO/HELO name as the Received header may carry it (RFC 5321 4.4, RFC 5322 3.2.2).
#pragma once

#include <string>
#include <string_view>

namespace mailwright::smtp {

// A domain of LDH labels (RFC 5321 4.1.2 Domain; RFC 1035 2.3.1), at most 255 octets.
bool is_ldh_domain(std::string_view name);

// An address literal: [IPv4 dotted quad] or [IPv6:address] (RFC 5321 4.1.3).
bool is_address_literal(std::string_view name);

// The "from" part of a Received header: "NAME ([peer])" when the name is a domain or an address literal,
// otherwise "unknown ([peer] helo=TEXT)" with every octet outside printable ASCII, and every parenthesis,
// backslash and quote, replaced by '?', so the comment is always balanced and the header always ASCII
// whatever the client said; "unknown ([peer])" without a name. A host name the session knows for the client
// (`name`, an LDH domain: XCLIENT NAME=) goes before the address: "HELO (name [peer])", as Postfix writes it.
std::string received_from(std::string_view helo, std::string_view peer, std::string_view name = {});

}  // namespace mailwright::smtp
