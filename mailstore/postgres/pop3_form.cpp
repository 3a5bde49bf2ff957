// See pop3_form.hpp.
#include "pop3_form.hpp"

namespace mailwright::pgstore {

void pop3_size::add(std::string_view piece) {
    stored_ += piece.size();
    for (const char c : piece) {
        size_ += c == '\n' && previous_ != '\r' ? 2 : 1;
        previous_ = c;
    }
}

void pop3_lines::convert(std::string_view raw, std::string& out) {
    out.reserve(out.size() + raw.size() + raw.size() / 16 + 2);
    while (!raw.empty() && !finished_) {
        const auto lf = raw.find('\n');
        const std::string_view part = raw.substr(0, lf);
        if (!part.empty()) {
            out.append(part);
            line_empty_ = line_empty_ && part.find_first_not_of('\r') == std::string_view::npos;  // as Maildir's
            previous_ = part.back();
        }
        if (lf == std::string_view::npos) {
            return;
        }
        if (previous_ != '\r') {
            out += '\r';
        }
        out += '\n';
        previous_ = '\n';
        end_of_line();
        raw.remove_prefix(lf + 1);
    }
}

void pop3_lines::end_of_line() {
    if (!body_lines_) {
        line_empty_ = true;
        return;
    }
    if (in_body_) {
        if (++lines_sent_ >= *body_lines_) {
            finished_ = true;  // TOP: the headers and exactly N lines of the body
        }
    } else if (line_empty_) {
        in_body_ = true;
        finished_ = *body_lines_ == 0;
    }
    line_empty_ = true;
}

}  // namespace mailwright::pgstore
