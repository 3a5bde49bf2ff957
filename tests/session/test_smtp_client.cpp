// The SMTP/LMTP client's transactions against scripted servers on loopback: the pipelined envelope in one
// write, a refused recipient, dot-stuffing, commands one at a time without PIPELINING, LMTP's answers per
// recipient, BDAT chunks, DATA's 354 with no recipient, and a server that disappears in the middle of the data.
#include <spdlog/spdlog.h>

#include "client_fixture.hpp"

using namespace mailwright;
using test::script_peer;
namespace client = smtp::client;

namespace {

const bool debug_log = [] {
    spdlog::set_level(spdlog::level::debug);
    return true;
}();

constexpr std::string_view greeting = "220 mx.test ESMTP\r\n";

client::transaction two_recipients() {
    client::transaction t;
    t.sender = "alice@example.org";
    t.recipients = {{"bob@example.net", "SUCCESS,FAILURE", "rfc822;bob@example.net"}, {"nobody@example.net", {}, {}}};
    t.size = 42;
    t.body = "8BITMIME";
    t.ret = "HDRS";
    t.envid = "env1";
    return t;
}

asio::awaitable<void> send_message(client::session& s, std::string_view text, std::size_t split) {
    const bool first = co_await s.write({text.data(), split});
    CHECK(first);
    const bool second = co_await s.write({text.data() + split, text.size() - split});
    CHECK(second);
}

}  // namespace

TEST_CASE("client: a pipelined envelope in one write, a refused recipient, dot-stuffing", "[smtp][client]") {
    auto server = [](script_peer& p) -> asio::awaitable<void> {
        co_await p.say(greeting);
        co_await p.expect("EHLO client.test");
        co_await p.say(
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n"
            "250 DSN\r\n");
        const auto group = co_await p.until("DATA\r\n");
        CHECK(group ==
              "MAIL FROM:<alice@example.org> SIZE=42 BODY=8BITMIME RET=HDRS ENVID=env1\r\n"
              "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.net\r\n"
              "RCPT TO:<nobody@example.net>\r\nDATA\r\n");
        CHECK(p.reads.back() == group);  // RFC 2920: one write, not one per command
        co_await p.say("250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n354 go ahead\r\n");
        co_await p.expect_until("\r\n.\r\n", "Subject: x\r\n\r\n..hidden\r\nline\r\n...\r\nlast\r\n.\r\n");
        co_await p.say("250 2.0.0 queued as 1\r\n");
        co_await p.expect("QUIT");
        co_await p.say("221 2.0.0 bye\r\n");
    };
    auto run_client = [](net::endpoint where) -> asio::awaitable<void> {
        auto opened = co_await client::session::open(where, test::quick());
        REQUIRE(opened.session);
        auto& s = *opened.session;
        CHECK(s.offers("pipelining"));
        CHECK(s.offers("DSN"));
        CHECK_FALSE(s.offers("CHUNKING"));
        CHECK(s.size_limit() == 1000000u);
        CHECK_FALSE(s.encrypted());
        const auto t = two_recipients();
        const auto started = co_await s.start(t);
        CHECK(started.accepted());
        CHECK(started.sender.to_string() == "250 2.1.0 ok");
        REQUIRE(started.recipients.size() == 2);
        CHECK(started.recipients[1].to_string() == "550 5.1.1 no such user");
        CHECK(started.data.code == 354);
        // Lines starting with "." are doubled, a split between CR and LF is no line start, and the message
        // does not end with CRLF: the client ends its last line before the ".".
        co_await send_message(s, "Subject: x\r\n\r\n.hidden\r\nline\r\n..\r\nlast", 23);
        const auto answers = co_await s.finish();
        REQUIRE(answers.size() == 2);
        CHECK(answers[0].to_string() == "250 2.0.0 queued as 1");
        CHECK(answers[0].to_plugin().ok());
        CHECK(answers[1].to_string() == "550 5.1.1 no such user");
        CHECK(s.usable());
        co_await s.quit();
        CHECK_FALSE(s.usable());
    };
    test::play(server, run_client);
}

TEST_CASE("client: no EHLO: HELO, and every command in turn without PIPELINING", "[smtp][client]") {
    auto server = [](script_peer& p) -> asio::awaitable<void> {
        co_await p.say(greeting);
        co_await p.expect("EHLO client.test");
        co_await p.say("502 5.5.1 what?\r\n");
        co_await p.expect("HELO client.test");
        co_await p.say("250 mx.test\r\n");
        const auto reads_before = p.reads.size();
        co_await p.expect("MAIL FROM:<alice@example.org>");  // no extension was offered
        co_await p.say("250 ok\r\n");
        co_await p.expect("RCPT TO:<bob@example.net>");
        co_await p.say("250 ok\r\n");
        co_await p.expect("RCPT TO:<nobody@example.net>");
        co_await p.say("550 5.1.1 no\r\n");  // no ENHANCEDSTATUSCODES: the code stays text
        co_await p.expect("DATA");
        CHECK(p.reads.size() == reads_before + 4);
        co_await p.say("354 go\r\n");
        co_await p.expect_until("\r\n.\r\n", "x\r\n.\r\n");
        co_await p.say("250 queued\r\n");
        co_await p.expect("RSET");
        co_await p.say("250 ok\r\n");
        co_await p.expect("NOOP");
        co_await p.say("250 ok\r\n");
        co_await p.expect("QUIT");
        co_await p.say("221 bye\r\n");
    };
    auto run_client = [](net::endpoint where) -> asio::awaitable<void> {
        auto opened = co_await client::session::open(where, test::quick());
        REQUIRE(opened.session);
        auto& s = *opened.session;
        const auto started = co_await s.start(two_recipients());
        CHECK(started.accepted());
        CHECK(started.recipients[1].enhanced.empty());
        CHECK(started.recipients[1].lines.front() == "5.1.1 no");
        const bool wrote = co_await s.write(std::string_view("x\r\n"));
        CHECK(wrote);
        const auto answers = co_await s.finish();
        CHECK(answers[0].code == 250);
        CHECK(answers[1].code == 550);
        co_await s.reset();
        const bool alive = co_await s.alive();
        CHECK(alive);
        co_await s.quit();
    };
    test::play(server, run_client);
}

TEST_CASE("client: LMTP answers per recipient after the data", "[smtp][client][lmtp]") {
    auto server = [](script_peer& p) -> asio::awaitable<void> {
        co_await p.say("220 lmtp.test LMTP\r\n");
        co_await p.expect("LHLO client.test");
        co_await p.say("250-lmtp.test\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n");
        co_await p.until("DATA\r\n");
        co_await p.say("250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 unknown\r\n250 2.1.5 ok\r\n354 go\r\n");
        co_await p.until("\r\n.\r\n");
        co_await p.say("250 2.0.0 delivered to a\r\n452 4.2.2 mailbox of c full\r\n");
        co_await p.expect("QUIT");
        co_await p.say("221 bye\r\n");
    };
    auto run_client = [](net::endpoint where) -> asio::awaitable<void> {
        auto opened = co_await client::session::open(where, test::quick(client::protocol::lmtp));
        REQUIRE(opened.session);
        auto& s = *opened.session;
        client::transaction t;
        t.sender = "x@example.org";
        t.recipients = {{"a@example.org", {}, {}}, {"b@example.org", {}, {}}, {"c@example.org", {}, {}}};
        const auto started = co_await s.start(t);
        CHECK(started.accepted());
        co_await send_message(s, "hello\r\n", 3);
        const auto answers = co_await s.finish();
        REQUIRE(answers.size() == 3);
        CHECK(answers[0].to_string() == "250 2.0.0 delivered to a");
        CHECK(answers[1].to_string() == "550 5.1.1 unknown");
        CHECK(answers[2].to_string() == "452 4.2.2 mailbox of c full");
        CHECK(answers[2].to_plugin().temporary());
        co_await s.quit();
    };
    test::play(server, run_client);
}

TEST_CASE("client: CHUNKING: one BDAT per write, nothing stuffed, BDAT 0 LAST", "[smtp][client]") {
    auto server = [](script_peer& p) -> asio::awaitable<void> {
        co_await p.say(greeting);
        co_await p.line();
        co_await p.say("250-mx.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 ENHANCEDSTATUSCODES\r\n");
        co_await p.expect("MAIL FROM:<alice@example.org>");
        co_await p.expect("RCPT TO:<bob@example.net>");
        co_await p.expect("RCPT TO:<nobody@example.net>");
        co_await p.say("250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n");
        co_await p.expect("BDAT 9");
        co_await p.expect_exactly(9, ".x\r\nhello");
        co_await p.say("250 2.0.0 9 octets\r\n");
        co_await p.expect("BDAT 6");
        co_await p.expect_exactly(6, " world");
        co_await p.say("250 2.0.0 6 octets\r\n");
        co_await p.expect("BDAT 0 LAST");
        co_await p.say("250 2.0.0 queued\r\n");
        co_await p.expect("QUIT");
        co_await p.say("221 bye\r\n");
    };
    auto run_client = [](net::endpoint where) -> asio::awaitable<void> {
        auto opened = co_await client::session::open(where, test::quick());
        REQUIRE(opened.session);
        auto& s = *opened.session;
        auto t = two_recipients();
        t.size.reset();
        t.body = "7BIT";
        const auto started = co_await s.start(t);
        CHECK(started.accepted());
        CHECK(started.data.code == 0);
        co_await send_message(s, ".x\r\nhello world", 9);
        const auto answers = co_await s.finish();
        CHECK(answers[0].to_string() == "250 2.0.0 queued");
        CHECK(answers[1].to_string() == "250 2.0.0 queued");
        co_await s.quit();
    };
    test::play(server, run_client);
}

TEST_CASE("client: DATA said 354 though no recipient was accepted: an empty message, then RSET", "[smtp][client]") {
    auto server = [](script_peer& p) -> asio::awaitable<void> {
        co_await p.say(greeting);
        co_await p.line();
        co_await p.say("250-mx.test\r\n250 PIPELINING\r\n");
        co_await p.until("DATA\r\n");
        co_await p.say("250 ok\r\n550 no\r\n550 no\r\n354 go\r\n");
        co_await p.expect(".");  // RFC 2920 3.1: nothing of the message
        co_await p.say("554 no valid recipients\r\n");
        co_await p.expect("RSET");
        co_await p.say("250 ok\r\n");
        co_await p.expect("QUIT");
        co_await p.say("221 bye\r\n");
    };
    auto run_client = [](net::endpoint where) -> asio::awaitable<void> {
        auto opened = co_await client::session::open(where, test::quick());
        REQUIRE(opened.session);
        auto& s = *opened.session;
        const auto started = co_await s.start(two_recipients());
        CHECK_FALSE(started.accepted());
        const bool wrote = co_await s.write(std::string_view("x\r\n"));
        CHECK_FALSE(wrote);
        CHECK(s.usable());
        co_await s.quit();
    };
    test::play(server, run_client);
}

TEST_CASE("client: a server that disappears in the middle of the data: our own 451 4.4.2", "[smtp][client]") {
    auto server = [](script_peer& p) -> asio::awaitable<void> {
        co_await p.say(greeting);
        co_await p.line();
        co_await p.say("250-mx.test\r\n250 PIPELINING\r\n");
        co_await p.until("DATA\r\n");
        co_await p.say("250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n");
        co_await p.exactly(5);
        p.close();
    };
    auto run_client = [](net::endpoint where) -> asio::awaitable<void> {
        auto opened = co_await client::session::open(where, test::quick());
        REQUIRE(opened.session);
        auto& s = *opened.session;
        const auto started = co_await s.start(two_recipients());
        CHECK(started.accepted());
        co_await s.write(std::string_view("Subject: gone\r\n"));
        const auto answers = co_await s.finish();
        REQUIRE(answers.size() == 2);
        CHECK(answers[0].code == 451);
        CHECK(answers[0].enhanced == "4.4.2");
        CHECK(answers[0].to_plugin().temporary());
        CHECK(answers[1].code == 550);  // refused at RCPT: keeps that reply
        CHECK_FALSE(s.usable());
        const auto again = co_await s.start(two_recipients());
        CHECK(again.sender.code == 451);
    };
    test::play(server, run_client);
}
