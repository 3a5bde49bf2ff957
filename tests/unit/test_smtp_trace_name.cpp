// The EHLO name in the Received header (framework/src/smtp/trace_name.hpp): domains, address literals, and
// everything else made safe.
#include "smtp/trace_name.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace mailwright::smtp;
using namespace std::string_literals;

TEST_CASE("trace name: LDH domains", "[smtp][trace]") {
    for (const std::string& ok :
         {"a"s, "client.example"s, "Mail-1.Client.EXAMPLE"s, "1.2.3.4"s, std::string(63, 'y')}) {
        INFO(ok);
        CHECK(is_ldh_domain(ok));
    }
    for (const std::string& bad :
         {""s, "-a.example"s, "a-.example"s, "a..example"s, ".example"s, "example."s, "under_score"s, "b\xc3\xbc"s,
          "sp ace"s, "a(b"s, "nul\0"s, std::string(64, 'x'), std::string(128, 'a') + "." + std::string(127, 'b')}) {
        INFO(::Catch::Detail::stringify(bad));
        CHECK_FALSE(is_ldh_domain(bad));
    }
}

TEST_CASE("trace name: address literals", "[smtp][trace]") {
    for (const std::string_view ok : {"[192.0.2.7]", "[IPv6:2001:db8::1]", "[IPv6:::1]", "[IPv6:::ffff:192.0.2.7]"}) {
        INFO(ok);
        CHECK(is_address_literal(ok));
    }
    for (const std::string_view bad : {"192.0.2.7", "[]", "[300.1.2.3]", "[1.2.3]", "[2001:db8::1]", "[IPv6:zz::1]",
                                       "[ipv6:::1]", "[IPv6:::1", "[tag:anything]", "[192.0.2.7] "}) {
        INFO(bad);
        CHECK_FALSE(is_address_literal(bad));
    }
}

TEST_CASE("trace name: the from clause is ASCII with a balanced comment, whatever the name", "[smtp][trace]") {
    CHECK(received_from("client.example", "192.0.2.7") == "client.example ([192.0.2.7])");
    CHECK(received_from("[IPv6:2001:db8::1]", "2001:db8::1") == "[IPv6:2001:db8::1] ([2001:db8::1])");
    CHECK(received_from("", "192.0.2.7") == "unknown ([192.0.2.7])");
    // A host name the session knows (XCLIENT NAME=) goes before the address, as Postfix writes it.
    CHECK(received_from("helo.example", "192.0.2.7", "client.example") == "helo.example (client.example [192.0.2.7])");
    CHECK(received_from("", "192.0.2.7", "client.example") == "unknown (client.example [192.0.2.7])");
    CHECK(received_from("a(b", "192.0.2.7", "c.example") == "unknown (c.example [192.0.2.7] helo=a?b)");
    CHECK(received_from("helo.example", "192.0.2.7", "not a name") == "helo.example ([192.0.2.7])");
    CHECK(received_from("evil(\xe2\x80\xa8x", "192.0.2.7") == "unknown ([192.0.2.7] helo=evil????x)");
    CHECK(received_from("a)b(c\\d\"e\x7f\x01", "192.0.2.7") == "unknown ([192.0.2.7] helo=a?b?c?d?e?\?)");
    // Every octet value, alone: nothing outside printable ASCII, and the parentheses balance.
    for (int octet = 0; octet < 256; ++octet) {
        const std::string name(1, static_cast<char>(octet));
        const std::string from = received_from(name, "192.0.2.7");
        INFO(octet << " -> " << from);
        int depth = 0;
        for (const char c : from) {
            CHECK((c >= 0x20 && c <= 0x7e));
            depth += c == '(' ? 1 : c == ')' ? -1 : 0;
            CHECK(depth >= 0);
        }
        CHECK(depth == 0);
    }
}
