// The passwd-file plugin's reading of Dovecot's format: which fields are used, which extra fields are ignored
// and which refuse the line, the older Mailwright SCRAM form, and a problem for every line that cannot be used.
#include "passwd_lines.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "mailwright/sasl/password.hpp"

using namespace mailwright;

namespace {

passwd_file::lines read(const std::string& text, std::string_view default_scheme = "CRYPT") {
    std::istringstream in(text);
    return passwd_file::read_lines(in, "f", default_scheme);
}

// `doveadm pw -s SHA512-CRYPT -p pw-dovecot`
const std::string sha =
    "$6$SeUdYPtClR6Ev7Zr$urrvP.4mLCBFS6GAWtnz4S4TC3Zr/yFysD6Yjm/"
    "PqgcHL0DHnDfoWQMB1XP7iKVrTjhw546HbfqgouvvACPxm0";
const std::string scram_keys =
    "4096,FkgPn5tVCxGljXZU28NJPg==,7h6lec+QOOvb29/F1Oo308y0J4wUGJhwLpPwbVaEp2U=,"
    "vZ01LFA8T98DUvO87Rk5PQ7HgmL1gqcaXOGAkWOuvEQ=";

}  // namespace

TEST_CASE("passwd lines: Dovecot's fields", "[passwd-file]") {
    const auto r = read(
        "# comment\n\n"
        "a:{SHA512-CRYPT}" +
        sha +
        "\n"
        "b:{sha512-crypt}" +
        sha +
        ":1000:1000::/home/b::\r\n"
        "c:" +
        sha +
        ":1000:1000:C:/home/c:/bin/sh:userdb_mail=maildir:~/Maildir nodelay\n"
        "d:{SHA512-CRYPT}" +
        sha +
        ":vmail:vmail::/h:::maildir:~/Maildir\n"
        "e:{SHA512-CRYPT}" +
        sha + ":::::: quota_rule=*:storage=1G\n");
    CHECK(r.problems.empty());
    REQUIRE(r.entries.size() == 5);
    for (const auto& [user, stored] : r.entries) {
        INFO(user);
        CHECK(stored == "{" + std::string(user == "c" ? "CRYPT" : "SHA512-CRYPT") + "}" + sha);
        CHECK(sasl::verify_password(stored, "pw-dovecot") == true);
    }
    REQUIRE(r.warnings.size() == 1);  // quota_rule without userdb_: not known here
    CHECK(r.warnings[0] == "f:7: extra fields ignored (this plugin does not use them): quota_rule");
}

TEST_CASE("passwd lines: SCRAM keys with commas, and the older colon form", "[passwd-file]") {
    std::string colons = scram_keys;
    std::replace(colons.begin(), colons.end(), ',', ':');
    const auto r = read("new:{SCRAM-SHA-256}" + scram_keys + ":1000:1000::/h::\nold:{SCRAM-SHA-256}" + colons + "\n");
    CHECK(r.problems.empty());
    CHECK(r.entries.at("new") == "{SCRAM-SHA-256}" + scram_keys);
    CHECK(r.entries.at("old") == "{SCRAM-SHA-256}" + scram_keys);
}

TEST_CASE("passwd lines: default_scheme reads passwords without a scheme", "[passwd-file]") {
    const auto r = read("s:NxcFpwlvxxXLefSiijcNYIy6JxAi9jvC\n", "SSHA");
    CHECK(r.problems.empty());
    CHECK(r.entries.at("s") == "{SSHA}NxcFpwlvxxXLefSiijcNYIy6JxAi9jvC");
    const auto crypt = read("s:NxcFpwlvxxXLefSiijcNYIy6JxAi9jvC\n");
    REQUIRE(crypt.problems.size() == 1);
    CHECK(crypt.problems[0].find("default_scheme = \"CRYPT\"") != std::string::npos);
}

TEST_CASE("passwd lines: plaintext lines are counted", "[passwd-file]") {
    const auto r = read("a:{PLAIN}x\nb:{clear}y\nc:{PLAIN-EQUIVALENT}eA==\n");
    CHECK(r.problems.empty());
    CHECK(r.plaintext == 2);
    CHECK(r.entries.at("b") == "{PLAIN}y");
}

TEST_CASE("passwd lines: every line that cannot be used is named", "[passwd-file]") {
    const auto r = read("ok:{SHA512-CRYPT}" + sha + "\n" +                                  // 1
                        "open::1000:1000::/h::nopassword\n" +                               // 2
                        "net:{SHA512-CRYPT}" + sha + ":1:1::/h::allow_nets=10.0.0.0/8\n" +  // 3
                        "off:{SHA512-CRYPT}" + sha + ":1:1::/h::nologin reason=gone\n" +    // 4
                        "as:{SHA512-CRYPT}" + sha + ":1:1::/h::user=other\n" +              // 5
                        ":{PLAIN}x\n" +                                                     // 6
                        "empty\n" +                                                         // 7
                        "odd:{MD4}abc\n" +                                                  // 8
                        "ok:{PLAIN}again\n");                                               // 9
    CHECK(r.entries.size() == 1);
    const char* expected[] = {"f:2: extra field nopassword",        "f:3: extra field allow_nets",
                              "f:4: extra field nologin",           "f:5: extra field user",
                              "f:6: the user name is empty",        "f:7: the password field is empty",
                              "f:8: unknown password scheme {MD4}", "f:9: user 'ok' appears twice"};
    REQUIRE(r.problems.size() == std::size(expected));
    for (std::size_t i = 0; i < std::size(expected); ++i) {
        INFO(r.problems[i]);
        CHECK(r.problems[i].starts_with(expected[i]));
    }
}
