// POP3's view of a stored message: sizes, TOP's cut, readers (plugin/message_text.hpp).
#include "mailwright/plugin/message_text.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

namespace mailwright::plugin {

namespace {
bool only_crs(std::string_view line) noexcept { return line.find_first_not_of('\r') == std::string_view::npos; }
}  // namespace

std::uint64_t pop3_size(std::string_view text) noexcept {
    return text.size() + (!text.empty() && text.back() != '\n' ? 2 : 0);
}

std::string_view top_of(std::string_view text, std::size_t body_lines) noexcept {
    std::size_t at = 0;
    bool in_body = false;
    std::size_t lines = 0;
    while (at < text.size()) {
        const auto lf = text.find('\n', at);
        if (lf == std::string_view::npos) {
            return text;  // the last line, without its end, is sent whole
        }
        const std::string_view line = text.substr(at, lf - at);
        at = lf + 1;
        if (in_body) {
            if (++lines >= body_lines) {
                return text.substr(0, at);
            }
        } else if (only_crs(line)) {
            in_body = true;
            if (body_lines == 0) {
                return text.substr(0, at);
            }
        }
    }
    return text;
}

string_reader::string_reader(std::string text, std::size_t piece)
    : text_(std::move(text)), piece_(std::max<std::size_t>(piece, 1)) {}

asio::awaitable<chunk_result> string_reader::read_some(std::span<char> buffer) {
    const std::size_t n = std::min({buffer.size(), piece_, text_.size() - at_});
    std::memcpy(buffer.data(), text_.data() + at_, n);
    at_ += n;
    co_return chunk_result{n, {}};
}

open_message_result text_message(std::string text, std::optional<std::size_t> body_lines) {
    if (body_lines) {
        text.resize(top_of(text, *body_lines).size());
    }
    return open_message_result{store_status::ok, std::make_unique<string_reader>(std::move(text))};
}

crlf_converter::crlf_converter(std::optional<std::size_t> body_lines) noexcept : body_lines_(body_lines) {}

std::size_t crlf_converter::convert(std::string_view raw, std::string& out) {
    const std::size_t given = raw.size();
    out.reserve(out.size() + raw.size() + raw.size() / 16 + 2);
    while (!raw.empty() && !finished_) {
        const auto lf = raw.find('\n');
        const std::string_view part = raw.substr(0, lf);
        if (!part.empty()) {
            out.append(part);
            line_empty_ = line_empty_ && only_crs(part);
            previous_ = part.back();
        }
        if (lf == std::string_view::npos) {
            raw = {};
            break;
        }
        if (previous_ != '\r') {
            out += '\r';
        }
        out += '\n';
        previous_ = '\n';
        end_of_line();
        raw.remove_prefix(lf + 1);
    }
    return given - raw.size();
}

void crlf_converter::end_of_line() noexcept {
    const bool empty = line_empty_;
    line_empty_ = true;
    if (!body_lines_) {
        return;
    }
    if (in_body_) {
        finished_ = ++lines_sent_ >= *body_lines_;  // TOP: the headers and exactly N lines of the body
    } else if (empty) {
        in_body_ = true;
        finished_ = *body_lines_ == 0;
    }
}

void crlf_size_counter::add(std::string_view raw) noexcept {
    for (const char c : raw) {
        size_ += c == '\n' && previous_ != '\r' ? 2 : 1;
        previous_ = c;
    }
}

}  // namespace mailwright::plugin
