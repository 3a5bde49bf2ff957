// The message pipeline as the SMTP and LMTP dialogues use it (pipeline/message_pipeline.hpp): the dialogue
// answers every command itself and only pushes octets into the store, in pieces of 64 KiB; stores and hooks
// answer with a plugin::reply that the client hears as given; message filters see the message as it streams
// and add header fields.
#include <asio/awaitable.hpp>
#include <catch2/catch.hpp>
#include <numeric>
#include <regex>
#include <string>

#include "mailwright/sasl/crypto.hpp"
#include "smtp_fixture.hpp"

using namespace smtp_test;
using mailwright::plugin::reply;
using mailwright::smtp::role;

namespace {

const std::string ehlo = "EHLO client.example\r\n";
const std::string lhlo = "LHLO client.example\r\n";
const std::string mail = "MAIL FROM:<sender@remote.example>\r\n";
const std::string rcpt = "RCPT TO:<alice@example.org>\r\n";
const std::string rcpt_bob = "RCPT TO:<bob@example.org>\r\n";
const std::string body = "Subject: test\r\n\r\nHello.\r\n";

// The replies after the greeting, one line each (no multi-line replies but EHLO's, which is skipped here).
std::vector<std::string> replies(const std::string& output) {
    std::vector<std::string> out;
    for (const auto& line : lines(output)) {
        if (line.size() < 4 || line[3] != '-') {
            out.push_back(line);
        }
    }
    REQUIRE(!out.empty());
    out.erase(out.begin());  // the greeting
    return out;
}

// The message as stored, without the Return-Path and Received fields the session writes first.
std::string after_trace(const std::string& stored) {
    const auto received = stored.find("Received: ");
    REQUIRE(received != std::string::npos);
    const auto end = stored.find("\r\n", stored.find("; ", received));
    REQUIRE(end != std::string::npos);
    return stored.substr(end + 2);
}

// `size` octets of message: a header, then lines of 512 octets (CRLF included); sent in segments of 16 KiB.
std::vector<std::string> big_message(std::size_t size, const std::string& ending) {
    std::string text = "Subject: big\r\n\r\n";
    while (text.size() + 512 <= size) {
        text += std::string(510, 'x') + "\r\n";
    }
    text += std::string(size - text.size() - 2, 'y') + "\r\n";
    std::vector<std::string> segments;
    for (std::size_t at = 0; at < text.size(); at += 16 * 1024) {
        segments.push_back(text.substr(at, 16 * 1024));
    }
    segments.back() += ending;
    return segments;
}

}  // namespace

TEST_CASE("smtp: NOOP, HELP and RSET between BDAT chunks never reach the store", "[smtp][session][bdat][pipeline]") {
    world w;
    auto svc = w.make();
    SECTION("NOOP and HELP: answered by the dialogue; the store sees one begin, one write, one commit") {
        const auto r = replies(serve(
            *svc, each(ehlo + mail + rcpt) + std::vector<std::string>{"BDAT 7\r\nHello\r\n", "NOOP\r\n", "HELP\r\n",
                                                                      "BDAT 7\r\nWorld\r\n", "NOOP\r\n",
                                                                      "BDAT 0 LAST\r\n", "QUIT\r\n"}));
        REQUIRE(r.size() == 10);
        CHECK(r[3] == "250 2.0.0 7 octets received");
        CHECK(r[4] == "250 2.0.0 OK");
        CHECK(r[5].rfind("214 2.0.0 Commands: ", 0) == 0);
        CHECK(r[6] == "250 2.0.0 14 octets received");
        CHECK(r[7] == "250 2.0.0 OK");
        CHECK(r[8].rfind("250 2.0.0 OK: stored as ", 0) == 0);
        CHECK(w.store->log == std::vector<std::string>{"begin", "write", "commit"});
        REQUIRE(w.store->boxes["alice"].size() == 1);
        CHECK(after_trace(w.store->boxes["alice"][0]) == "Hello\r\nWorld\r\n");
    }
    SECTION("RSET: the message is given up without another store call, and nothing is kept") {
        const auto r =
            replies(serve(*svc, each(ehlo + mail + rcpt) + std::vector<std::string>{"BDAT 7\r\nHello\r\n", "NOOP\r\n",
                                                                                    "RSET\r\n", "QUIT\r\n"}));
        REQUIRE(r.size() == 7);
        CHECK(r[3] == "250 2.0.0 7 octets received");
        CHECK(r[4] == "250 2.0.0 OK");
        CHECK(r[5] == "250 2.0.0 OK");  // RSET's own reply
        CHECK(w.store->log == std::vector<std::string>{"begin"});
        CHECK(w.store->given_up == 1);
        CHECK(w.store->messages() == 0);
    }
}

TEST_CASE("smtp: a 1 MiB message reaches the store in pieces of 64 KiB", "[smtp][session][pipeline]") {
    world w;
    auto svc = w.make();
    constexpr std::size_t mib = 1024 * 1024;
    SECTION("DATA") {
        const auto r = replies(serve(*svc, each(ehlo + mail + rcpt + "DATA\r\n") + big_message(mib, ".\r\nQUIT\r\n")));
        CHECK(r[4].rfind("250 2.0.0 OK: stored as ", 0) == 0);
    }
    SECTION("BDAT in chunks of 100000 octets") {
        std::string text;
        for (const auto& segment : big_message(mib, "")) {
            text += segment;
        }
        std::vector<std::string> chunks;
        for (std::size_t at = 0; at < text.size(); at += 100000) {
            const auto piece = text.substr(at, 100000);
            const bool last = at + 100000 >= text.size();
            chunks.push_back("BDAT " + std::to_string(piece.size()) + (last ? " LAST" : "") + "\r\n" + piece);
        }
        chunks.push_back("QUIT\r\n");
        const auto r = replies(serve(*svc, each(ehlo + mail + rcpt) + chunks));
        CHECK(r[r.size() - 2].rfind("250 2.0.0 OK: stored as ", 0) == 0);
    }
    const auto& writes = w.store->writes;
    REQUIRE(w.store->boxes["alice"].size() == 1);
    const std::size_t stored = w.store->boxes["alice"][0].size();  // the trace fields and the 1 MiB
    CHECK(stored > mib);
    CHECK(writes.size() == (stored + 65535) / 65536);
    for (std::size_t i = 0; i + 1 < writes.size(); ++i) {
        CHECK(writes[i] == 65536);
    }
    CHECK(std::accumulate(writes.begin(), writes.end(), std::size_t{0}) == stored);
}

TEST_CASE("lmtp: each recipient hears its store's own reply", "[smtp][session][lmtp][pipeline]") {
    world w;
    w.store->answer = mailwright::plugin::delivery_result{{reply::smtp(552, "5.2.2", "mailbox full"), reply::accept()}};
    auto svc = w.make(world::default_options(role::lmtp));
    const auto r = replies(serve(
        *svc, each(lhlo + mail + rcpt + rcpt_bob + "DATA\r\n") + std::vector<std::string>{body + ".\r\n", "QUIT\r\n"}));
    REQUIRE(r.size() == 8);
    CHECK(r[5] == "552 5.2.2 mailbox full");
    CHECK(std::regex_match(r[6], std::regex(R"(250 2\.0\.0 OK [0-9a-f]+ \(\d+ octets\))")));
    CHECK(w.store->boxes.count("alice") == 0);
    CHECK(w.store->boxes["bob"].size() == 1);
}

TEST_CASE("smtp: a store's own refusal is heard as given", "[smtp][session][pipeline]") {
    world w;
    w.store->answer = mailwright::plugin::delivery_result{{reply::smtp(452, "4.2.2", "over quota, try later")}};
    auto svc = w.make();
    const auto r = replies(
        serve(*svc, each(ehlo + mail + rcpt + "DATA\r\n") + std::vector<std::string>{body + ".\r\n", "QUIT\r\n"}));
    CHECK(r[4] == "452 4.2.2 over quota, try later");
}

TEST_CASE("smtp: a hook's reply reaches the client byte for byte", "[smtp][session][hooks][pipeline]") {
    using mailwright::plugin::smtp_phase;
    world w;
    w.hook_answers[smtp_phase::rcpt] = reply::smtp(450, "4.7.1", "try again later");
    w.hook_answers[smtp_phase::helo] = reply::smtp(550, "5.7.1", "no such name, go away");
    auto svc = w.make();
    const auto r = replies(serve(*svc, each("EHLO bad.example\r\n")));
    CHECK(r[0] == "550 5.7.1 no such name, go away");
    w.hook_answers.erase(smtp_phase::helo);
    const auto r2 = replies(serve(*svc, each(ehlo + mail + rcpt + "QUIT\r\n")));
    CHECK(r2[2] == "450 4.7.1 try again later");
    SECTION("and cannot add a line of its own") {
        w.hook_answers[smtp_phase::rcpt] = reply::smtp(450, "4.7.1", "wait\r\n250 2.1.5 Recipient OK");
        const auto r3 = replies(serve(*svc, each(ehlo + mail + rcpt + "QUIT\r\n")));
        REQUIRE(r3.size() == 4);
        CHECK(r3[2] == "450 4.7.1 wait  250 2.1.5 Recipient OK");
    }
}

namespace {

// A filter that notes what it sees, adds a field, and refuses where told.
struct filter_record {
    std::vector<std::string> fields;
    std::size_t body_octets = 0;
    std::size_t body_pieces = 0;
    std::optional<reply> refuse_at_headers;
    std::optional<reply> refuse_at_end;
};

class recording_filter final : public mailwright::plugin::message_filter {
  public:
    explicit recording_filter(filter_record& record) : record_(record) {}
    mailwright::plugin::field_action header(const mailwright::imf::header_field& field) override {
        record_.fields.emplace_back(field.raw);
        return mailwright::plugin::field_action::keep;
    }
    asio::awaitable<reply> headers_done(mailwright::plugin::header_changes& changes) override {
        changes.prepend.push_back("X-Filtered: yes; fields=" + std::to_string(record_.fields.size()));
        co_return record_.refuse_at_headers.value_or(reply::accept());
    }
    asio::awaitable<void> body(std::span<const char> piece) override {
        record_.body_octets += piece.size();
        ++record_.body_pieces;
        co_return;
    }
    asio::awaitable<mailwright::plugin::filter_verdict> end() override {
        co_return mailwright::plugin::filter_verdict::refuse(record_.refuse_at_end.value_or(reply::accept()));
    }

  private:
    filter_record& record_;
};

}  // namespace

TEST_CASE("smtp: a message filter sees the message as it streams and adds header fields",
          "[smtp][session][pipeline][filter]") {
    world w;
    filter_record record;
    w.filters = [&](const mailwright::plugin::event_context&) {
        mailwright::pipeline::filter_list list;
        list.push_back({"recording", std::make_unique<recording_filter>(record)});
        return list;
    };
    auto svc = w.make();
    const std::string message = "Subject: filtered\r\nTo: <alice@example.org>,\r\n\t<bob@example.org>\r\n\r\nbody\r\n";
    SECTION("fields as received, folded lines kept; the added field above the client's header") {
        const auto r = replies(serve(
            *svc, each(ehlo + mail + rcpt + "DATA\r\n") + std::vector<std::string>{message + ".\r\n", "QUIT\r\n"}));
        CHECK(r[4].rfind("250 2.0.0 OK: stored as ", 0) == 0);
        CHECK(record.fields ==
              std::vector<std::string>{"Subject: filtered\r\n", "To: <alice@example.org>,\r\n\t<bob@example.org>\r\n"});
        CHECK(record.body_octets == 6);
        REQUIRE(w.store->boxes["alice"].size() == 1);
        CHECK(after_trace(w.store->boxes["alice"][0]) == "X-Filtered: yes; fields=2\r\n" + message);
    }
    SECTION("a large body streams through in pieces, never held whole") {
        const auto r =
            replies(serve(*svc, each(ehlo + mail + rcpt + "DATA\r\n") + big_message(1024 * 1024, ".\r\nQUIT\r\n")));
        CHECK(r[4].rfind("250 2.0.0 OK: stored as ", 0) == 0);
        CHECK(record.body_octets == 1024 * 1024 - std::string("Subject: big\r\n\r\n").size());
        CHECK(record.body_pieces >= 16);
        CHECK(w.store->writes.size() >= 16);
    }
    SECTION("a refusal at the end: heard as given, and nothing is stored") {
        record.refuse_at_end = reply::smtp(550, "5.7.1", "spam detected");
        const auto r = replies(serve(
            *svc, each(ehlo + mail + rcpt + "DATA\r\n") + std::vector<std::string>{message + ".\r\n", "QUIT\r\n"}));
        CHECK(r[4] == "550 5.7.1 spam detected");
        CHECK(w.store->messages() == 0);
        CHECK(w.store->given_up == 1);
    }
    SECTION("a refusal after the header: the rest is read and dropped") {
        record.refuse_at_headers = reply::tempfail("greylisted");
        const auto r = replies(serve(*svc, each(ehlo + mail + rcpt + "DATA\r\n") +
                                               std::vector<std::string>{message + ".\r\n", "NOOP\r\n", "QUIT\r\n"}));
        CHECK(r[4] == "451 4.3.0 greylisted");
        CHECK(r[5] == "250 2.0.0 OK");  // the body was not taken for commands
        CHECK(record.body_octets == 0);
        CHECK(w.store->messages() == 0);
    }
}

TEST_CASE("smtp: an auth backend that cannot decide is heard in its own words", "[smtp][session][auth][pipeline]") {
    using mailwright::sasl::base64_encode;
    using namespace std::string_literals;
    world w;
    w.auth.maintenance_reply = reply::smtp(454, "4.7.0", "directory under maintenance until 10:00");
    w.auth.known.insert("maintenance");
    auto options = world::default_options(role::submission);
    options.plaintext_auth = true;  // PLAIN without TLS: this in-memory session has none
    auto svc = w.make(options);
    const std::string maintenance = "AUTH PLAIN " + base64_encode("\0maintenance\0x"s) + "\r\n";
    const std::string liar = "AUTH PLAIN " + base64_encode("\0liar\0x"s) + "\r\n";
    SECTION("AUTH") {
        const auto r = replies(serve(*svc, each(ehlo + maintenance + "QUIT\r\n")));
        CHECK(r[1] == "454 4.7.0 directory under maintenance until 10:00");
    }
    SECTION("a rejection never carries the backend's words: an unknown user and a wrong password stay alike") {
        const auto r = replies(serve(*svc, each(ehlo + liar + "QUIT\r\n")));
        CHECK(r[1] == "535 5.7.8 Authentication credentials invalid");
    }
    SECTION("a backend cannot turn its failure into success") {
        w.auth.maintenance_reply = reply::smtp(250, "2.0.0", "fine");
        const auto r = replies(serve(*svc, each(ehlo + maintenance + "QUIT\r\n")));
        CHECK(r[1] == "454 4.7.0 fine");
    }
    SECTION("RCPT: the recipient lookup") {
        w.auth.maintenance_reply = reply::smtp(451, "4.3.2", "directory under maintenance");
        auto mx = w.make();
        const auto r = replies(serve(*mx, each(ehlo + mail + "RCPT TO:<maintenance@example.org>\r\nQUIT\r\n")));
        CHECK(r[2] == "451 4.3.2 directory under maintenance");
        w.auth.maintenance_reply = reply::tempfail();
        const auto plain = replies(serve(*mx, each(ehlo + mail + "RCPT TO:<maintenance@example.org>\r\nQUIT\r\n")));
        CHECK(plain[2] == "450 4.3.0 <maintenance@example.org>: Recipient cannot be verified now, try again later");
    }
}

namespace {

// A filter with a bug: throws from the named call.
class throwing_filter final : public mailwright::plugin::message_filter {
  public:
    explicit throwing_filter(std::string where) : where_(std::move(where)) {}
    mailwright::plugin::field_action header(const mailwright::imf::header_field&) override {
        maybe_throw("header");
        return mailwright::plugin::field_action::keep;
    }
    asio::awaitable<reply> headers_done(mailwright::plugin::header_changes&) override {
        maybe_throw("headers_done");
        co_return reply::accept();
    }
    asio::awaitable<void> body(std::span<const char>) override {
        maybe_throw("body");
        co_return;
    }
    asio::awaitable<mailwright::plugin::filter_verdict> end() override {
        maybe_throw("end");
        co_return mailwright::plugin::filter_verdict::accept();
    }

  private:
    void maybe_throw(std::string_view call) const {
        if (call == where_) {
            throw std::runtime_error("filter bug in " + where_);
        }
    }
    std::string where_;
};

}  // namespace

TEST_CASE("smtp: a filter that throws refuses the message for now, and the session goes on",
          "[smtp][session][pipeline][filter][faults]") {
    for (const std::string where : {"header", "headers_done", "body", "end"}) {
        DYNAMIC_SECTION(where) {
            world w;
            w.filters = [&](const mailwright::plugin::event_context&) {
                mailwright::pipeline::filter_list list;
                list.push_back({"throwing", std::make_unique<throwing_filter>(where)});
                return list;
            };
            auto svc = w.make();
            const auto r = replies(serve(*svc, each(ehlo + mail + rcpt + "DATA\r\n") +
                                                   std::vector<std::string>{body + ".\r\n", "NOOP\r\n", "QUIT\r\n"}));
            REQUIRE(r.size() == 7);
            CHECK(r[4] == "451 4.3.0 Message not stored, try again later");
            CHECK(r[5] == "250 2.0.0 OK");
            CHECK(w.store->messages() == 0);
        }
    }
}
