// A JSON Web Key Set (RFC 7517) as the jwt plugin uses it: the RSA keys (RS256) and P-256 keys (ES256) of a
// JWKS document, each turned into the PEM public key libjwt verifies with (libjwt 1.10 reads no JWKs itself).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwright::jwt {

struct key {
    std::string kid;  // may be empty
    std::string alg;  // "RS256" or "ES256": the one algorithm this key verifies
    std::string pem;  // SubjectPublicKeyInfo, PEM
};

struct key_set {
    std::vector<key> keys;
    std::size_t skipped = 0;  // keys of other kinds, curves or uses, and encryption keys
};

// The base64url text (RFC 4648 5, padding optional) decoded; none when it is not base64url.
std::optional<std::string> base64url_decode(std::string_view text);

// Parses a JWKS document; throws std::runtime_error saying what is wrong (naming `origin`), also when no key is
// usable. RSA keys need n and e, EC keys crv "P-256", x and y; a key whose "use" is not "sig" or whose "alg"
// is not its kind's is skipped.
key_set parse_jwks(std::string_view json, std::string_view origin);

}  // namespace mailwright::jwt
