// Dot-stuffing for multi-line replies (RFC 1939 3, RFC 5321 4.5.2): every line that begins with "." gets
// one more "." in front, and the reply ends with CRLF "." CRLF. Streaming: a message passes through in
// chunks split anywhere, and a line start is remembered across chunks. No I/O.
#pragma once

#include <string>
#include <string_view>

namespace mailwright::io {

class dot_stuffer {
  public:
    // Appends `chunk`, stuffed, to `out`.
    void append(std::string_view chunk, std::string& out);
    // Appends the terminator, first ending the last line with CRLF if the text did not.
    void finish(std::string& out);

  private:
    bool at_line_start_ = true;
    char last_ = '\n';
};

}  // namespace mailwright::io
