// The access plugin's rules file: its format, its parser and the first-match lookup. No I/O here
// (rules_file.hpp reads the file), so the unit tests feed text straight in.
//
// One rule a line; blank lines and lines whose first non-blank character is '#' are skipped:
//     <what> <pattern> <action> [<code>] [<enhanced code>] [<text...>]
//   what     client | helo | sender | recipient  (checked at connect, HELO/EHLO/LHLO, MAIL, RCPT)
//   pattern  pattern.hpp: client 192.0.2.0/24, 2001:db8::/32, ::1; helo mail.example.org (and its subdomains),
//            *.dynamic.example; sender/recipient user@example.org, @example.org, example.org (and its
//            subdomains), user@, *-bounces@*.example, and for senders <> (the null reverse-path)
//   action   accept | reject | tempfail
//   the reply (reject and tempfail only, each part optional): an SMTP code of the action's class (at connect:
//            554 or 521 to reject, 421 to tempfail, as RFC 5321 3.1 and RFC 7504 want), an RFC 3463 enhanced
//            code of the same class, and the text the client hears. What is left out is filled in, e.g.
//            "554 5.7.1 <spam@example.net>: sender refused: access denied".
// Each kind of rule is looked up at its own phase, in the order of the file; the first that matches decides
// that phase ("accept" ends the lookup, so an exception goes above the rule it is an exception to).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mailwright/plugin/reply.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pattern.hpp"

namespace mailwright::access {

enum class action { accept, reject, tempfail };

struct rule {
    subject what = subject::client;
    pattern match;
    action verdict = action::reject;
    std::uint16_t code = 0;  // 0: the default for the phase and the action
    std::string enhanced;    // empty: the default
    std::string text;        // empty: the default, naming what was refused
    std::size_t line = 0;    // in the file, for the log and for errors
};

struct rule_set {
    std::array<std::vector<rule>, 4> by_subject;  // indexed by subject, each in the order of the file
    std::size_t size() const noexcept;
};

// A rules file is written by an administrator, but often generated from outside data (a blocklist feed): the
// bounds keep a runaway file from eating memory or making every lookup slow, and say so with the line.
inline constexpr std::size_t max_line_length = 1000;
inline constexpr std::size_t max_rules = 20000;
inline constexpr std::size_t max_file_size = 4 * 1024 * 1024;

struct parse_result {
    std::shared_ptr<const rule_set> rules;  // null when the text has an error
    std::size_t line = 0;                   // where the error is (1-based)
    std::string error;                      // what is wrong, and what would be right
};

// Parses a whole file's text. The first bad line ends the parse: a rule set is used whole or not at all.
parse_result parse_rules(std::string_view text);

// Parses one line (without its line end) into `out`. Returns false for a blank or comment line; throws
// nothing and reports a bad line through `error` (non-empty).
bool parse_rule(std::string_view line, rule& out, std::string& error);

// The first rule about `what` that `value` matches, or null. value: the client's numeric IP address, the HELO
// name, or the address of MAIL or RCPT ("" for the null reverse-path).
const rule* first_match(const rule_set& rules, subject what, std::string_view value);

// What the client hears when rule `r` matched `value`: accept, or the refusal with every part filled in.
plugin::reply reply_for(const rule& r, std::string_view value);

std::string_view to_string(subject what) noexcept;

}  // namespace mailwright::access
