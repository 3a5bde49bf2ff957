// Maildir file names (https://cr.yp.to/proto/maildir.html, with Dovecot's ,S= and ,W= size fields):
//   <seconds>.M<microseconds>P<pid>Q<sequence>.<host>,S=<file size>,W=<size with CRLF line ends>[:2,<flags>]
// The part before the first ',' or ':' is the message's base name: unique, and unchanged when the message
// moves from new/ to cur/ or gains flags, so it is what POP3 UIDL is made of.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailwright::maildir {

// A new unique base name for this process (time, pid, a per-process sequence, the host name made safe).
std::string unique_base();

std::string_view base_of(std::string_view file_name);

struct size_fields {
    std::optional<std::uint64_t> file_size;  // S=
    std::optional<std::uint64_t> crlf_size;  // W=
};
size_fields sizes_of(std::string_view file_name);

// The POP3 unique id of a base name: the name itself when it is 1-70 printable characters (RFC 1939 7),
// otherwise "h" and a 64-bit FNV-1a hash of it in hex.
std::string uid_of(std::string_view base);

// When a message was delivered, for ordering: the seconds before the first '.' and the microseconds of an
// "M<digits>" field right after it (the Maildir convention; 0 when absent). Compared as numbers, since not
// every program pads the microseconds (M82898 is earlier than M123456). Names that do not start with a number
// sort first.
struct delivery_time {
    std::uint64_t seconds = 0;
    std::uint64_t microseconds = 0;
    auto operator<=>(const delivery_time&) const = default;
};
delivery_time delivery_time_of(std::string_view base);

// Whether `user` may name a mailbox: 1-255 octets, no '/', no NUL or control characters, not starting with
// '.' (no "..", no hidden directories). Anything else never reaches the file system.
bool valid_user(std::string_view user);

}  // namespace mailwright::maildir
