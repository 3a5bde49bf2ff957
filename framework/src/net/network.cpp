// IP addresses and networks (net/network.hpp).
#include "mailwright/net/network.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace mailwright::net {

namespace {

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

std::string to_string(const ip_address& address) {
    char buffer[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(address.v4 ? AF_INET : AF_INET6, address.octets.data(), buffer, sizeof buffer);
    return buffer;
}

bool network::contains(const ip_address& address) const noexcept {
    return base.v4 == address.v4 && same_prefix(base, address, prefix);
}

std::optional<network> parse_network(std::string_view text, std::string& error) {
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
    ip_address masked{.v4 = address->v4};
    std::copy_n(address->octets.begin(), prefix / 8, masked.octets.begin());
    if (prefix % 8 != 0) {
        masked.octets[prefix / 8] = address->octets[prefix / 8] & static_cast<unsigned char>(0xff << (8 - prefix % 8));
    }
    if (masked.octets != address->octets) {
        // A typo in the address or the length: say which network the bits given name (Postfix cidr_table too).
        error = "host bits are set after the first " + std::to_string(prefix) + "; did you mean " + to_string(masked) +
                "/" + std::to_string(prefix) + "?";
        return std::nullopt;
    }
    return network{.base = masked, .prefix = prefix};
}

bool network_list::contains(const ip_address& address) const noexcept {
    return std::any_of(networks_.begin(), networks_.end(), [&](const network& n) { return n.contains(address); });
}

bool network_list::contains(std::string_view address) const {
    const auto parsed = parse_ip(address);
    return parsed && contains(*parsed);
}

}  // namespace mailwright::net
