// How a plugin's reply becomes the line a client hears (framework/src/plugin/reply_text.hpp): exactly as given
// when the protocol can use it, the protocol's own words for what it cannot, and never a second line.
#include "plugin/reply_text.hpp"

#include <catch2/catch.hpp>
#include <string>

using mailwright::plugin::clean_text;
using mailwright::plugin::pop3_text;
using mailwright::plugin::reply;
using mailwright::plugin::smtp_line;
using mailwright::plugin::smtp_words;

namespace {
constexpr smtp_words temporary{451, "4.7.1", "refused by policy"};
constexpr smtp_words permanent{554, "5.7.1", "refused by policy"};
}  // namespace

TEST_CASE("reply text: an exact SMTP reply is heard byte for byte", "[reply]") {
    CHECK(smtp_line(reply::smtp(450, "4.7.1", "try again later"), temporary) == "450 4.7.1 try again later");
    CHECK(smtp_line(reply::smtp(552, "5.2.2", "mailbox full"), permanent) == "552 5.2.2 mailbox full");
    CHECK(smtp_line(reply::smtp(421, "4.7.0", "go away"), temporary) == "421 4.7.0 go away");
    CHECK(smtp_line(reply::smtp(550, "5.7.26", "DMARC"), permanent) == "550 5.7.26 DMARC");
}

TEST_CASE("reply text: what a plugin leaves out is the protocol's", "[reply]") {
    CHECK(smtp_line(reply::tempfail(), temporary) == "451 4.7.1 refused by policy");
    CHECK(smtp_line(reply::reject("not for you"), permanent) == "554 5.7.1 not for you");
    CHECK(smtp_line(reply{reply::outcome::permanent, 550, {}, {}, {}}, permanent) == "550 5.7.1 refused by policy");
}

TEST_CASE("reply text: what the protocol cannot use is replaced, never trusted", "[reply]") {
    // A code of another class than the outcome: the outcome decides, so a "tempfail" cannot say 250.
    CHECK(smtp_line(reply{reply::outcome::temporary, 250, "2.0.0", "fine", {}}, temporary) == "451 4.7.1 fine");
    // An enhanced code whose class is not the reply code's, or that is malformed.
    CHECK(smtp_line(reply::smtp(450, "5.7.1", "x"), temporary) == "450 4.7.1 x");
    CHECK(smtp_line(reply::smtp(550, "5.7", "x"), permanent) == "550 5.7.1 x");
    CHECK(smtp_line(reply::smtp(550, "5.a.1", "x"), permanent) == "550 5.7.1 x");
    CHECK(smtp_line(reply::smtp(550, "5.1234.1", "x"), permanent) == "550 5.7.1 x");
    CHECK(smtp_line(reply::smtp(999, "9.9.9", "x"), permanent) == "554 5.7.1 x");
    // No second reply line, whatever the text holds.
    CHECK(smtp_line(reply::smtp(450, "4.7.1", "wait\r\n250 2.0.0 OK"), temporary) == "450 4.7.1 wait  250 2.0.0 OK");
    CHECK(clean_text(std::string("a\0b\x7f\tc", 6)) == "a b  c");
    CHECK(clean_text(std::string(1000, 'x')).size() == 400);
}

TEST_CASE("reply text: POP3 response codes", "[reply][pop3]") {
    CHECK(pop3_text(reply::reject(), "AUTH", "login refused") == "[AUTH] login refused");
    CHECK(pop3_text(reply::tempfail("busy"), "SYS/TEMP", "login refused") == "[SYS/TEMP] busy");
    CHECK(pop3_text(reply::reject("not now"), "", "retrieval refused") == "not now");
    reply delay = reply::reject("wait 5 minutes");
    delay.pop3_code = "LOGIN-DELAY";
    CHECK(pop3_text(delay, "AUTH", "login refused") == "[LOGIN-DELAY] wait 5 minutes");
    for (const char* bad : {"IN USE", "A]B", "/SYS", "SYS/", "[AUTH"}) {
        INFO(bad);
        reply r = reply::reject("no");
        r.pop3_code = bad;
        CHECK(pop3_text(r, "AUTH", "login refused") == "[AUTH] no");
    }
}
