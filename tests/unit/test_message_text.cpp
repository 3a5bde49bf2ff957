// The SDK's message helpers for stores (plugin/message_text.hpp): POP3 sizes, TOP's cut, the string reader and
// the LF-to-CRLF converter, with the input split at every offset.
#include "mailwright/plugin/message_text.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "support.hpp"

namespace mw = mailwright::plugin;

namespace {

// What the converter makes of `raw` split at `split`.
std::string converted(std::string_view raw, std::optional<std::size_t> body_lines, std::size_t split) {
    mw::crlf_converter c(body_lines);
    std::string out;
    const auto used = c.convert(raw.substr(0, split), out);
    if (used == split && !c.finished()) {
        c.convert(raw.substr(split), out);
    }
    return out;
}

std::string read_all(mw::message_reader& reader, std::size_t buffer_size, std::size_t* reads = nullptr) {
    std::string out;
    std::string buffer(buffer_size, '\0');
    for (std::size_t n = 0; n < 10000; ++n) {
        const auto r = mailwright::test::run(reader.read_some(std::span<char>(buffer.data(), buffer.size())));
        REQUIRE(!r.ec);
        if (r.bytes == 0) {
            if (reads) {
                *reads = n;
            }
            return out;
        }
        out.append(buffer.data(), r.bytes);
    }
    FAIL("the reader never ended");
    return out;
}

const std::string message = "From: a@example.org\r\nSubject: hi\r\n\r\none\r\ntwo\r\nthree\r\n";

}  // namespace

TEST_CASE("pop3_size: a last line without its end gains CRLF", "[plugin][message_text]") {
    CHECK(mw::pop3_size(message) == message.size());
    CHECK(mw::pop3_size("Subject: x\r\n\r\nno end") == 22);
    CHECK(mw::pop3_size("") == 0);
    CHECK(mw::pop3_size("bare LF\n") == 8);  // kept as given: POP3 adds nothing after an LF
}

TEST_CASE("top_of: the headers, the empty line and N body lines", "[plugin][message_text][top]") {
    CHECK(mw::top_of(message, 0) == "From: a@example.org\r\nSubject: hi\r\n\r\n");
    CHECK(mw::top_of(message, 1) == "From: a@example.org\r\nSubject: hi\r\n\r\none\r\n");
    CHECK(mw::top_of(message, 2) == "From: a@example.org\r\nSubject: hi\r\n\r\none\r\ntwo\r\n");
    CHECK(mw::top_of(message, 3) == message);
}

TEST_CASE("top_of: N larger than the body, or no body at all, is the whole message", "[plugin][message_text][top]") {
    CHECK(mw::top_of(message, 100) == message);
    CHECK(mw::top_of("Subject: x\r\n\r\n", 5) == "Subject: x\r\n\r\n");
    CHECK(mw::top_of("Subject: x\r\n\r\n", 0) == "Subject: x\r\n\r\n");
    // No empty line: all of it is the header block.
    CHECK(mw::top_of("Subject: x\r\nTo: y\r\n", 0) == "Subject: x\r\nTo: y\r\n");
    CHECK(mw::top_of("", 3).empty());
}

TEST_CASE("top_of: a last line without its end is a line, sent as it is", "[plugin][message_text][top]") {
    const std::string text = "Subject: x\r\n\r\none\r\nlast";
    CHECK(mw::top_of(text, 1) == "Subject: x\r\n\r\none\r\n");
    CHECK(mw::top_of(text, 2) == text);
    CHECK(mw::top_of("Subject: no end", 0) == "Subject: no end");
}

TEST_CASE("top_of: bare LF ends lines and the header block as CRLF does", "[plugin][message_text][top]") {
    CHECK(mw::top_of("Subject: x\n\none\ntwo\n", 1) == "Subject: x\n\none\n");
    CHECK(mw::top_of("Subject: x\r\n\nbody\r\n", 0) == "Subject: x\r\n\n");
    // A line of only CRs is empty, as a line "\r\r\n" is in a Maildir file.
    CHECK(mw::top_of("Subject: x\r\n\r\r\nbody\r\n", 0) == "Subject: x\r\n\r\r\n");
}

TEST_CASE("string_reader: the text in pieces of at most `piece`, then 0", "[plugin][message_text]") {
    mw::string_reader small(message, 7);
    std::size_t reads = 0;
    CHECK(read_all(small, 100, &reads) == message);
    CHECK(reads == (message.size() + 6) / 7);
    mw::string_reader big(message);
    CHECK(read_all(big, 5) == message);  // the caller's buffer bounds a read too
    mw::string_reader empty("");
    CHECK(read_all(empty, 5).empty());
}

TEST_CASE("text_message: ok, the whole text or TOP's cut", "[plugin][message_text][top]") {
    auto whole = mw::text_message(message, std::nullopt);
    REQUIRE(whole.status == mw::store_status::ok);
    CHECK(read_all(*whole.reader, 64) == message);
    auto top = mw::text_message(message, 1);
    REQUIRE(top.status == mw::store_status::ok);
    CHECK(read_all(*top.reader, 64) == "From: a@example.org\r\nSubject: hi\r\n\r\none\r\n");
}

TEST_CASE("crlf_converter: LF becomes CRLF, CRLF stays, at every split", "[plugin][message_text][crlf]") {
    const std::string raw = "Subject: x\n\nline\r\nbare\rCR\nlast";
    const std::string expected = "Subject: x\r\n\r\nline\r\nbare\rCR\r\nlast";
    for (std::size_t split = 0; split <= raw.size(); ++split) {
        INFO("split at " << split);
        CHECK(converted(raw, std::nullopt, split) == expected);
    }
}

TEST_CASE("crlf_converter: TOP stops after N body lines, at every split", "[plugin][message_text][crlf][top]") {
    const std::string raw = "Subject: x\nTo: y\n\none\ntwo\nthree\n";
    for (std::size_t split = 0; split <= raw.size(); ++split) {
        INFO("split at " << split);
        CHECK(converted(raw, 0, split) == "Subject: x\r\nTo: y\r\n\r\n");
        CHECK(converted(raw, 2, split) == "Subject: x\r\nTo: y\r\n\r\none\r\ntwo\r\n");
        CHECK(converted(raw, 9, split) == "Subject: x\r\nTo: y\r\n\r\none\r\ntwo\r\nthree\r\n");
    }
}

TEST_CASE("crlf_converter: agrees with top_of on CRLF text, and says when it has all", "[plugin][message_text][top]") {
    for (std::size_t n = 0; n < 6; ++n) {
        INFO("TOP " << n);
        CHECK(converted(message, n, message.size()) == mw::top_of(message, n));
    }
    mw::crlf_converter c(1);
    std::string out;
    CHECK(c.convert("Subject: x\n\nfirst\nsecond\n", out) == 18);  // up to the end of "first\n"
    CHECK(c.finished());
    CHECK(c.convert("more\n", out) == 0);
    CHECK(out == "Subject: x\r\n\r\nfirst\r\n");
}

TEST_CASE("crlf_size_counter: what POP3 sends of an LF text, final CRLF included", "[plugin][message_text][crlf]") {
    const std::string raw = "Subject: x\n\nline\r\nno end";
    for (std::size_t split = 0; split <= raw.size(); ++split) {
        mw::crlf_size_counter count;
        count.add(std::string_view(raw).substr(0, split));
        count.add(std::string_view(raw).substr(split));
        CHECK(count.total() == converted(raw, std::nullopt, raw.size()).size() + 2);
    }
    mw::crlf_size_counter ends;
    ends.add("a\nb\n");
    CHECK(ends.total() == 6);
    CHECK(mw::crlf_size_counter{}.total() == 0);
}
