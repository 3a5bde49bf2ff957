// dot_stuffer: see the header.
#include "mailwright/io/dot_stuffing.hpp"

namespace mailwright::io {

void dot_stuffer::append(std::string_view chunk, std::string& out) {
    while (!chunk.empty()) {
        if (at_line_start_ && chunk.front() == '.') {
            out.push_back('.');
        }
        const auto eol = chunk.find('\n');
        const std::string_view piece = eol == std::string_view::npos ? chunk : chunk.substr(0, eol + 1);
        out.append(piece);
        at_line_start_ = eol != std::string_view::npos;
        last_ = piece.back();
        chunk.remove_prefix(piece.size());
    }
}

void dot_stuffer::finish(std::string& out) {
    if (last_ != '\n') {
        out.append("\r\n");  // a message whose last line lacks its terminator still ends cleanly
    }
    out.append(".\r\n");
    at_line_start_ = true;
    last_ = '\n';
}

}  // namespace mailwright::io
