// A bounded input buffer that splits a byte stream into protocol lines (RFC 5321 2.3.8, RFC 1939 3).
// No I/O: the session reads into prepare()/commit() and asks next() for lines. Every limit is owned here,
// so no caller can forget one:
//  - a line, terminator included, never exceeds max_line octets; a longer one is reported once as
//    too_long and then skipped up to its end, never truncated and executed (SMTP smuggling, CVE-2023-51764);
//  - a line ended by a bare LF is either accepted or reported as bare_lf, per protocol policy;
//  - discard() drops everything buffered, which STARTTLS/STLS needs (RFC 3207 4.2, CVE-2011-0411).
// The storage comes from this thread's buffer pool (buffer_pool.hpp) at the first prepare(), and give_back()
// returns it while nothing is buffered: a session waiting for its client's next command holds no buffer.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "mailwright/io/buffer_pool.hpp"

namespace mailwright::io {

enum class bare_lf_policy {
    accept,  // LF alone ends a line too (lenient clients); a CR before it is still stripped
    reject,  // a line ended by LF alone is reported as bare_lf and never returned as a line
};

struct line_limits {
    std::size_t max_line = 512;  // octets including CRLF; RFC 5321 4.5.3.1.4 command line limit
    bare_lf_policy bare_lf = bare_lf_policy::accept;
};

class line_buffer {
  public:
    enum class status {
        line,       // a complete line, terminator stripped
        need_more,  // no complete line buffered: read more
        too_long,   // the line exceeded max_line; its remainder will be skipped
        bare_lf,    // the line ended in LF without CR and the policy rejects that; the line is consumed
    };
    struct result {
        status kind;
        std::string_view line;  // valid until the next call to prepare(), discard() or give_back()
    };

    explicit line_buffer(line_limits limits);

    // Free space to read into, taking storage from the pool if none is held; never empty while next() says
    // need_more.
    std::span<char> prepare();
    void commit(std::size_t n);

    result next();

    // Whether bytes are buffered that next() has not returned yet (a partial line counts).
    bool has_buffered() const noexcept { return end_ > begin_; }

    // Raw access for message data (SMTP DATA and BDAT): the octets buffered but not yet returned, and
    // consuming a prefix of them. Valid between lines only, never inside a line being skipped.
    std::string_view buffered() const noexcept {
        return storage_.empty() ? std::string_view() : std::string_view(storage_.data() + begin_, end_ - begin_);
    }
    void consume(std::size_t n) noexcept;

    // Drops everything buffered and returns how many octets that was.
    std::size_t discard() noexcept;

    // Gives the storage back to the pool, wiped, if nothing is buffered (a partial line or octets after the
    // last line keep it); the next prepare() takes storage again. Lines returned before are no longer valid.
    void give_back() noexcept;
    // Whether the buffer holds storage from the pool now.
    bool holds_storage() const noexcept { return !storage_.empty(); }

    // Overwrites a line next() returned, in place, once it is no longer needed: a password or a SASL response
    // must not linger in memory (nor reach a core dump). Ignored for views that are not into this buffer.
    void wipe(std::string_view line) noexcept;

    const line_limits& limits() const noexcept { return limits_; }
    // Changes the longest line allowed, from the line being read on (a SASL response may be longer than a
    // command: RFC 4954 4). What is buffered stays; the storage grows to the new limit, and shrinks back to it
    // when nothing is buffered. Lines next() returned before are no longer valid.
    void set_max_line(std::size_t max_line);

  private:
    line_limits limits_;
    pooled_buffer storage_;     // empty while nothing is buffered and the storage was given back
    std::size_t capacity_ = 0;  // octets of storage_ in use: the line limit, or more while a longer line waits
    std::size_t begin_ = 0;     // first unconsumed octet
    std::size_t end_ = 0;       // one past the last buffered octet
    std::size_t scanned_ = 0;   // octets after begin_ known to hold no LF
    bool skipping_ = false;     // inside the remainder of an over-long line
};

}  // namespace mailwright::io
