// XCLIENT in whole SMTP dialogues over an in-memory stream (the session is from 192.0.2.7): offered and
// allowed only to a trusted client, refused without changing anything otherwise, the session restarted with
// the new client's facts (greeting, EHLO, hooks, Received header, login), and the command line split at every
// offset.
#include <catch2/catch.hpp>
#include <string>

#include "mailwright/net/network.hpp"
#include "smtp_fixture.hpp"

using namespace smtp_test;
using mailwright::smtp::role;

namespace {

const std::string greeting = "220 mx.example.org ESMTP Mailwright";
const std::string bye = "221 2.0.0 mx.example.org closing connection";
const std::string ehlo = "EHLO proxy.example\r\n";
const std::string mail = "MAIL FROM:<sender@remote.example>\r\n";
const std::string rcpt = "RCPT TO:<alice@example.org>\r\n";
const std::string message = "DATA\r\nSubject: x\r\n\r\nHello.\r\n.\r\n";
const std::string xclient = "XCLIENT ADDR=198.51.100.9 PORT=4242 NAME=client.example HELO=helo.example\r\n";

net::network_list trusting(std::initializer_list<const char*> networks) {
    std::vector<net::network> out;
    for (const char* text : networks) {
        std::string error;
        out.push_back(*net::parse_network(text, error));
    }
    return net::network_list(std::move(out));
}

smtp::options options(std::initializer_list<const char*> trusted, role kind = role::mx) {
    auto o = world::default_options(kind);
    o.xclient_trusted = trusting(trusted);
    return o;
}

bool advertises_xclient(const std::string& line) {
    return line.find("250-XCLIENT ADDR PORT NAME HELO LOGIN PROTO") != std::string::npos ||
           line.find("250 XCLIENT ADDR PORT NAME HELO LOGIN PROTO") != std::string::npos;
}

// The reply lines after the greeting, with each EHLO reply as its lines.
std::vector<std::string> after_greeting(const std::string& output) {
    auto l = lines(output);
    REQUIRE(!l.empty());
    CHECK(l.front() == greeting);
    l.erase(l.begin());
    return l;
}

}  // namespace

TEST_CASE("xclient: not offered and unknown where nobody is trusted", "[smtp][session][xclient]") {
    world w;
    auto svc = w.make();
    const auto out = serve(*svc, each(ehlo + xclient + mail + "QUIT\r\n"));
    CHECK(out.find("XCLIENT") == std::string::npos);
    const auto l = after_greeting(out);
    CHECK(std::find(l.begin(), l.end(), "500 5.5.2 Command unrecognized") != l.end());
    CHECK(std::find(l.begin(), l.end(), "250 2.1.0 Sender OK") != l.end());  // nothing changed
}

TEST_CASE("xclient: an untrusted client is not offered it and gets 550, and nothing changes",
          "[smtp][session][xclient]") {
    world w;
    auto svc = w.make(options({"10.0.0.0/8", "2001:db8::/32"}));
    const auto out = serve(*svc, each(ehlo + xclient + mail + rcpt + message + "QUIT\r\n"));
    CHECK(out.find("XCLIENT") == std::string::npos);
    const auto l = after_greeting(out);
    CHECK(std::find(l.begin(), l.end(), "550 5.7.0 Error: insufficient authorization") != l.end());
    REQUIRE(w.store->boxes["alice"].size() == 1);
    CHECK(w.store->boxes["alice"][0].find("from proxy.example ([192.0.2.7])") != std::string::npos);
    CHECK(w.hook_log.front() == "0::192.0.2.7");
    CHECK(std::count_if(w.hook_log.begin(), w.hook_log.end(), [](const auto& h) { return h[0] == '0'; }) == 1);
}

TEST_CASE("xclient: a trusted proxy restarts the session as its client", "[smtp][session][xclient]") {
    world w;
    auto svc = w.make(options({"192.0.2.0/24"}));
    const auto out = serve(*svc, each(ehlo + xclient + ehlo + mail + rcpt + message + "QUIT\r\n"));
    const auto l = after_greeting(out);
    // The proxy hears XCLIENT offered; after XCLIENT the client (198.51.100.9) is not trusted, so not again.
    const auto first_ehlo_end = std::find(l.begin(), l.end(), "250 XCLIENT ADDR PORT NAME HELO LOGIN PROTO");
    REQUIRE(first_ehlo_end != l.end());                                   // the last of the EHLO reply's lines
    const auto again = std::find(first_ehlo_end + 1, l.end(), greeting);  // the new greeting, as at connect
    REQUIRE(again != l.end());
    CHECK(std::none_of(again, l.end(), advertises_xclient));
    // XCLIENT's HELO stands for the proxy's EHLO name.
    CHECK(std::find(again, l.end(), "250-mx.example.org greets helo.example") != l.end());
    REQUIRE(w.store->boxes["alice"].size() == 1);
    const std::string& stored = w.store->boxes["alice"][0];
    CHECK(stored.find("Received: from helo.example (client.example [198.51.100.9])\r\n") != std::string::npos);
    CHECK(stored.find("with ESMTP id") != std::string::npos);
    // The connect hook ran again for the new client; every later hook saw it.
    CHECK(std::count(w.hook_log.begin(), w.hook_log.end(), "0::192.0.2.7") == 1);
    CHECK(std::count(w.hook_log.begin(), w.hook_log.end(), "0::198.51.100.9") == 1);
    CHECK(std::count(w.hook_log.begin(), w.hook_log.end(), "1::helo.example") == 1);
    CHECK(l.back() == bye);
}

TEST_CASE("xclient: before EHLO, PROTO, and a second XCLIENT from a trusted new address", "[smtp][session][xclient]") {
    world w;
    auto svc = w.make(options({"192.0.2.7", "198.51.100.0/24"}));
    const auto out = serve(
        *svc, each("XCLIENT ADDR=198.51.100.9 PROTO=SMTP\r\n" + ehlo +
                   "XCLIENT ADDR=IPV6:2001:db8::9 NAME=[UNAVAILABLE]\r\n" + ehlo + mail + rcpt + message + "QUIT\r\n"));
    const auto l = after_greeting(out);
    CHECK(std::count(l.begin(), l.end(), greeting) == 2);
    REQUIRE(w.store->boxes["alice"].size() == 1);
    // PROTO lasts only until the next XCLIENT, which did not say it; the new address is IPv6.
    CHECK(w.store->boxes["alice"][0].find("from proxy.example ([2001:db8::9])") != std::string::npos);
    CHECK(w.store->boxes["alice"][0].find("with ESMTP id") != std::string::npos);
}

TEST_CASE("xclient: PROTO=SMTP says SMTP in the Received header", "[smtp][session][xclient]") {
    world w;
    auto svc = w.make(options({"192.0.2.7"}));
    serve(*svc, each("XCLIENT ADDR=198.51.100.9 PROTO=SMTP\r\n" + ehlo + mail + rcpt + message + "QUIT\r\n"));
    REQUIRE(w.store->boxes["alice"].size() == 1);
    CHECK(w.store->boxes["alice"][0].find("with SMTP id") != std::string::npos);
}

TEST_CASE("xclient: inside a transaction 503, malformed 501, and nothing changes", "[smtp][session][xclient]") {
    const std::pair<std::string, std::string> cases[] = {
        {"XCLIENT\r\n", "501 5.5.4 Syntax: XCLIENT attribute=value..."},
        {"XCLIENT ADDR\r\n", "501 5.5.4 Error: attribute=value expected"},
        {"XCLIENT ADDR=\r\n", "501 5.5.4 Error: attribute=value expected"},
        {"XCLIENT ADDR=192.0.2.300\r\n", "501 5.5.4 Bad ADDR syntax"},
        {"XCLIENT ADDR=192.0.2.1+00\r\n", "501 5.5.4 Bad ADDR syntax"},
        {"XCLIENT PORT=70000\r\n", "501 5.5.4 Bad PORT syntax"},
        {"XCLIENT NAME=a..b\r\n", "501 5.5.4 Bad NAME syntax"},
        {"XCLIENT HELO=a+0D+0Ab\r\n", "501 5.5.4 Bad HELO syntax"},
        {"XCLIENT LOGIN=a+20b\r\n", "501 5.5.4 Bad LOGIN syntax"},
        {"XCLIENT PROTO=LMTP\r\n", "501 5.5.4 Bad PROTO syntax"},
        {"XCLIENT DESTADDR=192.0.2.1\r\n", "501 5.5.4 Bad XCLIENT attribute name: DESTADDR"},
        {"XCLIENT \x01\x02=1\r\n", "501 5.5.4 Bad XCLIENT attribute name"},  // never echoed raw
        {"XCLIENT HELO=" + std::string(256, 'a') + "\r\n", "501 5.5.4 Error: attribute value too long"},
        {"XCLIENT ADDR=198.51.100.9  PORT=1\r\n", "501 5.5.4 Syntax: XCLIENT attribute=value..."},
    };
    for (const auto& [line, expected] : cases) {
        INFO(line);
        world w;
        auto svc = w.make(options({"192.0.2.7"}));
        const auto l = after_greeting(serve(*svc, each(ehlo + line + mail + "QUIT\r\n")));
        CHECK(std::find(l.begin(), l.end(), expected) != l.end());
        CHECK(std::find(l.begin(), l.end(), "250 2.1.0 Sender OK") != l.end());  // still greeted
        CHECK(std::count(l.begin(), l.end(), greeting) == 0);
    }
    for (const std::string& reach : {ehlo + mail, ehlo + mail + rcpt}) {
        world w;
        auto svc = w.make(options({"192.0.2.7"}));
        const auto l = after_greeting(serve(*svc, each(reach + xclient + "QUIT\r\n")));
        const std::string where = reach.find("RCPT") == std::string::npos ? "after MAIL" : "after RCPT";
        CHECK(std::find(l.begin(), l.end(), "503 5.5.1 Error: XCLIENT is not allowed " + where) != l.end());
        CHECK(std::count(l.begin(), l.end(), greeting) == 0);
        CHECK(std::none_of(w.hook_log.begin(), w.hook_log.end(), [](const auto& h) { return h == "0::198.51.100.9"; }));
    }
}

TEST_CASE("xclient: LOGIN makes the session authenticated on submission", "[smtp][session][xclient]") {
    world w;
    auto svc = w.make(options({"192.0.2.7"}, role::submission));
    const auto out =
        serve(*svc, each("XCLIENT ADDR=198.51.100.9 LOGIN=alice\r\n" + ehlo + "MAIL FROM:<alice@example.org>\r\n" +
                         rcpt + message + "XCLIENT LOGIN=[UNAVAILABLE]\r\n" + ehlo +
                         "MAIL FROM:<alice@example.org>\r\n" + "QUIT\r\n"));
    const auto l = after_greeting(out);
    REQUIRE(w.store->boxes["alice"].size() == 1);
    CHECK(w.store->boxes["alice"][0].find("with ESMTPA id") != std::string::npos);
    // The second XCLIENT comes from 198.51.100.9 now, which is not trusted: refused, and alice stays logged in.
    CHECK(std::find(l.begin(), l.end(), "550 5.7.0 Error: insufficient authorization") != l.end());
    CHECK(std::count(l.begin(), l.end(), "250 2.1.0 Sender OK") == 2);
}

TEST_CASE("xclient: LOGIN=[UNAVAILABLE] and no LOGIN log the client out", "[smtp][session][xclient]") {
    for (const std::string second : {"XCLIENT LOGIN=[UNAVAILABLE]\r\n", "XCLIENT NAME=other.example\r\n"}) {
        INFO(second);
        world w;
        auto svc = w.make(options({"192.0.2.7"}, role::submission));
        const auto l = after_greeting(
            serve(*svc, each("XCLIENT LOGIN=alice\r\n" + second + ehlo + "MAIL FROM:<alice@example.org>\r\nQUIT\r\n")));
        CHECK(std::find(l.begin(), l.end(), "530 5.7.0 Authentication required") != l.end());
        CHECK(std::count(l.begin(), l.end(), greeting) == 2);
    }
}

TEST_CASE("xclient: the connect hook's refusal of the new client closes the connection", "[smtp][session][xclient]") {
    world w;
    auto svc = w.make(options({"192.0.2.7"}));
    w.on_hook = [&](plugin::smtp_phase p) {
        if (p == plugin::smtp_phase::connect && w.hook_log.back() == "0::198.51.100.66") {
            w.hook_answers[p] = plugin::reply::smtp(554, "5.7.1", "go away");
        }
    };
    const auto l = after_greeting(serve(*svc, each(ehlo + "XCLIENT ADDR=198.51.100.66\r\n" + ehlo + "QUIT\r\n")));
    REQUIRE(!l.empty());
    CHECK(l.back() == "554 5.7.1 go away");
}

TEST_CASE("xclient: anything pipelined after XCLIENT is improper", "[smtp][session][xclient]") {
    world w;
    auto svc = w.make(options({"192.0.2.7"}));
    const auto l = after_greeting(serve(*svc, each(ehlo) + std::vector<std::string>{xclient + ehlo}));
    REQUIRE(!l.empty());
    CHECK(l.back() == "554 5.5.0 Error: improper command pipelining");
}

TEST_CASE("xclient: the command line split at every offset gives the same dialogue", "[smtp][session][xclient]") {
    const std::string line = "XCLIENT ADDR=IPV6:2001:db8::9 PORT=4242 NAME=client.example HELO=h+2Bx LOGIN=alice\r\n";
    std::string expected;
    {
        world w;
        auto svc = w.make(options({"192.0.2.7"}, role::submission));
        expected = serve(*svc, each(ehlo + line + ehlo + "MAIL FROM:<alice@example.org>\r\nQUIT\r\n"));
        CHECK(expected.find("250 2.1.0 Sender OK") != std::string::npos);
    }
    for (std::size_t cut = 1; cut < line.size(); ++cut) {
        INFO(cut);
        world w;
        auto svc = w.make(options({"192.0.2.7"}, role::submission));
        const auto chunks = each(ehlo) + std::vector<std::string>{line.substr(0, cut), line.substr(cut)} +
                            each(ehlo + "MAIL FROM:<alice@example.org>\r\nQUIT\r\n");
        CHECK(serve(*svc, chunks) == expected);
    }
}
