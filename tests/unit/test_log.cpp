// log::escape: what a client says can never start a log line of its own (SECURITY-CASES 44); stderr's sink,
// shared by threads without a lock of ours.
#include "mailwright/log/log.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

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

namespace {

// Runs `body` with stderr going to a temporary file, and returns what was written there.
template <class F>
std::string capture_stderr(F body) {
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    const int saved = ::dup(STDERR_FILENO);
    ::dup2(::fileno(file), STDERR_FILENO);
    body();
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::string text;
    std::rewind(file);
    char chunk[4096];
    for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, file)) > 0;) {
        text.append(chunk, n);
    }
    std::fclose(file);
    return text;
}

}  // namespace

TEST_CASE("log on stderr: lines from several threads at once each arrive whole, none lost", "[log]") {
    constexpr int threads = 4;
    constexpr int lines = 2000;
    const std::string text = capture_stderr([] {
        mailwright::log::init(mailwright::log::level::info);
        std::vector<std::thread> writers;
        for (int t = 0; t < threads; ++t) {
            writers.emplace_back([t] {
                for (int i = 0; i < lines; ++i) {
                    spdlog::info("writer={} line={} {}", t, i, std::string(200, static_cast<char>('a' + t)));
                }
            });
        }
        for (auto& w : writers) {
            w.join();
        }
    });
    std::map<int, int> next_line;  // each writer's lines in its own order
    std::istringstream in(text);
    int count = 0;
    for (std::string line; std::getline(in, line); ++count) {
        int writer = -1;
        int number = -1;
        const auto at = line.find(" info writer=");
        REQUIRE(at != std::string::npos);
        REQUIRE(std::sscanf(line.c_str() + at, " info writer=%d line=%d", &writer, &number) == 2);
        CHECK(line.size() - line.rfind(' ') - 1 == 200);
        CHECK(line.back() == static_cast<char>('a' + writer));
        CHECK(number == next_line[writer]++);
    }
    CHECK(count == threads * lines);
}

TEST_CASE("log on stderr: a thread that logged before a new init() writes in the new form after it", "[log]") {
    const std::string text = capture_stderr([] {
        mailwright::log::init(mailwright::log::settings{.threshold = mailwright::log::level::info});
        spdlog::info("before");
        mailwright::log::init(mailwright::log::settings{.threshold = mailwright::log::level::info,
                                                        .style = mailwright::log::format::json});
        spdlog::info("after");
    });
    CHECK(text.find(" info before\n") != std::string::npos);
    CHECK(text.find("\"message\":\"after\"}\n") != std::string::npos);
}
