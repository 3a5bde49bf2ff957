// The SMTP/LMTP client's protocol pieces without I/O: reply parsing (multi-line, enhanced codes, malformed
// replies, limits), EHLO keywords, the MAIL and RCPT lines, and the SCRAM-SHA-256 client (RFC 7677's example).
#include <catch2/catch.hpp>

#include "smtp/client_protocol.hpp"

using namespace mailwright::smtp::client;
using detail::reply_parser;
using status = reply_parser::status;

namespace {

// Feeds every line; the parser's last status, and the reply when done.
std::pair<status, reply> parse(std::initializer_list<std::string_view> lines, bool enhanced = true) {
    reply_parser p(enhanced);
    status s = status::more;
    for (const auto line : lines) {
        s = p.feed(line);
        if (s != status::more) {
            break;
        }
    }
    return {s, s == status::done ? p.take() : reply{}};
}

}  // namespace

TEST_CASE("client replies: one line and several", "[smtp][client]") {
    auto [s, r] = parse({"250 2.1.0 Sender ok"});
    CHECK(s == status::done);
    CHECK(r.code == 250);
    CHECK(r.enhanced == "2.1.0");
    CHECK(r.lines == std::vector<std::string>{"Sender ok"});
    CHECK(r.to_string() == "250 2.1.0 Sender ok");

    std::tie(s, r) = parse({"250-mx.example.org hello", "250-PIPELINING", "250 SIZE 1000"});
    CHECK(s == status::done);
    CHECK(r.lines == std::vector<std::string>{"mx.example.org hello", "PIPELINING", "SIZE 1000"});

    std::tie(s, r) = parse({"250"});  // a code alone is a whole reply (RFC 5321 4.2)
    CHECK(s == status::done);
    CHECK(r.lines == std::vector<std::string>{""});
}

TEST_CASE("client replies: enhanced codes only when offered and of the reply's class", "[smtp][client]") {
    CHECK(parse({"550 5.1.1 no such user"}, false).second.enhanced.empty());
    CHECK(parse({"550 5.1.1 no such user"}, false).second.lines.front() == "5.1.1 no such user");
    auto r = parse({"550 2.1.1 odd"}).second;  // another class: text, not a status code
    CHECK(r.enhanced.empty());
    CHECK(r.lines.front() == "2.1.1 odd");
    r = parse({"354 5.0.0 go ahead"}).second;  // RFC 3463: no codes on intermediate replies
    CHECK(r.enhanced.empty());
    r = parse({"451 4.4.2x timeout"}).second;
    CHECK(r.enhanced.empty());
    r = parse({"452-4.2.2 mailbox", "452 4.2.2 full"}).second;
    CHECK(r.enhanced == "4.2.2");
    CHECK(r.lines == std::vector<std::string>{"mailbox", "full"});
    CHECK(r.to_plugin().code == 452);
    CHECK(r.to_plugin().temporary());
    CHECK(r.to_plugin().enhanced == "4.2.2");
    CHECK(r.to_plugin().text == "mailbox");
    r = parse({"250 2.0.0"}).second;
    CHECK(r.enhanced == "2.0.0");
    CHECK(r.lines.front().empty());
}

TEST_CASE("client replies: malformed ones", "[smtp][client]") {
    CHECK(parse({"hello"}).first == status::malformed);
    CHECK(parse({"25"}).first == status::malformed);
    CHECK(parse({"2500 x"}).first == status::malformed);
    CHECK(parse({"650 x"}).first == status::malformed);
    CHECK(parse({"199 x"}).first == status::malformed);
    CHECK(parse({"250_x"}).first == status::malformed);
    CHECK(parse({"250-a", "251 b"}).first == status::malformed);  // the code changed
    reply_parser p(false);
    for (std::size_t i = 0; i < detail::max_reply_lines; ++i) {
        REQUIRE(p.feed("250-line") == status::more);
    }
    CHECK(p.feed("250 last") == status::malformed);
    CHECK_THAT(p.error(), Catch::Contains("lines"));
}

TEST_CASE("client: EHLO keywords", "[smtp][client]") {
    const auto r =
        parse({"250-mx.example.org", "250-pipelining", "250-SIZE 35882577", "250-AUTH PLAIN login", "250 8BITMIME"})
            .second;
    const auto c = detail::parse_ehlo(r);
    CHECK(c.has("PIPELINING"));
    CHECK(c.has("8BITMIME"));
    CHECK_FALSE(c.has("MX.EXAMPLE.ORG"));
    CHECK(c.parameters("SIZE") == "35882577");
    CHECK(c.offers_mechanism("LOGIN"));
    CHECK(c.offers_mechanism("plain"));
    CHECK_FALSE(c.offers_mechanism("SCRAM-SHA-256"));
}

TEST_CASE("client: MAIL and RCPT say only what the server offered", "[smtp][client]") {
    transaction t;
    t.sender = "a@example.org";
    t.size = 1234;
    t.body = "8BITMIME";
    t.ret = "HDRS";
    t.envid = "id+2B1";
    transaction::recipient r{"b@example.net", "SUCCESS,FAILURE", "rfc822;b@example.net"};
    detail::capabilities none;
    CHECK(detail::mail_command(t, none).line == "MAIL FROM:<a@example.org>");
    CHECK(detail::rcpt_command(r, none).line == "RCPT TO:<b@example.net>");
    detail::capabilities all;
    for (const char* k : {"SIZE", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING", "BINARYMIME"}) {
        all.keywords[k] = "";
    }
    CHECK(detail::mail_command(t, all).line ==
          "MAIL FROM:<a@example.org> SIZE=1234 BODY=8BITMIME RET=HDRS ENVID=id+2B1");
    CHECK(detail::rcpt_command(r, all).line ==
          "RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.net");

    t.sender.clear();
    t.smtputf8 = true;
    t.ret = "HDRS FULL";  // a space would start another parameter: left out
    CHECK(detail::mail_command(t, all).line == "MAIL FROM:<> SIZE=1234 BODY=8BITMIME SMTPUTF8 ENVID=id+2B1");
    const auto refused = detail::mail_command(t, none);
    REQUIRE(refused.refusal);
    CHECK(refused.refusal->to_string() == "550 5.6.7 the next hop does not accept SMTPUTF8 (internationalised) mail");
    t.smtputf8 = false;
    t.body = "BINARYMIME";
    CHECK(detail::mail_command(t, none).refusal->code == 554);
    t.body = "7BIT";
    t.sender = "a@example.org>\r\nRCPT TO:<evil@example.com";
    CHECK(detail::mail_command(t, all).refusal->enhanced == "5.1.7");
    r.address = "b@example.net\rx";
    CHECK(detail::rcpt_command(r, all).refusal->enhanced == "5.1.3");
}

TEST_CASE("client: SCRAM-SHA-256 as in RFC 7677's example", "[smtp][client][sasl]") {
    detail::scram_client c("user", "pencil", "rOprNGfwEbeRWgbNEkqO");
    CHECK(c.first_message() == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    const std::string server_first =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    REQUIRE(c.iterations(server_first) == 4096u);
    const auto salted = c.salt_password(server_first, 4096);
    CHECK(c.final_message(server_first, salted) ==
          "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    CHECK(c.verify_server("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
    CHECK_FALSE(c.verify_server("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5="));
    CHECK_FALSE(c.verify_server("e=invalid-proof"));
}

TEST_CASE("client: SCRAM normalises the password with SASLprep before Hi()", "[smtp][client][sasl]") {
    // RFC 5802 2.2: a no-break space (U+00A0) prepares to a space, so both give the same proof, as the
    // server's keys made from the prepared password expect.
    const std::string server_first = "r=abcdef,s=c2FsdA==,i=4096";
    auto proof = [&](std::string password) {
        detail::scram_client c("user", std::move(password), "abc");
        REQUIRE(c.iterations(server_first) == 4096u);
        return c.final_message(server_first, c.salt_password(server_first, 4096));
    };
    CHECK(proof("pass\xC2\xA0word") == proof("pass word"));
    CHECK(proof("pass\xC2\xA0word") != proof("pass-word"));
}

TEST_CASE("client: SCRAM challenges that are refused", "[smtp][client][sasl]") {
    detail::scram_client c("us=er,x", "pw", "abc");
    CHECK(c.first_message() == "n,,n=us=3Der=2Cx,r=abc");
    CHECK_FALSE(c.iterations("r=xyzdef,s=c2FsdA==,i=4096"));  // not our nonce
    CHECK_FALSE(c.iterations("r=abc,s=c2FsdA==,i=4096"));     // not extended
    CHECK_FALSE(c.iterations("r=abcd,s=c2FsdA==,i=99999999"));
    CHECK_FALSE(c.iterations("r=abcd,s=!!,i=4096"));
    CHECK_FALSE(c.iterations("m=ext,r=abcd,s=c2FsdA==,i=4096"));
    CHECK_FALSE(c.iterations("r=abcd,s=c2FsdA==,i=4096x"));
    CHECK(c.iterations("r=abcd,s=c2FsdA==,i=4096,x=ext") == 4096u);
    CHECK_FALSE(c.verify_server("v=anything"));  // no proof made yet
}
