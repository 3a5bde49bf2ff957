// The pieces of the password schemes shared by password.cpp (the table, hashing, SCRAM, argon2) and
// password_dovecot.cpp (the schemes read from Dovecot's files: crypt(3) of every kind, salted SHA, PBKDF2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mailwright/sasl/crypto.hpp"
#include "mailwright/sasl/password.hpp"

namespace mailwright::sasl::detail {

// crypt(3) takes the password as a C string and would stop at a NUL octet: "pw\0junk" would be hashed, and
// match, as "pw". PBKDF2 keys HMAC with the password, and HMAC pads keys with NULs, so "pw\0" would match
// "pw"; Dovecot hashes strlen(password) octets everywhere. So these schemes refuse to hash such a password,
// and none ever matches their hashes.
inline bool has_nul(std::string_view password) { return password.find('\0') != std::string_view::npos; }

// crypt(3) of every kind: the scheme names the method ({CRYPT}: any method libxcrypt knows).
std::optional<bool> crypt_verify(std::string_view hashed, std::string_view password);
std::string crypt_problem(scheme s, std::string_view hashed);

// {SSHA}, {SSHA256}, {SSHA512}: base64(digest(password + salt) + salt).
std::optional<bool> salted_verify(digest d, std::string_view data, std::string_view password);
std::string salted_problem(digest d, std::string_view data);

// {PBKDF2}: $1$salt$rounds$hex, PBKDF2-HMAC-SHA1 over the salt's text (not decoded), 20 octets.
std::optional<bool> pbkdf2_verify(std::string_view data, std::string_view password);
std::string pbkdf2_problem(std::string_view data);

// {SCRAM-SHA-256}: iterations,salt,storedkey,serverkey (Dovecot's) or the same with colons (older files).
struct scram_keys {
    unsigned iterations = 0;
    std::string salt;  // decoded
    std::string salt_b64, stored_b64, server_b64;
};
std::optional<scram_keys> parse_scram(std::string_view data);
std::string scram_problem(std::string_view data);

}  // namespace mailwright::sasl::detail
