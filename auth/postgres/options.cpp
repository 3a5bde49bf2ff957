// options.hpp: [plugin.postgres-auth] read and checked, stored passwords normalised.
#include "options.hpp"

#include <fmt/format.h>

#include <mailwright/sasl/password.hpp>

namespace mailwright::postgres_auth {

namespace {

constexpr unsigned text_oid = 25;  // PostgreSQL's text type (pg_type.oid), fixed since forever

// Whether `sql` names the parameters $1..$n (a query without $1 would answer for everyone alike).
bool names_params(std::string_view sql, int n) {
    for (int i = 1; i <= n; ++i) {
        const auto tag = fmt::format("${}", i);
        const auto at = sql.find(tag);
        if (at == std::string_view::npos ||
            (at + tag.size() < sql.size() && sql[at + tag.size()] >= '0' && sql[at + tag.size()] <= '9')) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<options> read_options(plugin::settings& config) {
    options o;
    // Every key is read before any is judged: one returned from early would be reported as unknown.
    const auto database = pgclient::read_settings(config);
    const auto scheme_name = config.string("default_scheme").value_or(o.default_scheme);
    o.user_query = config.string("user_query").value_or(o.user_query);
    o.certificate_query = config.string("certificate_query").value_or(o.certificate_query);
    o.sender_query = config.string("sender_query").value_or(o.sender_query);
    bool ok = database.has_value();
    const auto scheme = sasl::parse_scheme(scheme_name);
    if (!scheme) {
        config.invalid("default_scheme",
                       "a password scheme, as Dovecot's default_pass_scheme: CRYPT (the default), SHA512-CRYPT, "
                       "SHA256-CRYPT, MD5-CRYPT, BLF-CRYPT, SSHA512, SSHA256, SSHA, PBKDF2, ARGON2ID, PLAIN");
        ok = false;
    }
    const struct {
        const char* key;
        const std::string& sql;
        int params;
        const char* right;
    } queries[] = {
        {"user_query", o.user_query, 1, "a query that uses $1 (the login name) and gives the user and the password"},
        {"certificate_query", o.certificate_query, 1,
         "a query that uses $1 (the certificate's fingerprint; $2 CN, $3 e-mail, $4 subject if it likes) and "
         "gives the user"},
        {"sender_query", o.sender_query, 2, "a query that uses $1 (the user) and $2 (the address)"},
    };
    for (const auto& q : queries) {
        if (!names_params(q.sql, q.params)) {
            config.invalid(q.key, q.right);
            ok = false;
        }
    }
    if (!ok) {
        return std::nullopt;
    }
    o.database = *database;
    o.default_scheme = sasl::scheme_name(*scheme);
    return o;
}

pgclient::statement_set statements(const options& o) {
    return {
        {std::string(user_statement), o.user_query, 1, {text_oid}},
        {std::string(certificate_statement), o.certificate_query, 4, {text_oid, text_oid, text_oid, text_oid}},
        {std::string(sender_statement), o.sender_query, 2, {text_oid, text_oid}},
    };
}

stored_password read_stored(std::string_view value, std::string_view default_scheme) {
    stored_password s;
    s.stored =
        !value.empty() && !value.starts_with('{') ? fmt::format("{{{}}}{}", default_scheme, value) : std::string(value);
    s.problem = sasl::stored_problem(s.stored);
    if (s.problem.empty()) {
        s.stored = sasl::canonical(s.stored);
    }
    return s;
}

certificate_params params_of(const tls::peer_certificate& c) {
    return {c.sha256_fingerprint, c.common_name, c.san_emails.empty() ? std::string() : c.san_emails.front(),
            c.subject};
}

}  // namespace mailwright::postgres_auth
