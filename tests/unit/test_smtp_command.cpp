// SMTP command lines, envelope paths and ESMTP parameters, and the SMTP state table.
#include "mailwright/smtp/command.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <iterator>
#include <string>

#include "mailwright/smtp/state.hpp"

using namespace mailwright::smtp;

TEST_CASE("smtp parse: verbs, case and arguments", "[smtp][parser]") {
    CHECK(parse("ehlo client.example.org").v == verb::ehlo);
    CHECK(parse("ehlo client.example.org").argument == "client.example.org");
    CHECK(parse("LHLO x").v == verb::lhlo);
    CHECK(parse("StartTLS").v == verb::starttls);
    CHECK(!parse("NOOP whatever").error);
    CHECK(parse("").error == errc::empty_line);
    CHECK(parse("XEXCH50 1 2").error == errc::unknown_command);
    CHECK(parse("STLS").error == errc::unknown_command);  // POP3's word
    struct named_case {
        const char* line;
        bool ok;
    };
    const named_case cases[] = {
        {"EHLO", false},        {"HELO", false},       {"DATA", true},      {"DATA x", false},  {"QUIT", true},
        {"QUIT now", false},    {"STARTTLS x", false}, {"RSET", true},      {"RSET x", false},  {"MAIL", false},
        {"RCPT", false},        {"AUTH", false},       {"VRFY", false},     {"VRFY bob", true}, {"BDAT", false},
        {"BDAT 10 LAST", true}, {"HELP", true},        {"HELP DATA", true},
    };
    for (const auto& c : cases) {
        INFO(c.line);
        CHECK(!parse(c.line).error == c.ok);
    }
}

TEST_CASE("smtp MAIL/RCPT: paths", "[smtp][address]") {
    const auto m = parse_mail("FROM:<alice@example.org>");
    REQUIRE(!m.error);
    REQUIRE(m.box);
    CHECK(m.box->local == "alice");
    CHECK(m.box->domain == "example.org");
    CHECK(!parse_mail("from: <alice@example.org>").error);  // one space after the colon is tolerated
    CHECK(!parse_mail("FROM:<>").error);
    CHECK(!parse_mail("FROM:<>").box);
    CHECK(parse_rcpt("TO:<>", false).error == errc::bad_address);
    const auto pm = parse_rcpt("TO:<PostMaster>", false);
    REQUIRE(!pm.error);
    CHECK(pm.box->local == "PostMaster");
    CHECK(parse_mail("FROM:<postmaster>").error == errc::bad_address);
    const auto routed = parse_rcpt("TO:<@relay.example,@b.example:bob@example.org>", false);
    REQUIRE(!routed.error);
    CHECK(routed.box->to_string() == "bob@example.org");
    const auto quoted = parse_rcpt("TO:<\"john smith\"@example.org>", false);
    REQUIRE(!quoted.error);
    CHECK(quoted.box->local == "\"john smith\"");
    CHECK(!parse_rcpt("TO:<bob@[192.0.2.1]>", false).error);
    CHECK(!parse_rcpt("TO:<bob@[IPv6:2001:db8::1]>", false).error);
}

TEST_CASE("smtp MAIL/RCPT: hostile and malformed addresses are refused", "[smtp][address]") {
    // OpenSMTPD CVE-2020-7247 came from a local part with shell characters; NUL, controls, unbalanced quotes,
    // missing brackets and bad domains are refused too.
    const char* bad[] = {
        "TO:bob@example.org",       "TO:<bob@example.org",
        "TO:<bob@example.org>x",    "TO:<;sleep 66;@example.org>",
        "TO:<bob@exa mple.org>",    "TO:<bob@-example.org>",
        "TO:<bob@example..org>",    "TO:<.bob@example.org>",
        "TO:<bob.@example.org>",    "TO:<bo..b@example.org>",
        "TO:<\"bob@example.org>",   "TO:<bob@[300.1.1.1]>",
        "TO:<bob@[IPv6:zz::1]>",    "TO:<bob@>",
        "TO:<@example.org>",        "TO:<bob@exam\x01ple.org>",
        "TO:<b\x7fob@example.org>", "TO:<bob@example.org> ",
        "TO:<@a.example:>",         "TO:<@a.example,:bob@b.example>",
    };
    for (const char* line : bad) {
        INFO(::Catch::Detail::stringify(std::string(line)));
        CHECK(parse_rcpt(line, false).error);
    }
    CHECK(parse_rcpt(std::string("TO:<b\0ob@example.org>", 22), false).error);
    CHECK(parse_rcpt("TO:<" + std::string(65, 'a') + "@example.org>", false).error == errc::address_long);
    CHECK(parse_rcpt("TO:<a@" + std::string(64, 'b') + ".org>", false).error);  // a label over 63
}

TEST_CASE("smtp MAIL/RCPT: UTF-8 addresses need SMTPUTF8", "[smtp][address][utf8]") {
    CHECK(parse_mail("FROM:<jörg@example.org>").error == errc::needs_utf8);
    const auto m = parse_mail("FROM:<jörg@exämple.org> SMTPUTF8");
    REQUIRE(!m.error);
    CHECK(m.box->utf8);
    CHECK(parse_rcpt("TO:<jörg@example.org>", false).error == errc::needs_utf8);
    CHECK(!parse_rcpt("TO:<jörg@example.org>", true).error);
    CHECK(parse_rcpt("TO:<j\xc3@example.org>", true).error == errc::bad_address);  // ill-formed UTF-8
}

TEST_CASE("smtp MAIL/RCPT: ESMTP parameters", "[smtp][parameters]") {
    const auto m = parse_mail("FROM:<a@example.org> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=QQ314159");
    REQUIRE(!m.error);
    REQUIRE(m.parameters.size() == 4);
    CHECK(m.parameters[0].keyword == "SIZE");
    CHECK(m.parameters[0].value == "1000");
    CHECK(m.parameters[1].value == "8BITMIME");
    const auto r = parse_rcpt("TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.org", false);
    REQUIRE(!r.error);
    CHECK(r.parameters.size() == 2);
    CHECK(parse_mail("FROM:<a@example.org> SIZE=1 size=2").error == errc::bad_parameter);  // repeated
    CHECK(parse_mail("FROM:<a@example.org>  SIZE=1").error == errc::bad_parameter);
    CHECK(parse_mail("FROM:<a@example.org> SIZE=").error == errc::bad_parameter);
    CHECK(parse_mail("FROM:<a@example.org> -X=1").error == errc::bad_parameter);
    CHECK(parse_mail("FROM:<a@example.org> X=a=b").error == errc::bad_parameter);
    CHECK(valid_xtext("rfc822;b+2Bc@example.org"));
    CHECK_FALSE(valid_xtext("a+2b"));  // lower-case hex
    CHECK_FALSE(valid_xtext("a+2"));
    CHECK_FALSE(valid_xtext("a=b"));
}

TEST_CASE("smtp state table: the whole verb x state matrix", "[smtp][state]") {
    struct row {
        verb v;
        bool connected, greeted, mail, rcpt, chunking;
    };
    const row expected[] = {
        {verb::ehlo, true, true, true, true, false},    {verb::helo, true, true, true, true, false},
        {verb::lhlo, true, true, true, true, false},    {verb::mail, false, true, false, false, false},
        {verb::rcpt, false, false, true, true, false},  {verb::data, false, false, false, true, false},
        {verb::bdat, false, false, false, true, true},  {verb::rset, true, true, true, true, true},
        {verb::noop, true, true, true, true, true},     {verb::quit, true, true, true, true, true},
        {verb::vrfy, true, true, true, true, false},    {verb::expn, true, true, true, true, false},
        {verb::help, true, true, true, true, true},     {verb::starttls, false, true, false, false, false},
        {verb::auth, false, true, false, false, false}, {verb::xclient, true, true, false, false, false},
    };
    STATIC_REQUIRE(sizeof expected / sizeof expected[0] == verb_count);
    for (const auto& r : expected) {
        INFO(to_string(r.v));
        CHECK(allowed(r.v, state::connected) == r.connected);
        CHECK(allowed(r.v, state::greeted) == r.greeted);
        CHECK(allowed(r.v, state::mail) == r.mail);
        CHECK(allowed(r.v, state::rcpt) == r.rcpt);
        CHECK(allowed(r.v, state::chunking) == r.chunking);
    }
    CHECK(after(verb::starttls, state::greeted) == state::connected);  // RFC 3207 4.2: greet again
    CHECK(after(verb::ehlo, state::rcpt) == state::greeted);           // a new greeting abandons the transaction
    CHECK(after(verb::rset, state::connected) == state::connected);
    CHECK(after(verb::data, state::rcpt) == state::greeted);
    CHECK(after(verb::bdat, state::rcpt) == state::chunking);  // a BDAT sequence is a state of its own
    CHECK(after(verb::bdat, state::chunking) == state::chunking);
    CHECK(after(verb::rset, state::chunking) == state::greeted);
    CHECK(after(verb::xclient, state::connected) == state::connected);  // the session restarts: greet again
    CHECK(after(verb::xclient, state::greeted) == state::connected);
}

TEST_CASE("smtp state table: the end of a message ends the transaction", "[smtp][state]") {
    CHECK(after_message(state::rcpt) == state::greeted);      // DATA's final dot
    CHECK(after_message(state::chunking) == state::greeted);  // BDAT LAST, or a refused sequence
    CHECK(after_message(state::greeted) == state::greeted);
}

TEST_CASE("smtp state table: what is allowed before TLS, and what ends a pipelined group", "[smtp][state]") {
    // RFC 3207 4: where a listener requires STARTTLS first, only what leads to TLS and reveals nothing.
    // XCLIENT too: the proxy's own hop may be plain, as Postfix allows it before TLS.
    const verb before_tls[] = {verb::ehlo, verb::helo, verb::lhlo, verb::starttls,
                               verb::noop, verb::rset, verb::quit, verb::xclient};
    // RFC 2920 3.1: EHLO, HELO, DATA, VRFY, EXPN and NOOP end a group; LHLO and AUTH too (their exchange cannot
    // be pipelined), and XCLIENT (the proxy waits for the new greeting); STARTTLS, QUIT and BDAT decide themselves
    // what the input after them means.
    const verb ends[] = {verb::ehlo, verb::helo, verb::lhlo, verb::data,   verb::vrfy,
                         verb::expn, verb::noop, verb::auth, verb::xclient};
    const verb own[] = {verb::starttls, verb::quit, verb::bdat};
    for (std::size_t i = 0; i < verb_count; ++i) {
        const auto v = static_cast<verb>(i);
        INFO(to_string(v));
        CHECK(allowed_before_tls(v) ==
              (std::find(std::begin(before_tls), std::end(before_tls), v) != std::end(before_tls)));
        const bool is_end = std::find(std::begin(ends), std::end(ends), v) != std::end(ends);
        const bool is_own = std::find(std::begin(own), std::end(own), v) != std::end(own);
        CHECK(group_rule_of(v) == (is_end ? group_rule::ends : is_own ? group_rule::own : group_rule::continues));
    }
}

TEST_CASE("smtp address literals: only the grammar's characters (fuzz_smtp_command)", "[smtp][address]") {
    using namespace std::string_literals;
    // asio reads a C string and ignores a %zone outside link-local addresses: these all passed once.
    for (const auto& line : {"TO:<b@[IPv6:::\0]>"s, "TO:<x@[192.0.2.1\0 ;sleep 66;]>"s, "TO:<b@[IPv6:::%\x1d]>"s,
                             "TO:<a@[IPv6:2001:db8::1%;sleep 66;|x]>"s, "TO:<x@[192.0.2.1\0\r250 2.1.5 fake]>"s}) {
        INFO(::Catch::Detail::stringify(line));
        CHECK(parse_rcpt(line, false).error == errc::bad_address);
    }
    CHECK(!parse_rcpt("TO:<b@[IPv6:2001:db8::1]>", false).error);
    CHECK(!parse_rcpt("TO:<b@[192.0.2.1]>", false).error);
}
