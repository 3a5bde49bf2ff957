// data_reader: see the header for the rules and the attacks they answer.
#include "mailwright/smtp/data_reader.hpp"

#include <algorithm>
#include <cstring>

namespace mailwright::smtp {

void data_reader::end_line(bool real_crlf, std::string& out) {
    if (dot_first_) {
        out.push_back('.');  // a line that was just "." ended without CRLF: content, not the end
    }
    if (!real_crlf && options_.bare == bare_line_ends::reject) {
        note(problem::bare_line_end);
    }
    out.append("\r\n");
    line_length_ = 0;
    dot_first_ = false;
    crlf_before_ = real_crlf;
}

void data_reader::finish(std::string& out) {
    if (cr_pending_) {
        cr_pending_ = false;
        end_line(false, out);
    }
}

void data_reader::check_run(std::string_view run) noexcept {
    if (problem_ != problem::none) {
        return;  // only the first problem is reported: no need to look further
    }
    // Which comes first: a NUL, or the octet that makes the line too long (line_length_ + 2 > max_line).
    const std::size_t room = options_.max_line >= line_length_ + 2 ? options_.max_line - line_length_ - 2 : 0;
    const void* nul = std::memchr(run.data(), '\0', run.size());
    const std::size_t nul_at =
        nul != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nul) - run.data()) : run.size();
    if (nul_at < run.size() && nul_at <= room) {
        note(problem::nul);
    } else if (run.size() > room) {
        note(problem::line_too_long);
    }
}

data_reader::result data_reader::feed(std::string_view input, std::string& out) {
    // Where the next CR and LF at or after i are (input.size(): none), found by memchr and searched for again
    // only once i has passed them, so a run of ordinary octets is copied whole and input of any shape is read
    // in linear time.
    constexpr std::size_t unknown = std::string_view::npos;
    std::size_t next_cr = unknown;
    std::size_t next_lf = unknown;
    auto next = [&input](char wanted, std::size_t& cached, std::size_t from) {
        if (cached == unknown || cached < from) {
            const void* found = std::memchr(input.data() + from, wanted, input.size() - from);
            cached = found != nullptr ? static_cast<std::size_t>(static_cast<const char*>(found) - input.data())
                                      : input.size();
        }
        return cached;
    };
    std::size_t i = 0;
    while (i < input.size()) {
        const char c = input[i];
        if (!cr_pending_ && c != '\r' && c != '\n' && !(options_.dot_framed && line_length_ == 0 && c == '.')) {
            // Ordinary octets, up to the next CR or LF, are the line's content: copied in one piece.
            if (dot_first_) {
                // RFC 5321 4.5.2: a leading dot before other characters is dropped; it is not part of the line,
                // so it does not count toward the limit either (4.5.3.1.6).
                dot_first_ = false;
                line_length_ = 0;
            }
            const std::size_t end = std::min(next('\r', next_cr, i), next('\n', next_lf, i));
            check_run(input.substr(i, end - i));
            line_length_ += end - i;
            out.append(input.data() + i, end - i);
            i = end;
            continue;
        }
        if (cr_pending_) {
            cr_pending_ = false;
            if (c == '\n') {
                ++i;
                if (options_.dot_framed && dot_first_ && line_length_ == 1 && crlf_before_) {
                    return {i, true};  // CRLF "." CRLF
                }
                end_line(true, out);
                continue;
            }
            end_line(false, out);  // a bare CR; `c` starts the next line and is read again
            continue;
        }
        ++i;
        if (c == '\r') {
            cr_pending_ = true;
            continue;
        }
        if (c == '\n') {
            end_line(false, out);  // a bare LF
            continue;
        }
        dot_first_ = true;  // a dot starting a line: stuffing, or the end; the next octet tells
        line_length_ = 1;
    }
    return {i, false};
}

}  // namespace mailwright::smtp
