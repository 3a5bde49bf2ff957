// IP addresses and networks (net/network.hpp): parsing, bit-wise matching, the list a listener trusts.
#include "mailwright/net/network.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace mailwright::net;

namespace {

network must_parse(std::string_view text) {
    std::string error;
    const auto n = parse_network(text, error);
    INFO(text << ": " << error);
    REQUIRE(n);
    return *n;
}

bool in(std::string_view net_text, std::string_view address) {
    const auto ip = parse_ip(address);
    REQUIRE(ip);
    return must_parse(net_text).contains(*ip);
}

}  // namespace

TEST_CASE("network: an IPv4 network holds exactly its addresses", "[network]") {
    CHECK(in("192.0.2.0/24", "192.0.2.0"));
    CHECK(in("192.0.2.0/24", "192.0.2.255"));
    CHECK_FALSE(in("192.0.2.0/24", "192.0.3.0"));
    CHECK(in("10.0.0.0/9", "10.127.255.255"));
    CHECK_FALSE(in("10.0.0.0/9", "10.128.0.0"));
    CHECK(in("0.0.0.0/0", "203.0.113.9"));
    CHECK(in("127.0.0.1", "127.0.0.1"));
    CHECK_FALSE(in("127.0.0.1", "127.0.0.2"));
}

TEST_CASE("network: families never match each other, IPv4-mapped IPv6 counts as IPv4", "[network]") {
    CHECK_FALSE(in("::/0", "127.0.0.1"));
    CHECK_FALSE(in("0.0.0.0/0", "::1"));
    CHECK(in("127.0.0.0/8", "::ffff:127.0.0.5"));
    CHECK(in("2001:db8::/32", "2001:db8:ffff::1"));
    CHECK_FALSE(in("2001:db8::/32", "2001:db9::1"));
    CHECK(in("fe80::/10", "fe80::1%eth0"));
}

TEST_CASE("network: bad text is refused with the reason", "[network]") {
    std::string error;
    CHECK_FALSE(parse_network("192.0.2.1/24", error));
    CHECK(error.find("did you mean 192.0.2.0/24?") != std::string::npos);
    CHECK_FALSE(parse_network("192.0.2.0/33", error));
    CHECK(error.find("0 to 32") != std::string::npos);
    CHECK_FALSE(parse_network("192.0.2.0/", error));
    CHECK_FALSE(parse_network("example.org", error));
    CHECK_FALSE(parse_network("fe80::1%eth0", error));
    CHECK_FALSE(parse_ip("256.0.0.1"));
    CHECK(to_string(*parse_ip("2001:db8:0:0::1")) == "2001:db8::1");
}

TEST_CASE("network: a list trusts what one of its networks holds, an empty list nobody", "[network]") {
    const network_list none;
    CHECK(none.empty());
    CHECK_FALSE(none.contains("127.0.0.1"));
    const network_list trusted({must_parse("127.0.0.0/8"), must_parse("::1")});
    CHECK(trusted.contains("127.0.0.9"));
    CHECK(trusted.contains("::1"));
    CHECK_FALSE(trusted.contains("192.0.2.1"));
    CHECK_FALSE(trusted.contains("not an address"));
}
