// The services' own tables in a [[listener]] ([listener.pop3], [listener.smtp]): each service reads its
// keys through config::section_reader (pop3::read_settings, smtp::read_settings) while the file loads, so its
// mistakes carry file:line:column like any other, its defaults are its options struct's, and its words
// become its enums.
#include <algorithm>
#include <any>
#include <catch2/catch.hpp>
#include <string>

#include "mailwright/config/config.hpp"
#include "mailwright/pop3/service.hpp"
#include "mailwright/smtp/service.hpp"

using namespace mailwright;
using namespace std::chrono_literals;

namespace {

// As mailwrightd wires them (examples/mailwrightd/main.cpp).
std::any pop3_settings(config::section_reader& section, std::string_view) { return pop3::read_settings(section); }
std::any smtp_settings(config::section_reader& section, std::string_view service) {
    return smtp::read_settings(section, service);
}

const std::string_view services[] = {"echo", "pop3", "smtp", "lmtp"};
const config::service_section sections[] = {
    {"pop3", "pop3", pop3_settings},
    {"smtp", "smtp", smtp_settings},
    {"lmtp", "smtp", smtp_settings},
};
const config::schema schema{services, sections};

config::load_result load(std::string_view text) { return config::load_string(text, "test.toml", schema); }

// The single error of a load that must fail once.
config::error only_error(std::string_view text) {
    const auto result = load(text);
    for (const auto& e : result.errors) {
        UNSCOPED_INFO(e.to_string());
    }
    REQUIRE_FALSE(result.config);
    REQUIRE(result.errors.size() == 1);
    return result.errors.front();
}

const pop3::options& pop3_of(const config::listener_config& l) {
    return std::any_cast<const pop3::options&>(l.settings);
}
const smtp::options& smtp_of(const config::listener_config& l) {
    return std::any_cast<const smtp::options&>(l.settings);
}

// The first listener of a load that must succeed.
config::listener_config only_listener(std::string_view text) {
    auto result = load(text);
    for (const auto& e : result.errors) {
        UNSCOPED_INFO(e.to_string());
    }
    REQUIRE(result.config);
    REQUIRE(result.config->listeners.size() == 1);
    return std::move(result.config->listeners.front());
}

const std::string smtp_listener = "[[listener]]\nname = \"s\"\nservice = \"smtp\"\n[listener.smtp]\n";

}  // namespace

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
    CHECK(pop3_of(l).apop);
    CHECK(pop3_of(l).login_delay == std::chrono::seconds(120));
    CHECK(pop3_of(l).expire == "30");
    CHECK(pop3_of(l).implementation.empty());
}

TEST_CASE("config: POP3 and authentication defaults are the safe ones", "[config][pop3]") {
    const auto result = load("[[listener]]\nname = \"p\"\nservice = \"pop3\"\n");
    REQUIRE(result.config);
    const auto& l = result.config->listeners.at(0);
    CHECK(l.auth_mechanisms == std::vector<std::string>{"PLAIN", "LOGIN"});
    CHECK_FALSE(l.plaintext_auth);
    CHECK(l.max_auth_failures == 3);
    CHECK_FALSE(pop3_of(l).apop);
    CHECK(pop3_of(l).expire == "NEVER");
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

TEST_CASE("config: [listener.smtp] allow_null_sender and postmaster", "[config][smtp]") {
    const std::string submission = "[[listener]]\nname = \"s\"\nservice = \"smtp\"\n[listener.smtp]\n";
    SECTION("defaults: no null sender on submission, mail for postmaster to the user postmaster") {
        const auto r = load(submission + "role = \"submission\"\n");
        REQUIRE(r.config);
        CHECK_FALSE(smtp_of(r.config->listeners[0]).allow_null_sender);
        CHECK(smtp_of(r.config->listeners[0]).postmaster == "postmaster");
    }
    SECTION("set") {
        const auto r = load(submission + "role = \"submission\"\nallow_null_sender = true\npostmaster = \"demo\"\n");
        REQUIRE(r.config);
        CHECK(smtp_of(r.config->listeners[0]).allow_null_sender);
        CHECK(smtp_of(r.config->listeners[0]).postmaster == "demo");
    }
    SECTION("allow_null_sender means something for submission only") {
        const std::string lmtp = "[[listener]]\nname = \"l\"\nservice = \"lmtp\"\n[listener.smtp]\n";
        for (const std::string& listener : {submission + "role = \"mx\"\n", lmtp}) {
            const auto r = load(listener + "allow_null_sender = true\n");
            REQUIRE_FALSE(r.config);
            REQUIRE(r.errors.size() == 1);
            CHECK(r.errors[0].message.find("'allow_null_sender' in [listener.smtp] applies to role \"submission\"") !=
                  std::string::npos);
        }
    }
    SECTION("postmaster must name a user") {
        for (const char* bad : {"\"\"", "\"two words\"", "\"a\\nb\""}) {
            INFO(bad);
            const auto r = load(submission + "postmaster = " + bad + "\n");
            REQUIRE_FALSE(r.config);
            REQUIRE(r.errors.size() == 1);
            CHECK(r.errors[0].message.find("'postmaster' in [listener.smtp]") != std::string::npos);
        }
    }
}

TEST_CASE("config: [listener.smtp] xclient_trusted", "[config][smtp][xclient]") {
    const std::string smtp = "[[listener]]\nname = \"s\"\nservice = \"smtp\"\n[listener.smtp]\n";
    SECTION("default: nobody") {
        const auto r = load(smtp);
        REQUIRE(r.config);
        CHECK(smtp_of(r.config->listeners[0]).xclient_trusted.empty());
    }
    SECTION("addresses and networks, one or a list") {
        const auto r = load(smtp + "xclient_trusted = [\"127.0.0.1\", \"10.0.0.0/8\", \"2001:db8::/32\"]\n");
        REQUIRE(r.config);
        const auto& trusted = smtp_of(r.config->listeners[0]).xclient_trusted;
        CHECK(trusted.contains("127.0.0.1"));
        CHECK(trusted.contains("10.1.2.3"));
        CHECK(trusted.contains("2001:db8::7"));
        CHECK_FALSE(trusted.contains("127.0.0.2"));
        const auto one = load(smtp + "xclient_trusted = \"192.0.2.1\"\n");
        REQUIRE(one.config);
        CHECK(smtp_of(one.config->listeners[0]).xclient_trusted.contains("192.0.2.1"));
    }
    SECTION("a wrong network names file:line:column and what would be right") {
        const auto e = only_error(smtp + "\nxclient_trusted = [\"127.0.0.1\", \"10.0.0.1/8\"]\n");
        CHECK(e.line == 6);
        CHECK(e.column == 1);  // the key: section_reader::invalid() reports there
        CHECK_THAT(e.message, Catch::Contains("'xclient_trusted' in [listener.smtp]") && Catch::Contains("10.0.0.1/8"));
        CHECK_THAT(only_error(smtp + "xclient_trusted = [\"proxy.example\"]\n").message,
                   Catch::Contains("expected an IP address or network"));
    }
    SECTION("not for LMTP") {
        const auto e = only_error(
            "[[listener]]\nname = \"l\"\nservice = \"lmtp\"\n[listener.smtp]\nxclient_trusted = \"127.0.0.1\"\n");
        CHECK_THAT(e.message, Catch::Contains("'xclient_trusted' in [listener.smtp] applies to SMTP listeners only"));
    }
}

TEST_CASE("config sections: a wrong value in a service's table names file:line:column", "[config][smtp]") {
    const auto e = only_error(smtp_listener + "max_recipients = 0\n");
    CHECK(e.line == 5);
    CHECK(e.column == 18);
    CHECK_THAT(e.message, Catch::Contains("'max_recipients' in [listener.smtp] must be an integer from 1 to 100000") &&
                              Catch::Contains("not 0"));
    CHECK(e.to_string().rfind("test.toml:5:18: ", 0) == 0);
}

TEST_CASE("config sections: a word that is not one of the service's", "[config][smtp]") {
    const auto e = only_error(smtp_listener + "\nrole = \"relay\"\n");
    CHECK(e.line == 6);
    CHECK(e.column == 8);
    CHECK_THAT(e.message, Catch::Contains("'role' in [listener.smtp] must be one of \"mx\", \"submission\", not "
                                          "\"relay\""));
}

TEST_CASE("config sections: an unknown key in a service's table names file:line:column and the likely key",
          "[config][smtp][pop3]") {
    const auto e = only_error(smtp_listener + "max_recipient = 5\n");
    CHECK(e.to_string() ==
          "test.toml:5:1: unknown key 'max_recipient' in [listener.smtp]; did you mean 'max_recipients'?");
    // LMTP has one role, so 'role' is not one of its keys.
    const auto lmtp = only_error("[[listener]]\nname = \"l\"\nservice = \"lmtp\"\n[listener.smtp]\nrole = \"mx\"\n");
    CHECK(lmtp.line == 5);
    CHECK_THAT(lmtp.message, Catch::Contains("unknown key 'role' in [listener.smtp]"));
    const auto pop3 =
        only_error("[[listener]]\nname = \"p\"\nservice = \"pop3\"\n[listener.pop3]\n  expires = \"30\"\n");
    CHECK(pop3.to_string() == "test.toml:5:3: unknown key 'expires' in [listener.pop3]; did you mean 'expire'?");
}

TEST_CASE("config sections: a service's own check points at the key", "[config][smtp][pop3]") {
    const auto postmaster = only_error(smtp_listener + "role = \"mx\"\npostmaster = \"two words\"\n");
    CHECK(postmaster.line == 6);
    CHECK(postmaster.column == 1);
    const auto expire =
        only_error("[[listener]]\nname = \"p\"\nservice = \"pop3\"\n[listener.pop3]\napop = true\nexpire = \"soon\"\n");
    CHECK(expire.to_string().rfind("test.toml:6:1: 'expire' in [listener.pop3] must be \"NEVER\"", 0) == 0);
}

TEST_CASE("config sections: the defaults are the options struct's", "[config][smtp][pop3]") {
    SECTION("smtp, with a table that leaves them out") {
        const auto l = only_listener(smtp_listener + "role = \"submission\"\n");
        const smtp::options defaults;
        CHECK(smtp_of(l).kind == smtp::role::submission);
        CHECK(smtp_of(l).max_message_size == defaults.max_message_size);
        CHECK(smtp_of(l).max_recipients == defaults.max_recipients);
        CHECK(smtp_of(l).min_data_rate == defaults.min_data_rate);
        CHECK(smtp_of(l).bare == defaults.bare);
        CHECK(smtp_of(l).pregreet_wait == defaults.pregreet_wait);
        CHECK(smtp_of(l).postmaster == defaults.postmaster);
    }
    SECTION("smtp, without a table") {
        const auto l = only_listener("[[listener]]\nname = \"s\"\nservice = \"smtp\"\n");
        CHECK(smtp_of(l).kind == smtp::role::mx);
        CHECK(smtp_of(l).max_message_size == smtp::options{}.max_message_size);
    }
    SECTION("pop3, without a table") {
        const auto l = only_listener("[[listener]]\nname = \"p\"\nservice = \"pop3\"\n");
        const pop3::options defaults;
        CHECK(pop3_of(l).apop == defaults.apop);
        CHECK(pop3_of(l).login_delay == defaults.login_delay);
        CHECK(pop3_of(l).expire == defaults.expire);
        CHECK(pop3_of(l).implementation == defaults.implementation);
    }
    SECTION("a service without a table of its own has no settings") {
        CHECK_FALSE(only_listener("[[listener]]\nname = \"e\"\nservice = \"echo\"\n").settings.has_value());
    }
}

TEST_CASE("config sections: words become the service's enums", "[config][smtp]") {
    const auto l = only_listener(smtp_listener +
                                 "role = \"submission\"\nbare_line_ends = \"normalise\"\nmax_message_size = 2048\n"
                                 "pregreet_wait = \"1500ms\"\nlocal_domains = [\"example.org\"]\n");
    CHECK(smtp_of(l).kind == smtp::role::submission);
    CHECK(smtp_of(l).bare == smtp::bare_line_ends::normalise);
    CHECK(smtp_of(l).max_message_size == 2048);
    CHECK(smtp_of(l).pregreet_wait == 1500ms);
    CHECK(smtp_of(l).local_domains == std::vector<std::string>{"example.org"});
    CHECK(smtp_of(only_listener("[[listener]]\nname = \"l\"\nservice = \"lmtp\"\n")).kind == smtp::role::lmtp);
}

TEST_CASE("config sections: a table of another service's is refused, and still checked", "[config][smtp]") {
    const auto result = load("[[listener]]\nname = \"p\"\nservice = \"pop3\"\n[listener.smtp]\nmax_recipients = 0\n");
    REQUIRE_FALSE(result.config);
    REQUIRE(result.errors.size() == 2);
    const auto belongs = std::find_if(result.errors.begin(), result.errors.end(), [](const config::error& e) {
        return e.message.find("belongs to") != std::string::npos;
    });
    REQUIRE(belongs != result.errors.end());
    CHECK_THAT(belongs->message, Catch::Contains("[listener.smtp] belongs to a listener whose service is \"smtp\" or "
                                                 "\"lmtp\", but 'p' serves \"pop3\""));
}

TEST_CASE("config sections: their mistakes are reported with every other", "[config][smtp]") {
    const auto result = load(
        "[server]\nworkers = -1\n[[listener]]\nname = \"s\"\nservice = \"smtp\"\nport = 70000\n"
        "[listener.smtp]\nmax_recipients = 0\nbare_line_ends = \"strip\"\n");
    REQUIRE(result.errors.size() == 4);
    CHECK(result.errors[1].line == 6);
    CHECK(result.errors[2].line == 8);
    CHECK(result.errors[3].line == 9);
}

TEST_CASE("config sections: a table that is not a table", "[config][pop3]") {
    const auto e = only_error("[[listener]]\nname = \"p\"\nservice = \"pop3\"\npop3 = 1\n");
    CHECK(e.line == 4);
    CHECK_THAT(e.message, Catch::Contains("'pop3' must be a table, written [listener.pop3]"));
}
