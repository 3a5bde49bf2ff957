// SASLprep (RFC 4013), the stringprep (RFC 3454) profile for user names and passwords, through GNU libidn's
// stringprep_profile(): its tables are RFC 3454's own (Unicode 3.2), which SASLprep is defined over. The steps:
// map (B.1 to nothing, non-ASCII spaces C.1.2 to U+0020), NFKC, refuse the prohibited (C.1.2 to C.9),
// check the bidirectional rules (RFC 3454 6), and, for stored strings, refuse unassigned code points.
//
// Where Mailwright prepares: PLAIN (RFC 4616 2) and LOGIN the authcid, authzid and password; POP3 USER/PASS
// the same way; SCRAM (RFC 5802 2.2) the password, as Normalize() before Hi(), and the saslname; and
// `mailwrightd passwd` the password it hashes, as a stored string.
#pragma once

#include <string>
#include <string_view>

namespace mailwright::sasl {

// RFC 3454 7: a query (a string being checked, such as a password a client presents) may hold code points
// unassigned in Unicode 3.2; a stored string (one kept to compare queries with later) may not, since a later
// Unicode could assign them and change what they prepare to.
enum class prep_kind { query, stored };

struct prepared {
    std::string text;        // the prepared UTF-8 string, when ok()
    std::string_view error;  // why SASLprep refused it, to follow "it": "contains a prohibited character ..."
    bool ok() const noexcept { return error.empty(); }
};

// The string prepared, or why not: not UTF-8, a prohibited character (controls, NUL included), a
// right-to-left string that breaks the bidirectional rules, for a stored string an unassigned code point,
// or nothing left after mapping. A string that is refused fails authentication; it never matches anything.
prepared saslprep(std::string_view in, prep_kind kind);

// A user name and password from the wire, prepared as RFC 4616 2 has PLAIN prepare them: each with SASLprep,
// as a query. PLAIN, LOGIN and POP3's USER/PASS all come through here, so a password that works through one
// works through each. The password is wiped when the credentials go.
struct credentials {
    std::string user, password;
    std::string refused;  // empty when both are prepared; else which one SASLprep refused and why, for the log

    credentials() = default;
    credentials(const credentials&) = default;
    credentials(credentials&&) = default;
    credentials& operator=(const credentials&) = default;
    credentials& operator=(credentials&&) = default;
    ~credentials();
};
credentials prepare_credentials(std::string_view user, std::string_view password);

}  // namespace mailwright::sasl
