// line_buffer: every case fed whole, split at every offset, and byte by byte must give the same lines.
#include "mailwright/io/line_buffer.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using mailwright::io::bare_lf_policy;
using mailwright::io::line_buffer;
using mailwright::io::line_limits;

namespace {

// Renders what next() returns: "L:<text>" for a line, "TOO_LONG", "BARE_LF".
std::vector<std::string> drain(line_buffer& buffer) {
    std::vector<std::string> out;
    for (;;) {
        const auto r = buffer.next();
        switch (r.kind) {
            case line_buffer::status::line:
                out.push_back("L:" + std::string(r.line));
                break;
            case line_buffer::status::too_long:
                out.emplace_back("TOO_LONG");
                break;
            case line_buffer::status::bare_lf:
                out.emplace_back("BARE_LF");
                break;
            case line_buffer::status::need_more:
                return out;
        }
    }
}

// Feeds the chunks in order, as reads of at most `read_size` octets each.
std::vector<std::string> feed(line_limits limits, const std::vector<std::string>& chunks,
                              std::size_t read_size = SIZE_MAX) {
    line_buffer buffer(limits);
    std::vector<std::string> out;
    for (const auto& chunk : chunks) {
        std::size_t at = 0;
        while (at < chunk.size()) {
            auto space = buffer.prepare();
            REQUIRE(!space.empty());
            const std::size_t n = std::min({space.size(), chunk.size() - at, read_size});
            std::copy_n(chunk.data() + at, n, space.data());
            buffer.commit(n);
            at += n;
            auto lines = drain(buffer);
            out.insert(out.end(), lines.begin(), lines.end());
        }
    }
    return out;
}

struct named_case {
    const char* name;
    line_limits limits;
    std::string input;
    std::vector<std::string> expected;
};

const std::string long_line = std::string(30, 'x');  // over the limit of 16 below

const std::vector<named_case> cases = {
    {"one CRLF line", {16, bare_lf_policy::accept}, "NOOP\r\n", {"L:NOOP"}},
    {"pipelined lines",
     {16, bare_lf_policy::accept},
     "USER a\r\nPASS b\r\nSTAT\r\n",
     {"L:USER a", "L:PASS b", "L:STAT"}},
    {"empty line", {16, bare_lf_policy::accept}, "\r\n", {"L:"}},
    {"partial line is held back", {16, bare_lf_policy::accept}, "NOOP\r\nSTA", {"L:NOOP"}},
    {"bare LF accepted", {16, bare_lf_policy::accept}, "NOOP\nQUIT\r\n", {"L:NOOP", "L:QUIT"}},
    {"bare LF rejected", {16, bare_lf_policy::reject}, "NOOP\nQUIT\r\n", {"BARE_LF", "L:QUIT"}},
    {"CR inside a line is data", {16, bare_lf_policy::reject}, "A\rB\r\n", {"L:A\rB"}},
    {"exactly max_line with CRLF",
     {16, bare_lf_policy::accept},
     std::string(14, 'a') + "\r\n",
     {"L:" + std::string(14, 'a')}},
    {"one over max_line", {16, bare_lf_policy::accept}, std::string(15, 'a') + "\r\nNOOP\r\n", {"TOO_LONG", "L:NOOP"}},
    {"long line skipped, not truncated and run",
     {16, bare_lf_policy::accept},
     long_line + "QUIT\r\nNOOP\r\n",
     {"TOO_LONG", "L:NOOP"}},
    {"two long lines",
     {16, bare_lf_policy::accept},
     long_line + "\r\n" + long_line + "\r\nX\r\n",
     {"TOO_LONG", "TOO_LONG", "L:X"}},
    {"NUL is data", {16, bare_lf_policy::accept}, std::string("A\0B\r\n", 5), {"L:" + std::string("A\0B", 3)}},
};

}  // namespace

TEST_CASE("line_buffer: each case, fed whole", "[line_buffer]") {
    for (const auto& c : cases) {
        INFO(c.name);
        CHECK(feed(c.limits, {c.input}) == c.expected);
    }
}

TEST_CASE("line_buffer: each case, split at every offset", "[line_buffer]") {
    for (const auto& c : cases) {
        for (std::size_t split = 0; split <= c.input.size(); ++split) {
            INFO(c.name << ", split at " << split);
            CHECK(feed(c.limits, {c.input.substr(0, split), c.input.substr(split)}) == c.expected);
        }
    }
}

TEST_CASE("line_buffer: each case, byte by byte", "[line_buffer]") {
    for (const auto& c : cases) {
        INFO(c.name);
        CHECK(feed(c.limits, {c.input}, 1) == c.expected);
    }
}

TEST_CASE("line_buffer: an over-long line is reported before its end arrives", "[line_buffer]") {
    // A client that never sends LF must still get its error, not hold a full buffer forever.
    CHECK(feed({16, bare_lf_policy::accept}, {std::string(16, 'a')}) == std::vector<std::string>{"TOO_LONG"});
    CHECK(feed({16, bare_lf_policy::accept}, {std::string(15, 'a')}).empty());
}

TEST_CASE("line_buffer: a limit of 255 octets accepts a 255-octet POP3 command", "[line_buffer]") {
    const std::string command = "USER " + std::string(248, 'u') + "\r\n";  // 255 octets with CRLF (RFC 2449)
    REQUIRE(command.size() == 255);
    CHECK(feed({255, bare_lf_policy::accept}, {command}) == std::vector<std::string>{"L:" + command.substr(0, 253)});
}

TEST_CASE("line_buffer: discard drops everything buffered", "[line_buffer]") {
    line_buffer buffer({64, bare_lf_policy::accept});
    const std::string input = "STLS\r\nCAPA\r\nUSER x";
    auto space = buffer.prepare();
    std::copy(input.begin(), input.end(), space.data());
    buffer.commit(input.size());

    auto first = buffer.next();
    REQUIRE(first.kind == line_buffer::status::line);
    CHECK(first.line == "STLS");
    CHECK(buffer.has_buffered());
    CHECK(buffer.discard() == input.size() - 6);
    CHECK_FALSE(buffer.has_buffered());
    CHECK(buffer.next().kind == line_buffer::status::need_more);
}

TEST_CASE("line_buffer: discard also ends the skipping of an over-long line", "[line_buffer]") {
    line_buffer buffer({16, bare_lf_policy::accept});
    auto space = buffer.prepare();
    std::fill(space.begin(), space.end(), 'x');
    buffer.commit(space.size());
    REQUIRE(buffer.next().kind == line_buffer::status::too_long);
    buffer.discard();
    const std::string next = "NOOP\r\n";
    space = buffer.prepare();
    std::copy(next.begin(), next.end(), space.data());
    buffer.commit(next.size());
    auto r = buffer.next();
    REQUIRE(r.kind == line_buffer::status::line);
    CHECK(r.line == "NOOP");
}

TEST_CASE("line_buffer: wipe overwrites a returned line in place and ignores foreign views", "[line_buffer]") {
    line_buffer b({.max_line = 64});
    const std::string input = "PASS hunter2\r\nNOOP\r\n";
    auto space = b.prepare();
    std::copy(input.begin(), input.end(), space.begin());
    b.commit(input.size());
    const auto first = b.next();
    REQUIRE(first.line == "PASS hunter2");
    const std::string_view password = first.line.substr(5);
    b.wipe(password);
    CHECK(password == std::string(7, '\0'));
    CHECK(b.next().line == "NOOP");  // the rest is untouched
    const std::string foreign = "elsewhere";
    b.wipe(foreign);
    CHECK(foreign == "elsewhere");
}

namespace {
// Writes `text` into the buffer as reads fill it, taking the lines out whenever it is full, as a session does.
std::vector<std::string> pour(line_buffer& buffer, const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < text.size()) {
        auto space = buffer.prepare();
        if (space.empty()) {
            auto lines = drain(buffer);
            out.insert(out.end(), lines.begin(), lines.end());
            continue;
        }
        const std::size_t n = std::min(space.size(), text.size() - at);
        std::copy_n(text.data() + at, n, space.data());
        buffer.commit(n);
        at += n;
    }
    auto lines = drain(buffer);
    out.insert(out.end(), lines.begin(), lines.end());
    return out;
}

// Writes `text`, which fits, without taking anything out.
void put(line_buffer& buffer, const std::string& text) {
    auto space = buffer.prepare();
    REQUIRE(space.size() >= text.size());
    std::copy_n(text.data(), text.size(), space.data());
    buffer.commit(text.size());
}
}  // namespace

TEST_CASE("line_buffer: a raised limit admits one long line, and the old limit holds again after it", "[line_buffer]") {
    line_buffer buffer({.max_line = 16});
    CHECK(pour(buffer, "AUTH X\r\n") == std::vector<std::string>{"L:AUTH X"});
    buffer.set_max_line(64);  // a SASL response
    const std::string response(40, 'a');
    put(buffer, response + "\r\nNOOP\r\n");
    CHECK(buffer.next().line == response);
    buffer.set_max_line(16);  // the next command, held to the listener's limit again
    CHECK(drain(buffer) == std::vector<std::string>{"L:NOOP"});
    CHECK(pour(buffer, std::string(20, 'b') + "\r\nQUIT\r\n") == std::vector<std::string>{"TOO_LONG", "L:QUIT"});
}

TEST_CASE("line_buffer: a lowered limit keeps what is buffered beyond it", "[line_buffer]") {
    line_buffer buffer({.max_line = 64});
    put(buffer, "PING\r\n" + std::string(30, 'c') + "\r\nOK\r\n");
    CHECK(buffer.next().line == "PING");
    buffer.set_max_line(16);  // 36 octets still buffered, and a whole line in them is over the new limit
    CHECK(drain(buffer) == std::vector<std::string>{"TOO_LONG", "L:OK"});
    buffer.set_max_line(16);  // nothing buffered now: the room shrinks, and the limit still holds
    CHECK(pour(buffer, std::string(20, 'd') + "\r\nYES\r\n") == std::vector<std::string>{"TOO_LONG", "L:YES"});
}
