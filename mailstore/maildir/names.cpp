// Maildir names: generation, parsing, POP3 unique ids.
#include "names.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <atomic>
#include <charconv>
#include <chrono>

namespace mailwright::maildir {

namespace {

std::string safe_host() {
    char host[256] = "localhost";
    ::gethostname(host, sizeof host - 1);
    std::string out;
    for (const char* p = host; *p != '\0'; ++p) {
        // The Maildir convention escapes '/' and ':'; ',' too, since it starts our size fields.
        switch (*p) {
            case '/':
                out += "\\057";
                break;
            case ':':
                out += "\\072";
                break;
            case ',':
                out += "\\054";
                break;
            default:
                out += *p;
        }
    }
    return out;
}

}  // namespace

std::string unique_base() {
    static const std::string host = safe_host();
    static std::atomic<std::uint64_t> sequence{0};
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
    // Six digits of microseconds, so that names of one second also sort by delivery as text.
    return fmt::format("{}.M{:06}P{}Q{}.{}", usecs / 1'000'000, usecs % 1'000'000, ::getpid(), ++sequence, host);
}

std::string_view base_of(std::string_view file_name) { return file_name.substr(0, file_name.find_first_of(",:")); }

size_fields sizes_of(std::string_view file_name) {
    size_fields sizes;
    const auto colon = file_name.find(':');
    std::string_view fields = file_name.substr(0, colon);
    std::size_t at = fields.find(',');
    while (at != std::string_view::npos) {
        const auto next = fields.find(',', at + 1);
        const std::string_view field = fields.substr(at + 1, next == std::string_view::npos ? next : next - at - 1);
        std::uint64_t value = 0;
        if (field.size() > 2 && field[1] == '=' &&
            std::from_chars(field.data() + 2, field.data() + field.size(), value).ptr == field.data() + field.size()) {
            if (field[0] == 'S') {
                sizes.file_size = value;
            } else if (field[0] == 'W') {
                sizes.crlf_size = value;
            }
        }
        at = next;
    }
    return sizes;
}

std::string uid_of(std::string_view base) {
    bool printable = !base.empty() && base.size() <= 70;
    for (char c : base) {
        printable = printable && c >= 0x21 && c <= 0x7e;
    }
    if (printable) {
        return std::string(base);
    }
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : base) {
        h = (h ^ c) * 1099511628211ull;
    }
    return fmt::format("h{:016x}", h);
}

delivery_time delivery_time_of(std::string_view base) {
    delivery_time t;
    const char* const last = base.data() + base.size();
    const auto [end, ec] = std::from_chars(base.data(), last, t.seconds);
    if (ec != std::errc{} || end == base.data()) {
        return {};
    }
    if (last - end > 2 && end[0] == '.' && end[1] == 'M') {
        std::uint64_t microseconds = 0;
        const auto [m_end, m_ec] = std::from_chars(end + 2, last, microseconds);
        if (m_ec == std::errc{} && m_end != end + 2) {
            t.microseconds = microseconds;
        }
    }
    return t;
}

bool valid_user(std::string_view user) {
    if (user.empty() || user.size() > 255 || user.front() == '.') {
        return false;
    }
    for (unsigned char c : user) {
        if (c == '/' || c < 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

}  // namespace mailwright::maildir
