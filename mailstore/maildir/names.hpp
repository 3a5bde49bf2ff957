// Maildir file names (https://cr.yp.to/proto/maildir.html, with Dovecot's ,S= and ,W= size fields):
//   <seconds>.M<microseconds>P<pid>Q<sequence>.<host>,S=<file size>,W=<size with CRLF line ends>[:2,<flags>]
// The part before the first ',' or ':' is the message's base name: unique, and unchanged when the message
// moves from new/ to cur/ or gains flags, so it is what POP3 UIDL is made of.
#pragma once

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

// The seconds before the first '.', for ordering by delivery time; names that do not start with a number
// sort first, by name.
std::uint64_t timestamp_of(std::string_view base);

// Whether `user` may name a mailbox: 1-255 octets, no '/', no NUL or control characters, not starting with
// '.' (no "..", no hidden directories). Anything else never reaches the file system.
bool valid_user(std::string_view user);

}  // namespace mailwright::maildir
