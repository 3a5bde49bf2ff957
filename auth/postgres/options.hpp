// [plugin.postgres-auth]: the database (lib/pgclient's keys), how a password without {SCHEME} is read, and the
// queries, each with a documented default that fits contrib/postgres/auth.sql. No I/O here: tests/unit/
// test_postgres_auth_options.cpp drives it.
//
//   user_query         $1 the login name -> one row: the canonical user name, the stored password
//                      ("{SCHEME}data", a hash without {SCHEME} read as default_scheme, or NULL: no password
//                      logins). No row: no such user. Also answers SMTP recipient lookups and SCRAM secrets.
//   certificate_query  $1 the client certificate's SHA-256 fingerprint (lowercase hex), $2 its subject CN,
//                      $3 its first SAN e-mail address, $4 its subject -> one row: the user (for EXTERNAL)
//   sender_query       $1 the authenticated user, $2 the address (a sender at submission, or a SASL authzid)
//                      -> any row: the user may use it
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mailwright/pgclient/connection.hpp"
#include "mailwright/pgclient/settings.hpp"
#include "mailwright/plugin/plugin.hpp"
#include "mailwright/tls/peer.hpp"

namespace mailwright::postgres_auth {

inline constexpr std::string_view default_user_query = "SELECT name, password FROM users WHERE name = $1 AND enabled";
inline constexpr std::string_view default_certificate_query =
    "SELECT user_name FROM certificates WHERE fingerprint = $1";
inline constexpr std::string_view default_sender_query =
    "SELECT 1 FROM senders WHERE user_name = $1 AND address = lower($2)";

// The prepared statements' names.
inline constexpr std::string_view user_statement = "mailwright_auth_user";
inline constexpr std::string_view certificate_statement = "mailwright_auth_certificate";
inline constexpr std::string_view sender_statement = "mailwright_auth_sender";

struct options {
    pgclient::settings database;
    std::string default_scheme = "CRYPT";  // Dovecot's default_pass_scheme, as passwd-file has it
    std::string user_query{default_user_query};
    std::string certificate_query{default_certificate_query};
    std::string sender_query{default_sender_query};
};

// Reads the table, reporting each mistake where it stands; nothing when there is one.
std::optional<options> read_options(plugin::settings& config);

// The statements the queries become (every parameter typed text, so a query may leave some unused).
pgclient::statement_set statements(const options& o);

// A stored password as the database holds it, made "{SCHEME}data" in canonical form: a value without {SCHEME}
// is read as `default_scheme`. `problem` says why it cannot be used (an unknown scheme, a damaged hash).
struct stored_password {
    std::string stored;
    std::string problem;
};
stored_password read_stored(std::string_view value, std::string_view default_scheme);

// The certificate_query's parameters, in its order ($1 fingerprint, $2 CN, $3 first SAN e-mail, $4 subject).
struct certificate_params {
    std::string fingerprint, common_name, email, subject;
};
certificate_params params_of(const tls::peer_certificate& c);

}  // namespace mailwright::postgres_auth
