// The header block of an Internet message (IMF, RFC 5322 2.2, 3.6; RFC 6532 for UTF-8 in field values), as a message
// filter sees it: one field at a time, raw as received and unfolded. Sans I/O, no allocation but the unfolded
// value; never throws, whatever the octets.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailwright::imf {

struct header_field {
    // The field as received: its name, the colon, the value with any folded lines, and the line end(s).
    std::string_view raw;
    // The field name (printable ASCII but the colon, RFC 5322 2.2); empty when the line is malformed.
    std::string_view name;
    // The value unfolded (every line end that is followed by white space removed, RFC 5322 2.2.3), without the
    // leading and trailing white space. 8-bit octets are kept as they are (RFC 6532 allows UTF-8 here).
    std::string value;
    // No colon, a name with a character RFC 5322 forbids (white space before the colon included, the obsolete
    // syntax of RFC 5322 4.5), or an empty name. Shown to filters all the same: they decide what it means.
    bool malformed = false;

    // Whether the field's name is `n`, compared without regard to case (RFC 5322 1.2.2).
    bool is(std::string_view n) const noexcept;
};

// The end of the field that starts at `at` in `block`: past its last line end, where the next field starts.
// A field runs on over every line that starts with a space or a tab. An empty line is a field of its own
// (the end of the block), whatever follows it. A last line without a line end ends at the block's end. `at`
// must be less than block.size().
std::size_t field_end(std::string_view block, std::size_t at) noexcept;

// Parses one field as field_end() delimits it.
header_field parse_field(std::string_view raw);

// Whether `line` is the empty line that ends the header block ("\r\n" or "\n").
bool is_block_end(std::string_view line) noexcept;

}  // namespace mailwright::imf
