// A bounded input buffer that splits a byte stream into protocol lines (RFC 5321 2.3.8, RFC 1939 3).
// No I/O: the session reads into prepare()/commit() and asks next() for lines. Every limit is owned here,
// so no caller can forget one:
//  - a line, terminator included, never exceeds max_line octets; a longer one is reported once as
//    too_long and then skipped up to its end, never truncated and executed (SMTP smuggling, CVE-2023-51764);
//  - a line ended by a bare LF is either accepted or reported as bare_lf, per protocol policy;
//  - discard() drops everything buffered, which STARTTLS/STLS needs (RFC 3207 4.2, CVE-2011-0411).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

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
        std::string_view line;  // valid until the next call to prepare() or discard()
    };

    explicit line_buffer(line_limits limits);

    // Free space to read into; never empty while next() says need_more.
    std::span<char> prepare();
    void commit(std::size_t n);

    result next();

    // Whether bytes are buffered that next() has not returned yet (a partial line counts).
    bool has_buffered() const noexcept { return end_ > begin_; }

    // Raw access for message data (SMTP DATA and BDAT): the octets buffered but not yet returned, and
    // consuming a prefix of them. Valid between lines only, never inside a line being skipped.
    std::string_view buffered() const noexcept { return {storage_.data() + begin_, end_ - begin_}; }
    void consume(std::size_t n) noexcept;

    // Drops everything buffered and returns how many octets that was.
    std::size_t discard() noexcept;

    // Overwrites a line next() returned, in place, once it is no longer needed: a password or a SASL response
    // must not linger in memory (nor reach a core dump). Ignored for views that are not into this buffer.
    void wipe(std::string_view line) noexcept;

    const line_limits& limits() const noexcept { return limits_; }
    // Changes the longest line allowed, from the line being read on (a SASL response may be longer than a
    // command: RFC 4954 4). What is buffered stays; the storage grows to the new limit, and shrinks back to it
    // when what is buffered fits. Lines next() returned before are no longer valid.
    void set_max_line(std::size_t max_line);

  private:
    line_limits limits_;
    std::vector<char> storage_;
    std::size_t begin_ = 0;    // first unconsumed octet
    std::size_t end_ = 0;      // one past the last buffered octet
    std::size_t scanned_ = 0;  // octets after begin_ known to hold no LF
    bool skipping_ = false;    // inside the remainder of an over-long line
};

}  // namespace mailwright::io
