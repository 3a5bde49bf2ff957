// A whole POP3 dialogue: the fuzzer's bytes are what the client sends, in TCP segments, through
// testing::memory_stream into pop3::service, with the in-memory auth backend and maildrop of the session
// tests (tests/session/pop3_fixture.hpp: alice/secret with three messages, bob/hunter2, jörg/passwort).
// Invariants:
//  - the dialogue ends: serve() returns without an exception, either because the server closed the session
//    (QUIT, too many bad commands or failed logins) or because the client's input ran out;
//  - the output is CRLF lines: it starts with the greeting, ends with CRLF, holds no LF without its CR;
//  - every reply line starts with "+OK", "-ERR" or "+ " (a SASL challenge, whose text is strict base64);
//    every multi-line reply ends with "." and every line of it that starts with "." is dot-stuffed;
//  - CAPA and the AUTH list never offer what this connection may not use: no STLS (no TLS context), no
//    EXTERNAL or -PLUS (no TLS), and USER, PLAIN and LOGIN only when plaintext authentication is allowed;
//    without it, no password ever reaches the auth backend;
//  - at the end the maildrop is unlocked, and nothing is deleted unless the client sent DELE and QUIT.
//
// Input: byte 0 chooses the options (bit 0: reject bare LF; bit 1: APOP; bit 2: plaintext authentication;
// bit 3: 1000 bad commands tolerated instead of 5; bits 4-5: line limit 1024, 255, 64 or 16; bits 6-7: reads
// of any size, 1, 3 or 16 octets), byte 1 the SASL mechanisms configured (bit i: mechanisms()[i]), the rest
// is the client's bytes, a new TCP segment after each 0xff octet (which is dropped).
#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "mailwright/sasl/crypto.hpp"
#include "mailwright/sasl/mechanism.hpp"
#include "pop3_fixture.hpp"

namespace {

using namespace mailwright;

// MAILWRIGHT_FUZZ_SHOW=1 prints the server's side of each dialogue (for reading a reproducer).
bool show = false;
// MAILWRIGHT_FUZZ_STRICT=1 adds a check the framework is known to fail (tests/fuzz/README.md): no CR in the
// output except before its LF. Today a client's bare CR comes back inside -ERR replies that quote an argument.
bool strict = false;

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::size_t occurrences(std::string_view text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

// Consumes a decimal number at the start of `text`; false when there is none.
bool number(std::string_view& text) {
    std::size_t n = 0;
    while (n < text.size() && text[n] >= '0' && text[n] <= '9') {
        ++n;
    }
    text.remove_prefix(n);
    return n > 0;
}

bool literal(std::string_view& text, std::string_view what) {
    if (!text.starts_with(what)) {
        return false;
    }
    text.remove_prefix(what.size());
    return true;
}

// The multi-line replies, recognised by their first line as src/pop3/session.cpp writes them (update these
// when those texts change): CAPA, LIST and UIDL without an argument ("+OK 3 messages (121 octets)"), RETR
// ("+OK 69 octets"), TOP. AUTH without a mechanism answers a bare "+OK" as NOOP does: see is_auth_list().
bool starts_multiline(std::string_view line) {
    if (line == "+OK capability list follows" || line == "+OK unique-id listing follows" ||
        line == "+OK top of message follows") {
        return true;
    }
    if (!literal(line, "+OK ") || !number(line)) {
        return false;
    }
    if (line == " octets") {
        return true;
    }
    if (!literal(line, " message")) {
        return false;
    }
    literal(line, "s");  // "1 message", "2 messages"
    return literal(line, " (") && number(line) && line == " octets)";
}

// A bare "+OK" starts the AUTH list when a mechanism name or its "." follows, which no reply line can be.
bool is_auth_list(const std::vector<std::string>& lines, std::size_t i) {
    if (lines[i] != "+OK" || i + 1 >= lines.size()) {
        return false;
    }
    const std::string& next = lines[i + 1];
    const auto all = sasl::mechanisms();
    return next == "." || std::any_of(all.begin(), all.end(), [&](const auto& m) { return m.name == next; });
}

bool closes(const std::string& line) {
    return line == "+OK bye" || line.ends_with("closing") ||
           line == "-ERR [SYS/TEMP] some deleted messages were not removed";
}

// A mechanism line of CAPA ("SASL A B") or of the AUTH list must not name what this connection cannot use.
void check_offered(std::string_view mechanism, bool plaintext) {
    FUZZ_CHECK(mechanism != "EXTERNAL", "EXTERNAL offered without TLS");
    FUZZ_CHECK(!mechanism.ends_with("-PLUS"), "a channel-binding mechanism offered without TLS");
    FUZZ_CHECK(plaintext || (mechanism != "PLAIN" && mechanism != "LOGIN"),
               "a plaintext mechanism offered although plaintext authentication is off");
}

void check_output(const std::string& output, const pop3::options& o, bool plaintext) {
    FUZZ_CHECK(output.ends_with("\r\n"), "the output does not end with CRLF");
    for (std::size_t at = output.find('\n'); at != std::string::npos; at = output.find('\n', at + 1)) {
        FUZZ_CHECK(at > 0 && output[at - 1] == '\r', "a line of the output ends with a bare LF");
    }
    if (strict) {
        for (std::size_t at = output.find('\r'); at != std::string::npos; at = output.find('\r', at + 1)) {
            FUZZ_CHECK(at + 1 < output.size() && output[at + 1] == '\n', "a bare CR in the output");
        }
    }
    const auto lines = pop3_test::lines(output);
    FUZZ_CHECK(lines.front().starts_with("+OK Mailwright POP3 server ready"), "no greeting");
    FUZZ_CHECK(o.apop == (lines.front().find('<') != std::string::npos), "an APOP timestamp exactly when APOP is on");

    enum class in { replies, body, capa, auth_list } where = in::replies;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::string& line = lines[i];
        if (where == in::replies) {
            if (line.starts_with("+ ")) {
                FUZZ_CHECK(sasl::base64_decode(std::string_view(line).substr(2)).has_value(),
                           "a SASL challenge that is not base64");
                continue;
            }
            FUZZ_CHECK(line.starts_with("+OK") || line.starts_with("-ERR"),
                       "a reply line that is neither +OK, -ERR nor a SASL challenge");
            if (is_auth_list(lines, i)) {
                where = in::auth_list;
            } else if (starts_multiline(line)) {
                where = line == "+OK capability list follows" ? in::capa : in::body;
            }
            continue;
        }
        if (line == ".") {
            where = in::replies;
            continue;
        }
        FUZZ_CHECK(!line.starts_with(".") || line.starts_with(".."), "a line of a multi-line reply is not stuffed");
        if (where == in::capa) {
            FUZZ_CHECK(line != "STLS", "STLS offered without a TLS context");
            FUZZ_CHECK(plaintext || line != "USER", "USER offered although plaintext authentication is off");
            if (line.starts_with("SASL ")) {
                std::string_view rest = std::string_view(line).substr(5);
                while (!rest.empty()) {
                    const auto space = rest.find(' ');
                    check_offered(rest.substr(0, space), plaintext);
                    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
                }
            }
        } else if (where == in::auth_list) {
            check_offered(line, plaintext);
        }
    }
    FUZZ_CHECK(where == in::replies, "the output ends inside a multi-line reply");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::quiet_logging();
    show = std::getenv("MAILWRIGHT_FUZZ_SHOW") != nullptr;
    strict = std::getenv("MAILWRIGHT_FUZZ_STRICT") != nullptr;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::uint8_t settings = size > 0 ? data[0] : 0;
    const std::uint8_t mechanism_bits = size > 1 ? data[1] : 0;
    const std::string_view client =
        size > 2 ? std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2) : std::string_view();
    std::vector<std::string> segments{std::string()};
    std::string sent;  // the client's octets without the segment marks
    for (char c : client) {
        if (static_cast<unsigned char>(c) == 0xff) {
            segments.emplace_back();
        } else {
            segments.back() += c;
            sent += c;
        }
    }

    pop3::options o;
    o.plaintext_auth = (settings & 4) != 0;
    o.apop = (settings & 2) != 0;
    if ((settings & 8) != 0) {
        o.max_bad_commands = 1000;
    }
    o.mechanisms.clear();
    const auto all = sasl::mechanisms();
    for (std::size_t i = 0; i < all.size() && i < 8; ++i) {
        if ((mechanism_bits >> i) & 1) {
            o.mechanisms.emplace_back(all[i].name);
        }
    }
    constexpr std::size_t line_limits[] = {1024, 255, 64, 16};
    constexpr std::size_t read_sizes[] = {0, 1, 3, 16};
    const std::size_t max_line = line_limits[(settings >> 4) & 3];
    const std::size_t max_read = read_sizes[(settings >> 6) & 3];

    pop3_test::world w;
    auto svc = w.make(o);
    auto stream = std::make_unique<testing::memory_stream>(std::move(segments));
    if (max_read != 0) {
        stream->max_read(max_read);
    }
    testing::memory_stream* const raw = stream.get();
    auto session = std::make_unique<server::session>(
        std::move(stream), server::session_info{.id = 1, .peer = {"192.0.2.7", 40000}, .local = {}, .listener = "pop3"},
        server::session_options{
            .limits = {.max_line = max_line,
                       .bare_lf = (settings & 1) != 0 ? io::bare_lf_policy::reject : io::bare_lf_policy::accept}});

    // The dialogue, then what the client has left to say (nothing, unless the server closed the session).
    std::size_t unread = 0;
    fuzz::run([&]() -> asio::awaitable<void> {
        co_await svc->serve(*session);
        co_await session->flush();
        std::array<char, 4096> buffer;
        for (;;) {
            const auto r = co_await raw->read_some(buffer);
            if (r.ec) {
                break;
            }
            unread += r.bytes;
        }
    }());

    const std::string& output = raw->output();
    if (show) {
        std::fprintf(stderr, "--- server said:\n");
        std::fwrite(output.data(), 1, output.size(), stderr);
        std::fprintf(stderr, "--- %zu octets of the client's unread\n", unread);
    }
    check_output(output, o, o.plaintext_auth);
    const auto replies = pop3_test::lines(output);
    FUZZ_CHECK(unread == 0 || closes(replies.back()), "the session ended before the input did, without closing");

    session.reset();
    svc.reset();
    FUZZ_CHECK(w.store->locked.empty(), "a maildrop is still locked after the session");
    if (!o.plaintext_auth) {
        FUZZ_CHECK(w.auth.calls == 0, "a password reached the backend although plaintext authentication is off");
    }
    const std::string said = lower(sent);
    const std::size_t deleted = 3 - w.store->boxes["alice"].size();
    FUZZ_CHECK(deleted <= occurrences(said, "dele"), "more messages deleted than DELE commands sent");
    FUZZ_CHECK(deleted == 0 || said.find("quit") != std::string::npos, "a message was deleted without QUIT");
    return 0;
}
