// Dot-stuffing of multi-line replies, with the input split at every offset.
#include "mailwright/io/dot_stuffing.hpp"

#include <catch2/catch.hpp>
#include <string>

using mailwright::io::dot_stuffer;

namespace {
std::string stuff(std::string_view text, std::size_t split) {
    dot_stuffer s;
    std::string out;
    s.append(text.substr(0, split), out);
    s.append(text.substr(split), out);
    s.finish(out);
    return out;
}
}  // namespace

TEST_CASE("dot-stuffing: leading dots doubled, terminator added, at every split", "[io][dot]") {
    const std::string text = ".hidden\r\nplain\r\n..two\r\n.\r\nend.\r\n";
    const std::string expected = "..hidden\r\nplain\r\n...two\r\n..\r\nend.\r\n.\r\n";
    for (std::size_t split = 0; split <= text.size(); ++split) {
        INFO("split at " << split);
        CHECK(stuff(text, split) == expected);
    }
}

TEST_CASE("dot-stuffing: a text without a final line end still ends with CRLF.CRLF", "[io][dot]") {
    CHECK(stuff("no newline", 3) == "no newline\r\n.\r\n");
    CHECK(stuff("", 0) == ".\r\n");
}

TEST_CASE("dot-stuffing: byte by byte", "[io][dot]") {
    const std::string text = ".a\r\n.\r\nb\r\n";
    dot_stuffer s;
    std::string out;
    for (char c : text) {
        s.append(std::string_view(&c, 1), out);
    }
    s.finish(out);
    CHECK(out == "..a\r\n..\r\nb\r\n.\r\n");
}
