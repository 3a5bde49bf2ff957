// The POP3 command tokenizer and the state table: every command's arity, case, spacing, numbers, and the
// whole command x state matrix.
#include "mailwright/pop3/command.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "mailwright/pop3/state.hpp"

using namespace mailwright::pop3;

TEST_CASE("pop3 parse: keywords are case-insensitive and take their arguments", "[pop3][parser]") {
    const auto p = parse("rEtR 12");
    REQUIRE(!p.error);
    CHECK(p.cmd == command::retr);
    CHECK(p.argc == 1);
    CHECK(p.args[0] == "12");

    const auto top = parse("TOP 3 0");
    REQUIRE(!top.error);
    CHECK(top.cmd == command::top);
    CHECK(top.argc == 2);
    CHECK(top.args[1] == "0");

    const auto auth = parse("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
    REQUIRE(!auth.error);
    CHECK(auth.cmd == command::auth);
    CHECK(auth.args[0] == "PLAIN");
    CHECK(auth.args[1] == "AGFsaWNlAHNlY3JldA==");
}

TEST_CASE("pop3 parse: PASS keeps spaces in the password", "[pop3][parser]") {
    const auto p = parse("PASS correct horse  battery ");
    REQUIRE(!p.error);
    CHECK(p.cmd == command::pass);
    CHECK(p.argc == 1);
    CHECK(p.args[0] == "correct horse  battery ");
}

TEST_CASE("pop3 parse: each command's arity is enforced", "[pop3][parser]") {
    struct named_case {
        const char* line;
        bool ok;
    };
    const named_case cases[] = {
        {"USER", false},
        {"USER alice", true},
        {"USER alice bob", false},
        {"PASS", false},
        {"APOP alice", false},
        {"APOP alice d", true},
        {"APOP a b c", false},
        {"AUTH", true},
        {"AUTH PLAIN", true},
        {"AUTH PLAIN x", true},
        {"AUTH PLAIN x y", false},
        {"STLS", true},
        {"STLS now", false},
        {"CAPA", true},
        {"CAPA x", false},
        {"STAT", true},
        {"STAT 1", false},
        {"LIST", true},
        {"LIST 1", true},
        {"LIST 1 2", false},
        {"RETR", false},
        {"RETR 1", true},
        {"RETR 1 2", false},
        {"DELE", false},
        {"DELE 1", true},
        {"NOOP", true},
        {"NOOP x", false},
        {"RSET", true},
        {"RSET x", false},
        {"QUIT", true},
        {"QUIT now", false},
        {"TOP 1", false},
        {"TOP 1 2", true},
        {"TOP 1 2 3", false},
        {"UIDL", true},
        {"UIDL 1", true},
        {"UIDL 1 2", false},
        {"UTF8", true},
        {"UTF8 x", false},
        {"LIST  1", false},
        {"LIST 1 ", false},
        {"LIST ", false},
        {"RETR 1  ", false},
    };
    for (const auto& c : cases) {
        INFO(c.line);
        const auto p = parse(c.line);
        CHECK(!p.error == c.ok);
        if (!c.ok) {
            CHECK(p.error == errc::syntax);
        }
    }
}

TEST_CASE("pop3 parse: unknown and empty lines", "[pop3][parser]") {
    CHECK(parse("").error == errc::empty_line);
    CHECK(parse("XTND XMIT").error == errc::unknown_command);
    CHECK(parse("RETRX 1").error == errc::unknown_command);
    CHECK(parse("RET 1").error == errc::unknown_command);
    CHECK(parse(" RETR 1").error == errc::unknown_command);
    CHECK(parse(std::string("RETR\0 1", 7)).error == errc::unknown_command);
    CHECK(parse("STARTTLS").error == errc::unknown_command);  // SMTP's word, not POP3's
}

TEST_CASE("pop3 parse: every prefix of a valid line parses or fails without reading past it", "[pop3][parser]") {
    const std::string line = "TOP 12 3";
    for (std::size_t n = 0; n <= line.size(); ++n) {
        const auto p = parse(std::string_view(line).substr(0, n));
        INFO(line.substr(0, n));
        for (std::size_t i = 0; i < p.argc; ++i) {
            CHECK(p.args[i].data() + p.args[i].size() <= line.data() + n);
        }
    }
}

TEST_CASE("pop3 message numbers: decimal from 1, nothing else", "[pop3][parser]") {
    CHECK(message_number("1") == 1u);
    CHECK(message_number("42") == 42u);
    CHECK(!message_number("0"));
    CHECK(!message_number("-1"));
    CHECK(!message_number("+1"));
    CHECK(!message_number("1a"));
    CHECK(!message_number("0x10"));
    CHECK(!message_number(""));
    CHECK(!message_number("99999999999999999999999"));
    CHECK(count("0") == 0u);
    CHECK(!count("-0"));
}

TEST_CASE("pop3 state table: the whole command x state matrix", "[pop3][state]") {
    using S = state;
    // The expected matrix, written out by hand from RFC 1939, 2449, 2595, 5034 and 6856.
    struct row {
        command cmd;
        bool authorization, user_given, transaction, update;
    };
    const row expected[] = {
        {command::user, true, true, false, false},  {command::pass, false, true, false, false},
        {command::apop, true, true, false, false},  {command::auth, true, true, false, false},
        {command::stls, true, false, false, false}, {command::capa, true, true, true, false},
        {command::stat, false, false, true, false}, {command::list, false, false, true, false},
        {command::retr, false, false, true, false}, {command::dele, false, false, true, false},
        {command::noop, false, false, true, false}, {command::rset, false, false, true, false},
        {command::quit, true, true, true, false},   {command::top, false, false, true, false},
        {command::uidl, false, false, true, false}, {command::utf8, true, true, false, false},
    };
    STATIC_REQUIRE(sizeof expected / sizeof expected[0] == command_count);
    for (const auto& r : expected) {
        INFO(to_string(r.cmd));
        CHECK(allowed(r.cmd, S::authorization) == r.authorization);
        CHECK(allowed(r.cmd, S::user_given) == r.user_given);
        CHECK(allowed(r.cmd, S::transaction) == r.transaction);
        CHECK(allowed(r.cmd, S::update) == r.update);
    }
}

TEST_CASE("pop3 state table: where successful commands lead", "[pop3][state]") {
    CHECK(after(command::user, state::authorization) == state::user_given);
    CHECK(after(command::pass, state::user_given) == state::transaction);
    CHECK(after(command::apop, state::authorization) == state::transaction);
    CHECK(after(command::auth, state::authorization) == state::transaction);
    CHECK(after(command::stls, state::authorization) == state::authorization);
    CHECK(after(command::quit, state::transaction) == state::update);
    CHECK(after(command::dele, state::transaction) == state::transaction);
}

TEST_CASE("pop3 state table: where failed commands lead", "[pop3][state]") {
    // RFC 1939 7: a failed USER or PASS starts AUTHORIZATION over; APOP and AUTH forget a name USER gave.
    for (const auto c : {command::user, command::pass, command::apop, command::auth}) {
        INFO(to_string(c));
        CHECK(after(c, state::user_given, outcome::failure) == state::authorization);
    }
    CHECK(after(command::user, state::authorization, outcome::failure) == state::authorization);
    CHECK(after(command::apop, state::authorization, outcome::failure) == state::authorization);
    // Everything else that fails changes nothing.
    CHECK(after(command::retr, state::transaction, outcome::failure) == state::transaction);
    CHECK(after(command::dele, state::transaction, outcome::failure) == state::transaction);
    CHECK(after(command::capa, state::user_given, outcome::failure) == state::user_given);
    CHECK(after(command::stls, state::authorization, outcome::failure) == state::authorization);
}
