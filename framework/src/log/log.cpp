// Logging set-up over spdlog: the escaping every line goes through, the text and JSON forms, and the outputs
// (stderr: stderr_sink.hpp; syslog, journald).
#include "mailwright/log/log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <iterator>

#include "mailwright/io/utf8.hpp"
#include "stderr_sink.hpp"

namespace mailwright::log {

namespace {

constexpr std::string_view time_pattern = "%Y-%m-%dT%H:%M:%S.%e%z";
constexpr std::string_view text_pattern = "%Y-%m-%dT%H:%M:%S.%e%z %l %v";
// syslog and journald stamp the time and the priority themselves.
constexpr std::string_view bare_pattern = "%v";

// Where glibc's syslog() and libsystemd's sd_journal_send() deliver; neither can be told another path.
constexpr const char* syslog_socket = "/dev/log";
constexpr const char* journal_socket = "/run/systemd/journal/socket";

// Code points that end or reorder a line on a terminal or in a log viewer although they are valid UTF-8.
bool unsafe_code_point(char32_t c) {
    return (c >= 0x80 && c <= 0x9f)          // C1 controls, NEL (U+0085) among them
           || c == 0x2028 || c == 0x2029     // line and paragraph separators
           || (c >= 0x202a && c <= 0x202e)   // bidirectional embeddings and overrides
           || (c >= 0x2066 && c <= 0x2069);  // bidirectional isolates
}

void escape_octet(unsigned char c, std::string& out) {
    switch (c) {
        case '\n':
            out += "\\n";
            return;
        case '\r':
            out += "\\r";
            return;
        case '\t':
            out += "\\t";
            return;
        case '\\':
            out += "\\\\";
            return;
        default:
            fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
    }
}

// Every message of the logger is escaped before the pattern (time, level) is put around it.
class escaping_formatter final : public spdlog::formatter {
  public:
    escaping_formatter(std::string_view pattern, std::string_view eol)
        : pattern_(pattern),
          eol_(eol),
          inner_(std::make_unique<spdlog::pattern_formatter>(pattern_, spdlog::pattern_time_type::local, eol_)) {}

    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const std::string_view text(msg.payload.data(), msg.payload.size());
        if (text.size() <= max_message &&
            std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f && c != '\\'; })) {
            inner_->format(msg, dest);  // the common line: plain ASCII, nothing to copy
            return;
        }
        spdlog::details::log_msg safe = msg;
        const std::string escaped = escape(text);
        safe.payload = spdlog::string_view_t(escaped.data(), escaped.size());
        inner_->format(safe, dest);
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<escaping_formatter>(pattern_, eol_);
    }

  private:
    std::string pattern_;
    std::string eol_;
    std::unique_ptr<spdlog::formatter> inner_;
};

// One JSON object per line (json_line), its time as the text form writes it.
class json_formatter final : public spdlog::formatter {
  public:
    explicit json_formatter(std::string_view eol)
        : eol_(eol),
          time_(std::make_unique<spdlog::pattern_formatter>(std::string(time_pattern), spdlog::pattern_time_type::local,
                                                            "")) {}

    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        spdlog::memory_buf_t time;
        time_->format(msg, time);
        const auto level_name = spdlog::level::to_string_view(msg.level);
        const std::string line = json_line(std::string_view(time.data(), time.size()),
                                           std::string_view(level_name.data(), level_name.size()),
                                           std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(line.data(), line.data() + line.size());
        dest.append(eol_.data(), eol_.data() + eol_.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<json_formatter>(eol_); }

  private:
    std::string eol_;
    std::unique_ptr<spdlog::formatter> time_;
};

// A JSON string's contents: `text` escaped as a log line is, then `"` and `\` for JSON. escape() leaves no
// control character, so nothing else needs a \u escape; what remains is well-formed UTF-8.
void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    for (const char c : escape(text)) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '"';
}

// "session=N peer=ADDRESS " at the start of `message` (session::log_prefix()): N, ADDRESS, and the rest.
struct session_prefix {
    std::string_view id;
    std::string_view peer;
    std::string_view rest;
};

std::optional<session_prefix> split_session_prefix(std::string_view message) {
    constexpr std::string_view session_key = "session=";
    constexpr std::string_view peer_key = " peer=";
    if (!message.starts_with(session_key)) {
        return std::nullopt;
    }
    const std::size_t digits = message.find_first_not_of("0123456789", session_key.size());
    if (digits == session_key.size() || digits == std::string_view::npos ||
        message.substr(digits, peer_key.size()) != peer_key) {
        return std::nullopt;
    }
    const std::size_t peer_start = digits + peer_key.size();
    const std::size_t peer_end = message.find(' ', peer_start);
    if (peer_end == peer_start) {
        return std::nullopt;
    }
    return session_prefix{message.substr(session_key.size(), digits - session_key.size()),
                          message.substr(peer_start, peer_end - peer_start),
                          peer_end == std::string_view::npos ? std::string_view() : message.substr(peer_end + 1)};
}

std::unique_ptr<spdlog::formatter> make_formatter(format style, bool timestamped) {
    const std::string_view eol = timestamped ? "\n" : "";
    if (style == format::json) {
        return std::make_unique<json_formatter>(eol);
    }
    return std::make_unique<escaping_formatter>(timestamped ? text_pattern : bare_pattern, eol);
}

// The output's sink, or nullptr when its socket is missing (then `missing` names it).
spdlog::sink_ptr make_sink(output destination, const char*& missing) {
    // The program's name, as syslog and the journal show it: "mailwrightd[1234]: ...".
    const std::string ident = program_invocation_short_name;
    switch (destination) {
        case output::standard_error:
            break;
        case output::syslog:
            if (::access(syslog_socket, F_OK) != 0) {
                missing = syslog_socket;
                return nullptr;
            }
            // LOG_NDELAY: connected now, before the daemon gives up its privileges.
            return std::make_shared<spdlog::sinks::syslog_sink_mt>(ident, LOG_PID | LOG_NDELAY, LOG_MAIL, true);
        case output::journald:
            if (::access(journal_socket, F_OK) != 0) {
                missing = journal_socket;
                return nullptr;
            }
            return std::make_shared<spdlog::sinks::systemd_sink_mt>(ident, true);
    }
    return std::make_shared<stderr_sink>();
}

}  // namespace

std::string escape(std::string_view text, std::size_t max) {
    std::string out;
    out.reserve(std::min(text.size(), max) + 16);
    std::size_t i = 0;
    while (i < text.size() && out.size() < max) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        char32_t code = 0;
        const std::size_t n = c < 0x80 ? 1 : io::utf8_sequence(text, i, code);
        if (n == 0 || c < 0x80) {
            escape_octet(c, out);  // a control character, DEL, the backslash, or malformed UTF-8
            ++i;
        } else if (unsafe_code_point(code)) {
            fmt::format_to(std::back_inserter(out), "\\u{{{:04x}}}", static_cast<std::uint32_t>(code));
            i += n;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
    if (i < text.size()) {
        fmt::format_to(std::back_inserter(out), "...[{} octets cut]", text.size() - i);
    }
    return out;
}

std::optional<level> parse_level(std::string_view name) {
    if (name == "trace") return level::trace;
    if (name == "debug") return level::debug;
    if (name == "info") return level::info;
    if (name == "warn") return level::warn;
    if (name == "error") return level::error;
    if (name == "off") return level::off;
    return std::nullopt;
}

std::string json_line(std::string_view time, std::string_view level_name, std::string_view message) {
    std::string out = "{\"time\":";
    append_json_string(out, time);
    out += ",\"level\":";
    append_json_string(out, level_name);
    if (const auto prefix = split_session_prefix(message)) {
        out += ",\"session\":";
        out += prefix->id;
        out += ",\"peer\":";
        append_json_string(out, prefix->peer);
        message = prefix->rest;
    }
    out += ",\"message\":";
    append_json_string(out, message);
    out += '}';
    return out;
}

void init(const settings& s) {
    const char* missing = nullptr;
    spdlog::sink_ptr sink = make_sink(s.destination, missing);
    const bool on_stderr = sink == nullptr || s.destination == output::standard_error;
    if (sink == nullptr) {
        sink = std::make_shared<stderr_sink>();
    }
    // Not registered by name: a second init() (a test, an embedder) replaces the default logger.
    auto logger = std::make_shared<spdlog::logger>("mailwright", std::move(sink));
    logger->set_formatter(make_formatter(s.style, on_stderr));
    logger->set_level(static_cast<spdlog::level::level_enum>(s.threshold));
    // Lines reach the terminal or journal as they happen, not when a buffer fills.
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
    if (missing != nullptr) {
        spdlog::warn("[log] output = \"{}\", but {} does not exist: logging to stderr instead",
                     s.destination == output::syslog ? "syslog" : "journald", missing);
    }
}

void init(level threshold) { init(settings{.threshold = threshold}); }

}  // namespace mailwright::log
