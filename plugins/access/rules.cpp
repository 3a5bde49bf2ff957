// The access plugin's rules (rules.hpp): the line parser, the first-match lookup and the default replies.
#include "rules.hpp"

#include <algorithm>

namespace mailwright::access {

namespace {

constexpr std::string_view blanks = " \t";

// The next blank-separated token of `rest`, which is advanced past it.
std::string_view next_token(std::string_view& rest) {
    const auto start = rest.find_first_not_of(blanks);
    if (start == std::string_view::npos) {
        rest = {};
        return {};
    }
    rest.remove_prefix(start);
    const auto end = std::min(rest.find_first_of(blanks), rest.size());
    const auto token = rest.substr(0, end);
    rest.remove_prefix(end);
    return token;
}

std::string_view trim(std::string_view text) {
    const auto start = text.find_first_not_of(blanks);
    if (start == std::string_view::npos) {
        return {};
    }
    return text.substr(start, text.find_last_not_of(blanks) - start + 1);
}

bool parse_subject(std::string_view word, subject& out) {
    constexpr std::pair<std::string_view, subject> words[] = {{"client", subject::client},
                                                              {"helo", subject::helo},
                                                              {"sender", subject::sender},
                                                              {"recipient", subject::recipient}};
    for (const auto& [name, value] : words) {
        if (word == name) {
            out = value;
            return true;
        }
    }
    return false;
}

bool parse_action(std::string_view word, action& out) {
    constexpr std::pair<std::string_view, action> words[] = {
        {"accept", action::accept}, {"reject", action::reject}, {"tempfail", action::tempfail}};
    for (const auto& [name, value] : words) {
        if (word == name) {
            out = value;
            return true;
        }
    }
    return false;
}

bool all_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), io::is_digit); }

// RFC 3463 2: class "." subject "." detail, subject and detail of one to three digits.
bool is_enhanced(std::string_view s) {
    const auto first = s.find('.');
    const auto second = first == std::string_view::npos ? first : s.find('.', first + 1);
    if (second == std::string_view::npos) {
        return false;
    }
    const auto cls = s.substr(0, first);
    const auto sub = s.substr(first + 1, second - first - 1);
    const auto detail = s.substr(second + 1);
    return cls.size() == 1 && all_digits(cls) && all_digits(sub) && sub.size() <= 3 && all_digits(detail) &&
           detail.size() <= 3;
}

// Which codes the action may name: its own class, and at connect the two that close the connection well.
std::string check_code(subject what, action verdict, std::uint16_t code) {
    if (what == subject::client) {
        if (verdict == action::tempfail && code != 421) {
            return "a client rule that tempfails answers 421 (RFC 5321 3.8: the connection closes)";
        }
        if (verdict == action::reject && code != 554 && code != 521) {
            return "a client rule that rejects answers 554 or 521 (RFC 5321 3.1, RFC 7504)";
        }
        return {};
    }
    const unsigned wanted = verdict == action::reject ? 5 : 4;
    if (code / 100 != wanted) {
        return std::string(verdict == action::reject ? "reject" : "tempfail") + " takes a " + std::to_string(wanted) +
               "xx code, e.g. " + (wanted == 5 ? "550" : "450");
    }
    return {};
}

// The optional reply after the action: [code] [enhanced] [text].
bool parse_reply(std::string_view rest, rule& r, std::string& error) {
    auto look = rest;
    auto token = next_token(look);
    if (all_digits(token)) {
        if (token.size() != 3) {
            error = "an SMTP reply code has three digits";
            return false;
        }
        r.code = static_cast<std::uint16_t>(std::stoi(std::string(token)));
        if (error = check_code(r.what, r.verdict, r.code); !error.empty()) {
            return false;
        }
        rest = look;
        token = next_token(look);
    }
    if (is_enhanced(token)) {
        const char cls = r.verdict == action::reject ? '5' : '4';
        if (token.front() != cls) {
            error = "the enhanced status code must be of the reply's class (" + std::string(1, cls) + ".x.y)";
            return false;
        }
        r.enhanced = std::string(token);
        rest = look;
    }
    const auto text = trim(rest);
    const auto bad = std::find_if(text.begin(), text.end(), [](unsigned char c) { return c < 0x20 || c > 0x7e; });
    if (bad != text.end()) {
        error = "the reply text may hold printable ASCII only (RFC 5321 4.2)";
        return false;
    }
    r.text = std::string(text);
    return true;
}

}  // namespace

std::size_t rule_set::size() const noexcept {
    std::size_t n = 0;
    for (const auto& v : by_subject) {
        n += v.size();
    }
    return n;
}

std::string_view to_string(subject what) noexcept {
    constexpr std::string_view names[] = {"client", "helo", "sender", "recipient"};
    return names[static_cast<std::size_t>(what)];
}

bool parse_rule(std::string_view line, rule& out, std::string& error) {
    auto rest = line;
    const auto what = next_token(rest);
    if (what.empty() || what.front() == '#') {
        return false;
    }
    out = rule{};
    if (!parse_subject(what, out.what)) {
        error = "expected client, helo, sender or recipient at the start of the rule";
        return false;
    }
    const auto text = next_token(rest);
    if (text.empty()) {
        error = "expected a pattern after " + std::string(what);
        return false;
    }
    const auto p = parse_pattern(out.what, text, error);
    if (!p) {
        return false;
    }
    out.match = *p;
    if (!parse_action(next_token(rest), out.verdict)) {
        error = "expected accept, reject or tempfail after the pattern";
        return false;
    }
    if (out.verdict == action::accept) {
        if (!trim(rest).empty()) {
            error = "accept takes no reply: the protocol answers as usual";
            return false;
        }
        return true;
    }
    return parse_reply(rest, out, error);
}

parse_result parse_rules(std::string_view text) {
    auto rules = std::make_shared<rule_set>();
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const auto end = std::min(text.find('\n'), text.size());
        auto line = text.substr(0, end);
        text.remove_prefix(std::min(end + 1, text.size()));
        if (line.ends_with('\r')) {
            line.remove_suffix(1);
        }
        if (line.size() > max_line_length) {
            return {nullptr, number, "a line is at most " + std::to_string(max_line_length) + " characters"};
        }
        rule r;
        std::string error;
        if (!parse_rule(line, r, error)) {
            if (!error.empty()) {
                return {nullptr, number, std::move(error)};
            }
            continue;
        }
        if (rules->size() == max_rules) {
            return {nullptr, number, "more than " + std::to_string(max_rules) + " rules"};
        }
        r.line = number;
        rules->by_subject[static_cast<std::size_t>(r.what)].push_back(std::move(r));
    }
    return {std::move(rules), 0, {}};
}

const rule* first_match(const rule_set& rules, subject what, std::string_view value) {
    const auto& candidates = rules.by_subject[static_cast<std::size_t>(what)];
    if (what == subject::client) {
        const auto client = parse_ip(value);
        if (!client) {
            return nullptr;  // not an IP connection (a test stream): no client rule can be about it
        }
        const auto it = std::find_if(candidates.begin(), candidates.end(),
                                     [&](const rule& r) { return matches(r.match, *client); });
        return it == candidates.end() ? nullptr : &*it;
    }
    const auto lowered = to_lower(value);
    const auto it = std::find_if(candidates.begin(), candidates.end(),
                                 [&](const rule& r) { return matches(r.match, what, lowered); });
    return it == candidates.end() ? nullptr : &*it;
}

plugin::reply reply_for(const rule& r, std::string_view value) {
    if (r.verdict == action::accept) {
        return plugin::reply::accept();
    }
    const bool temporary = r.verdict == action::tempfail;
    const bool connect = r.what == subject::client;
    const std::uint16_t code = r.code != 0 ? r.code : temporary ? (connect ? 421 : 450) : 554;
    std::string enhanced = r.enhanced;
    if (enhanced.empty()) {
        enhanced = temporary ? (connect ? "4.7.0" : "4.7.1") : "5.7.1";
    }
    std::string text = r.text;
    if (text.empty()) {
        constexpr std::string_view names[] = {"client host", "HELO name", "sender", "recipient"};
        const auto name = names[static_cast<std::size_t>(r.what)];
        text = connect ? "[" + std::string(value) + "]: " + std::string(name)
                       : "<" + std::string(value) + ">: " + std::string(name);
        text += temporary ? " refused for now, try again later" : " refused: access denied";
    }
    return plugin::reply::smtp(code, std::move(enhanced), std::move(text));
}

}  // namespace mailwright::access
