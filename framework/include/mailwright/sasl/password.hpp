// Stored password schemes, written "{SCHEME}data" as in Dovecot's passwd-files (scheme names are read
// without regard to case, as Dovecot reads them). Schemes a new password can be hashed with:
//   {CRYPT}        $y$...           yescrypt, via libxcrypt (Debian's default for /etc/shadow); older files
//                                    wrote it {YESCRYPT}, which is still read (Dovecot 2.3 does not know it)
//   {SHA512-CRYPT} $6$...           crypt(3), via libxcrypt
//   {BLF-CRYPT}    $2b$...          bcrypt, via libxcrypt
//   {ARGON2ID}     $argon2id$...    libargon2
//   {SCRAM-SHA-256} iterations,salt,storedkey,serverkey   (RFC 7677 keys, base64, Dovecot's form; the password
//                                    itself is not kept; the colon form of older files is still read)
//   {PLAIN-EQUIVALENT} base64       the password, recoverable: needed by APOP and CRAM-MD5, and a risk if the
//                                    file leaks, so chosen deliberately
//   {PLAIN} text  ({CLEAR})         the password in the clear
// Schemes read from Dovecot's files but never written (password_dovecot.cpp):
//   {CRYPT} any crypt(3) hash libxcrypt knows; {SHA256-CRYPT} $5$; {MD5-CRYPT} $1$;
//   {SSHA} {SSHA256} {SSHA512} base64(digest(password + salt) + salt);
//   {PBKDF2} $1$salt$rounds$hex (PBKDF2-HMAC-SHA1, 20 octets; Dovecot's password-scheme-pbkdf2.c)
// Hashing and verifying are CPU work: call them through io::offload.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mailwright/plugin/auth.hpp"

namespace mailwright::sasl {

enum class scheme {
    sha512_crypt,
    blf_crypt,
    yescrypt,
    argon2id,
    scram_sha_256,
    plain_equivalent,
    plain,
    // verify only
    crypt,
    sha256_crypt,
    md5_crypt,
    ssha,
    ssha256,
    ssha512,
    pbkdf2,
};

std::optional<scheme> parse_scheme(std::string_view name);  // "SHA512-CRYPT", "sha512-crypt", "CLEAR", ...
std::string_view scheme_name(scheme s) noexcept;

// Whether hash_password() can make this scheme (the others are only verified).
bool can_hash(scheme s) noexcept;

// "{SCHEME}data" for a new password, with a fresh random salt, in the form Dovecot reads: yescrypt as
// {CRYPT}$y$..., SCRAM with commas. std::invalid_argument for a verify-only scheme.
std::string hash_password(scheme s, std::string_view password);

// Whether `password` matches the stored "{SCHEME}data"; nullopt when the stored text is not valid.
std::optional<bool> verify_password(std::string_view stored, std::string_view password);

// Why the stored text cannot be used ("" when it can): an unknown scheme, or data that scheme cannot read.
// For checking a file when it is loaded; it does no hashing.
std::string stored_problem(std::string_view stored);
bool well_formed(std::string_view stored);

// The stored text with the scheme's canonical name ({ssha} -> {SSHA}, {CLEAR} -> {PLAIN}) and SCRAM keys in
// the comma form. `stored` must be well formed.
std::string canonical(std::string_view stored);

// What a challenge-response mechanism needs from a stored password, if the scheme can give it:
// plaintext_equivalent from {PLAIN-EQUIVALENT}/{PLAIN}; SCRAM keys ("iterations:salt:storedkey:serverkey", as
// plugin::secret_result has them) from {SCRAM-SHA-256} or from a plaintext equivalent (with a salt derived
// from the user name, so it is stable).
std::optional<std::string> secret_from(std::string_view stored, plugin::secret_kind kind, std::string_view user);

}  // namespace mailwright::sasl
