// pipeline::message_pipeline with message filters (pipeline/message_pipeline.hpp, plugin/filter.hpp), driven
// directly: header edits whatever the pieces, the header block's limit, and the filters' answers at the end
// (per recipient, discard, refusal) against what the store is asked to keep.
#include <asio/awaitable.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mailwright/pipeline/message_pipeline.hpp"
#include "pipeline_fixture.hpp"
#include "support.hpp"

using namespace mailwright;
using plugin::reply;

namespace {

using namespace pipeline_test;

const std::string message =
    "Subject: hello\r\nX-Remove: me\r\nTo: <alice@example.org>,\r\n\t<bob@example.org>\r\n\r\nbody line\r\n";
const std::string edited =
    "Received: by test\r\nX-First: 1\r\nSubject: hello\r\nTo: <alice@example.org>,\r\n\t<bob@example.org>\r\n"
    "X-Last: 2\r\n\r\nbody line\r\n";

void edit(scripted_filter& f) {
    f.on_header = [](const imf::header_field& field) {
        return field.is("x-remove") ? plugin::field_action::remove : plugin::field_action::keep;
    };
    f.changes.prepend = {"X-First: 1"};
    f.changes.append = {"X-Last: 2"};
}

}  // namespace

TEST_CASE("pipeline: fields removed, prepended and appended, whatever the pieces", "[pipeline][filter]") {
    for (std::size_t cut = 0; cut <= message.size(); ++cut) {
        CAPTURE(cut);
        fixture fx;
        std::vector<std::string> seen;
        std::size_t body_octets = 0;
        auto& f = fx.add();
        edit(f);
        f.seen = &seen;
        f.body_octets = &body_octets;
        const auto answers = fx.push(message, {cut});
        CHECK(fx.store.log.text == edited);
        CHECK(seen == std::vector<std::string>{"Subject: hello\r\n", "X-Remove: me\r\n",
                                               "To: <alice@example.org>,\r\n\t<bob@example.org>\r\n"});
        CHECK(body_octets == std::string("body line\r\n").size());
        CHECK(answers.size() == 3);
    }
}

TEST_CASE("pipeline: a field one filter removes is not shown to the next", "[pipeline][filter]") {
    fixture fx;
    edit(fx.add("first"));
    std::vector<std::string> seen;
    fx.add("second").seen = &seen;
    fx.push(message);
    CHECK(seen ==
          std::vector<std::string>{"Subject: hello\r\n", "To: <alice@example.org>,\r\n\t<bob@example.org>\r\n"});
}

TEST_CASE("pipeline: a header block over the limit is refused, for the filters cannot see it whole",
          "[pipeline][filter]") {
    fixture fx;
    std::vector<std::string> seen;
    fx.add().seen = &seen;
    std::string huge;
    for (int i = 0; huge.size() < pipeline::max_header_block + 10'000; ++i) {
        huge += "X-Field-" + std::to_string(i) + ": " + std::string(100, 'v') + "\r\n";
    }
    const std::string whole = huge + "Authentication-Results: forged\r\n\r\nbody\r\n";
    std::vector<std::size_t> cuts;
    for (std::size_t at = 4096; at < whole.size(); at += 4096) {
        cuts.push_back(at);  // as a client's reads bring it
    }
    const auto answers = fx.push(whole, cuts);
    for (const auto& a : answers) {
        CHECK(a.code == 552);
        CHECK(a.enhanced == "5.3.4");
    }
    CHECK(seen.empty());
    CHECK(fx.store.log.given_up);
}

TEST_CASE("pipeline: a message that starts with white space is refused, filters or not", "[pipeline][filter]") {
    for (const bool with_filter : {false, true}) {
        fixture fx;
        if (with_filter) {
            fx.add();
        }
        const auto answers = fx.push(" ; dkim=pass header.d=bank.example\r\nSubject: x\r\n\r\nbody\r\n");
        CHECK(answers[0].code == 550);
        CHECK(answers[0].enhanced == "5.6.0");
        CHECK(fx.store.log.given_up);
    }
}

TEST_CASE("pipeline: a field a filter adds is one line of at most 998 octets", "[pipeline][filter]") {
    fixture fx;
    fx.add().changes.prepend = {"X-Two: one\r\n\tfolded\rend"};
    fx.push("Subject: x\r\n\r\nbody\r\n");
    CHECK(fx.store.log.text == "Received: by test\r\nX-Two: one   folded end\r\nSubject: x\r\n\r\nbody\r\n");
    fixture long_field;
    long_field.add().changes.append = {"X-Long: " + std::string(990, 'x')};
    const auto answers = long_field.push("Subject: x\r\n\r\nbody\r\n");
    CHECK(answers[0].temporary());  // refused for now, never cut
    CHECK(long_field.store.log.given_up);
}

TEST_CASE("pipeline: a binary body's header block may end with a bare LF", "[pipeline][filter]") {
    fixture fx;
    std::vector<std::string> seen;
    edit(fx.add());
    auto& second = fx.add("second");
    second.seen = &seen;
    fx.push("Subject: x\nX-Remove: y\n\nX-Remove: body\n");
    CHECK(seen == std::vector<std::string>{"Subject: x\n"});
    CHECK(fx.store.log.text == "Received: by test\r\nX-First: 1\r\nSubject: x\nX-Last: 2\r\n\nX-Remove: body\n");
}

TEST_CASE("pipeline: a filter's answers per recipient decide which mailboxes get the message", "[pipeline][filter]") {
    fixture fx;
    auto& f = fx.add();
    SECTION("bob refused: alice's mailbox only, and the alias to alice is delivered too") {
        f.verdict = plugin::filter_verdict::per_recipient(
            {reply::accept(), reply::smtp(550, "5.7.1", "not for bob"), reply::accept()});
        const auto answers = fx.push(message);
        REQUIRE(answers.size() == 3);
        CHECK(answers[0].ok());
        CHECK(answers[1].code == 550);
        CHECK(answers[1].text == "not for bob");
        CHECK(answers[2].ok());
        CHECK(fx.store.log.wanted == std::vector<bool>{true, false});
    }
    SECTION("one of alice's two addresses refused: her mailbox still gets it for the other") {
        f.verdict = plugin::filter_verdict::per_recipient({reply::tempfail("later"), reply::accept(), reply::accept()});
        const auto answers = fx.push(message);
        CHECK(answers[0].temporary());
        CHECK(answers[2].ok());
        CHECK(fx.store.log.wanted == std::vector<bool>{true, true});
    }
    SECTION("every recipient refused: nothing is committed") {
        f.verdict = plugin::filter_verdict::per_recipient({reply::reject(), reply::reject(), reply::reject()});
        const auto answers = fx.push(message);
        CHECK(answers[1].permanent());
        CHECK(fx.store.log.given_up);
    }
    SECTION("SMTP hears one answer: a refusal of one recipient refuses the message, and nothing is stored") {
        f.verdict = plugin::filter_verdict::per_recipient({reply::accept(), reply::reject("no"), reply::accept()});
        const auto answers = fx.push(message, {}, pipeline::answers::one_for_all);
        for (const auto& a : answers) {
            CHECK(a.permanent());
            CHECK(a.text == "no");
        }
        CHECK(fx.store.log.given_up);
    }
    SECTION("answers for the wrong number of recipients: refused for now, nothing stored") {
        f.verdict = plugin::filter_verdict::per_recipient({reply::accept()});
        const auto answers = fx.push(message);
        CHECK(answers[0].temporary());
        CHECK(fx.store.log.given_up);
    }
}

TEST_CASE("pipeline: a discarded message is heard as accepted, and nothing is stored", "[pipeline][filter]") {
    fixture fx;
    fx.add().verdict = plugin::filter_verdict::drop();
    std::vector<std::string> seen;
    fx.add("after").seen = &seen;
    pipeline::message_pipeline p(fx.store, fx.users, &fx.envelope, std::move(fx.filters));
    const auto answers = test::run([&]() -> asio::awaitable<std::vector<reply>> {
        co_await p.begin("");
        p.buffer() += message;
        co_return co_await p.finish();
    }());
    CHECK(p.discarded());
    for (const auto& a : answers) {
        CHECK(a.ok());
    }
    CHECK(fx.store.log.given_up);
}

TEST_CASE("pipeline: a refusal at the end refuses every recipient, first refusal first", "[pipeline][filter]") {
    fixture fx;
    fx.add("first").verdict = plugin::filter_verdict::refuse(reply::smtp(554, "5.7.1", "spam"));
    fx.add("second").verdict = plugin::filter_verdict::refuse(reply::tempfail("never asked"));
    const auto answers = fx.push(message);
    for (const auto& a : answers) {
        CHECK(a.code == 554);
        CHECK(a.text == "spam");
    }
    CHECK(fx.store.log.given_up);
}

TEST_CASE("pipeline: a filter that could not be made refuses the message for now, before the store begins",
          "[pipeline][filter][faults]") {
    fixture fx;
    fx.filters.push_back({"broken", nullptr});
    const auto answers = fx.push(message);
    for (const auto& a : answers) {
        CHECK(a.temporary());
    }
    CHECK_FALSE(fx.store.log.begun);
}
