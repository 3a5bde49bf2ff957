// mailwright::pop3::parse, message_number and count against a reference written from the grammar in
// command.hpp (RFC 1939, 2449, 2595, 5034, 6856): the same verdict for every line, arguments that are views
// into the line, and the same answer twice.
//
// Input: one command line, terminator already stripped (what line_buffer returns).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "mailwright/pop3/command.hpp"

namespace {

using mailwright::pop3::command;
using mailwright::pop3::errc;

struct arity {
    command cmd;
    std::string_view keyword;
    std::size_t min, max;
    bool rest_of_line;
};

// RFC 1939 (USER name, PASS string, APOP name digest, LIST/UIDL [msg], RETR/DELE msg, TOP msg n), RFC 2449
// CAPA, RFC 2595 STLS, RFC 5034 AUTH [mechanism [initial-response]], RFC 6856 UTF8.
constexpr arity grammar[] = {
    {command::user, "USER", 1, 1, false}, {command::pass, "PASS", 1, 1, true},  {command::apop, "APOP", 2, 2, false},
    {command::auth, "AUTH", 0, 2, false}, {command::stls, "STLS", 0, 0, false}, {command::capa, "CAPA", 0, 0, false},
    {command::stat, "STAT", 0, 0, false}, {command::list, "LIST", 0, 1, false}, {command::retr, "RETR", 1, 1, false},
    {command::dele, "DELE", 1, 1, false}, {command::noop, "NOOP", 0, 0, false}, {command::rset, "RSET", 0, 0, false},
    {command::quit, "QUIT", 0, 0, false}, {command::top, "TOP", 2, 2, false},   {command::uidl, "UIDL", 0, 1, false},
    {command::utf8, "UTF8", 0, 0, false},
};

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool same_keyword(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (upper(a[i]) != b[i]) {
            return false;
        }
    }
    return true;
}

struct expectation {
    std::optional<errc> error;
    command cmd = command::noop;
    std::vector<std::string_view> args;
};

// The reference: split on every space, then judge the pieces.
expectation reference(std::string_view line) {
    expectation e;
    if (line.empty()) {
        e.error = errc::empty_line;
        return e;
    }
    std::vector<std::string_view> pieces;
    for (std::size_t at = 0;;) {
        const auto space = line.find(' ', at);
        pieces.push_back(line.substr(at, space == std::string_view::npos ? std::string_view::npos : space - at));
        if (space == std::string_view::npos) {
            break;
        }
        at = space + 1;
    }
    const arity* a = nullptr;
    for (const auto& g : grammar) {
        if (same_keyword(pieces[0], g.keyword)) {
            a = &g;
        }
    }
    if (a == nullptr) {
        e.error = errc::unknown_command;
        return e;
    }
    e.cmd = a->cmd;
    if (a->rest_of_line) {
        // Everything after the first space is the argument, spaces included; "PASS " has an empty one.
        if (pieces.size() > 1) {
            const std::string_view rest = line.substr(pieces[0].size() + 1);
            if (rest.empty()) {
                e.error = errc::syntax;
                return e;
            }
            e.args.push_back(rest);
        }
    } else {
        for (std::size_t i = 1; i < pieces.size(); ++i) {
            if (pieces[i].empty()) {
                e.error = errc::syntax;  // two spaces in a row, a leading or trailing space
                return e;
            }
            e.args.push_back(pieces[i]);
        }
        if (e.args.size() > a->max) {
            e.error = errc::syntax;
            return e;
        }
    }
    if (e.args.size() < a->min) {
        e.error = errc::syntax;
    }
    return e;
}

// Decimal without sign, at most 19 digits (what fits any std::size_t of 64 bits).
std::optional<std::size_t> reference_count(std::string_view text) {
    if (text.empty() || text.size() > 19) {
        return std::nullopt;
    }
    std::size_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    return value;
}

bool inside(std::string_view part, std::string_view whole) {
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_numbers(std::string_view text) {
    const auto c = mailwright::pop3::count(text);
    const auto expected = reference_count(text);
    FUZZ_CHECK(c == expected, "count() disagrees with the reference");
    const auto n = mailwright::pop3::message_number(text);
    FUZZ_CHECK(n == (expected && *expected != 0 ? expected : std::nullopt),
               "message_number() disagrees with the reference");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A private copy of exactly `size` octets: ASan then sees any read past the line's end.
    const std::string owned(reinterpret_cast<const char*>(data), size);
    const std::string_view line(owned);

    const auto p = mailwright::pop3::parse(line);
    const auto again = mailwright::pop3::parse(line);
    FUZZ_CHECK(p.error == again.error && p.cmd == again.cmd && p.argc == again.argc && p.args == again.args,
               "parse is not deterministic");

    FUZZ_CHECK(p.argc <= p.args.size(), "argc beyond the argument array");
    for (std::size_t i = 0; i < p.args.size(); ++i) {
        if (i < p.argc) {
            FUZZ_CHECK(!p.args[i].empty(), "an empty argument was returned");
            FUZZ_CHECK(inside(p.args[i], line), "an argument does not lie inside the line");
        } else {
            FUZZ_CHECK(p.args[i].empty(), "an unused argument slot is set");
        }
    }
    if (p.error) {
        FUZZ_CHECK(p.error.category() == mailwright::pop3::error_category(), "an error from another category");
        FUZZ_CHECK(p.error.value() >= 1 && p.error.value() <= 3, "an error code the header does not define");
        FUZZ_CHECK(!p.error.message().empty(), "an error without a message");
    }

    const auto e = reference(line);
    FUZZ_CHECK(e.error.has_value() == static_cast<bool>(p.error), "error XOR valid command: verdict differs");
    if (e.error) {
        FUZZ_CHECK(p.error == *e.error, "a different error than the reference");
        if (*e.error == errc::syntax) {
            FUZZ_CHECK(p.cmd == e.cmd, "a syntax error names another command");
        }
    } else {
        FUZZ_CHECK(p.cmd == e.cmd, "a different command than the reference");
        FUZZ_CHECK(p.argc == e.args.size(), "a different argument count than the reference");
        for (std::size_t i = 0; i < e.args.size(); ++i) {
            // The very same octets of the line, not merely equal text.
            FUZZ_CHECK(p.args[i].data() == e.args[i].data() && p.args[i].size() == e.args[i].size(),
                       "an argument differs from the reference");
        }
        const auto keyword = mailwright::pop3::to_string(p.cmd);
        FUZZ_CHECK(same_keyword(line.substr(0, keyword.size()), keyword) &&
                       (line.size() == keyword.size() || line[keyword.size()] == ' '),
                   "the line does not start with the command's keyword");
    }

    check_numbers(line);
    for (std::size_t i = 0; i < p.argc; ++i) {
        check_numbers(p.args[i]);
    }
    return 0;
}
