// The postgres-store's POP3 form of a stored message (mailstore/postgres/pop3_form.hpp): the size POP3
// reports, RETR's lines and TOP's slice, with the stored octets split at every offset and fed byte by byte.
#include "pop3_form.hpp"

#include <catch2/catch.hpp>
#include <string>

using mailwright::pgstore::pop3_lines;
using mailwright::pgstore::pop3_size;

namespace {

std::string sent(std::string_view stored, std::optional<std::size_t> body_lines, std::size_t split) {
    pop3_lines lines(body_lines);
    std::string out;
    lines.convert(stored.substr(0, split), out);
    lines.convert(stored.substr(split), out);
    return out;
}

std::uint64_t size_of(std::string_view stored, std::size_t split) {
    pop3_size size;
    size.add(stored.substr(0, split));
    size.add(stored.substr(split));
    CHECK(size.stored() == stored.size());
    return size.total();
}

// What the POP3 dialogue sends after the reader's octets: a CRLF when the last line had none (io::dot_stuffer).
std::string framed(std::string text) {
    if (!text.empty() && text.back() != '\n') {
        text += "\r\n";
    }
    return text;
}

const std::string message = "Subject: hi\r\nFrom: a@b\r\n\r\none\r\ntwo\r\n\r\nfour\r\n";

}  // namespace

TEST_CASE("pgstore pop3_form: RETR sends a CRLF message as it is, and its size is its length", "[pgstore]") {
    for (std::size_t split = 0; split <= message.size(); ++split) {
        INFO("split at " << split);
        CHECK(sent(message, std::nullopt, split) == message);
        CHECK(size_of(message, split) == message.size());
    }
}

TEST_CASE("pgstore pop3_form: bare LF gains a CR, a last line without its end is counted with one", "[pgstore]") {
    const std::string stored = "A: b\n\nbody\r\nbare\nlast";
    const std::string expected = "A: b\r\n\r\nbody\r\nbare\r\nlast";
    for (std::size_t split = 0; split <= stored.size(); ++split) {
        INFO("split at " << split);
        CHECK(sent(stored, std::nullopt, split) == expected);
        CHECK(size_of(stored, split) == framed(expected).size());
    }
    CHECK(size_of("", 0) == 0);
    CHECK(size_of("x\r", 1) == 4);  // "x\r" then the dialogue's CRLF
}

TEST_CASE("pgstore pop3_form: TOP sends the headers, the empty line and exactly N body lines", "[pgstore]") {
    const std::string headers = "Subject: hi\r\nFrom: a@b\r\n\r\n";
    const std::vector<std::pair<std::size_t, std::string>> cases = {
        {0, headers}, {1, headers + "one\r\n"}, {3, headers + "one\r\ntwo\r\n\r\n"}, {4, message}, {100, message},
    };
    for (const auto& [n, expected] : cases) {
        for (std::size_t split = 0; split <= message.size(); ++split) {
            INFO("TOP " << n << " split at " << split);
            CHECK(sent(message, n, split) == expected);
        }
    }
}

TEST_CASE("pgstore pop3_form: TOP finishes early, byte by byte, and stops reading", "[pgstore]") {
    pop3_lines lines(1);
    std::string out;
    std::size_t fed = 0;
    for (const char c : message) {
        if (lines.finished()) {
            break;
        }
        lines.convert(std::string_view(&c, 1), out);
        ++fed;
    }
    CHECK(lines.finished());
    CHECK(out == "Subject: hi\r\nFrom: a@b\r\n\r\none\r\n");
    CHECK(fed == out.size());
}

TEST_CASE("pgstore pop3_form: TOP of a message without a body sends it whole", "[pgstore]") {
    CHECK(sent("Subject: x\r\nTo: y\r\n", 5, 7) == "Subject: x\r\nTo: y\r\n");
    CHECK(sent("Subject: x", 0, 3) == "Subject: x");
}
