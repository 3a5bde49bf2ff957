// Recipients resolved by a hook (plugin::hook::resolve, the aliases plugin's way in): the users an address
// stands for, each known to the auth backend; the limit on mailboxes per message; postmaster, which must work.
#include <catch2/catch.hpp>
#include <string>

#include "smtp_fixture.hpp"

using namespace smtp_test;
using mailwright::plugin::reply;
using mailwright::plugin::resolution;
using mailwright::smtp::role;

namespace {

const std::string ehlo = "EHLO client.example\r\n";
const std::string mail = "MAIL FROM:<sender@remote.example>\r\n";

// The replies after the greeting, one line each (EHLO's continuation lines skipped).
std::vector<std::string> replies(const std::string& output) {
    std::vector<std::string> out;
    for (const auto& line : lines(output)) {
        if (line.size() < 4 || line[3] != '-') {
            out.push_back(line);
        }
    }
    REQUIRE(!out.empty());
    out.erase(out.begin());
    return out;
}

// team -> alice, bob; loop -> refused; ghost -> an unknown user; postmaster -> as `postmaster_to`.
struct aliases {
    std::vector<std::string> postmaster_to;
    bool refuse_postmaster = false;

    asio::awaitable<resolution> operator()(std::string_view local, std::string_view, const plugin::event_context&) {
        if (local == "team") {
            co_return resolution::to({"alice", "bob"});
        }
        if (local == "loop" || (local == "postmaster" && refuse_postmaster)) {
            co_return resolution::refuse(reply::smtp(550, "5.4.6", "alias loop"));
        }
        if (local == "busy") {
            co_return resolution::refuse(reply::tempfail("map being rebuilt"));
        }
        if (local == "ghost") {
            co_return resolution::to({"nobody-here"});
        }
        if (local == "postmaster" && !postmaster_to.empty()) {
            co_return resolution::to(postmaster_to);
        }
        co_return resolution::not_mine();
    }
};

}  // namespace

TEST_CASE("resolve: an alias reaches each of its users once, and a user named again gets no second copy",
          "[smtp][session][resolve]") {
    world w;
    aliases a;
    w.resolve = std::ref(a);
    auto svc = w.make();
    const auto r = replies(
        serve(*svc, each(ehlo + mail + "RCPT TO:<team@example.org>\r\nRCPT TO:<alice@example.org>\r\n" + "DATA\r\n") +
                        std::vector<std::string>{"Subject: x\r\n\r\nhi\r\n.\r\n", "QUIT\r\n"}));
    CHECK(r[2] == "250 2.1.5 Recipient OK");
    CHECK(r[3] == "250 2.1.5 Recipient OK");
    CHECK(r[5].rfind("250 2.0.0 OK: stored as ", 0) == 0);
    CHECK(w.store->boxes["alice"].size() == 1);  // through the alias and by name: one copy
    CHECK(w.store->boxes["bob"].size() == 1);
}

TEST_CASE("resolve: refusals are heard as the hook words them", "[smtp][session][resolve]") {
    world w;
    aliases a;
    w.resolve = std::ref(a);
    auto svc = w.make();
    const auto r =
        replies(serve(*svc, each(ehlo + mail + "RCPT TO:<loop@example.org>\r\nRCPT TO:<busy@example.org>\r\n" +
                                 "RCPT TO:<ghost@example.org>\r\nQUIT\r\n")));
    CHECK(r[2] == "550 5.4.6 alias loop");
    CHECK(r[3] == "450 4.3.0 map being rebuilt");
    CHECK(r[4].rfind("550 5.1.1 ", 0) == 0);  // an alias to a user nobody knows: unknown, before DATA
}

TEST_CASE("resolve: every mailbox an alias reaches counts against max_recipients", "[smtp][session][resolve]") {
    world w;
    aliases a;
    w.resolve = std::ref(a);
    auto o = world::default_options();
    o.max_recipients = 3;
    auto svc = w.make(o);
    const auto r =
        replies(serve(*svc, each(ehlo + mail + "RCPT TO:<team@example.org>\r\nRCPT TO:<team@example.org>\r\n" +
                                 "RCPT TO:<carol@example.org>\r\nRCPT TO:<carol@example.org>\r\nQUIT\r\n")));
    CHECK(r[2] == "250 2.1.5 Recipient OK");  // 2 mailboxes
    CHECK(r[3].rfind("452 4.5.3 ", 0) == 0);  // 2 more would make 4
    CHECK(r[4] == "250 2.1.5 Recipient OK");  // 3
    CHECK(r[5].rfind("452 4.5.3 ", 0) == 0);  // full
}

TEST_CASE("resolve: postmaster works whatever the map says (RFC 5321 4.5.1)", "[smtp][session][resolve]") {
    world w;
    aliases a;
    w.resolve = std::ref(a);
    auto svc = w.make();
    const std::string to_postmaster = "RCPT TO:<postmaster@example.org>\r\nQUIT\r\n";
    SECTION("mapped to an unknown user: the configuration's fault, so 451, never 550") {
        a.postmaster_to = {"nobody-here"};
        const auto r = replies(serve(*svc, each(ehlo + mail + to_postmaster)));
        CHECK(r[2].rfind("451 4.3.0 ", 0) == 0);
    }
    SECTION("a map that refuses it: the listener's postmaster user gets it") {
        a.refuse_postmaster = true;
        const auto r = replies(serve(*svc, each(ehlo + mail + to_postmaster)));
        CHECK(r[2] == "250 2.1.5 Recipient OK");
    }
    SECTION("mapped to a known user") {
        a.postmaster_to = {"carol"};
        const auto r = replies(serve(*svc, each(ehlo + mail + "RCPT TO:<Postmaster>\r\nDATA\r\n") +
                                               std::vector<std::string>{"Subject: x\r\n\r\nhi\r\n.\r\n", "QUIT\r\n"}));
        CHECK(r[2] == "250 2.1.5 Recipient OK");
        CHECK(w.store->boxes["carol"].size() == 1);
    }
}
