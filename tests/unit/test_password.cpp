// Stored password schemes: each one hashes and verifies, refuses a wrong password, rejects malformed data,
// and gives challenge-response mechanisms only what it can.
#include "mailwright/sasl/password.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "mailwright/sasl/crypto.hpp"

using namespace mailwright;

TEST_CASE("password schemes: hash, verify, refuse", "[password]") {
    for (auto s : {sasl::scheme::sha512_crypt, sasl::scheme::blf_crypt, sasl::scheme::yescrypt, sasl::scheme::argon2id,
                   sasl::scheme::scram_sha_256, sasl::scheme::plain_equivalent, sasl::scheme::plain}) {
        INFO(sasl::scheme_name(s));
        const std::string stored = sasl::hash_password(s, "correct horse");
        CHECK(stored.rfind("{" + std::string(sasl::scheme_name(s)) + "}", 0) == 0);
        CHECK(sasl::well_formed(stored));
        CHECK(sasl::verify_password(stored, "correct horse") == true);
        CHECK(sasl::verify_password(stored, "correct horsE") == false);
        CHECK(sasl::verify_password(stored, "") == false);
        if (s != sasl::scheme::plain && s != sasl::scheme::plain_equivalent) {
            CHECK(sasl::hash_password(s, "correct horse") != stored);  // a fresh salt every time
        }
    }
}

TEST_CASE("password schemes: a NUL octet is part of the password", "[password]") {
    using namespace std::string_literals;
    // crypt(3) takes a C string: it would stop at the NUL, and "pw-carol\0junk" would match pw-carol's hash.
    for (auto s : {sasl::scheme::sha512_crypt, sasl::scheme::blf_crypt, sasl::scheme::yescrypt, sasl::scheme::argon2id,
                   sasl::scheme::scram_sha_256, sasl::scheme::plain_equivalent, sasl::scheme::plain}) {
        INFO(sasl::scheme_name(s));
        const std::string stored = sasl::hash_password(s, "pw-carol");
        CHECK(sasl::verify_password(stored, "pw-carol\0junk"s) == false);
        CHECK(sasl::verify_password(stored, "pw-carol\0"s) == false);
        CHECK(sasl::verify_password(stored, "pw-carol") == true);
    }
    // crypt(3) cannot keep such a password, and PBKDF2's HMAC would take "pw\0" for "pw" (it pads keys with
    // NULs): those schemes refuse to hash one. The others keep every octet.
    for (auto s :
         {sasl::scheme::sha512_crypt, sasl::scheme::blf_crypt, sasl::scheme::yescrypt, sasl::scheme::scram_sha_256}) {
        INFO(sasl::scheme_name(s));
        CHECK_THROWS_AS(sasl::hash_password(s, "pw\0carol"s), std::invalid_argument);
    }
    for (auto s : {sasl::scheme::argon2id, sasl::scheme::plain_equivalent}) {
        INFO(sasl::scheme_name(s));
        const std::string stored = sasl::hash_password(s, "pw\0carol"s);
        CHECK(sasl::verify_password(stored, "pw\0carol"s) == true);
        CHECK(sasl::verify_password(stored, "pw") == false);
    }
}

TEST_CASE("password schemes: malformed stored text", "[password]") {
    for (const char* bad : {"", "secret", "{}x", "{MD5}abc", "{SHA512-CRYPT}", "{SHA512-CRYPT}$1$abc",
                            "{ARGON2ID}$argon2i$x", "{SCRAM-SHA-256}1:2", "{PLAIN-EQUIVALENT}not base64!"}) {
        INFO(bad);
        CHECK_FALSE(sasl::well_formed(bad));
    }
    CHECK_FALSE(sasl::verify_password("{NOPE}x", "x"));
    CHECK_FALSE(sasl::parse_scheme("sha512-crypt"));  // names are exact
}

TEST_CASE("password schemes: secrets for challenge-response mechanisms", "[password]") {
    using kind = plugin::secret_kind;
    const auto equivalent = sasl::hash_password(sasl::scheme::plain_equivalent, "tanstaaf");
    CHECK(sasl::secret_from(equivalent, kind::plaintext_equivalent, "mrose") == "tanstaaf");
    const auto derived = sasl::secret_from(equivalent, kind::scram_sha_256, "mrose");
    REQUIRE(derived);
    CHECK(derived == sasl::secret_from(equivalent, kind::scram_sha_256, "mrose"));  // stable salt per user
    CHECK(derived != sasl::secret_from(equivalent, kind::scram_sha_256, "other"));
    const auto scram = sasl::hash_password(sasl::scheme::scram_sha_256, "pencil");
    CHECK(sasl::secret_from(scram, kind::scram_sha_256, "u") == scram.substr(std::string("{SCRAM-SHA-256}").size()));
    CHECK_FALSE(sasl::secret_from(scram, kind::plaintext_equivalent, "u"));  // the password is not kept
    CHECK_FALSE(sasl::secret_from(scram, kind::scram_sha_1, "u"));
    const auto crypt = sasl::hash_password(sasl::scheme::yescrypt, "x");
    CHECK_FALSE(sasl::secret_from(crypt, kind::plaintext_equivalent, "u"));
    CHECK_FALSE(sasl::secret_from(crypt, kind::scram_sha_256, "u"));
}
