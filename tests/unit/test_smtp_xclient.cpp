// XCLIENT's argument parser (mailwright/smtp/xclient.hpp): each attribute's forms, every malformed one, xtext
// decoding (RFC 3461 4), and every line cut short at every offset.
#include "mailwright/smtp/xclient.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace mailwright::smtp;
using xclient::error;

namespace {

xclient::result parse(std::string_view argument) { return xclient::parse(argument); }

// "+4A": one octet as xtext's hex escape.
std::string fmt_hex(int c) {
    static constexpr char hex[] = "0123456789ABCDEF";
    return std::string{'+', hex[c >> 4], hex[c & 15]};
}

}  // namespace

TEST_CASE("xclient: every attribute, names in any case", "[smtp][xclient]") {
    const auto r = parse("ADDR=192.0.2.7 PORT=40000 NAME=client.example HELO=helo.example LOGIN=alice PROTO=ESMTP");
    REQUIRE(r.problem == error::none);
    CHECK(r.said.addr == "192.0.2.7");
    CHECK(r.said.port == 40000);
    CHECK(r.said.name == "client.example");
    CHECK(r.said.helo == "helo.example");
    CHECK(r.said.login == "alice");
    CHECK(r.said.esmtp == true);
    const auto lower = parse("addr=192.0.2.7 Port=1 name=a.example helo=x login=bob proto=smtp");
    REQUIRE(lower.problem == error::none);
    CHECK(lower.said.port == 1);
    CHECK(lower.said.esmtp == false);
    const auto one = parse("NAME=spike.porcupine.org");  // XCLIENT_README's example: the rest is unset
    REQUIRE(one.problem == error::none);
    CHECK(one.said.name == "spike.porcupine.org");
    CHECK_FALSE(one.said.addr);
    CHECK_FALSE(one.said.port);
    CHECK_FALSE(one.said.helo);
    CHECK_FALSE(one.said.login);
    CHECK_FALSE(one.said.esmtp);
    CHECK(parse("ADDR=192.0.2.7 ADDR=192.0.2.8").said.addr == "192.0.2.8");  // the last wins, as Postfix
}

TEST_CASE("xclient: ADDR in its forms", "[smtp][xclient]") {
    CHECK(parse("ADDR=IPV6:2001:db8::7").said.addr == "2001:db8::7");
    CHECK(parse("ADDR=ipv6:2001:DB8:0:0::7").said.addr == "2001:db8::7");  // normalised
    CHECK(parse("ADDR=2001:db8::7").said.addr == "2001:db8::7");           // bare, as Postfix takes it
    CHECK(parse("ADDR=IPv6:::ffff:192.0.2.7").said.addr == "192.0.2.7");   // mapped: the IPv4 client
    CHECK(parse("ADDR=[UNAVAILABLE]").said.addr == "unknown");
    CHECK(parse("ADDR=IPV6+3A::1").said.addr == "::1");  // values are checked once decoded
    CHECK(parse("ADDR=[TEMPUNAVAIL]").said.addr == "unknown");
    CHECK(parse("ADDR=[unavailable]").said.addr == "unknown");
    for (const char* bad : {"ADDR=192.0.2", "ADDR=192.0.2.256", "ADDR=IPV6:192.0.2.7", "ADDR=IPV6:",
                            "ADDR=host.example", "ADDR=[192.0.2.7]", "ADDR=2001:db8::7%eth0", "ADDR=192.0.2.7+00",
                            "ADDR=192.0.2.7+2F24", "ADDR=IPV6:2001:db8:::7", "ADDR=0x7f.1", "ADDR=[UNAVAILABLE]x"}) {
        INFO(bad);
        const auto r = parse(bad);
        CHECK((r.problem == error::bad_value || r.problem == error::bad_xtext ||
               r.problem == error::not_attribute_value));
        CHECK(r.attribute == "ADDR");
    }
}

TEST_CASE("xclient: PORT, NAME, HELO, LOGIN and PROTO, and their malformed values", "[smtp][xclient]") {
    CHECK(parse("PORT=0").said.port == 0);
    CHECK(parse("PORT=65535").said.port == 65535);
    CHECK(parse("PORT=[UNAVAILABLE]").said.port == 0);
    CHECK(parse("NAME=[UNAVAILABLE]").said.name == "");
    CHECK(parse("NAME=[TEMPUNAVAIL]").said.name == "");
    CHECK(parse("HELO=[UNAVAILABLE]").said.helo == "");
    CHECK(parse("HELO=[192.0.2.7]").said.helo == "[192.0.2.7]");  // an address literal is a HELO name
    CHECK(parse("HELO=any+21thing").said.helo == "any!thing");
    CHECK(parse("LOGIN=[UNAVAILABLE]").said.login == "");
    CHECK(parse("LOGIN=al+C3+A9ce").said.login ==
          "al\xc3\xa9"
          "ce");  // UTF-8, xtext-encoded
    CHECK(parse("LOGIN=alice@example.org").said.login == "alice@example.org");
    struct bad_case {
        const char* argument;
        const char* attribute;
    };
    const bad_case bad[] = {
        {"PORT=65536", "PORT"},
        {"PORT=-1", "PORT"},
        {"PORT=123456", "PORT"},
        {"PORT=1a", "PORT"},
        {"PORT=[TEMPUNAVAIL]", "PORT"},
        {"NAME=-bad.example", "NAME"},
        {"NAME=a..example", "NAME"},
        {"NAME=a_b.example", "NAME"},
        {"NAME=caf+C3+A9.example", "NAME"},
        {"HELO=a+20b", "HELO"},
        {"HELO=a+0Db", "HELO"},
        {"HELO=a+7Fb", "HELO"},
        {"HELO=+C3+A9", "HELO"},
        {"LOGIN=a+20b", "LOGIN"},
        {"LOGIN=a+00", "LOGIN"},
        {"LOGIN=+FF", "LOGIN"},
        {"LOGIN=+C3", "LOGIN"},
        {"PROTO=LMTP", "PROTO"},
        {"PROTO=ESMTPS", "PROTO"},
        {"PROTO=[UNAVAILABLE]", "PROTO"},
    };
    for (const auto& b : bad) {
        INFO(b.argument);
        const auto r = parse(b.argument);
        CHECK(r.problem == error::bad_value);
        CHECK(r.attribute == b.attribute);
    }
}

TEST_CASE("xclient: malformed lines", "[smtp][xclient]") {
    struct bad_case {
        std::string argument;
        error problem;
        std::string attribute;
    };
    const bad_case bad[] = {
        {"", error::no_attributes, ""},
        {"ADDR=192.0.2.7 ", error::no_attributes, ""},  // a trailing space
        {"ADDR=192.0.2.7  PORT=1", error::no_attributes, ""},
        {" ADDR=192.0.2.7", error::no_attributes, ""},
        {"ADDR", error::not_attribute_value, "ADDR"},
        {"ADDR=", error::not_attribute_value, "ADDR"},
        {"=192.0.2.7", error::not_attribute_value, ""},
        {"NAME=a.example ADDR", error::not_attribute_value, "ADDR"},
        {"HELO=a=b", error::bad_xtext, "HELO"},
        {"HELO=a+2b", error::bad_xtext, "HELO"},  // lower-case hex
        {"HELO=a+2", error::bad_xtext, "HELO"},
        {"HELO=a+", error::bad_xtext, "HELO"},
        {"HELO=a\tb", error::bad_xtext, "HELO"},
        {"HELO=\xc3\xa9", error::bad_xtext, "HELO"},  // non-ASCII must be encoded
        {"HELO=" + std::string(256, 'a'), error::value_too_long, "HELO"},
        {"DESTADDR=192.0.2.1", error::unknown_attribute, "DESTADDR"},
        {"DESTPORT=25", error::unknown_attribute, "DESTPORT"},
        {"REVERSE_NAME=a.example", error::unknown_attribute, "REVERSE_NAME"},
        {"ADDR=192.0.2.7 FOO=1", error::unknown_attribute, "FOO"},
        {"ADDRESS=192.0.2.7", error::unknown_attribute, "ADDRESS"},
    };
    for (const auto& b : bad) {
        INFO(b.argument);
        const auto r = parse(b.argument);
        CHECK(r.problem == b.problem);
        CHECK(r.attribute == b.attribute);
    }
    CHECK(parse("HELO=" + std::string(255, 'a')).problem == error::none);
    std::string many;
    for (std::size_t i = 0; i <= xclient::max_attributes; ++i) {
        many += (many.empty() ? "" : " ") + std::string("PORT=1");
    }
    CHECK(parse(many).problem == error::too_many);
    CHECK(parse(many.substr(many.find(' ') + 1)).problem == error::none);  // exactly max_attributes
}

TEST_CASE("xclient: xtext decoding (RFC 3461 4)", "[smtp][xclient][xtext]") {
    CHECK(xclient::decode_xtext("") == "");
    CHECK(xclient::decode_xtext("abc") == "abc");
    CHECK(xclient::decode_xtext("a+2Bb") == "a+b");
    CHECK(xclient::decode_xtext("+3D") == "=");
    CHECK(xclient::decode_xtext("+00+FF") == std::string("\0\xff", 2));
    CHECK(xclient::decode_xtext("[UNAVAILABLE]") == "[UNAVAILABLE]");
    for (const char* bad : {"+", "+2", "+2b", "+G0", "a b", "a=b", "+ 20", "\x7f", "\x80", "\x1f"}) {
        INFO(bad);
        CHECK_FALSE(xclient::decode_xtext(bad));
    }
    // Every octet, encoded, decodes to itself.
    for (int c = 0; c < 256; ++c) {
        const std::string encoded = fmt_hex(c);
        CHECK(xclient::decode_xtext(encoded) == std::string(1, static_cast<char>(c)));
    }
}

TEST_CASE("xclient: a line cut at every offset is refused or says less, never more", "[smtp][xclient]") {
    const std::string line =
        "ADDR=IPV6:2001:db8::7 PORT=40000 NAME=client.example HELO=h+2Bx LOGIN=al+C3+A9ce PROTO=SMTP";
    const auto whole = parse(line);
    REQUIRE(whole.problem == error::none);
    const auto starts = [&](std::string_view name) { return line.find(std::string(name) + "="); };
    for (std::size_t cut = 0; cut < line.size(); ++cut) {
        INFO(cut);
        const auto part = parse(std::string_view(line).substr(0, cut));
        const bool boundary = cut > 0 && line[cut] == ' ';
        if (boundary) {
            CHECK(part.problem == error::none);  // whole attributes: exactly those before the cut
        }
        if (part.problem != error::none) {
            continue;  // an attribute or a value cut where it no longer parses
        }
        // Nothing after the cut is known; what ends before it is the whole line's.
        CHECK(part.said.port.has_value() == (cut > starts("PORT")));
        CHECK(part.said.name.has_value() == (cut > starts("NAME")));
        CHECK(part.said.helo.has_value() == (cut > starts("HELO")));
        CHECK(part.said.login.has_value() == (cut > starts("LOGIN")));
        CHECK(part.said.esmtp.has_value() == (cut > starts("PROTO")));
        if (cut >= starts("PORT")) {
            CHECK(part.said.addr == whole.said.addr);
        }
        if (cut >= starts("HELO")) {
            CHECK(part.said.name == whole.said.name);
        }
        if (cut >= starts("PROTO")) {
            CHECK(part.said.login == whole.said.login);
        }
    }
    CHECK(parse(line + " ").problem == error::no_attributes);
}
