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

using mailwright::log::json_line;

TEST_CASE("log::json_line: the session prefix becomes fields, the rest is the message", "[log]") {
    CHECK(json_line("2025-01-31T09:00:00.123+01:00", "info",
                    "session=12 peer=127.0.0.1:40000 authentication failed client=127.0.0.1 mechanism=PLAIN") ==
          R"({"time":"2025-01-31T09:00:00.123+01:00","level":"info","session":12,"peer":"127.0.0.1:40000",)"
          R"("message":"authentication failed client=127.0.0.1 mechanism=PLAIN"})");
    CHECK(json_line("t", "warning", "session=3 peer=[::1]:25 x") ==
          R"({"time":"t","level":"warning","session":3,"peer":"[::1]:25","message":"x"})");
    // A line about no session keeps its words.
    CHECK(json_line("t", "info", "listening listener=pop3 address=127.0.0.1:110 workers=2") ==
          R"({"time":"t","level":"info","message":"listening listener=pop3 address=127.0.0.1:110 workers=2"})");
    // Only the prefix session::log_prefix() makes: anything else is message.
    CHECK(json_line("t", "info", "session=x peer=a b") ==
          R"({"time":"t","level":"info","message":"session=x peer=a b"})");
    CHECK(json_line("t", "info", "session=1 peer= b") ==
          R"({"time":"t","level":"info","message":"session=1 peer= b"})");
    CHECK(json_line("t", "info", "session=1 b") == R"({"time":"t","level":"info","message":"session=1 b"})");
    CHECK(json_line("t", "info", "session=1 peer=p") ==
          R"({"time":"t","level":"info","session":1,"peer":"p","message":""})");
    CHECK(json_line("t", "info", "") == R"({"time":"t","level":"info","message":""})");
}

TEST_CASE("log::json_line: quotes and backslashes are escaped for JSON, after the escaping of every line", "[log]") {
    // A user name that tries to close the string and add a field of its own.
    CHECK(
        json_line("t", "info", R"(session=1 peer=p user=x","session":999,"peer":"6.6.6.6)") ==
        R"({"time":"t","level":"info","session":1,"peer":"p","message":"user=x\",\"session\":999,\"peer\":\"6.6.6.6"})");
    // The text line says "a\\b" for a backslash the client sent: so does the JSON string, once decoded.
    CHECK(json_line("t", "info", "a\\b") == R"({"time":"t","level":"info","message":"a\\\\b"})");
    // Control characters never reach JSON raw: escape() has written them out, and JSON escapes its backslash.
    CHECK(json_line("t", "info", "a\nb\x01") == R"({"time":"t","level":"info","message":"a\\nb\\x01"})");
    CHECK(json_line("t", "info", "J\xc3\xbcrgen \xe2\x80\xa8") ==
          "{\"time\":\"t\",\"level\":\"info\",\"message\":\"J\xc3\xbcrgen \\\\u{2028}\"}");
    // The long-message cut applies as it does to text.
    const std::string line = json_line("t", "info", std::string(10000, 'a'));
    CHECK(line.find("...[5904 octets cut]\"}") != std::string::npos);
}
