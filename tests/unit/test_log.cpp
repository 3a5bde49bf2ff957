// log::escape: what a client says can never start a log line of its own (SECURITY-CASES 44).
#include "mailwright/log/log.hpp"

#include <catch2/catch.hpp>
#include <string>

using mailwright::log::escape;

TEST_CASE("log::escape: ordinary text passes unchanged", "[log]") {
    CHECK(escape("session=1 peer=127.0.0.1:4000 logged in as alice") ==
          "session=1 peer=127.0.0.1:4000 logged in as alice");
    CHECK(escape("J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x93\xa7") == "J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x93\xa7");
    CHECK(escape("") == "");
}

TEST_CASE("log::escape: a forged line stays on the line it came in", "[log]") {
    const std::string forged =
        "x\n2026-12-04T09:00:00.000+00:00 info session=999 peer=203.0.113.7:4242 logged in as demo";
    const std::string out = escape(forged);
    CHECK(out.find('\n') == std::string::npos);
    CHECK(out == "x\\n2026-12-04T09:00:00.000+00:00 info session=999 peer=203.0.113.7:4242 logged in as demo");
    CHECK(escape("a\rb\tc") == "a\\rb\\tc");
}

TEST_CASE("log::escape: control characters, DEL, NUL and the backslash", "[log]") {
    CHECK(escape(std::string("a\0b", 3)) == "a\\x00b");
    CHECK(escape("\x1b[31mred") == "\\x1b[31mred");  // a terminal escape sequence
    CHECK(escape("\x7f") == "\\x7f");
    // An escape a client typed itself is escaped again, so it can never pass for one of ours.
    CHECK(escape("a\\nb") == "a\\\\nb");
}

TEST_CASE("log::escape: malformed UTF-8 octet by octet, valid but unsafe code points by number", "[log]") {
    CHECK(escape("\xff\xfe") == "\\xff\\xfe");
    CHECK(escape("\xc3") == "\\xc3");                          // truncated
    CHECK(escape("\xc0\xaf") == "\\xc0\\xaf");                 // overlong '/'
    CHECK(escape("\xed\xa0\x80") == "\\xed\\xa0\\x80");        // a surrogate
    CHECK(escape("a\xc2\x85z") == "a\\u{0085}z");              // NEL, a C1 control
    CHECK(escape("evil(\xe2\x80\xa8x") == "evil(\\u{2028}x");  // line separator
    CHECK(escape("\xe2\x80\xae") == "\\u{202e}");              // right-to-left override
}

TEST_CASE("log::escape: length limit", "[log]") {
    const std::string long_name(10000, 'a');
    const std::string out = escape(long_name, 100);
    CHECK(out == std::string(100, 'a') + "...[9900 octets cut]");
    // The limit counts escaped octets: a line of newlines cannot grow four times past it.
    const std::string newlines(1000, '\n');
    CHECK(escape(newlines, 100).size() < 100 + 40);
    CHECK(escape("short", 100) == "short");
}
