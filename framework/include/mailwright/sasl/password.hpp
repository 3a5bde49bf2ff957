// Stored password schemes, written "{SCHEME}data" as in Dovecot's passwd-files:
//   {SHA512-CRYPT} $6$...           crypt(3), via libxcrypt
//   {BLF-CRYPT}    $2b$...          bcrypt, via libxcrypt
//   {YESCRYPT}     $y$...           yescrypt, via libxcrypt (Debian's default for /etc/shadow)
//   {ARGON2ID}     $argon2id$...    libargon2
//   {SCRAM-SHA-256} iterations:salt:storedkey:serverkey   (RFC 7677 keys; the password itself is not kept)
//   {PLAIN-EQUIVALENT} base64       the password, recoverable: needed by APOP and CRAM-MD5, and a risk if the
//                                    file leaks, so chosen deliberately
//   {PLAIN} text                    tests only; refused unless a plugin allows it
// Hashing and verifying are CPU work: call them through io::offload.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mailwright/plugin/auth.hpp"

namespace mailwright::sasl {

enum class scheme { sha512_crypt, blf_crypt, yescrypt, argon2id, scram_sha_256, plain_equivalent, plain };

std::optional<scheme> parse_scheme(std::string_view name);  // "SHA512-CRYPT", ...
std::string_view scheme_name(scheme s) noexcept;

// "{SCHEME}data" for a new password, with a fresh random salt.
std::string hash_password(scheme s, std::string_view password);

// Whether `password` matches the stored "{SCHEME}data"; nullopt when the stored text is not valid.
std::optional<bool> verify_password(std::string_view stored, std::string_view password);

// Whether the stored text is a known scheme with well-formed data (for checking a file when it is loaded).
bool well_formed(std::string_view stored);

// What a challenge-response mechanism needs from a stored password, if the scheme can give it:
// plaintext_equivalent from {PLAIN-EQUIVALENT}/{PLAIN}; SCRAM keys from {SCRAM-SHA-256} or from a
// plaintext equivalent (with a salt derived from the user name, so it is stable).
std::optional<std::string> secret_from(std::string_view stored, plugin::secret_kind kind, std::string_view user);

}  // namespace mailwright::sasl
