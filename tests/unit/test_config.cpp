// Config loading: values reach the typed structs, and every mistake is reported with file:line:column, what
// is wrong and what would be right.
#include "mailwright/config/config.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

using namespace mailwright;
using namespace std::chrono_literals;

namespace {

const std::string_view services[] = {"echo", "pop3"};
const config::schema schema{services};

config::load_result load(std::string_view text) { return config::load_string(text, "test.toml", schema); }

// The single error of a load that must fail once.
config::error only_error(std::string_view text) {
    const auto result = load(text);
    REQUIRE_FALSE(result.config);
    REQUIRE(result.errors.size() == 1);
    return result.errors.front();
}

}  // namespace

TEST_CASE("config: a complete file reaches the structs", "[config]") {
    const auto result = load(R"(
[server]
workers = 3
blocking_threads = 2
max_connections = 100
max_connections_per_ip = 7
shutdown_grace = "2500ms"
state_dir = "/srv/mail"

[log]
level = "debug"

[[listener]]
name = "pop3"
service = "pop3"
address = ["127.0.0.1", "::1"]
port = 1110
read_timeout = "10m"
max_line = 255
bare_lf = "reject"

[[listener]]
name = "health"
service = "echo"
address = "127.0.0.2"
port = 7
read_timeout = 30
)");
    for (const auto& e : result.errors) {
        UNSCOPED_INFO(e.to_string());
    }
    REQUIRE(result.config);
    const auto& c = *result.config;
    CHECK(c.server.workers == 3);
    CHECK(c.server.blocking_threads == 2);
    CHECK(c.server.max_connections == 100);
    CHECK(c.server.max_connections_per_ip == 7);
    CHECK(c.server.shutdown_grace == 2500ms);
    CHECK(c.server.state_dir == "/srv/mail");
    CHECK(c.log.level == "debug");
    REQUIRE(c.listeners.size() == 2);
    CHECK(c.listeners[0].addresses == std::vector<std::string>{"127.0.0.1", "::1"});
    CHECK(c.listeners[0].port == 1110);
    CHECK(c.listeners[0].read_timeout == 10min);
    CHECK(c.listeners[0].max_line == 255);
    CHECK(c.listeners[0].bare_lf == io::bare_lf_policy::reject);
    CHECK(c.listeners[1].addresses == std::vector<std::string>{"127.0.0.2"});
    CHECK(c.listeners[1].read_timeout == 30s);
}

TEST_CASE("config: defaults are safe", "[config]") {
    const auto result = load("[[listener]]\nname = \"e\"\nservice = \"echo\"\n");
    REQUIRE(result.config);
    CHECK(result.config->listeners[0].addresses == std::vector<std::string>{"127.0.0.1"});  // loopback only
    CHECK(result.config->server.max_connections_per_ip > 0);
    CHECK(result.config->listeners[0].read_timeout == 0ms);  // the service's own (echo 5 min, POP3 10 min)
}

TEST_CASE("config: an unknown key names its line, column and the likely key", "[config]") {
    const auto e = only_error("[[listener]]\nname = \"e\"\nservice = \"echo\"\nprot = 25\n");
    CHECK(e.file == "test.toml");
    CHECK(e.line == 4);
    CHECK(e.column == 1);
    CHECK_THAT(e.message, Catch::Contains("unknown key 'prot'") && Catch::Contains("did you mean 'port'?"));
    CHECK(e.to_string().rfind("test.toml:4:1: ", 0) == 0);
}

TEST_CASE("config: an unknown key far from any known one lists the known keys", "[config]") {
    const auto e = only_error("[server]\ncolour = 1\n[[listener]]\nname = \"e\"\nservice = \"echo\"\n");
    CHECK(e.line == 2);
    CHECK_THAT(e.message, Catch::Contains("[server]") && Catch::Contains("known keys: workers"));
}

TEST_CASE("config: wrong types and impossible values", "[config]") {
    SECTION("port out of range") {
        const auto e = only_error("[[listener]]\nname = \"e\"\nservice = \"echo\"\nport = 70000\n");
        CHECK(e.line == 4);
        CHECK_THAT(e.message,
                   Catch::Contains("'port'") && Catch::Contains("from 0 to 65535") && Catch::Contains("not 70000"));
    }
    SECTION("a blocking pool without a thread") {
        const auto e = only_error("[server]\nblocking_threads = 0\n[[listener]]\nname = \"e\"\nservice = \"echo\"\n");
        CHECK(e.line == 2);
        CHECK_THAT(e.message, Catch::Contains("'blocking_threads'") && Catch::Contains("from 1 to 1024") &&
                                  Catch::Contains("not 0"));
    }
    SECTION("string where an integer belongs") {
        const auto e = only_error("[server]\nworkers = \"two\"\n[[listener]]\nname = \"e\"\nservice = \"echo\"\n");
        CHECK(e.line == 2);
        CHECK_THAT(e.message, Catch::Contains("'workers'") && Catch::Contains("not \"two\""));
    }
    SECTION("a duration without a unit we know") {
        const auto e =
            only_error("[server]\nshutdown_grace = \"10 parsecs\"\n[[listener]]\nname=\"e\"\nservice=\"echo\"\n");
        CHECK(e.line == 2);
        CHECK_THAT(e.message, Catch::Contains("duration"));
    }
    SECTION("an address that is a host name") {
        const auto e = only_error("[[listener]]\nname = \"e\"\nservice = \"echo\"\naddress = \"localhost\"\n");
        CHECK(e.line == 4);
        CHECK_THAT(e.message, Catch::Contains("not a numeric IPv4 or IPv6 address"));
    }
    SECTION("an unknown service lists the ones this build has") {
        const auto e = only_error("[[listener]]\nname = \"e\"\nservice = \"imap\"\n");
        CHECK(e.line == 3);
        CHECK_THAT(e.message, Catch::Contains("\"imap\"") && Catch::Contains("\"echo\", \"pop3\""));
    }
    SECTION("a log level that does not exist") {
        const auto e = only_error("[log]\nlevel = \"loud\"\n[[listener]]\nname = \"e\"\nservice = \"echo\"\n");
        CHECK_THAT(e.message, Catch::Contains("one of \"trace\""));
    }
    SECTION("listener names are unique") {
        const auto e = only_error(
            "[[listener]]\nname = \"e\"\nservice = \"echo\"\n[[listener]]\nname = \"e\"\nservice = \"echo\"\n");
        CHECK(e.line == 4);
        CHECK_THAT(e.message, Catch::Contains("unique"));
    }
    SECTION("a listener without a service") {
        const auto e = only_error("[[listener]]\nname = \"e\"\n");
        CHECK_THAT(e.message, Catch::Contains("needs a 'service'"));
    }
    SECTION("no listener at all") {
        const auto e = only_error("[server]\nworkers = 1\n");
        CHECK_THAT(e.message, Catch::Contains("no [[listener]]"));
    }
}

TEST_CASE("config: several mistakes are all reported", "[config]") {
    const auto result =
        load("[server]\nworkers = -1\nmax_connections = 0\n[[listener]]\nname = \"e\"\nservice = \"echo\"\n");
    CHECK(result.errors.size() == 2);
}

TEST_CASE("config: TOML syntax errors carry the position", "[config]") {
    const auto e = only_error("[server]\nworkers = = 2\n");
    CHECK(e.line == 2);
    CHECK(e.column > 0);
}

TEST_CASE("config: files", "[config]") {
    SECTION("a missing file is an error, not a crash") {
        const auto result = config::load_file("/nonexistent/mailwright.toml", schema);
        REQUIRE(result.errors.size() == 1);
        CHECK(result.errors[0].file == "/nonexistent/mailwright.toml");
    }
    SECTION("errors name the file") {
        const std::string path = "test_config_broken.toml";
        std::ofstream(path) << "[[listener]]\nname = \"e\"\nservice = \"echo\"\nport = \"twenty-five\"\n";
        const auto result = config::load_file(path, schema);
        std::remove(path.c_str());
        REQUIRE(result.errors.size() == 1);
        CHECK(result.errors[0].to_string().rfind(path + ":4:", 0) == 0);
    }
}

TEST_CASE("config: parse_duration", "[config]") {
    CHECK(config::parse_duration("250ms") == 250ms);
    CHECK(config::parse_duration("30s") == 30s);
    CHECK(config::parse_duration("30") == 30s);
    CHECK(config::parse_duration("5m") == 5min);
    CHECK(config::parse_duration("2h") == 2h);
    CHECK_FALSE(config::parse_duration(""));
    CHECK_FALSE(config::parse_duration("s"));
    CHECK_FALSE(config::parse_duration("-5s"));
    CHECK_FALSE(config::parse_duration("5 s"));
    CHECK_FALSE(config::parse_duration("5d"));
    CHECK_FALSE(config::parse_duration("99999999999999999999s"));
}

TEST_CASE("config: POP3 and authentication keys reach the structs", "[config][pop3]") {
    const auto result = load(R"(
[server]
hostname = "mail.example.org"
[auth]
failure_delay = "1s"
failure_delay_max = "8s"
[[listener]]
name = "pop3"
service = "pop3"
auth_mechanisms = ["scram-sha-256", "PLAIN"]
plaintext_auth = true
max_auth_failures = 5
max_bad_commands = 9
[listener.pop3]
apop = true
login_delay = "2m"
expire = "30"
implementation = ""
)");
    REQUIRE(result.config);
    const auto& c = *result.config;
    CHECK(c.server.hostname == "mail.example.org");
    CHECK(c.auth.failure_delay == 1s);
    CHECK(c.auth.failure_delay_max == 8s);
    const auto& l = c.listeners.at(0);
    CHECK(l.auth_mechanisms == std::vector<std::string>{"SCRAM-SHA-256", "PLAIN"});
    CHECK(l.plaintext_auth);
    CHECK(l.max_auth_failures == 5);
    CHECK(l.max_bad_commands == 9);
    CHECK(l.read_timeout == 0ms);  // the service decides: POP3's 10 minutes
    CHECK(l.pop3.apop);
    CHECK(l.pop3.login_delay == std::chrono::seconds(120));
    CHECK(l.pop3.expire == "30");
    CHECK(l.pop3.implementation.empty());
}

TEST_CASE("config: POP3 and authentication defaults are the safe ones", "[config][pop3]") {
    const auto result = load("[[listener]]\nname = \"p\"\nservice = \"pop3\"\n");
    REQUIRE(result.config);
    const auto& l = result.config->listeners.at(0);
    CHECK(l.auth_mechanisms == std::vector<std::string>{"PLAIN", "LOGIN"});
    CHECK_FALSE(l.plaintext_auth);
    CHECK(l.max_auth_failures == 3);
    CHECK_FALSE(l.pop3.apop);
    CHECK(l.pop3.expire == "NEVER");
    CHECK(result.config->auth.failure_delay == 2s);
    CHECK(result.config->auth.failure_delay_max == 15s);
}

TEST_CASE("config: POP3 and authentication mistakes", "[config][pop3]") {
    const std::string base = "[[listener]]\nname = \"p\"\nservice = \"pop3\"\n";
    CHECK(only_error(base + "auth_mechanisms = [\"PLAIN\", \"DIGEST-MD5\"]\n")
              .message.find("unknown SASL mechanism \"DIGEST-MD5\"") != std::string::npos);
    CHECK(only_error(base + "[listener.pop3]\nexpire = \"soon\"\n").message.find("'expire' in [listener.pop3]") !=
          std::string::npos);
    CHECK(only_error(base + "[listener.pop3]\napop = 1\n")
              .message.find("'apop' in [listener.pop3] must be true or "
                            "false") != std::string::npos);
    CHECK(only_error(base + "[listener.pop3]\napops = true\n").message.find("did you mean 'apop'?") !=
          std::string::npos);
    CHECK(only_error(base + "max_auth_failures = 0\n").message.find("'max_auth_failures'") != std::string::npos);
    CHECK(only_error("[auth]\nfailure_delay = \"10s\"\nfailure_delay_max = \"1s\"\n" + base)
              .message.find("'failure_delay_max' in [auth] must not be shorter") != std::string::npos);
    const auto echo = only_error("[[listener]]\nname = \"e\"\nservice = \"echo\"\n[listener.pop3]\napop = true\n");
    CHECK(echo.message.find("[listener.pop3] belongs to a listener whose service is \"pop3\"") != std::string::npos);
    CHECK(echo.line == 4);
}

TEST_CASE("config: a float where an integer belongs is an error, however large (fuzz_config)", "[config]") {
    // toml++ converts a float to an integer when asked, which is undefined beyond the range: found by fuzzing.
    CHECK(only_error("[[listener]]\nname = \"e\"\nservice = \"echo\"\nport = 9e93\n")
              .message.find("'port' in [[listener]] must be an integer") != std::string::npos);
    CHECK(only_error("[server]\nworkers = -1e300\n[[listener]]\nname = \"e\"\nservice = \"echo\"\n")
              .message.find("'workers' in [server] must be an integer") != std::string::npos);
    CHECK(only_error("[log]\nlevel = 1e300\n[[listener]]\nname = \"e\"\nservice = \"echo\"\n")
              .message.find("not a floating-point number") != std::string::npos);
}

TEST_CASE("config: a listener address with a NUL or junk after it is refused (fuzz_config)", "[config]") {
    CHECK(only_error("[[listener]]\nname = \"e\"\nservice = \"echo\"\naddress = \"127.0.0.1\\u0000; junk\"\n")
              .message.find("is not a numeric IPv4 or IPv6 address") != std::string::npos);
    CHECK(only_error("[[listener]]\nname = \"e\"\nservice = \"echo\"\naddress = \"::1%lo\"\n")
              .message.find("is not a numeric IPv4 or IPv6 address") != std::string::npos);
}

TEST_CASE("config: [listener.smtp] allow_null_sender and postmaster", "[config][smtp]") {
    const std::string_view smtp_services[] = {"smtp", "lmtp"};
    const config::schema smtp_schema{smtp_services};
    auto load_smtp = [&](const std::string& text) { return config::load_string(text, "test.toml", smtp_schema); };
    const std::string submission = "[[listener]]\nname = \"s\"\nservice = \"smtp\"\n[listener.smtp]\n";
    SECTION("defaults: no null sender on submission, mail for postmaster to the user postmaster") {
        const auto r = load_smtp(submission + "role = \"submission\"\n");
        REQUIRE(r.config);
        CHECK_FALSE(r.config->listeners[0].smtp.allow_null_sender);
        CHECK(r.config->listeners[0].smtp.postmaster == "postmaster");
    }
    SECTION("set") {
        const auto r =
            load_smtp(submission + "role = \"submission\"\nallow_null_sender = true\npostmaster = \"demo\"\n");
        REQUIRE(r.config);
        CHECK(r.config->listeners[0].smtp.allow_null_sender);
        CHECK(r.config->listeners[0].smtp.postmaster == "demo");
    }
    SECTION("allow_null_sender means something for submission only") {
        const std::string lmtp = "[[listener]]\nname = \"l\"\nservice = \"lmtp\"\n[listener.smtp]\n";
        for (const std::string& listener : {submission + "role = \"mx\"\n", lmtp}) {
            const auto r = load_smtp(listener + "allow_null_sender = true\n");
            REQUIRE_FALSE(r.config);
            REQUIRE(r.errors.size() == 1);
            CHECK(r.errors[0].message.find("'allow_null_sender' in [listener.smtp] applies to role \"submission\"") !=
                  std::string::npos);
        }
    }
    SECTION("postmaster must name a user") {
        for (const char* bad : {"\"\"", "\"two words\"", "\"a\\nb\""}) {
            INFO(bad);
            const auto r = load_smtp(submission + "postmaster = " + bad + "\n");
            REQUIRE_FALSE(r.config);
            REQUIRE(r.errors.size() == 1);
            CHECK(r.errors[0].message.find("'postmaster' in [listener.smtp]") != std::string::npos);
        }
    }
}
