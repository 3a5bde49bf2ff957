// Reading a passwd-file in Dovecot's format, one user a line:
//     user:password:uid:gid:(gecos):home:(shell):extra_fields
// Only the user and the password are used; the fields after them may be left out (user:{SCHEME}data is a whole
// line). The extra fields are space-separated key=value pairs: userdb_* ones are for a userdb and ignored;
// the ones that change who may log in (nopassword, allow_nets, nologin, proxy, user=...) cannot be honoured by
// this plugin, and ignoring them would let in someone Dovecot kept out, so such a line is refused, naming it.
// A password without {SCHEME} is read as `default_scheme` (Dovecot's default_pass_scheme; CRYPT).
#pragma once

#include <cstddef>
#include <istream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mailwright::passwd_file {

struct lines {
    std::map<std::string, std::string, std::less<>> entries;  // user -> "{SCHEME}data", canonical
    std::vector<std::string> problems;                        // "file:line: why", one for each line that cannot be used
    std::vector<std::string> warnings;  // "file:line: what", for a line used with something ignored
    std::size_t plaintext = 0;          // users whose password is in the clear ({PLAIN}, {CLEAR})
};

// Reads every line of `in` (named `path` in the messages), and reports each one that cannot be used.
lines read_lines(std::istream& in, const std::string& path, std::string_view default_scheme);

}  // namespace mailwright::passwd_file
