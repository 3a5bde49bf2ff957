// The end of an SMTP message and its dot-unstuffing (RFC 5321 4.1.1.4, 4.5.2), incremental and without I/O.
//
// The only end of data is CRLF "." CRLF: a line holding a single dot that began after a real CRLF (or at the
// start of the data) and ends with CRLF. A bare LF or a bare CR never ends a line for this purpose, so none of
// the SMTP smuggling endings (<LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF>, <CR><LF>.<LF>, <CR>.<CR><LF>, ...;
// CVE-2023-51764/5/6) can end one message and start another. By policy a bare LF or CR is either a problem
// (the message is refused after its end; the default, as Postfix 3.9) or normalised to CRLF inside the message.
// A line longer than the limit is a problem too: the message is refused, never truncated. So is a NUL, which
// text (7BIT, 8BITMIME) never holds (RFC 6152; RFC 5321 4.5.2): a next hop that drops NULs, or ends a line at
// one, would read "<CR><LF><NUL>.<CR><LF>" as the end of the data. Only BODY=BINARYMIME carries NULs, and its
// BDAT chunks do not go through this reader.
//
// The reader hands out the message octets with CRLF line ends and the stuffing dots removed. After a problem
// it keeps finding the end, so the session can answer the message and go on with the next command.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mailwright::smtp {

enum class bare_line_ends {
    reject,     // a bare LF or CR makes the message a problem
    normalise,  // a bare LF or CR becomes CRLF inside the message (it still never ends the data)
};

class data_reader {
  public:
    enum class problem { none, bare_line_end, line_too_long, nul };

    struct options {
        std::size_t max_line = 1000;  // octets including CRLF (RFC 5321 4.5.3.1.6)
        bare_line_ends bare = bare_line_ends::reject;
        // DATA: dots are unstuffed and CRLF "." CRLF ends the data. BDAT (false): the chunk sizes frame the
        // message, so every octet is content; the rules for line ends and lengths still hold.
        bool dot_framed = true;
    };

    struct result {
        std::size_t consumed = 0;  // input octets used; the rest belongs to the next command
        bool finished = false;     // the final "." line was read
    };

    data_reader() : data_reader(options{}) {}
    explicit data_reader(options o) : options_(o) {}

    // Reads as much of `input` as belongs to the message, appending the message octets to `out`.
    result feed(std::string_view input, std::string& out);

    // The message ended (BDAT LAST): a CR still waiting for its LF was a bare one.
    void finish(std::string& out);

    problem first_problem() const noexcept { return problem_; }

  private:
    void end_line(bool real_crlf, std::string& out);
    // Notes a NUL in, or an over-long line made by, a run of ordinary octets about to join the current line.
    void check_run(std::string_view run) noexcept;
    void note(problem p) noexcept {
        if (problem_ == problem::none) {
            problem_ = p;
        }
    }

    options options_;
    problem problem_ = problem::none;
    std::size_t line_length_ = 0;  // octets of the current line so far, stuffing dot included
    bool crlf_before_ = true;      // the current line began after a real CRLF (or at the start)
    bool dot_first_ = false;       // the current line began with a dot not yet written
    bool cr_pending_ = false;      // a CR was read; is an LF next?
};

}  // namespace mailwright::smtp
