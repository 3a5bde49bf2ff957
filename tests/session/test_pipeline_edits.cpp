// Filters that change the message at its end (message_filter::edits_at_end(): a milter's header actions and
// replacement body, a DKIM signature): the message is held back from the store until every filter answered,
// then stored as they left it; nothing reaches the store when they refuse or break the rules. And
// pipeline::apply_edits, which makes the header changes.
#include <asio/awaitable.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "mailwright/plugin/message_text.hpp"
#include "pipeline/field_edits.hpp"
#include "pipeline_fixture.hpp"

using namespace pipeline_test;
using kind = plugin::field_edit::kind;

namespace {

const std::string head = "Subject: hi\r\nTo: <a@example.org>\r\nX-Tag: one\r\nX-Tag: two\r\n";

std::string body_of(std::size_t size) {
    std::string body;
    while (body.size() < size) {
        body += "line " + std::to_string(body.size()) + "\r\n";
    }
    return body;
}

}  // namespace

TEST_CASE("pipeline: a filter's edits at the end are applied, and the body spooled meanwhile is stored whole",
          "[pipeline][filter][edits]") {
    const std::string body = body_of(300 * 1024);  // several pieces: the spool is read back in turn
    fixture fx;
    auto& f = fx.add("milter");
    std::size_t body_octets = 0;
    f.body_octets = &body_octets;
    f.edits = true;
    f.verdict.edits = {{kind::insert, "DKIM-Signature", "v=1; a=rsa-sha256;\n\tb=abc", 0},
                       {kind::change, "X-Tag", "changed", 2},
                       {kind::remove, "To", "", 1},
                       {kind::append, "X-Spam", "no", 0},
                       {kind::change, "X-Absent", "nothing", 1}};
    const std::string message = head + "\r\n" + body;
    const auto answers = fx.push(message, {10, 70 * 1024, 200 * 1024});
    for (const auto& a : answers) {
        CHECK(a.ok());
    }
    CHECK(body_octets == body.size());
    const std::string expected =
        "Received: by test\r\nDKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=abc\r\n"
        "Subject: hi\r\nX-Tag: one\r\nX-Tag: changed\r\nX-Spam: no\r\nX-Absent: nothing\r\n\r\n" +
        body;
    CHECK(fx.store.log.text.size() == expected.size());
    CHECK(fx.store.log.text == expected);
    CHECK(fx.store.log.wanted == std::vector<bool>{true, true});
}

TEST_CASE("pipeline: a filter's new body replaces the client's", "[pipeline][filter][edits]") {
    fixture fx;
    auto& f = fx.add("milter");
    f.edits = true;
    f.verdict.new_body = std::make_shared<plugin::string_reader>(body_of(5000), 1000);
    fx.push(head + "\r\nthe client's body\r\n");
    CHECK(fx.store.log.text == "Received: by test\r\n" + head + "\r\n" + body_of(5000));
}

TEST_CASE("pipeline: held messages reach the store only when a filter lets them", "[pipeline][filter][edits]") {
    fixture fx;
    auto& f = fx.add("milter");
    f.edits = true;
    SECTION("a refusal: nothing is written") {
        f.verdict = plugin::filter_verdict::refuse(reply::smtp(554, "5.7.1", "spam"));
        const auto answers = fx.push(head + "\r\n" + body_of(100 * 1024));
        CHECK(answers.front().code == 554);
    }
    SECTION("a discard: nothing is written") {
        f.verdict = plugin::filter_verdict::drop();
        fx.push(head + "\r\n" + body_of(100 * 1024));
    }
    SECTION("an edit that cannot be made refuses for now") {
        f.verdict.edits = {{kind::append, "X-Long", std::string(1200, 'x'), 0}};
        const auto answers = fx.push(head + "\r\nbody\r\n");
        CHECK(answers.front().temporary());
    }
    SECTION("a bad field name refuses for now") {
        f.verdict.edits = {{kind::append, "X Bad:", "v", 0}};
        const auto answers = fx.push(head + "\r\nbody\r\n");
        CHECK(answers.front().temporary());
    }
    CHECK(fx.store.log.text.empty());
    CHECK_FALSE(fx.store.log.begun);  // held: the store begins only for a message some filter let through
}

TEST_CASE("pipeline: a new body after a message without one gets its blank line", "[pipeline][filter][edits]") {
    fixture fx;
    auto& f = fx.add("milter");
    f.edits = true;
    f.verdict.new_body = std::make_shared<plugin::string_reader>("Body: not a field\r\n", 1000);
    fx.push("Subject: only a header");
    CHECK(fx.store.log.text == "Received: by test\r\nSubject: only a header\r\n\r\nBody: not a field\r\n");
}

TEST_CASE("pipeline: a change counts the client's fields, not those filters added", "[pipeline][filter][edits]") {
    fixture fx;
    auto& added = fx.add("headers");
    added.changes.prepend = {"Authentication-Results: ours"};
    auto& f = fx.add("milter");
    f.edits = true;
    f.verdict.edits = {{kind::remove, "Authentication-Results", "", 1}, {kind::change, "X-New", "v", 1}};
    fx.push("Authentication-Results: forged\r\nSubject: s\r\n\r\nbody\r\n");
    CHECK(fx.store.log.text ==
          "Received: by test\r\nAuthentication-Results: ours\r\nSubject: s\r\nX-New: v\r\n\r\nbody\r\n");
}

TEST_CASE("pipeline: edits that make the header block over 256 KiB refuse the message for now",
          "[pipeline][filter][edits]") {
    fixture fx;
    auto& f = fx.add("milter");
    f.edits = true;
    f.verdict.edits.assign(400, {kind::append, "X-Many", std::string(900, 'm'), 0});
    const auto answers = fx.push(head + "\r\nbody\r\n");
    CHECK(answers.front().temporary());
    CHECK(fx.store.log.text.empty());
}

TEST_CASE("pipeline: edits from a filter that did not say it edits refuse the message for now",
          "[pipeline][filter][edits]") {
    fixture fx;
    fx.add("sneaky").verdict.edits = {{kind::append, "X-Late", "1", 0}};
    const auto answers = fx.push(head + "\r\nbody\r\n");
    CHECK(answers.front().temporary());
    CHECK(fx.store.log.given_up);
}

TEST_CASE("apply_edits: values are folded with CRLF and cannot start a field or end the block", "[pipeline][edits]") {
    auto fields = pipeline::split_fields("A: 1\r\n", true);
    std::string why;
    REQUIRE(pipeline::apply_edits(
        fields,
        {{kind::append, "B", "x\r\ny", 0}, {kind::append, "C", "p\nq\r\n r", 0}, {kind::insert, "D", "bell\x07", 99}},
        &why));
    CHECK(pipeline::join_fields(fields) == "A: 1\r\nB: x y\r\nC: p q\r\n r\r\nD: bell \r\n");
}

TEST_CASE("apply_edits: change keeps the field's own spelling, counts occurrences case-insensitively",
          "[pipeline][edits]") {
    auto fields = pipeline::split_fields("x-tag: 1\r\nX-TAG: 2\r\nSubject: s\r\n", true);
    std::string why;
    REQUIRE(pipeline::apply_edits(fields, {{kind::change, "X-Tag", "two", 2}, {kind::remove, "x-tag", "", 1}}, &why));
    CHECK(pipeline::join_fields(fields) == "X-TAG: two\r\nSubject: s\r\n");
}

TEST_CASE("apply_edits: a line of 998 octets is refused, a folded long value is not", "[pipeline][edits]") {
    std::vector<pipeline::held_field> fields;
    std::string why;
    CHECK_FALSE(pipeline::apply_edits(fields, {{kind::append, "X", std::string(995, 'a'), 0}}, &why));
    CHECK(why.find("998") != std::string::npos);
    const std::string folded = std::string(900, 'a') + "\n\t" + std::string(900, 'b');
    CHECK(pipeline::apply_edits(fields, {{kind::append, "X", folded, 0}}, &why));
}
