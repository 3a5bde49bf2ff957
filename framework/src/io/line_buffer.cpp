// Bounded line splitting; see line_buffer.hpp for the rules and the attacks they answer.
#include "mailwright/io/line_buffer.hpp"

#include <string.h>
#include <algorithm>

#include <cstring>

namespace mailwright::io {

namespace {
// A line needs room for at least one octet and its CRLF.
constexpr std::size_t min_line = 3;
}  // namespace

line_buffer::line_buffer(line_limits limits) : limits_(limits), capacity_(std::max(limits.max_line, min_line)) {
    limits_.max_line = capacity_;
}

std::span<char> line_buffer::prepare() {
    if (storage_.empty()) {
        storage_ = pooled_buffer(capacity_);
    }
    if (begin_ == end_) {
        begin_ = end_ = 0;
    } else if (end_ == capacity_ && begin_ > 0) {
        // Move the partial line to the front; at most max_line octets, and only when the space is needed.
        std::memmove(storage_.data(), storage_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    return {storage_.data() + end_, capacity_ - end_};
}

void line_buffer::commit(std::size_t n) { end_ = std::min(end_ + n, capacity_); }

line_buffer::result line_buffer::next() {
    if (begin_ == end_) {
        begin_ = end_ = scanned_ = 0;  // nothing buffered (perhaps no storage either): the same as finding no LF
        return {status::need_more, {}};
    }
    char* const base = storage_.data();
    if (skipping_) {
        char* lf = static_cast<char*>(std::memchr(base + begin_, '\n', end_ - begin_));
        if (lf == nullptr) {
            begin_ = end_ = 0;
            return {status::need_more, {}};
        }
        begin_ = static_cast<std::size_t>(lf - base) + 1;
        skipping_ = false;
        scanned_ = 0;
    }

    const std::size_t from = begin_ + scanned_;
    char* lf = static_cast<char*>(std::memchr(base + from, '\n', end_ - from));
    if (lf == nullptr) {
        scanned_ = end_ - begin_;
        if (scanned_ >= limits_.max_line) {
            // The buffer is full and holds no line end: the line is longer than allowed. Report it now (the
            // client may never send the rest) and skip whatever of it is still to come.
            begin_ = end_ = scanned_ = 0;
            skipping_ = true;
            return {status::too_long, {}};
        }
        return {status::need_more, {}};
    }

    const std::size_t lf_at = static_cast<std::size_t>(lf - base);
    std::string_view line(base + begin_, lf_at - begin_);
    begin_ = lf_at + 1;
    scanned_ = 0;
    if (line.size() + 1 > limits_.max_line) {
        return {status::too_long, {}};  // buffered whole while a larger limit held (set_max_line)
    }
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
        return {status::line, line};
    }
    if (limits_.bare_lf == bare_lf_policy::reject) {
        return {status::bare_lf, {}};
    }
    return {status::line, line};
}

void line_buffer::set_max_line(std::size_t max_line) {
    const std::size_t wanted = std::max(max_line, min_line);
    const std::size_t held = end_ - begin_;
    limits_.max_line = wanted;
    if (wanted == capacity_ || (wanted < capacity_ && held > wanted)) {
        return;  // the same size; or a smaller limit while more is buffered: the room goes at a later line
    }
    capacity_ = wanted;
    if (held == 0) {
        begin_ = end_ = 0;
        storage_.release();  // the next prepare() takes storage of the new size
    } else if (wanted <= storage_.size()) {
        std::memmove(storage_.data(), storage_.data() + begin_, held);
        begin_ = 0;
        end_ = held;
    } else {
        pooled_buffer larger(wanted);
        std::memcpy(larger.data(), storage_.data() + begin_, held);
        storage_ = std::move(larger);  // the smaller one goes back to the pool, wiped
        begin_ = 0;
        end_ = held;
    }
}

void line_buffer::consume(std::size_t n) noexcept {
    begin_ += std::min(n, end_ - begin_);
    scanned_ = 0;
}

void line_buffer::wipe(std::string_view line) noexcept {
    const char* const base = storage_.data();
    if (line.empty() || base == nullptr || line.data() < base || line.data() + line.size() > base + capacity_) {
        return;
    }
    // explicit_bzero: a plain memset of memory about to be reused could be optimised away.
    ::explicit_bzero(storage_.data() + (line.data() - base), line.size());
}

void line_buffer::give_back() noexcept {
    if (begin_ == end_) {
        begin_ = end_ = scanned_ = 0;
        storage_.release();
    }
}

std::size_t line_buffer::discard() noexcept {
    const std::size_t dropped = end_ - begin_;
    begin_ = end_ = scanned_ = 0;
    skipping_ = false;
    return dropped;
}

}  // namespace mailwright::io
