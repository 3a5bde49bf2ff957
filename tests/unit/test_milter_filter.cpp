// The milter filter (plugins/milter) against a milter written here: a loopback acceptor that answers the
// negotiation and then each command as the test says, and records what it was told. Covers header edits,
// reject/tempfail/REPLYCODE, discard, quarantine, per-recipient refusals, a replacement body, and a milter
// that is down, too slow or talks garbage, with each default_action.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "milter_filter.hpp"

using namespace mailwright;
using namespace std::literals;
using namespace std::chrono_literals;

namespace {

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}
std::string pkt(char code, const std::string& data = {}) { return be32(data.size() + 1) + code + data; }

// What the fake milter answers to a command (its code and data): octets to send, possibly none.
using script = std::function<std::string(char code, const std::string& data)>;

struct fake_milter {
    std::uint32_t actions = 0x31;  // add headers, change headers, quarantine
    std::uint32_t flags = 0;
    std::string optneg_reply;  // set: sent instead of a proper negotiation
    script answer = [](char, const std::string&) { return pkt('c'); };
    std::vector<std::pair<char, std::string>> told;  // every command, in order
    bool silent_at_end = false;

    asio::awaitable<void> serve(asio::ip::tcp::acceptor& acceptor) {
        auto socket = co_await acceptor.async_accept(asio::use_awaitable);
        try {
            for (;;) {
                std::string header(4, '\0');
                co_await asio::async_read(socket, asio::buffer(header), asio::use_awaitable);
                const auto length = (std::uint32_t(std::uint8_t(header[0])) << 24) |
                                    (std::uint32_t(std::uint8_t(header[1])) << 16) |
                                    (std::uint32_t(std::uint8_t(header[2])) << 8) | std::uint8_t(header[3]);
                std::string packet(length, '\0');
                co_await asio::async_read(socket, asio::buffer(packet), asio::use_awaitable);
                const char code = packet[0];
                const std::string data = packet.substr(1);
                told.emplace_back(code, data);
                std::string reply;
                if (code == 'O') {
                    reply = optneg_reply.empty() ? pkt('O', be32(6) + be32(actions) + be32(flags)) : optneg_reply;
                } else if (code == 'Q') {
                    break;
                } else if (code == 'E' && silent_at_end) {
                    asio::steady_timer wait(socket.get_executor(), 1s);
                    co_await wait.async_wait(asio::use_awaitable);
                } else if (code != 'D' && code != 'A') {
                    reply = answer(code, data);
                }
                if (!reply.empty()) {
                    co_await asio::async_write(socket, asio::buffer(reply), asio::use_awaitable);
                }
            }
        } catch (const std::exception&) {
            // the filter closed the connection
        }
    }

    std::vector<std::string> told_of(char code) const {
        std::vector<std::string> out;
        for (const auto& [c, d] : told) {
            if (c == code) {
                out.push_back(d);
            }
        }
        return out;
    }
};

milter::message_facts two_recipients() {
    milter::message_facts f;
    f.session = 7;
    f.peer_address = "192.0.2.1";
    f.helo = "client.example";
    f.server_name = "mx.example.org";
    f.service = "smtp";
    f.id = "MSGID1";
    f.sender = "alice@example.org";
    f.recipients = {"bob@example.org", "carol@example.org"};
    return f;
}

struct result {
    plugin::reply at_header;
    std::optional<plugin::filter_verdict> verdict;
    std::string new_body;
};

// Runs one message through a filter with one milter: `fake` when given, else an address nothing listens on.
result run_message(fake_milter* fake, milter::milter_settings settings, milter::message_facts facts = two_recipients(),
                   std::string_view body = "Hello\r\nworld\r\n") {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    settings.address = *net::endpoint::parse("127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()));
    if (fake != nullptr) {
        asio::co_spawn(io, fake->serve(acceptor), asio::detached);
    } else {
        acceptor.close();  // nothing listens there now: connection refused
    }
    result out;
    auto message = [&]() -> asio::awaitable<void> {
        milter::milter_filter filter({&settings}, std::move(facts));
        for (const auto raw : {"From: alice@example.org\r\n"sv, "Subject: hi\r\n"sv, "To: bob@example.org\r\n"sv}) {
            filter.header(imf::parse_field(raw));
        }
        plugin::header_changes changes;
        out.at_header = co_await filter.headers_done(changes);
        if (!out.at_header.ok()) {
            co_return;
        }
        co_await filter.body(std::span<const char>(body.data(), body.size()));
        out.verdict = co_await filter.end();
        if (out.verdict->new_body) {
            std::array<char, 3> buffer;  // small reads: the reader is read to its end in pieces
            for (;;) {
                const auto got = co_await out.verdict->new_body->read_some(buffer);
                if (got.bytes == 0) {
                    break;
                }
                out.new_body.append(buffer.data(), got.bytes);
            }
        }
    };
    asio::co_spawn(io, message(), [&](std::exception_ptr e) {
        acceptor.close();
        if (e) {
            std::rethrow_exception(e);
        }
    });
    io.run();
    return out;
}

milter::milter_settings quick(milter::fallback action = milter::fallback::tempfail) {
    milter::milter_settings s;
    s.name = "test";
    s.connect_timeout = 2s;
    s.command_timeout = 2s;
    s.end_timeout = 300ms;
    s.default_action = action;
    return s;
}

// A script that answers 'c' to everything and `at_end` to the end of the message.
script ending_with(std::string at_end) {
    return [at_end](char code, const std::string&) { return code == 'E' ? at_end : pkt('c'); };
}

}  // namespace

TEST_CASE("milter filter: what the milter is told", "[milter][filter]") {
    fake_milter fake;
    const auto r = run_message(&fake, quick());
    REQUIRE(r.verdict);
    CHECK(r.verdict->answer.ok());
    CHECK(fake.told_of('C') == std::vector<std::string>{"[192.0.2.1]\0"s + "4\0\0"s + "192.0.2.1\0"s});
    CHECK(fake.told_of('H') == std::vector<std::string>{"client.example\0"s});
    CHECK(fake.told_of('M') == std::vector<std::string>{"<alice@example.org>\0"s});
    CHECK(fake.told_of('R') == std::vector<std::string>{"<bob@example.org>\0"s, "<carol@example.org>\0"s});
    CHECK(fake.told_of('L') ==
          std::vector<std::string>{"From\0alice@example.org\0"s, "Subject\0hi\0"s, "To\0bob@example.org\0"s});
    CHECK(fake.told_of('B') == std::vector<std::string>{"Hello\r\nworld\r\n"});
    CHECK(fake.told_of('N').size() == 1);
    CHECK(fake.told_of('E').size() == 1);
    const auto macros = fake.told_of('D');
    REQUIRE_FALSE(macros.empty());
    CHECK(macros[0].find("j\0mx.example.org\0"s) != std::string::npos);
    CHECK(macros[0].find("{daemon_name}\0smtp\0"s) != std::string::npos);
    bool id_told = false;
    for (const auto& m : macros) {
        id_told = id_told || (m[0] == 'M' && m.find("i\0MSGID1\0"s) != std::string::npos);
    }
    CHECK(id_told);
}

TEST_CASE("milter filter: header changes become edits", "[milter][filter]") {
    fake_milter fake;
    fake.answer = ending_with(pkt('h', "X-Spam\0no\0"s) + pkt('p') + pkt('i', be32(0) + "X-Top\0first\0"s) +
                              pkt('m', be32(1) + "Subject\0[ok] hi\0"s) + pkt('m', be32(0) + "To\0\0"s) + pkt('a'));
    const auto r = run_message(&fake, quick());
    REQUIRE(r.verdict);
    CHECK(r.verdict->answer.ok());
    using kind = plugin::field_edit::kind;
    const auto& e = r.verdict->edits;
    REQUIRE(e.size() == 4);
    CHECK((e[0].what == kind::append && e[0].name == "X-Spam" && e[0].value == "no"));
    CHECK((e[1].what == kind::insert && e[1].name == "X-Top" && e[1].index == 0));
    CHECK((e[2].what == kind::change && e[2].name == "Subject" && e[2].value == "[ok] hi" && e[2].index == 1));
    CHECK((e[3].what == kind::remove && e[3].name == "To" && e[3].index == 1));
}

TEST_CASE("milter filter: refusals at the end of the message", "[milter][filter]") {
    fake_milter fake;
    SECTION("reject") {
        fake.answer = ending_with(pkt('r'));
        const auto r = run_message(&fake, quick());
        REQUIRE(r.verdict);
        CHECK(r.verdict->answer.permanent());
        CHECK(r.verdict->answer.code == 550);
        CHECK(r.verdict->answer.enhanced == "5.7.1");
    }
    SECTION("tempfail") {
        fake.answer = ending_with(pkt('t'));
        const auto r = run_message(&fake, quick());
        REQUIRE(r.verdict);
        CHECK(r.verdict->answer.temporary());
        CHECK(r.verdict->answer.code == 451);
    }
    SECTION("a REPLYCODE, word for word") {
        fake.answer = ending_with(pkt('y', "554 5.7.1 Gtube pattern\0"s));
        const auto r = run_message(&fake, quick());
        REQUIRE(r.verdict);
        CHECK(r.verdict->answer.code == 554);
        CHECK(r.verdict->answer.text == "Gtube pattern");
    }
    SECTION("discard") {
        fake.answer = ending_with(pkt('d'));
        const auto r = run_message(&fake, quick());
        REQUIRE(r.verdict);
        CHECK(r.verdict->discard);
        CHECK(r.verdict->answer.ok());
    }
    SECTION("quarantine: refused, the reason in the text") {
        fake.answer = ending_with(pkt('q', "virus found\0"s) + pkt('c'));
        const auto r = run_message(&fake, quick());
        REQUIRE(r.verdict);
        CHECK(r.verdict->answer.code == 554);
        CHECK(r.verdict->answer.text.find("virus found") != std::string::npos);
    }
    SECTION("a refusal at MAIL refuses the message at the end of the header") {
        fake.answer = [](char code, const std::string&) { return code == 'M' ? pkt('t') : pkt('c'); };
        const auto r = run_message(&fake, quick());
        CHECK(r.at_header.temporary());
        CHECK_FALSE(r.verdict);
        CHECK(fake.told_of('R').empty());
    }
}

TEST_CASE("milter filter: refusals per recipient", "[milter][filter]") {
    fake_milter fake;
    SECTION("one of two: an answer for each") {
        fake.answer = [](char code, const std::string& data) {
            return code == 'R' && data.starts_with("<carol") ? pkt('y', "550 5.1.1 no such user\0"s) : pkt('c');
        };
        const auto r = run_message(&fake, quick());
        REQUIRE(r.verdict);
        REQUIRE(r.verdict->recipients.size() == 2);
        CHECK(r.verdict->recipients[0].ok());
        CHECK(r.verdict->recipients[1].code == 550);
        CHECK(r.verdict->recipients[1].text == "no such user");
    }
    SECTION("all of them: the message's answer, the first temporary one") {
        fake.answer = [](char code, const std::string& data) {
            return code != 'R' ? pkt('c') : data.starts_with("<bob") ? pkt('r') : pkt('t');
        };
        const auto r = run_message(&fake, quick());
        CHECK(r.at_header.temporary());
        CHECK(fake.told_of('L').empty());
    }
}

TEST_CASE("milter filter: a replacement body", "[milter][filter]") {
    fake_milter fake;
    fake.actions = 0x33;
    fake.answer = ending_with(pkt('b', "new\nbody") + pkt('b', "\r\nend\r") + pkt('c'));
    SECTION("taken when replace_body is set, with CRLF line ends") {
        auto s = quick();
        s.replace_body = true;
        const auto r = run_message(&fake, s);
        REQUIRE(r.verdict);
        CHECK(r.verdict->answer.ok());
        CHECK(r.new_body == "new\r\nbody\r\nend\r\n");
    }
    SECTION("not offered otherwise: a replacement is a breach, and the default action follows") {
        const auto r = run_message(&fake, quick());
        REQUIRE(r.verdict);
        CHECK(r.verdict->answer.temporary());
        CHECK(r.verdict->answer.text == "milter unavailable");
        CHECK_FALSE(r.verdict->new_body);
    }
}

TEST_CASE("milter filter: a milter that cannot be asked gets its default action", "[milter][filter]") {
    SECTION("down, tempfail") {
        const auto r = run_message(nullptr, quick());
        CHECK(r.at_header.temporary());
        CHECK(r.at_header.code == 451);
        CHECK(r.at_header.enhanced == "4.7.1");
        CHECK(r.at_header.text == "milter unavailable");
    }
    SECTION("down, accept") {
        const auto r = run_message(nullptr, quick(milter::fallback::accept));
        REQUIRE(r.verdict);
        CHECK(r.verdict->answer.ok());
        CHECK(r.verdict->edits.empty());
    }
    fake_milter fake;
    SECTION("silent at the end, tempfail") {
        fake.silent_at_end = true;
        const auto r = run_message(&fake, quick());
        REQUIRE(r.verdict);
        CHECK(r.verdict->answer.temporary());
    }
    SECTION("silent at the end, accept: its edits are dropped") {
        fake.silent_at_end = true;
        const auto r = run_message(&fake, quick(milter::fallback::accept));
        REQUIRE(r.verdict);
        CHECK(r.verdict->answer.ok());
    }
    SECTION("garbage for a negotiation") {
        fake.optneg_reply = "HTTP/1.1 400 Bad Request\r\n\r\n";
        const auto r = run_message(&fake, quick());
        CHECK(r.at_header.temporary());
        CHECK(r.at_header.text == "milter unavailable");
    }
    SECTION("an action it was not offered") {
        fake.answer = ending_with(pkt('+', "<eve@example.org>\0"s) + pkt('c'));
        const auto r = run_message(&fake, quick(milter::fallback::accept));
        REQUIRE(r.verdict);
        CHECK(r.verdict->answer.ok());
        CHECK(r.verdict->edits.empty());
    }
    SECTION("a wrong answer to a command") {
        fake.answer = [](char code, const std::string&) { return code == 'H' ? pkt('h', "X\0y\0"s) : pkt('c'); };
        const auto r = run_message(&fake, quick());
        CHECK(r.at_header.temporary());
    }
}
