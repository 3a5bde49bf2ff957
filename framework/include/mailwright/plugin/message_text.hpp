// What a store needs to hand a message to POP3: its size as POP3 counts it, TOP's cut (the header block and
// the first N lines of the body), a reader over a message held in a string, and a converter for a store that
// keeps LF line ends (Maildir files) and streams them back as CRLF.
//
// POP3 sends a message's octets as the store's reader gives them, dot-stuffed, and adds CRLF after a last
// line that has none (a message over BDAT may end so): that CRLF is part of the size the client is told
// (message_info::size, RFC 1939 11). TOP counts lines ending in LF (CRLF or a bare LF), and the header block
// ends at the first empty line (nothing, or only CRs, before its LF).
#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "mailwright/plugin/mailstore.hpp"

namespace mailwright::plugin {

// The octets POP3 sends for a message kept as `text` (CRLF line ends, as delivered): the text, and CRLF when
// its last line lacks a line end. The size for message_info of a store that keeps messages as given.
std::uint64_t pop3_size(std::string_view text) noexcept;

// What POP3 TOP sends of `text`: the header block, the empty line after it, and the first `body_lines` lines
// of the body. The whole text when it is shorter (no empty line, or fewer body lines); a last line without
// its line end counts as a line.
std::string_view top_of(std::string_view text, std::size_t body_lines) noexcept;

// A message_reader over a message held whole, handing out at most `piece` octets per read_some(). read_some()
// is virtual so that a test store can wrap it (fail a read, shorten the pieces).
class string_reader : public message_reader {
  public:
    explicit string_reader(std::string text, std::size_t piece = 64 * 1024);
    asio::awaitable<chunk_result> read_some(std::span<char> buffer) override;

  private:
    std::string text_;
    std::size_t at_ = 0;
    std::size_t piece_;
};

// open_message()'s answer for a message held whole: ok with a string_reader of the text, or of top_of() for
// TOP (`body_lines` set). The store of examples/sqlite_store answers with it.
open_message_result text_message(std::string text, std::optional<std::size_t> body_lines);

// For a store that keeps LF line ends (or a mix): the text turned into what POP3 sends, piece by piece. Every
// LF not after a CR gains one; with `body_lines` (TOP) the text ends after the header block and that many
// body lines. Pieces may split a line (or a CR from its LF) anywhere.
class crlf_converter {
  public:
    explicit crlf_converter(std::optional<std::size_t> body_lines = std::nullopt) noexcept;
    // Appends the converted `raw` to `out`; returns how many octets of `raw` it used: all of them, unless TOP's
    // end fell inside.
    std::size_t convert(std::string_view raw, std::string& out);
    // TOP has everything it sends: read no more.
    bool finished() const noexcept { return finished_; }

  private:
    void end_of_line() noexcept;

    std::optional<std::size_t> body_lines_;
    std::size_t lines_sent_ = 0;
    char previous_ = '\0';
    bool finished_ = false;
    bool in_body_ = false;
    bool line_empty_ = true;
};

// The size POP3 tells for a text kept with LF line ends, counted piece by piece (a file read in chunks): every
// LF not after a CR counts two, and a last line without its end gains CRLF.
class crlf_size_counter {
  public:
    void add(std::string_view raw) noexcept;
    std::uint64_t total() const noexcept { return size_ + (size_ > 0 && previous_ != '\n' ? 2 : 0); }

  private:
    std::uint64_t size_ = 0;
    char previous_ = '\0';
};

}  // namespace mailwright::plugin
