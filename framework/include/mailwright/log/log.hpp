// Logging set-up. Mailwright logs through spdlog, one line per event; lines about a session start with
// session::log_prefix() ("session=12 peer=127.0.0.1:40000"). Secrets (passwords, SASL responses, keys) are
// never logged, at any level: log that a secret was given, never what it was.
//
// Log lines carry what clients said (user names, EHLO names, addresses, the TLS SNI name), so every line is
// escaped on its way out, in one place (the formatter init() installs): a client can never start a line of
// its own, forge one that a fail2ban filter or an audit would believe, or smuggle control characters into a
// terminal (SECURITY-CASES 44).
//
// Where lines go and in what form is the administrator's choice ([log] output and format): stderr (the
// default; systemd's journal takes it from there too), syslog or journald; a text line or a JSON object per
// line. Either way the message is the same escaped text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mailwright::log {

enum class level { trace, debug, info, warn, error, off };

// "text": "<time> <level> <message>"; "json": {"time":...,"level":...,"session":N,"peer":...,"message":...}.
enum class format { text, json };
// Not "stderr", a macro of <cstdio>.
enum class output { standard_error, syslog, journald };

struct settings {
    level threshold = level::info;
    format style = format::text;
    output destination = output::standard_error;
};

std::optional<level> parse_level(std::string_view name);

// The longest message a log line carries, in octets after escaping; the rest is cut and counted.
inline constexpr std::size_t max_message = 4096;

// `text` as one safe log line: control characters (C0, DEL, C1) and the Unicode line and paragraph
// separators as \n, \r, \t, \xHH or \u{HHHH}, every octet of malformed UTF-8 as \xHH, and the backslash as
// \\ so that an escape can never be forged; at most `max` octets, then "...[N octets cut]".
std::string escape(std::string_view text, std::size_t max = max_message);

// One log line as a JSON object, without the line end: {"time":"...","level":"...","message":"..."}, with
// "session" (a number) and "peer" taken out of the message when it starts with session::log_prefix()'s
// "session=N peer=ADDRESS ". The message is escape()d first, as a text line's is, then `"` and `\` are
// escaped for JSON: json.loads() of the line gives back the text line's message exactly.
std::string json_line(std::string_view time, std::string_view level_name, std::string_view message);

// Configures the default logger: every message escaped, at the given level, in the given form, to the given
// output. Text on stderr is "<time> <level> <message>"; syslog and journald stamp the time and the priority
// themselves, so they get "<message>" alone (or the JSON object, with its time). When the output's socket is
// missing at start (/dev/log, /run/systemd/journal/socket: no syslog daemon, no journald, as in a container),
// a warning says so and lines go to stderr instead of nowhere.
void init(const settings& s);
// init() with the other settings at their defaults: lines on stderr, as text.
void init(level threshold);

}  // namespace mailwright::log
