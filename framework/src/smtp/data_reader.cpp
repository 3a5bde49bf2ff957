// data_reader: see the header for the rules and the attacks they answer.
#include "mailwright/smtp/data_reader.hpp"

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

data_reader::result data_reader::feed(std::string_view input, std::string& out) {
    std::size_t i = 0;
    while (i < input.size()) {
        const char c = input[i];
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
        if (options_.dot_framed && line_length_ == 0 && c == '.') {
            dot_first_ = true;  // stuffing, or the end: the next octet tells
            line_length_ = 1;
            continue;
        }
        if (dot_first_) {
            // RFC 5321 4.5.2: a leading dot before other characters is dropped; it is not part of the line, so
            // it does not count toward the limit either (4.5.3.1.6).
            dot_first_ = false;
            line_length_ = 0;
        }
        ++line_length_;
        if (line_length_ + 2 > options_.max_line) {
            note(problem::line_too_long);
        }
        out.push_back(c);
    }
    return {i, false};
}

}  // namespace mailwright::smtp
