// SMTP command tokenizer: see the header.
#include "mailwright/smtp/command.hpp"

#include "mailwright/io/ascii.hpp"

namespace mailwright::smtp {

namespace {

constexpr std::string_view names[verb_count] = {"EHLO", "HELO", "LHLO", "MAIL", "RCPT", "DATA",     "BDAT", "RSET",
                                                "NOOP", "QUIT", "VRFY", "EXPN", "HELP", "STARTTLS", "AUTH", "XCLIENT"};

// RFC 5321 4.5.3.1.4 caps a command line; a session caps the number of parameters it will look at too.
constexpr std::size_t max_parameters = 16;

class category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "smtp"; }
    std::string message(int e) const override {
        switch (static_cast<errc>(e)) {
            case errc::empty_line:
                return "empty command line";
            case errc::unknown_command:
                return "unknown command";
            case errc::syntax:
                return "syntax error in arguments";
            case errc::bad_address:
                return "bad address syntax";
            case errc::address_long:
                return "address too long";
            case errc::needs_utf8:
                return "a UTF-8 address needs SMTPUTF8";
            case errc::bad_parameter:
                return "bad or repeated parameter";
        }
        return "unknown smtp error";
    }
};

bool keyword_char(char c, bool first) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || (!first && c == '-');
}

// esmtp-value = 1*(%d33-60 / %d62-126), and UTF-8 (RFC 6531 3.3).
bool value_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u >= 33 && u <= 126 && u != '=') || u >= 0x80;
}

std::error_code from(address_error e) {
    switch (e) {
        case address_error::none:
            return {};
        case address_error::too_long:
            return errc::address_long;
        case address_error::needs_smtputf8:
            return errc::needs_utf8;
        case address_error::syntax:
            break;
    }
    return errc::bad_address;
}

// "FROM:" / "TO:", case-insensitive; one space after the colon is tolerated (RFC 5321 allows none, but many
// clients send one and every major server accepts it).
std::optional<std::string_view> after_prefix(std::string_view argument, std::string_view prefix) {
    if (argument.size() < prefix.size() || !iequals(argument.substr(0, prefix.size()), prefix)) {
        return std::nullopt;
    }
    argument.remove_prefix(prefix.size());
    if (!argument.empty() && argument.front() == ' ') {
        argument.remove_prefix(1);
    }
    return argument;
}

envelope_command parse_envelope(std::string_view argument, std::string_view prefix, bool is_mail, bool utf8) {
    envelope_command out;
    const auto rest = after_prefix(argument, prefix);
    if (!rest) {
        out.error = errc::syntax;
        return out;
    }
    // Find the path's end with UTF-8 allowed, decide about UTF-8 once the parameters are known.
    const auto path = parse_path(*rest, is_mail, !is_mail, true);
    if (path.error != address_error::none) {
        out.error = from(path.error);
        return out;
    }
    std::string_view params = rest->substr(path.consumed);
    if (!params.empty()) {
        if (params.front() != ' ') {
            out.error = errc::bad_address;  // "<a@b>x"
            return out;
        }
        params.remove_prefix(1);
        if (params.empty()) {
            out.error = errc::bad_parameter;  // a trailing space
            return out;
        }
    }
    while (!params.empty()) {
        const auto space = params.find(' ');
        const std::string_view word = params.substr(0, space);
        const auto eq = word.find('=');
        parameter p{word.substr(0, eq), std::nullopt};
        if (eq != std::string_view::npos) {
            p.value = word.substr(eq + 1);
        }
        bool ok = !p.keyword.empty() && (!p.value || !p.value->empty()) && out.parameters.size() < max_parameters;
        for (std::size_t i = 0; ok && i < p.keyword.size(); ++i) {
            ok = keyword_char(p.keyword[i], i == 0);
        }
        for (std::size_t i = 0; ok && p.value && i < p.value->size(); ++i) {
            ok = value_char((*p.value)[i]);
        }
        for (const auto& seen : out.parameters) {
            ok = ok && !iequals(seen.keyword, p.keyword);
        }
        if (!ok) {
            out.error = errc::bad_parameter;
            return out;
        }
        out.parameters.push_back(p);
        if (space == std::string_view::npos) {
            break;
        }
        params.remove_prefix(space + 1);
        if (params.empty()) {
            out.error = errc::bad_parameter;
            return out;
        }
    }
    if (is_mail) {
        for (const auto& p : out.parameters) {
            utf8 = utf8 || (iequals(p.keyword, "SMTPUTF8") && !p.value);
        }
    }
    const auto checked = parse_path(*rest, is_mail, !is_mail, utf8);
    if (checked.error != address_error::none) {
        out.error = from(checked.error);
        return out;
    }
    out.box = checked.box;
    return out;
}

}  // namespace

std::string_view to_string(verb v) noexcept { return names[static_cast<std::size_t>(v)]; }

const std::error_category& error_category() noexcept {
    static const category instance;
    return instance;
}

bool iequals(std::string_view a, std::string_view b) noexcept { return io::iequals(a, b); }

bool valid_xtext(std::string_view text) noexcept {
    if (text.empty()) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '+') {
            auto hex = [](char h) { return (h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'); };
            if (i + 2 >= text.size()) {
                return false;
            }
            if (!hex(text[i + 1]) || !hex(text[i + 2])) {
                return false;
            }
            i += 2;
        } else if (c < 33 || c > 126 || c == '=') {
            return false;
        }
    }
    return true;
}

command parse(std::string_view line) noexcept {
    command out;
    if (line.empty()) {
        out.error = errc::empty_line;
        return out;
    }
    const auto space = line.find(' ');
    const std::string_view word = line.substr(0, space);
    std::size_t index = verb_count;
    for (std::size_t i = 0; i < verb_count; ++i) {
        if (iequals(word, names[i])) {
            index = i;
            break;
        }
    }
    if (index == verb_count) {
        out.error = errc::unknown_command;
        return out;
    }
    out.v = static_cast<verb>(index);
    out.argument = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    const bool has_argument = space != std::string_view::npos;
    switch (out.v) {
        case verb::data:
        case verb::rset:
        case verb::quit:
        case verb::starttls:
            if (has_argument) {
                out.error = errc::syntax;  // RFC 3207 4: STARTTLS takes none (501 5.5.4)
            }
            break;
        case verb::ehlo:
        case verb::helo:
        case verb::lhlo:
            // One domain or address literal; clients that send more words are tolerated (RFC 5321 4.1.1.1
            // asks for a domain, and the name is informational).
            if (out.argument.empty()) {
                out.error = errc::syntax;
            }
            break;
        case verb::mail:
        case verb::rcpt:
        case verb::bdat:
        case verb::auth:
        case verb::xclient:
        case verb::vrfy:
        case verb::expn:
            if (out.argument.empty()) {
                out.error = errc::syntax;
            }
            break;
        case verb::noop:
        case verb::help:
            break;  // an argument is allowed and ignored
    }
    return out;
}

envelope_command parse_mail(std::string_view argument) { return parse_envelope(argument, "FROM:", true, false); }

envelope_command parse_rcpt(std::string_view argument, bool utf8) {
    return parse_envelope(argument, "TO:", false, utf8);
}

}  // namespace mailwright::smtp
