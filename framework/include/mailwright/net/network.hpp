// IP addresses and networks (CIDR, IPv4 and IPv6) as bits, for the rules that trust or refuse a client by its
// address: the access plugin's client patterns, the listeners' PROXY protocol and XCLIENT senders. Parsed with
// inet_pton(3) and compared as bits, never as text. No I/O.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwright::net {

// An IPv4 address is kept in the first four octets.
struct ip_address {
    bool v4 = false;
    std::array<unsigned char, 16> octets{};

    friend bool operator==(const ip_address&, const ip_address&) = default;
};

// A numeric IP address as the framework gives it ("192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1" counts as
// IPv4, a "%scope" suffix is ignored); nothing if it is not one.
std::optional<ip_address> parse_ip(std::string_view text);

// The address as text: "192.0.2.1", "2001:db8::1".
std::string to_string(const ip_address& address);

struct network {
    ip_address base;      // host bits are zero
    unsigned prefix = 0;  // the number of leading bits compared

    bool contains(const ip_address& address) const noexcept;
};

// "192.0.2.0/24", "2001:db8::/32", or an address alone (a network of one). On error returns nothing and says
// what would be right in `error` (host bits set after the prefix: which network was probably meant).
std::optional<network> parse_network(std::string_view text, std::string& error);

// Networks a listener trusts; an empty list trusts nobody.
class network_list {
  public:
    network_list() = default;
    explicit network_list(std::vector<network> networks) : networks_(std::move(networks)) {}

    bool empty() const noexcept { return networks_.empty(); }
    bool contains(const ip_address& address) const noexcept;
    // The address as text (see parse_ip); false when it is not a numeric address.
    bool contains(std::string_view address) const;

  private:
    std::vector<network> networks_;
};

}  // namespace mailwright::net
