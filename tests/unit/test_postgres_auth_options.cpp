// auth/postgres's [plugin.postgres-auth] (options.hpp): the documented defaults, queries that must name their
// parameters, the statements they become, and stored passwords read as passwd-file reads them.
#include "options.hpp"

#include <catch2/catch.hpp>
#include <mailwright/sasl/password.hpp>
#include <string>

#include "plugin_file.hpp"

using namespace mailwright;
using test::has_error;
using test::plugin_file;

TEST_CASE("postgres-auth options: the defaults", "[postgres-auth]") {
    plugin_file f("[plugin.postgres-auth]\nconninfo = \"dbname=mail\"\n");
    const auto o = postgres_auth::read_options(*f.settings);
    CHECK(f.finish().empty());
    REQUIRE(o);
    CHECK(o->database.conninfo == "dbname=mail");
    CHECK(o->default_scheme == "CRYPT");
    CHECK(o->user_query == postgres_auth::default_user_query);
    CHECK(o->certificate_query == postgres_auth::default_certificate_query);
    CHECK(o->sender_query == postgres_auth::default_sender_query);
    const auto set = postgres_auth::statements(*o);
    REQUIRE(set.size() == 3);
    CHECK(set[0].params == 1);
    CHECK(set[1].params == 4);
    CHECK(set[1].types == std::vector<unsigned>{25, 25, 25, 25});  // text: the unused ones need a type too
    CHECK(set[2].params == 2);
}

TEST_CASE("postgres-auth options: queries and scheme as written", "[postgres-auth]") {
    plugin_file f(
        "[plugin.postgres-auth]\nconninfo = \"dbname=mail\"\ndefault_scheme = \"sha512-crypt\"\n"
        "user_query = \"SELECT login, hash FROM accounts WHERE login = lower($1)\"\n"
        "certificate_query = \"SELECT owner FROM certs WHERE cn = $2 AND fp = $1\"\n"
        "sender_query = \"SELECT 1 FROM aliases WHERE owner = $1 AND alias = $2\"\n");
    const auto o = postgres_auth::read_options(*f.settings);
    CHECK(f.finish().empty());
    REQUIRE(o);
    CHECK(o->default_scheme == "SHA512-CRYPT");
    CHECK(o->user_query == "SELECT login, hash FROM accounts WHERE login = lower($1)");
}

TEST_CASE("postgres-auth options: each mistake is named where it stands", "[postgres-auth]") {
    SECTION("no conninfo") {
        plugin_file f("[plugin.postgres-auth]\n");
        CHECK_FALSE(postgres_auth::read_options(*f.settings));
        CHECK(has_error(f.finish(), "'conninfo' in [plugin.postgres-auth]"));
    }
    SECTION("queries that do not name their parameters, an unknown scheme") {
        plugin_file f(
            "[plugin.postgres-auth]\nconninfo = \"dbname=mail\"\nuser_query = \"SELECT name, password FROM users "
            "WHERE name = $10\"\nsender_query = \"SELECT 1 FROM senders WHERE user_name = $1\"\n"
            "default_scheme = \"ROT13\"\n");
        CHECK_FALSE(postgres_auth::read_options(*f.settings));
        const auto errors = f.finish();
        CHECK(has_error(errors, "plugins.toml:3:"));
        CHECK(has_error(errors, "'user_query'"));
        CHECK(has_error(errors, "'sender_query'"));
        CHECK(has_error(errors, "'default_scheme'"));
    }
}

TEST_CASE("postgres-auth stored passwords: {SCHEME}data, a bare hash as default_scheme, problems named",
          "[postgres-auth]") {
    const auto hashed = sasl::hash_password(sasl::scheme::sha512_crypt, "pw");
    const auto bare = hashed.substr(hashed.find('}') + 1);

    const auto as_written = postgres_auth::read_stored(hashed, "CRYPT");
    CHECK(as_written.problem.empty());
    CHECK(sasl::verify_password(as_written.stored, "pw") == true);

    const auto read_as_default = postgres_auth::read_stored(bare, "CRYPT");
    CHECK(read_as_default.problem.empty());
    CHECK(read_as_default.stored.starts_with("{CRYPT}$6$"));
    CHECK(sasl::verify_password(read_as_default.stored, "pw") == true);

    CHECK(postgres_auth::read_stored("{clear}pw", "CRYPT").stored == "{PLAIN}pw");
    CHECK_FALSE(postgres_auth::read_stored("{NOPE}x", "CRYPT").problem.empty());
    CHECK_FALSE(postgres_auth::read_stored("$6$cut", "CRYPT").problem.empty());
}

TEST_CASE("postgres-auth certificate parameters: fingerprint, CN, first SAN e-mail, subject", "[postgres-auth]") {
    tls::peer_certificate c;
    c.sha256_fingerprint = std::string(64, 'a');
    c.common_name = "alice";
    c.san_emails = {"alice@example.org", "a@example.org"};
    c.subject = "/CN=alice";
    const auto p = postgres_auth::params_of(c);
    CHECK(p.fingerprint == c.sha256_fingerprint);
    CHECK(p.common_name == "alice");
    CHECK(p.email == "alice@example.org");
    CHECK(p.subject == "/CN=alice");
    CHECK(postgres_auth::params_of(tls::peer_certificate{}).email.empty());
}
