// POP3 command tokenizer: see the header.
#include "mailwright/pop3/command.hpp"

#include "mailwright/io/ascii.hpp"

#include <charconv>
#include <limits>

namespace mailwright::pop3 {

namespace {

struct command_syntax {
    command cmd;
    std::string_view keyword;
    std::size_t min_args;
    std::size_t max_args;
    bool rest_of_line;  // the single argument runs to the end of the line, spaces included
};

// Arities from RFC 1939 (USER name; PASS string; APOP name digest; LIST/UIDL [msg]; RETR/DELE msg; TOP msg n),
// RFC 2449 (CAPA), RFC 2595 (STLS), RFC 5034 (AUTH [mechanism [initial-response]]; without a mechanism it
// lists them, as older clients expect) and RFC 6856 (UTF8).
constexpr command_syntax table[command_count] = {
    {command::user, "USER", 1, 1, false}, {command::pass, "PASS", 1, 1, true},  {command::apop, "APOP", 2, 2, false},
    {command::auth, "AUTH", 0, 2, false}, {command::stls, "STLS", 0, 0, false}, {command::capa, "CAPA", 0, 0, false},
    {command::stat, "STAT", 0, 0, false}, {command::list, "LIST", 0, 1, false}, {command::retr, "RETR", 1, 1, false},
    {command::dele, "DELE", 1, 1, false}, {command::noop, "NOOP", 0, 0, false}, {command::rset, "RSET", 0, 0, false},
    {command::quit, "QUIT", 0, 0, false}, {command::top, "TOP", 2, 2, false},   {command::uidl, "UIDL", 0, 1, false},
    {command::utf8, "UTF8", 0, 0, false},
};

class category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "pop3"; }
    std::string message(int e) const override {
        switch (static_cast<errc>(e)) {
            case errc::empty_line:
                return "empty command line";
            case errc::unknown_command:
                return "unknown command";
            case errc::syntax:
                return "syntax error in arguments";
        }
        return "unknown pop3 error";
    }
};

std::optional<std::size_t> decimal(std::string_view text) noexcept {
    if (text.empty() || text.size() > 19) {
        return std::nullopt;
    }
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;  // from_chars takes no sign or space, but check that it used every character
    }
    return value;
}

}  // namespace

std::string_view to_string(command c) noexcept { return table[static_cast<std::size_t>(c)].keyword; }

const std::error_category& error_category() noexcept {
    static const category instance;
    return instance;
}

parsed parse(std::string_view line) noexcept {
    parsed out;
    if (line.empty()) {
        out.error = errc::empty_line;
        return out;
    }
    const auto space = line.find(' ');
    const std::string_view keyword = line.substr(0, space);
    const command_syntax* syntax = nullptr;
    for (const auto& entry : table) {
        if (io::iequals(keyword, entry.keyword)) {
            syntax = &entry;
            break;
        }
    }
    if (syntax == nullptr) {
        out.error = errc::unknown_command;
        return out;
    }
    out.cmd = syntax->cmd;
    std::string_view rest = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    if (space != std::string_view::npos && rest.empty()) {
        out.error = errc::syntax;  // "LIST " promises an argument and gives none
        return out;
    }
    if (syntax->rest_of_line) {
        if (!rest.empty()) {
            out.args[out.argc++] = rest;
        }
    } else {
        while (!rest.empty()) {
            const auto next = rest.find(' ');
            const std::string_view arg = rest.substr(0, next);
            if (arg.empty() || out.argc == syntax->max_args) {
                out.error = errc::syntax;  // two spaces in a row, or one argument too many
                return out;
            }
            out.args[out.argc++] = arg;
            if (next == std::string_view::npos) {
                break;
            }
            rest = rest.substr(next + 1);
            if (rest.empty()) {
                out.error = errc::syntax;  // a trailing space
                return out;
            }
        }
    }
    if (out.argc < syntax->min_args) {
        out.error = errc::syntax;
    }
    return out;
}

std::optional<std::size_t> message_number(std::string_view text) noexcept {
    const auto n = decimal(text);
    if (!n || *n == 0) {
        return std::nullopt;
    }
    return n;
}

std::optional<std::size_t> count(std::string_view text) noexcept { return decimal(text); }

}  // namespace mailwright::pop3
