// How an auth backend checks a password against a stored hash: the verified-credentials cache first
// (credential_cache.hpp), then, on a miss, the hash on the compute pool (io/compute.hpp), and a match
// remembered. A backend calls one of these and maps the answer:
//
//     match     -> auth_status::ok
//     mismatch  -> auth_status::rejected
//     invalid   -> auth_status::rejected (the stored text is not a usable password: log it)
//     busy      -> auth_status::tempfail (the compute pool had no place within [server] hashing_wait: the
//                  client hears "-ERR [SYS/TEMP]" / "454 4.7.0", and no failed-login penalty is charged)
//
// An unknown user must cost what a known one does (plugin/auth.hpp): check_stand_in() does the same work as a
// miss (MAC, lookup, the full hash) against a stand-in hash of the kind most users have, answers mismatch (or
// busy), and remembers nothing.
#pragma once

#include <asio/awaitable.hpp>
#include <string_view>

#include "mailwright/sasl/credential_cache.hpp"

namespace mailwright::sasl {

enum class check_result { match, mismatch, invalid, busy };

// Whether `password` is `user`'s, whose stored password is `stored` ("{SCHEME}data", password.hpp).
asio::awaitable<check_result> check_password(std::string_view user, std::string_view stored, std::string_view password);
// The same work for a user who does not exist; never match.
asio::awaitable<check_result> check_stand_in(std::string_view user, std::string_view stand_in,
                                             std::string_view password);

// The process's cache, which check_password() uses (on with the default options until configured).
credential_cache& process_credential_cache();
// mailwrightd: [auth] cache_ttl and cache_size, at start and at every reload.
void configure_credential_cache(const credential_cache::options& options);

}  // namespace mailwright::sasl
