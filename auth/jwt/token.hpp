// Checking a JWT access token (RFC 7519, RFC 9068) against a key set and the configured claims. libjwt
// (GnuTLS flavour) checks the signature; the header is read here first, so that only RS256 and ES256 tokens,
// signed by a key of that algorithm, ever reach it: "alg":"none", HS256 keyed with a public key and any other
// algorithm are refused before libjwt sees them.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "jwks.hpp"

namespace mailwright::jwt {

struct rules {
    std::string issuer;                   // "iss" must be exactly this
    std::string audience;                 // "aud" (a string or an array) must hold this
    std::string user_claim = "email";     // the claim that names the user
    bool strip_domain = false;            // the user claim's part before its last '@'
    std::chrono::seconds clock_skew{60};  // leeway for "exp" and "nbf"
};

struct verdict {
    bool ok = false;
    std::string user;    // ok: the user the token stands for
    std::string reason;  // not ok: why, for the log (never sent)
};

// The token checked at time `now` (seconds since the epoch): signature, algorithm, "exp" (required), "nbf",
// "iss", "aud" and the user claim.
verdict check(std::string_view token, const key_set& keys, const rules& r, std::int64_t now);

}  // namespace mailwright::jwt
