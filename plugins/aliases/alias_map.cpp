// The aliases map (alias_map.hpp): parsing and spelling keys.
#include "alias_map.hpp"

#include <algorithm>

#include "mailwright/io/ascii.hpp"

namespace mailwright::aliases {

namespace {

bool blank(char c) noexcept { return c == ' ' || c == '\t'; }

using io::iequals;
using io::to_lower;

// Octets no address in the map may hold: controls, and what would need quoting or split a list.
bool forbidden(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || c == ' ' || c == ',' || c == '"' || c == '\\' || c == '<' || c == '>';
}

// A domain as a local domain can be written: letters, digits, '-', '.', '_' and UTF-8 (RFC 6531).
bool good_domain(std::string_view d) noexcept {
    if (d.empty() || d.front() == '.' || d.back() == '.') {
        return false;
    }
    return std::all_of(d.begin(), d.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.' || c == '_';
    });
}

// What is wrong with an address as written ("local@domain", "@domain" or "local"), if anything.
std::optional<std::string> check_address(std::string_view text, bool allow_bare) {
    if (std::any_of(text.begin(), text.end(), forbidden)) {
        return "'" + std::string(text) + "' holds a character an address here cannot (quotes, controls, <>)";
    }
    const auto at = text.find('@');
    if (at == std::string_view::npos) {
        return allow_bare ? std::nullopt : std::optional<std::string>("'" + std::string(text) + "' is not an address");
    }
    if (text.find('@', at + 1) != std::string_view::npos) {
        return "'" + std::string(text) + "' has more than one '@'";
    }
    if (!good_domain(text.substr(at + 1))) {
        return "'" + std::string(text) + "' has no valid domain after '@'";
    }
    return std::nullopt;
}

std::optional<std::string> parse_target(std::string_view text, target& out) {
    if (text.starts_with('|') || text.starts_with('/') || text.starts_with(":include:")) {
        return "'" + std::string(text) +
               "': programs, files and :include: are not alias targets here; name local users or addresses";
    }
    if (text.starts_with('#')) {
        return "'" + std::string(text) + "': '#' starts a comment only at the start of a line";
    }
    if (text.find('@') == std::string_view::npos) {
        if (std::any_of(text.begin(), text.end(), forbidden) || text.front() == '.' ||
            text.find('/') != std::string_view::npos) {
            return "'" + std::string(text) + "' is not a user name (no '/', quotes, controls or leading '.')";
        }
        out = {target::kind::user, std::string(text), {}};
        return std::nullopt;
    }
    if (auto wrong = check_address(text, false)) {
        return wrong;
    }
    auto a = split_address(text);
    out = {a.local.empty() ? target::kind::domain : target::kind::address, {}, std::move(a)};
    return std::nullopt;
}

// The next target in a list separated by commas and blanks; empty at the end.
std::string_view next_word(std::string_view& rest) {
    const auto start = rest.find_first_not_of(" \t,");
    if (start == std::string_view::npos) {
        rest = {};
        return {};
    }
    rest.remove_prefix(start);
    const auto end = std::min(rest.find_first_of(" \t,"), rest.size());
    const auto word = rest.substr(0, end);
    rest.remove_prefix(end);
    return word;
}

}  // namespace

address split_address(std::string_view text) {
    const auto at = text.rfind('@');
    if (at == std::string_view::npos) {
        return {std::string(text), {}};
    }
    return {std::string(text.substr(0, at)), to_lower(text.substr(at + 1))};
}

std::string alias_map::key_of(std::string_view local, std::string_view domain) const {
    std::string key =
        options_.ignore_local_part_case || iequals(local, "postmaster") ? to_lower(local) : std::string(local);
    if (!domain.empty()) {
        key += '@';
        key += to_lower(domain);
    }
    return key;
}

std::string_view alias_map::stripped(std::string_view local) const noexcept {
    if (options_.delimiters.empty() || local.empty()) {
        return local;
    }
    // Never from the first character: "+tag" has no user to strip it to, and is looked up as it is.
    const auto cut = local.find_first_of(options_.delimiters, 1);
    return cut == std::string_view::npos ? local : local.substr(0, cut);
}

const entry* alias_map::find(const std::string& key) const {
    const auto found = entries_.find(key);
    return found == entries_.end() ? nullptr : &found->second;
}

std::optional<std::string> alias_map::add(std::string_view line, std::string origin) {
    std::string_view rest = line;
    const auto start = rest.find_first_not_of(" \t");
    rest.remove_prefix(std::min(start, rest.size()));
    const auto end = std::min(rest.find_first_of(" \t"), rest.size());
    const auto pattern = rest.substr(0, end);
    rest.remove_prefix(end);
    if (pattern.empty()) {
        return "expected an address and its targets";
    }
    if (auto wrong = check_address(pattern, true)) {
        return wrong;
    }
    const auto a = split_address(pattern);
    entry e{{}, std::move(origin)};
    for (auto word = next_word(rest); !word.empty(); word = next_word(rest)) {
        target t;
        if (auto wrong = parse_target(word, t)) {
            return wrong;
        }
        e.targets.push_back(std::move(t));
    }
    if (e.targets.empty()) {
        return "'" + std::string(pattern) + "' has no target";
    }
    const auto [where, added] = entries_.try_emplace(key_of(a.local, a.domain), std::move(e));
    if (!added) {
        return "'" + std::string(pattern) + "' appears twice (first at " + where->second.origin + ")";
    }
    return std::nullopt;
}

std::optional<parse_error> add_text(alias_map& map, std::string_view text, std::string_view name) {
    std::string logical;
    std::size_t logical_line = 0;
    std::size_t number = 0;
    auto flush = [&]() -> std::optional<parse_error> {
        if (logical.empty()) {
            return std::nullopt;
        }
        auto wrong = map.add(logical, std::string(name) + ":" + std::to_string(logical_line));
        logical.clear();
        return wrong ? std::optional<parse_error>(parse_error{logical_line, std::move(*wrong)}) : std::nullopt;
    };
    while (!text.empty()) {
        const auto end = std::min(text.find('\n'), text.size());
        auto line = text.substr(0, end);
        text.remove_prefix(std::min(end + 1, text.size()));
        ++number;
        if (line.ends_with('\r')) {
            line.remove_suffix(1);
        }
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string_view::npos || line[first] == '#') {
            continue;  // blank lines and comments neither end nor continue an entry
        }
        if (blank(line.front())) {
            if (logical.empty()) {
                return parse_error{number, "a continuation line (it starts with a blank) with no entry above"};
            }
            logical += ' ';
            logical += line.substr(first);
            continue;
        }
        if (auto wrong = flush()) {
            return wrong;
        }
        logical.assign(line);
        logical_line = number;
    }
    return flush();
}

}  // namespace mailwright::aliases
