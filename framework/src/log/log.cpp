// Logging set-up over spdlog, and the escaping every line goes through.
#include "mailwright/log/log.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "mailwright/io/utf8.hpp"

namespace mailwright::log {

namespace {

constexpr std::string_view pattern = "%Y-%m-%dT%H:%M:%S.%e%z %l %v";

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
    escaping_formatter() : inner_(std::make_unique<spdlog::pattern_formatter>(std::string(pattern))) {}

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
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<escaping_formatter>(); }

  private:
    std::unique_ptr<spdlog::formatter> inner_;
};

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

void init(level threshold) {
    auto logger = spdlog::stderr_logger_mt("mailwright");
    logger->set_formatter(std::make_unique<escaping_formatter>());
    logger->set_level(static_cast<spdlog::level::level_enum>(threshold));
    // Lines reach the terminal or journal as they happen, not when a buffer fills.
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace mailwright::log
