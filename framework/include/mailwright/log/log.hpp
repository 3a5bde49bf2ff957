// Logging set-up. Mailwright logs through spdlog, one line per event; lines about a session start with
// session::log_prefix() ("session=12 peer=127.0.0.1:40000"). Secrets (passwords, SASL responses, keys) are
// never logged, at any level: log that a secret was given, never what it was.
//
// Log lines carry what clients said (user names, EHLO names, addresses, the TLS SNI name), so every line is
// escaped on its way out, in one place (the formatter init() installs): a client can never start a line of
// its own, forge one that a fail2ban filter or an audit would believe, or smuggle control characters into a
// terminal (SECURITY-CASES 44).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mailwright::log {

enum class level { trace, debug, info, warn, error, off };

std::optional<level> parse_level(std::string_view name);

// The longest message a log line carries, in octets after escaping; the rest is cut and counted.
inline constexpr std::size_t max_message = 4096;

// `text` as one safe log line: control characters (C0, DEL, C1) and the Unicode line and paragraph
// separators as \n, \r, \t, \xHH or \u{HHHH}, every octet of malformed UTF-8 as \xHH, and the backslash as
// \\ so that an escape can never be forged; at most `max` octets, then "...[N octets cut]".
std::string escape(std::string_view text, std::size_t max = max_message);

// Configures the default logger: timestamped lines on stderr at the given level, every message escaped.
void init(level threshold);

}  // namespace mailwright::log
