// The postgres-store's view of a message as POP3 sends it, without I/O: the size POP3 reports, counted as the
// message streams in, and the octets sent for RETR and TOP, made from the stored octets as they stream out.
// The store keeps a message as it was received (CRLF line ends from SMTP and LMTP, a bare LF from a program
// that made its own): POP3 sends every line with CRLF (RFC 1939 3), so a bare LF gains a CR on the way out
// and counts two octets; a last line without its end gets CRLF from the POP3 dialogue's final dot (and is
// counted so, RFC 1939 11: the size a client is told is the size it receives). Mirrors the Maildir reader
// (mailstore/maildir/drop.cpp); kept here until the SDK has a shared helper.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailwright::pgstore {

// Counts the octets POP3 will send for a message pushed in pieces.
class pop3_size {
  public:
    void add(std::string_view piece);
    // The size to report once every piece was added.
    std::uint64_t total() const { return size_ + (size_ > 0 && previous_ != '\n' ? 2 : 0); }
    std::uint64_t stored() const { return stored_; }

  private:
    std::uint64_t size_ = 0;
    std::uint64_t stored_ = 0;
    char previous_ = '\0';
};

// Turns stored octets into the lines POP3 sends: every line ends in CRLF, and with `body_lines` (TOP) the
// output ends after the header block, its empty line, and that many lines of the body.
class pop3_lines {
  public:
    explicit pop3_lines(std::optional<std::size_t> body_lines) : body_lines_(body_lines) {}

    // Appends to `out` what `raw` (the next stored octets) becomes; nothing once finished().
    void convert(std::string_view raw, std::string& out);
    // TOP has sent all it was asked for: the rest of the message need not be read.
    bool finished() const { return finished_; }

  private:
    void end_of_line();

    std::optional<std::size_t> body_lines_;
    char previous_ = '\0';
    bool finished_ = false;
    bool in_body_ = false;
    bool line_empty_ = true;
    std::size_t lines_sent_ = 0;
};

}  // namespace mailwright::pgstore
