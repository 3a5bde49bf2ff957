// The milter codec (plugins/milter/protocol.hpp): our commands octet for octet, every response the milter may
// send decoded whole, split at every point and one octet at a time, malformed packets refused, the length
// bound enforced before anything is buffered, and the negotiation's intersection.
#include "protocol.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace mailwright;
using namespace std::string_literals;

namespace {

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// A packet as a milter sends it.
std::string pkt(char code, const std::string& data = {}) { return be32(data.size() + 1) + code + data; }

// Everything `wire` decodes to when fed in the pieces that `cuts` (ascending offsets) make.
std::vector<milter::response> decode_cut(const std::string& wire, const std::vector<std::size_t>& cuts,
                                         bool expect_ok = true) {
    milter::decoder d;
    std::vector<milter::response> out;
    std::size_t at = 0;
    bool ok = true;
    for (std::size_t cut : cuts) {
        ok = d.feed(std::string_view(wire).substr(at, cut - at), out) && ok;
        at = cut;
    }
    ok = d.feed(std::string_view(wire).substr(at), out) && ok;
    CHECK(ok == expect_ok);
    if (expect_ok) {
        CHECK_FALSE(d.partial());
    }
    return out;
}

// Field by field, what a test compares.
std::string describe(const milter::response& r) {
    std::string s(1, r.code);
    s += "|" + std::to_string(r.index) + "|" + r.name + "|" + r.value + "|" + r.data + "|" +
         std::to_string(r.reply.code) + "|" + r.reply.enhanced + "|" + r.reply.text + "|" +
         std::to_string(r.options.version) + "|" + std::to_string(r.options.actions) + "|" +
         std::to_string(r.options.flags);
    for (const auto& list : r.options.macros) {
        s += "|";
        if (list) {
            for (const auto& m : *list) {
                s += m + ",";
            }
        }
    }
    return s;
}

std::vector<std::string> describe_all(const std::vector<milter::response>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs) {
        out.push_back(describe(r));
    }
    return out;
}

// One of each response a milter may send, well formed.
std::vector<std::string> every_response() {
    return {
        pkt('c'),
        pkt('a'),
        pkt('r'),
        pkt('t'),
        pkt('d'),
        pkt('p'),
        pkt('s'),
        pkt('f'),
        pkt('4'),
        pkt('y', "554 5.7.1 Spam message rejected\0"s),
        pkt('y', "451-4.7.1 first\r\n451 4.7.1 second\0"s),
        pkt('h', "X-Spam\0yes\0"s),
        pkt('h', "DKIM-Signature\0v=1; a=rsa-sha256;\n\tb=abc\0"s),
        pkt('i', be32(0) + "Authentication-Results\0mx; dkim=pass\0"s),
        pkt('m', be32(2) + "Subject\0\0"s),
        pkt('m', be32(1) + "Subject\0[SPAM] hi\0"s),
        pkt('+', "<bob@example.org>\0"s),
        pkt('-', "<bob@example.org>\0"s),
        pkt('2', "<bob@example.org>\0NOTIFY=NEVER\0"s),
        pkt('e', "<a@example.org>\0"s),
        pkt('b', "new body\r\n"),
        pkt('b', ""),
        pkt('q', "virus found\0"s),
        pkt('O', be32(6) + be32(0x31) + be32(0x1fffff)),
        pkt('O', be32(6) + be32(0x101) + be32(0) + be32(1) + "j {daemon_name}\0"s + be32(5) + "i\0"s),
        pkt('l', be32(3) + "{rcpt_addr}\0"s),
    };
}

}  // namespace

TEST_CASE("milter: our commands, octet for octet", "[milter][protocol]") {
    CHECK(milter::encode_optneg(6, 0x31, 0x1f) == pkt('O', be32(6) + be32(0x31) + be32(0x1f)));
    const std::vector<milter::macro> macros = {{"j", "mx.example.org"}, {"{daemon_name}", "smtp"}};
    CHECK(milter::encode_macros('C', macros) == pkt('D', "Cj\0mx.example.org\0{daemon_name}\0smtp\0"s));
    CHECK(milter::encode_connect("[192.0.2.1]", "192.0.2.1", 25) ==
          pkt('C', "[192.0.2.1]\0"s + "4\x00\x19"s + "192.0.2.1\0"s));
    CHECK(milter::encode_connect("[2001:db8::1]", "2001:db8::1", 0) ==
          pkt('C', "[2001:db8::1]\0"s + "6\0\0"s + "2001:db8::1\0"s));
    CHECK(milter::encode_connect("localhost", "::ffff:127.0.0.1", 0) ==
          pkt('C', "localhost\0"s + "4\0\0"s + "127.0.0.1\0"s));
    CHECK(milter::encode_connect("localhost", "", 0) == pkt('C', "localhost\0U"s));
    CHECK(milter::encode_helo("client.example") == pkt('H', "client.example\0"s));
    const std::vector<std::string> params = {"SIZE=100", "BODY=8BITMIME"};
    CHECK(milter::encode_mail("a@example.org", params) == pkt('M', "<a@example.org>\0SIZE=100\0BODY=8BITMIME\0"s));
    CHECK(milter::encode_mail("") == pkt('M', "<>\0"s));
    CHECK(milter::encode_rcpt("b@example.org") == pkt('R', "<b@example.org>\0"s));
    CHECK(milter::encode_header("Subject", "a\0b"s) == pkt('L', "Subject\0a b\0"s));
    CHECK(milter::encode_bare('N') == pkt('N'));
    CHECK(milter::encode_bare('E') == pkt('E'));
    const std::string big(milter::max_body_chunk + 10, 'x');
    CHECK(milter::encode_body(big) == pkt('B', big.substr(0, milter::max_body_chunk)));
}

TEST_CASE("milter: every response decodes the same whole, split anywhere, one octet at a time", "[milter][protocol]") {
    const auto all = every_response();
    std::string stream;
    for (const auto& wire : all) {
        const auto whole = decode_cut(wire, {});
        REQUIRE(whole.size() == 1);
        const auto expected = describe(whole[0]);
        for (std::size_t cut = 1; cut < wire.size(); ++cut) {
            const auto split = decode_cut(wire, {cut});
            REQUIRE(split.size() == 1);
            CHECK(describe(split[0]) == expected);
        }
        std::vector<std::size_t> every;
        for (std::size_t i = 1; i < wire.size(); ++i) {
            every.push_back(i);
        }
        const auto octets = decode_cut(wire, every);
        REQUIRE(octets.size() == 1);
        CHECK(describe(octets[0]) == expected);
        stream += wire;
    }
    // All of them back to back, cut at every point: the same responses in the same order.
    const auto expected = describe_all(decode_cut(stream, {}));
    REQUIRE(expected.size() == all.size());
    for (std::size_t cut = 1; cut < stream.size(); cut += 1) {
        CHECK(describe_all(decode_cut(stream, {cut})) == expected);
    }
}

TEST_CASE("milter: what each response says", "[milter][protocol]") {
    const auto one = [](const std::string& wire) {
        auto out = decode_cut(wire, {});
        REQUIRE(out.size() == 1);
        return out[0];
    };
    auto r = one(pkt('y', "554 5.7.1 Spam message rejected\0"s));
    CHECK(r.reply.code == 554);
    CHECK(r.reply.enhanced == "5.7.1");
    CHECK(r.reply.text == "Spam message rejected");
    r = one(pkt('y', "451-4.7.1 first\r\n451 4.7.1 second\0"s));
    CHECK(r.reply.code == 451);
    CHECK(r.reply.text == "first second");
    r = one(pkt('y', "550 no enhanced code\0"s));
    CHECK(r.reply.enhanced.empty());
    CHECK(r.reply.text == "no enhanced code");
    r = one(pkt('i', be32(7) + "X-A\0v\0"s));
    CHECK(r.index == 7);
    CHECK(r.name == "X-A");
    CHECK(r.value == "v");
    r = one(pkt('m', be32(0x01020304) + "Subject\0\0"s));
    CHECK(r.index == 0x01020304);
    CHECK(r.value.empty());
    r = one(pkt('O', be32(6) + be32(0x101) + be32(0x400) + be32(1) + "j {daemon_name}\0"s + be32(5) + "i\0"s));
    CHECK(r.options.version == 6);
    CHECK(r.options.actions == 0x101);
    CHECK(r.options.flags == 0x400);
    REQUIRE(r.options.macros[1]);
    CHECK(*r.options.macros[1] == std::vector<std::string>{"j", "{daemon_name}"});
    REQUIRE(r.options.macros[5]);
    CHECK(*r.options.macros[5] == std::vector<std::string>{"i"});
    CHECK_FALSE(r.options.macros[0]);
    r = one(pkt('b', "a\0b"s));
    CHECK(r.data == "a\0b"s);
}

TEST_CASE("milter: malformed responses are protocol errors", "[milter][protocol]") {
    const std::vector<std::string> bad = {
        be32(0),                                                   // no code
        pkt('z'),                                                  // unknown code
        pkt('c', "x"),                                             // data where none belongs
        pkt('r', "\0"s),                                           //
        pkt('y', "554 5.7.1 no NUL"),                              // a string without its NUL
        pkt('y', "554 5.7.1 x\0extra"s),                           // something after it
        pkt('y', "250 2.0.0 ok\0"s),                               // not a refusal
        pkt('y', "55\0"s),                                         // not a code
        pkt('y', "554 4.7.1 class mismatch\0"s),                   //
        pkt('y', "554-5.7.1 continued\0"s),                        // a continuation with no line after it
        pkt('y', "451-first\r\n550 second\0"s),                    // two codes
        pkt('y', "554x\0"s),                                       // no separator
        pkt('y', "\0"s),                                           // empty
        pkt('h', "X-A\0"s),                                        // no value
        pkt('h', "X-A\0v"s),                                       // value without NUL
        pkt('h', "X-A\0v\0w\0"s),                                  // a third string
        pkt('h', "\0v\0"s),                                        // empty name
        pkt('h', "Bad Name\0v\0"s),                                // space in the name
        pkt('h', "Sub:ject\0v\0"s),                                // colon in the name
        pkt('i', "\0\0\0"s),                                       // index cut short
        pkt('m', be32(1) + "Subject\0"s),                          // no value
        pkt('q', "reason"),                                        //
        pkt('+', "<a@b>\0<c@d>\0"s),                               // two addresses
        pkt('O', be32(6) + be32(1)),                               // cut short
        pkt('O', be32(6) + be32(1) + be32(0) + be32(9) + "j\0"s),  // unknown stage
        pkt('O', be32(6) + be32(1) + be32(0) + be32(1) + "j"),     // list without NUL
        pkt('O', be32(6) + be32(1) + be32(0) + "\0\0"s),           // stage cut short
        pkt('l', "\0\0"s),                                         //
    };
    for (const auto& wire : bad) {
        CAPTURE(wire);
        milter::decoder d;
        std::vector<milter::response> out;
        CHECK_FALSE(d.feed(wire, out));
        CHECK(out.empty());
        CHECK(d.failed());
        CHECK_FALSE(d.error().empty());
        // Broken stays broken: a good response after it is not taken.
        CHECK_FALSE(d.feed(pkt('c'), out));
        CHECK(out.empty());
    }
    // Split anywhere, the same error.
    for (const auto& wire : bad) {
        for (std::size_t cut = 1; cut < wire.size(); ++cut) {
            const auto out = decode_cut(wire, {cut}, false);
            CHECK(out.empty());
        }
    }
}

TEST_CASE("milter: the length bound is checked before anything is buffered", "[milter][protocol]") {
    milter::decoder d;
    std::vector<milter::response> out;
    // A good response, then a length of 4 GiB - 1: refused as soon as the length is read.
    CHECK_FALSE(d.feed(pkt('c') + be32(0xffffffff), out));
    CHECK(out.size() == 1);
    CHECK(d.error().find("more than") != std::string::npos);

    milter::decoder at_limit;
    out.clear();
    const std::string body(milter::max_response - 1, 'x');
    CHECK(at_limit.feed(pkt('b', body), out));
    REQUIRE(out.size() == 1);
    CHECK(out[0].data.size() == body.size());

    milter::decoder over;
    CHECK_FALSE(over.feed(be32(milter::max_response + 1), out));

    milter::decoder small(16);
    CHECK_FALSE(small.feed(pkt('b', std::string(16, 'x')), out));
    CHECK(milter::decoder(16).feed(pkt('b', std::string(15, 'x')), out));
}

TEST_CASE("milter: a response that has not ended is partial", "[milter][protocol]") {
    milter::decoder d;
    std::vector<milter::response> out;
    CHECK_FALSE(d.partial());
    CHECK(d.feed("\0\0"s, out));
    CHECK(d.partial());
    CHECK(d.feed("\0\x02h"s, out));
    CHECK(d.partial());
    CHECK(out.empty());
}

TEST_CASE("milter: the negotiation is the intersection of both sides", "[milter][protocol]") {
    const auto ours = milter::our_offer(false);
    CHECK((ours.actions & milter::action::change_body) == 0);
    CHECK((milter::our_offer(true).actions & milter::action::change_body) != 0);
    CHECK((ours.actions & milter::action::add_rcpt) == 0);
    CHECK((ours.flags & milter::flag::skip) != 0);
    CHECK((ours.flags & milter::flag::rcpt_rej) == 0);

    milter::negotiation theirs;
    theirs.version = 6;
    theirs.actions = milter::action::add_headers | milter::action::add_rcpt | milter::action::change_body;
    theirs.flags = milter::flag::no_connect | milter::flag::nr_header | milter::flag::rcpt_rej | 0x10000000;
    theirs.macros[2] = std::vector<std::string>{"{mail_addr}"};
    std::string error;
    const auto a = milter::negotiate(ours, theirs, &error);
    REQUIRE(a);
    CHECK(a->version == 6);
    CHECK(a->actions == milter::action::add_headers);
    CHECK(a->dropped_actions == (milter::action::add_rcpt | milter::action::change_body));
    CHECK(a->flags == (milter::flag::no_connect | milter::flag::nr_header));
    CHECK(a->dropped_flags == (milter::flag::rcpt_rej | 0x10000000u));
    CHECK_FALSE(a->sends(milter::step::connect));
    CHECK(a->sends(milter::step::helo));
    CHECK(a->sends(milter::step::header));
    CHECK_FALSE(a->replies(milter::step::header));
    CHECK(a->replies(milter::step::body));
    CHECK(a->allows(milter::action::add_headers));
    CHECK_FALSE(a->allows(milter::action::change_headers));
    REQUIRE(a->macros[2]);

    theirs.version = 2;
    CHECK(milter::negotiate(ours, theirs, &error));
    theirs.version = 1;
    CHECK_FALSE(milter::negotiate(ours, theirs, &error));
    CHECK(error.find("version 1") != std::string::npos);
    theirs.version = 7;
    CHECK_FALSE(milter::negotiate(ours, theirs, &error));
}
