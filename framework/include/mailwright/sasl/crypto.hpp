// The cryptographic pieces authentication needs, from wolfCrypt: digests, HMAC, PBKDF2, strict base64,
// random bytes, and comparison in constant time. Byte strings are std::string (binary-safe).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mailwright::sasl {

enum class digest { md5, sha1, sha256, sha512 };

std::size_t digest_size(digest d) noexcept;
std::string hash(digest d, std::string_view data);
std::string hmac(digest d, std::string_view key, std::string_view data);
std::string pbkdf2(digest d, std::string_view password, std::string_view salt, unsigned iterations);

std::string base64_encode(std::string_view data);
// RFC 4648 base64 with padding and nothing else: no whitespace, no line breaks, no bits after the last
// character. Anything else is nullopt, so no two client texts decode to the same bytes unnoticed.
std::optional<std::string> base64_decode(std::string_view text);

std::string hex(std::string_view data);

// Cryptographically random bytes.
std::string random_bytes(std::size_t count);

// Equal in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// Overwrites a secret before its memory is released.
void wipe(std::string& secret) noexcept;

}  // namespace mailwright::sasl
