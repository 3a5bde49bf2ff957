// Stored password schemes: each one hashes and verifies, refuses a wrong password, rejects malformed data,
// and gives challenge-response mechanisms only what it can.
#include "mailwright/sasl/password.hpp"

#include <algorithm>
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
        // yescrypt is written {CRYPT}$y$..., the only name Dovecot 2.3 reads it by.
        const std::string name = s == sasl::scheme::yescrypt ? "CRYPT" : std::string(sasl::scheme_name(s));
        CHECK(stored.rfind("{" + name + "}", 0) == 0);
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
    CHECK_FALSE(sasl::parse_scheme("SHA512CRYPT"));
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
    // Stored with commas (Dovecot's form); the mechanism gets the colon form of plugin::secret_result.
    std::string keys = scram.substr(std::string("{SCRAM-SHA-256}").size());
    CHECK(std::count(keys.begin(), keys.end(), ',') == 3);
    std::replace(keys.begin(), keys.end(), ',', ':');
    CHECK(sasl::secret_from(scram, kind::scram_sha_256, "u") == keys);
    CHECK_FALSE(sasl::secret_from(scram, kind::plaintext_equivalent, "u"));  // the password is not kept
    CHECK_FALSE(sasl::secret_from(scram, kind::scram_sha_1, "u"));
    const auto crypt = sasl::hash_password(sasl::scheme::yescrypt, "x");
    CHECK_FALSE(sasl::secret_from(crypt, kind::plaintext_equivalent, "u"));
    CHECK_FALSE(sasl::secret_from(crypt, kind::scram_sha_256, "u"));
}

// Made by Dovecot 2.3.19's `doveadm pw -s SCHEME -p pw-dovecot` (DES: Python's crypt.crypt).
TEST_CASE("password schemes: Dovecot's hashes verify", "[password]") {
    for (const char* stored : {
             "{CRYPT}$2y$05$Mnp4FhQ9dA1LiE6rphb7Mew.a6w3Ax49.dCZypy8wMIHo8lfqMGWe",
             "{SHA256-CRYPT}$5$SN8Ouny0AyRbLe4U$H6AkvB8KFy1QoD15Pnrj.geigpKyhRTsjPUrW8nLdF7",
             "{SHA512-CRYPT}$6$SeUdYPtClR6Ev7Zr$urrvP.4mLCBFS6GAWtnz4S4TC3Zr/yFysD6Yjm/"
             "PqgcHL0DHnDfoWQMB1XP7iKVrTjhw546HbfqgouvvACPxm0",
             "{MD5-CRYPT}$1$drI6yBYh$5ZztyszyoDH092lpLdORU.",
             "{BLF-CRYPT}$2y$05$RdwhbBnACmfMmGtWo3aLT.Z9CKzk81Pn1EKu9MsBWORYc58dLFYyq",
             "{SSHA}NxcFpwlvxxXLefSiijcNYIy6JxAi9jvC",
             "{SSHA256}RMfdO2QKZibkbWSqBKrey16zVaATLBN92ec0L812MLIR3d0T",
             "{SSHA512}p2nH4yMCbv7k7KMrvTiLux1qHHGw2hSJVwWRBwTeFX5taoP5Ru3pBATdGHbNKqOHxEfEDZL6zPb1HMKE++c2dvR/aUU=",
             "{PBKDF2}$1$mUum/r63IOeMdRZN$5000$e29d588c6c265d7ddd88440977a5774284f448ab",
             "{PBKDF2}$1$zxxn08qU9jTI6v8Q$1000$C49351D948E28BF020EB50D9DDDA39CF77E4ECD9",  // hex in capitals
             "{SCRAM-SHA-256}4096,FkgPn5tVCxGljXZU28NJPg==,7h6lec+QOOvb29/F1Oo308y0J4wUGJhwLpPwbVaEp2U=,"
             "vZ01LFA8T98DUvO87Rk5PQ7HgmL1gqcaXOGAkWOuvEQ=",
             "{scram-sha-256}4096:FkgPn5tVCxGljXZU28NJPg==:7h6lec+QOOvb29/F1Oo308y0J4wUGJhwLpPwbVaEp2U=:"
             "vZ01LFA8T98DUvO87Rk5PQ7HgmL1gqcaXOGAkWOuvEQ=",  // older Mailwright files: colons
             "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$51sJ7MZY9vrIeicn2QTxrg$jiOOiw5ciKU3I8WUiobqOyBCEdTJp0/"
             "UQiVoAQTgTsQ",
             "{ssha}NxcFpwlvxxXLefSiijcNYIy6JxAi9jvC",  // Dovecot reads scheme names in any case
             "{PLAIN}pw-dovecot",
             "{CLEAR}pw-dovecot",
         }) {
        INFO(stored);
        CHECK(sasl::well_formed(stored));
        CHECK(sasl::verify_password(stored, "pw-dovecot") == true);
        CHECK(sasl::verify_password(stored, "pw-dovecoT") == false);
        CHECK(sasl::verify_password(stored, std::string("pw-dovecot\0", 11)) == false);
    }
    CHECK(sasl::verify_password("{CRYPT}abNANd1rDfiNc", "secret") == true);  // traditional DES
    CHECK(sasl::verify_password("{CRYPT}abNANd1rDfiNc", "secreT") == false);
    const auto yescrypt = sasl::hash_password(sasl::scheme::yescrypt, "pw");
    CHECK(yescrypt.starts_with("{CRYPT}$y$"));
    CHECK(sasl::verify_password("{YESCRYPT}" + yescrypt.substr(7), "pw") == true);  // older files' name
}

TEST_CASE("password schemes: Dovecot's schemes are verified, never written", "[password]") {
    for (auto s : {sasl::scheme::crypt, sasl::scheme::sha256_crypt, sasl::scheme::md5_crypt, sasl::scheme::ssha,
                   sasl::scheme::ssha256, sasl::scheme::ssha512, sasl::scheme::pbkdf2}) {
        INFO(sasl::scheme_name(s));
        CHECK_FALSE(sasl::can_hash(s));
        CHECK_THROWS_AS(sasl::hash_password(s, "pw"), std::invalid_argument);
    }
    CHECK(sasl::parse_scheme("CLEAR") == sasl::scheme::plain);
    CHECK(sasl::canonical("{clear}x") == "{PLAIN}x");
    CHECK(sasl::canonical("{SCRAM-SHA-256}1:AAAA:b:c") == "{SCRAM-SHA-256}1,AAAA,b,c");
}

TEST_CASE("password schemes: Dovecot's hashes that cannot be used are named", "[password]") {
    for (const char* bad : {
             "{SHA256-CRYPT}$6$SeUdYPtClR6Ev7Zr$x",                     // not the scheme's method
             "{SHA512-CRYPT}$6$SeUdYPtClR6Ev7Zr$urrvP.4mLCBFS6GAWtnz",  // cut short
             "{CRYPT}nohash",                                           // not 13 characters of DES
             "{CRYPT}!",                                                // locked
             "{CRYPT}$argon2id$v=19$m=65536,t=3,p=1$a$b",               // not crypt(3)'s
             "{SSHA}NxcFpwlvxxXLefSiijcNYIy6JxA=",                      // 20 octets: no salt
             "{SSHA512}not base64",
             "{PBKDF2}$1$salt$0$e29d588c6c265d7ddd88440977a5774284f448ab",   // no rounds
             "{PBKDF2}$1$salt$5000$e29d588c6c265d7ddd88440977a5774284f448",  // short hash
             "{PBKDF2}$2$salt$5000$e29d588c6c265d7ddd88440977a5774284f448ab",
             "{SCRAM-SHA-256}4096,FkgPn5tVCxGljXZU28NJPg==,7h6lec+QOOvb29/F1Oo308y0J4wUGJhwLpPwbVaEp2U=",
             "{SCRAM-SHA-256}4096,FkgPn5tVCxGljXZU28NJPg==:7h6lec+QOOvb29/F1Oo308y0J4wUGJhwLpPwbVaEp2U=,"
             "vZ01LFA8T98DUvO87Rk5PQ7HgmL1gqcaXOGAkWOuvEQ=",  // separators mixed
             "{PLAIN}",
             "{SHA512.HEX}x",
         }) {
        INFO(bad);
        CHECK_FALSE(sasl::stored_problem(bad).empty());
        CHECK_FALSE(sasl::verify_password(bad, "pw-dovecot").value_or(false));
    }
}
