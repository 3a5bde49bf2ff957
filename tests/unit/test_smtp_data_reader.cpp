// The end of SMTP data: every smuggling ending from the 2023 research (and the NUL variants) leaves exactly
// one message, split at every offset; dot-unstuffing; bare line ends; over-long lines.
#include "mailwright/smtp/data_reader.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using mailwright::smtp::bare_line_ends;
using mailwright::smtp::data_reader;
using namespace std::string_literals;

namespace {

struct outcome {
    std::string message;
    std::size_t consumed = 0;
    bool finished = false;
    data_reader::problem problem = data_reader::problem::none;
};

// Feeds `input` in two pieces split at `split`, as two TCP segments would arrive.
outcome read(std::string_view input, std::size_t split, data_reader::options o = {}) {
    data_reader reader(o);
    outcome out;
    for (std::string_view piece : {input.substr(0, split), input.substr(split)}) {
        const auto r = reader.feed(piece, out.message);
        out.consumed += r.consumed;
        if (r.finished) {
            out.finished = true;
            break;
        }
    }
    out.problem = reader.first_problem();
    return out;
}

// The first of a NUL, a CR not followed by LF and an LF not preceded by CR in text (lines short enough), as
// the reader reports it: a bare CR or LF ends its line, which is when it is noticed; a NUL is noticed at once.
data_reader::problem first_problem_in(std::string_view text, bare_line_ends bare) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\0') {
            return data_reader::problem::nul;
        }
        if (bare == bare_line_ends::reject && ((text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) ||
                                               (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')))) {
            return data_reader::problem::bare_line_end;
        }
    }
    return data_reader::problem::none;
}

}  // namespace

TEST_CASE("smtp data: CRLF.CRLF ends the message, stuffing dots are removed, at every split", "[smtp][data]") {
    const std::string input = "Subject: x\r\n\r\n..leading\r\n...two\r\nend.\r\n.\r\nMAIL FROM:<a@b>\r\n";
    const std::string expected = "Subject: x\r\n\r\n.leading\r\n..two\r\nend.\r\n";
    for (std::size_t split = 0; split <= input.size(); ++split) {
        INFO("split at " << split);
        const auto o = read(input, split);
        CHECK(o.finished);
        CHECK(o.message == expected);
        CHECK(o.consumed == input.find("MAIL"));  // the next command is left for the session
        CHECK(o.problem == data_reader::problem::none);
    }
}

TEST_CASE("smtp data: an empty message ends at once", "[smtp][data]") {
    const auto o = read(".\r\n", 1);
    CHECK(o.finished);
    CHECK(o.message.empty());
    CHECK(o.consumed == 3);
}

TEST_CASE("smtp data: no smuggling ending ever ends the message", "[smtp][data][smuggling]") {
    // The endings of SEC Consult's and hannob/smtpsmug's tests; after each, the attacker's second message.
    // (A NUL before a real CRLF.CRLF, "\0\r\n.\r\n", is a real end and not in the list.)
    const std::vector<std::string> endings = {
        "\n.\n"s,   "\r.\r"s,   "\r.\n"s,     "\n.\r"s,       "\n.\r\n"s,     "\r\n.\n"s,
        "\r.\r\n"s, "\r\n.\r"s, "\n.\n\r\n"s, "\r\n\0.\r\n"s, "\r\n.\0\r\n"s, "\r\n\r.\r\n"s,
    };
    for (auto bare : {bare_line_ends::reject, bare_line_ends::normalise}) {
        for (const auto& ending : endings) {
            const std::string first = "Subject: one\r\n\r\nbody";
            const std::string smuggled =
                "MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n"
                "Subject: smuggled\r\n\r\nx\r\n";
            const std::string input = first + ending + smuggled + ".\r\nQUIT\r\n";
            for (std::size_t split = 0; split <= input.size(); ++split) {
                INFO("ending " << ::Catch::Detail::stringify(ending) << " split " << split);
                const auto o = read(input, split, {.max_line = 1000, .bare = bare});
                // Exactly one message, ending at the one real CRLF.CRLF: the smuggled commands are its text.
                REQUIRE(o.finished);
                CHECK(o.consumed == input.size() - 6);
                CHECK(o.message.find("Subject: smuggled") != std::string::npos);
                // A NUL in the text is a problem whatever the policy for line ends (RFC 6152 excludes it).
                CHECK(o.problem == first_problem_in(input, bare));
            }
        }
    }
}

TEST_CASE("smtp data: bare LF and bare CR are problems by default and CRLF when normalised", "[smtp][data]") {
    const std::string input = "a\nb\rc\r\n.\r\n";
    const auto rejected = read(input, 0);
    CHECK(rejected.finished);
    CHECK(rejected.problem == data_reader::problem::bare_line_end);
    const auto normalised = read(input, 0, {.max_line = 1000, .bare = bare_line_ends::normalise});
    CHECK(normalised.finished);
    CHECK(normalised.problem == data_reader::problem::none);
    CHECK(normalised.message == "a\r\nb\r\nc\r\n");
}

TEST_CASE("smtp data: a line over the limit is a problem, never cut, and the end is still found", "[smtp][data]") {
    const std::string long_line(999, 'x');  // 999 + CRLF = 1001 octets
    const std::string input = "ok\r\n" + long_line + "\r\nafter\r\n.\r\n";
    const auto o = read(input, 500);
    CHECK(o.finished);
    CHECK(o.problem == data_reader::problem::line_too_long);
    CHECK(o.consumed == input.size());
    const auto fits = read("ok\r\n" + std::string(998, 'x') + "\r\n.\r\n", 3);
    CHECK(fits.problem == data_reader::problem::none);
    // The stuffing dot is not part of the line: ".." + 997 octets is a line of 998 after unstuffing.
    const auto stuffed = read("ok\r\n.." + std::string(997, 'x') + "\r\n.\r\n", 3);
    CHECK(stuffed.problem == data_reader::problem::none);
    CHECK(stuffed.message.size() == 4 + 998 + 2);
}

TEST_CASE("smtp data: byte by byte", "[smtp][data]") {
    const std::string input = "..a\r\n.\r\n";
    data_reader reader;
    std::string message;
    bool finished = false;
    for (std::size_t i = 0; i < input.size() && !finished; ++i) {
        finished = reader.feed(std::string_view(&input[i], 1), message).finished;
    }
    CHECK(finished);
    CHECK(message == ".a\r\n");
}

TEST_CASE("smtp data: BDAT text (not dot-framed) keeps dots, never ends, and still checks lines", "[smtp][data]") {
    const std::string text = "Subject: x\r\n\r\n.\r\n..two\r\n.\r\n";
    for (std::size_t split = 0; split <= text.size(); ++split) {
        INFO("split at " << split);
        const auto r = read(text, split, {.dot_framed = false});
        CHECK(!r.finished);
        CHECK(r.consumed == text.size());
        CHECK(r.message == text);  // the chunk sizes frame BDAT: a dot line is content, stuffing is not undone
        CHECK(r.problem == data_reader::problem::none);
    }
    SECTION("a CR left at the end is bare once the message ends") {
        data_reader reader({.dot_framed = false});
        std::string out;
        reader.feed("last line\r", out);
        CHECK(reader.first_problem() == data_reader::problem::none);  // its LF may be in the next chunk
        reader.finish(out);
        CHECK(reader.first_problem() == data_reader::problem::bare_line_end);
        CHECK(out == "last line\r\n");
    }
    SECTION("bare LF and over-long lines") {
        CHECK(read("a\nb\r\n", 1, {.dot_framed = false}).problem == data_reader::problem::bare_line_end);
        const auto normalised = read("a\nb\r\n", 1, {.bare = bare_line_ends::normalise, .dot_framed = false});
        CHECK(normalised.problem == data_reader::problem::none);
        CHECK(normalised.message == "a\r\nb\r\n");
        CHECK(read(std::string(999, 'x') + "\r\n", 500, {.dot_framed = false}).problem ==
              data_reader::problem::line_too_long);
        CHECK(read(std::string(998, 'x') + "\r\n", 500, {.dot_framed = false}).problem == data_reader::problem::none);
    }
}

TEST_CASE("smtp data: a NUL anywhere in the text is a problem, and the end is still found, at every split",
          "[smtp][data][nul]") {
    // RFC 6152 and RFC 5321 4.5.2: text (7BIT or 8BITMIME) holds no NUL. A next hop that drops or stops at a NUL
    // reads "\r\n\0.\r\n" as the end of the data: kept and passed on, it is a smuggling path.
    struct nul_case {
        const char* name;
        std::string text;
    };
    const nul_case cases[] = {
        {"<CR><LF><NUL>.<CR><LF>", "Subject: x\r\n\r\nbody\r\n\0.\r\nmore\r\n"s},
        {"<CR><LF>.<NUL><CR><LF>", "Subject: x\r\n\r\nbody\r\n.\0\r\nmore\r\n"s},
        {"a NUL inside a line", "Subject: x\r\n\r\nbo\0dy\r\n"s},
        {"a NUL first", "\0Subject: x\r\n\r\nbody\r\n"s},
        {"a NUL at the end of a long run", "Subject: x\r\n\r\n"s + std::string(900, 'y') + "\0\r\n"s},
    };
    for (const auto bare : {bare_line_ends::reject, bare_line_ends::normalise}) {
        for (const auto& c : cases) {
            const std::string input = c.text + ".\r\nMAIL FROM:<a@b>\r\n";
            for (std::size_t split = 0; split <= input.size(); ++split) {
                INFO(c.name << " split " << split);
                const auto o = read(input, split, {.max_line = 1000, .bare = bare});
                CHECK(o.finished);
                CHECK(o.consumed == input.find("MAIL"));
                CHECK(o.problem == data_reader::problem::nul);
            }
        }
    }
    SECTION("BDAT text too") {
        const std::string text = "Subject: x\r\n\r\n.\0\r\n"s;
        for (std::size_t split = 0; split <= text.size(); ++split) {
            INFO("split " << split);
            CHECK(read(text, split, {.dot_framed = false}).problem == data_reader::problem::nul);
        }
    }
    SECTION("the first problem wins: a bare LF before a NUL, a NUL before a long line's limit") {
        CHECK(read("a\nb\0\r\n.\r\n"s, 2).problem == data_reader::problem::bare_line_end);
        CHECK(read("a\0b\nc\r\n.\r\n"s, 2).problem == data_reader::problem::nul);
        CHECK(read(std::string(10, 'x') + "\0"s + std::string(1000, 'x') + "\r\n.\r\n", 5).problem ==
              data_reader::problem::nul);
        CHECK(read(std::string(1000, 'x') + "\0"s + "\r\n.\r\n", 5).problem == data_reader::problem::line_too_long);
    }
}
