// The plugin host with real plugin libraries (tests/plugins): one of each kind, dependency order, the fault
// barrier, each way a plugin can be refused, and what hidden visibility does to Asio inside a plugin.
#include "mailwright/plugin/host.hpp"
#include "support.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/version.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "mailwright/config/config.hpp"
#include "mailwright/sasl/mechanism.hpp"

using namespace mailwright;
using mailwright::test::run;

namespace {

const std::string_view builtin[] = {"echo"};

// A configuration file's plugin tables, loaded into a host.
struct fixture {
    config::daemon_config cfg;
    std::vector<config::error> errors;
    std::vector<std::unique_ptr<config::plugin_settings>> settings;
    std::unique_ptr<plugin::host> host;

    explicit fixture(const std::string& plugin_tables, std::vector<std::string> auth_order = {},
                     bool checking = false) {
        const std::string text = plugin_tables + "\n[[listener]]\nname = \"x\"\nservice = \"echo\"\n";
        auto loaded = config::load_string(text, "plugins.toml", config::schema{builtin});
        for (const auto& e : loaded.errors) {
            UNSCOPED_INFO(e.to_string());
        }
        REQUIRE(loaded.config);
        cfg = std::move(*loaded.config);
        host = std::make_unique<plugin::host>(plugin::host_options{.search_path = plugin::default_search_path(),
                                                                   .state_dir = "var",
                                                                   .auth_order = std::move(auth_order),
                                                                   .checking = checking});
    }

    void load() {
        std::vector<plugin::load_request> requests;
        for (const auto& section : cfg.plugins.sections) {
            settings.push_back(config::open_plugin_settings(cfg, section, errors));
            requests.push_back({section.name, settings.back().get()});
        }
        try {
            host->load(requests);
        } catch (...) {
            finish(requests);
            throw;
        }
        finish(requests);
    }

    // As mailwrightd does: unknown keys only from plugins whose init() ran to its end.
    void finish(const std::vector<plugin::load_request>& requests) {
        for (std::size_t i = 0; i < settings.size(); ++i) {
            settings[i]->finish(host->initialised(requests[i].name));
        }
    }
};

std::string load_error_of(const std::string& tables) {
    fixture f(tables);
    try {
        f.load();
    } catch (const plugin::load_error& e) {
        return e.what();
    }
    return "(loaded)";
}

const char* const all_kinds = R"(
[plugin.deny-hook]
deny = ["bob"]
[plugin.static-users]
users = ["alice:secret", "bob:hunter2"]
delay = "2ms"
[plugin.memory-store]
[plugin.authcheck]
)";

}  // namespace

// An installed copy searches beside itself (test_sdk.InstalledDaemon); the build tree's library, which this
// program runs with, searches the build tree's plugins and nothing that was configured for an install.
TEST_CASE("plugin host: the build tree's library searches the build tree's plugins only", "[plugin]") {
    const auto path = plugin::default_search_path();
    REQUIRE(path.size() == 1);
    CHECK(std::filesystem::equivalent(path.front(), MAILWRIGHT_TEST_PLUGIN_DIR));
}

TEST_CASE("plugin host: one plugin of each kind, in dependency order", "[plugin]") {
    fixture f(all_kinds);
    f.load();
    CHECK(f.errors.empty());
    const auto loaded = f.host->loaded();
    REQUIRE(loaded.size() == 4);
    auto position = [&](std::string_view name) {
        return std::find_if(loaded.begin(), loaded.end(), [&](const auto& p) { return p.name == name; }) -
               loaded.begin();
    };
    CHECK(position("static-users") < position("deny-hook"));  // deny-hook depends on static-users

    SECTION("auth, with a plugin call that awaits a timer") {
        auto ok = run(f.host->auth().verify_password("alice", "secret"));
        CHECK(ok.status == plugin::auth_status::ok);
        CHECK(ok.user == "alice");
        CHECK(ok.message == "thread-kept=yes asio-sees-thread=yes");
        CHECK(run(f.host->auth().verify_password("alice", "wrong")).status == plugin::auth_status::rejected);
        CHECK(run(f.host->auth().verify_password("nobody", "secret")).status == plugin::auth_status::rejected);
        CHECK(run(f.host->auth().lookup("bob")).status == plugin::auth_status::ok);
    }
    SECTION("mailstore") {
        auto store = f.host->store();
        REQUIRE(store);
        const std::string users[] = {"alice"};
        const auto stored = run(plugin::deliver(*store, users, "Subject: hi\r\n\r\nline 1\r\nline 2\r\n"));
        CHECK(stored.recipients.size() == 1);
        CHECK(stored.recipients.front().ok());
        auto opened = run(store->open("alice"));
        REQUIRE(opened.status == plugin::store_status::ok);
        CHECK(opened.drop->messages().size() == 1);
        CHECK(run(store->open("alice")).status == plugin::store_status::in_use);
        auto top = run(opened.drop->open_message(0, 1));
        REQUIRE(top.status == plugin::store_status::ok);
        char buffer[128];
        const auto chunk = run(top.reader->read_some(buffer));
        CHECK(std::string(buffer, chunk.bytes) == "Subject: hi\r\n\r\nline 1\r\n");
    }
    SECTION("hooks, with the fault barrier") {
        using outcome = plugin::reply::outcome;
        CHECK(run(f.host->run_pop3_hooks(plugin::pop3_event::login, {.user = "bob"})).result == outcome::permanent);
        CHECK(run(f.host->run_pop3_hooks(plugin::pop3_event::login, {.user = "alice"})).result == outcome::ok);
        CHECK(run(f.host->run_pop3_hooks(plugin::pop3_event::login, {.user = "crash"})).result == outcome::temporary);
        CHECK(run(f.host->run_pop3_hooks(plugin::pop3_event::login, {.user = "crash-int"})).result ==
              outcome::temporary);
    }
    SECTION("a refusal is logged with the session, the plugin and what it refused") {
        std::ostringstream log;
        const auto previous = spdlog::default_logger();
        spdlog::set_default_logger(
            std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
        const plugin::event_context bob{.user = "bob", .argument = "bob", .session = 42};
        const auto refused = run(f.host->run_pop3_hooks(plugin::pop3_event::login, bob));
        const plugin::event_context alice{.user = "alice", .argument = "alice", .session = 43};
        const auto accepted = run(f.host->run_pop3_hooks(plugin::pop3_event::login, alice));
        spdlog::set_default_logger(previous);
        CHECK(refused.permanent());
        CHECK(accepted.ok());
        CHECK_THAT(log.str(), Catch::Contains("session=42 plugin=deny-hook refused login for good (bob): not today"));
        CHECK(log.str().find("session=43") == std::string::npos);
    }
    SECTION("service") {
        CHECK(f.host->provides_service("authcheck"));
        CHECK_FALSE(f.host->provides_service("static-users"));
        CHECK(f.host->make_service("authcheck") != nullptr);
        CHECK(f.host->make_service("nothing") == nullptr);
    }
}

TEST_CASE("plugin host: an auth call that throws becomes a temporary failure", "[plugin][faults]") {
    fixture f("[plugin.throwing]\n[plugin.static-users]\nusers = [\"alice:secret\"]\n", {"throwing", "static-users"});
    f.load();
    CHECK(run(f.host->auth().verify_password("mallory", "x")).status == plugin::auth_status::tempfail);
    CHECK(run(f.host->auth().verify_password("mallory-int", "x")).status == plugin::auth_status::tempfail);
    // The same chain still answers everyone else: the exception cost only that call.
    CHECK(run(f.host->auth().verify_password("alice", "secret")).status == plugin::auth_status::ok);
}

TEST_CASE("plugin host: a plugin for another ABI is refused, naming the part that differs", "[plugin][abi]") {
    // The whole string from another build: the interface version is the first part that differs.
    CHECK_THAT(
        load_error_of("[plugin.wrong-abi]"),
        Catch::Contains("built with plugin interface version 0 where this host has " MAILWRIGHT_PLUGIN_ABI_STRINGIFY(
            MAILWRIGHT_PLUGIN_INTERFACE_VERSION)));
    // One part differs, the rest of the build is the same.
    const std::string asio =
        fmt::format("{}.{}.{}", ASIO_VERSION / 100000, ASIO_VERSION / 100 % 1000, ASIO_VERSION % 100);
    CHECK_THAT(load_error_of("[plugin.wrong-asio]"),
               Catch::Contains("mailwright-wrong-asio.so: plugin 'wrong-asio' is for ABI \"") &&
                   Catch::Contains("(we have \"" MAILWRIGHT_PLUGIN_ABI "\")") &&
                   Catch::Contains("built with Asio 1.24.1 where this host has " + asio));
    CHECK_THAT(load_error_of("[plugin.wrong-cxx11-abi]"),
               Catch::Contains("mailwright-wrong-cxx11-abi.so: plugin 'wrong-cxx11-abi' is for ABI") &&
                   Catch::Contains("built with _GLIBCXX_USE_CXX11_ABI 0 where this host has 1"));
}

TEST_CASE("plugin host: a plugin built for another C++ standard is refused, naming the standard", "[plugin][abi]") {
    // wrong-std is built with -std=c++23 (tests/plugins/CMakeLists.txt); rebuilding it with the same SDK
    // would not help, so the message must not say so.
    const auto error = load_error_of("[plugin.wrong-std]");
    CHECK_THAT(error, Catch::Contains("mailwright-wrong-std.so: plugin 'wrong-std' is for ABI") &&
                          Catch::Contains("built with C++23 (202100L) where this host has C++20 (202002L); "
                                          "build it with -std=c++20; mailwright_add_plugin() sets the SDK's "
                                          "standard") &&
                          !Catch::Contains("rebuild"));
}

TEST_CASE("plugin host: after a failure, only the plugins that ran report unknown keys", "[plugin][config]") {
    // A plugin that could not be loaded: nobody ran, so nobody's keys are unknown.
    fixture missing("[plugin.static-users]\nusers = [\"alice:secret\"]\n[plugin.ghost]\nkey = 1\n");
    CHECK_THROWS_AS(missing.load(), plugin::load_error);
    CHECK_FALSE(missing.host->initialised("static-users"));
    CHECK(missing.errors.empty());
    // One whose init() failed: the plugin before it ran to its end (its unknown key is a real mistake); the
    // failing one never read the rest of its keys, and the one after it never ran (the tables load in the
    // order of their names).
    fixture failing(
        "[plugin.static-users]\nusers = [\"alice:secret\"]\ncolour = 1\n"
        "[plugin.throwing]\nfail_init = true\nlater = 2\n[plugin.verdict-filter]\nverdict = 1\n",
        {"static-users", "throwing"});
    CHECK_THROWS_WITH(failing.load(), Catch::Contains("plugin 'throwing' failed to initialise"));
    CHECK(failing.host->initialised("static-users"));
    CHECK_FALSE(failing.host->initialised("throwing"));
    CHECK_FALSE(failing.host->initialised("verdict-filter"));
    REQUIRE(failing.errors.size() == 1);
    CHECK_THAT(failing.errors[0].to_string(),
               Catch::StartsWith("plugins.toml:3:1: unknown key 'colour' in [plugin.static-users]"));
}

TEST_CASE("plugin host: a plugin sees whether the configuration is only being checked", "[plugin][check]") {
    const auto file = std::filesystem::temp_directory_path() / fmt::format("mailwright-touch-{}", ::getpid());
    std::filesystem::remove(file);
    const std::string table = "[plugin.throwing]\ntouch = \"" + file.string() + "\"\n";
    fixture checking(table, {}, true);
    checking.load();
    CHECK_FALSE(std::filesystem::exists(file));
    fixture starting(table);
    starting.load();
    CHECK(std::filesystem::exists(file));
    std::filesystem::remove(file);
}

TEST_CASE("plugin host: plugins are refused with a clear message", "[plugin]") {
    CHECK_THAT(load_error_of("[plugin.wrong-abi]"),
               Catch::Contains("mailwright-wrong-abi.so: plugin 'wrong-abi' is for ABI \"mailwright-plugin/0 gcc/4.8 "
                               "from another build\" (we have \"" MAILWRIGHT_PLUGIN_ABI "\")"));
    CHECK_THAT(load_error_of("[plugin.not-a-plugin]"),
               Catch::Contains("mailwright-not-a-plugin.so: not a Mailwright plugin"));
    CHECK_THAT(load_error_of("[plugin.missing-symbol]"),
               Catch::Contains("mailwright-missing-symbol.so: cannot be loaded") &&
                   Catch::Contains("undefined symbol: mailwright_test_function_nobody_defines"));
    CHECK_THAT(load_error_of("[plugin.ghost]"),
               Catch::Contains("plugin 'ghost': no mailwright-ghost.so in the plugin search path"));
    CHECK_THAT(load_error_of("[plugin.throwing]\nfail_init = true"),
               Catch::Contains("plugin 'throwing' failed to initialise: the database is unreachable"));
    CHECK_THAT(load_error_of("[plugin.throwing]\nfail_init_int = true"),
               Catch::Contains("plugin 'throwing' failed to initialise: it threw something that is not a "
                               "std::exception"));
    CHECK_THAT(load_error_of("[plugin.needs-missing]"),
               Catch::Contains("plugin 'needs-missing' depends on 'absent', which is not configured"));
    CHECK_THAT(load_error_of("[plugin.throwing]\n[plugin.static-users]"),
               Catch::Contains("several auth plugins are configured (static-users, throwing)"));
    CHECK_THAT(load_error_of("[plugin.memory-store]\n[plugin.second-store]"),
               Catch::Contains("several mailstore plugins are configured (memory-store, second-store)"));
}

TEST_CASE("plugin host: a plugin's settings are checked", "[plugin][config]") {
    fixture f("[plugin.static-users]\nusers = [\"alice\"]\ncolour = \"blue\"\ndelay = 5\n");
    f.load();
    REQUIRE(f.errors.size() == 2);
    CHECK(f.errors[0].to_string() ==
          "plugins.toml:2:1: 'users' in [plugin.static-users]: each entry must read "
          "\"user:password\"");
    CHECK_THAT(f.errors[1].to_string(), Catch::StartsWith("plugins.toml:3:1: unknown key 'colour' in "
                                                          "[plugin.static-users]"));
}

TEST_CASE("echo plugin: the shared library makes the echo service", "[plugin][echo]") {
    // This program does not link echo in (mailwrightd does): the host opens mailwright-echo.so.
    fixture f("[plugin.echo]\n");
    f.load();
    CHECK(f.errors.empty());
    REQUIRE(f.host->loaded().size() == 1);
    CHECK_THAT(f.host->loaded().front().origin, Catch::EndsWith("/mailwright-echo.so"));
    CHECK(f.host->loaded().front().kind == plugin::plugin_kind::service);
    const auto service = f.host->make_service("echo");
    REQUIRE(service != nullptr);
    CHECK(service->name() == "echo");
}

TEST_CASE("plugin host: a plugin that awaits sees the framework's Asio thread state", "[plugin][visibility]") {
    // static-users built as mailwright_add_plugin() builds it (hidden visibility, the SDK's compiled Asio)
    // resumes on the session's thread and Asio knows it. The same source with an Asio of its own bound to
    // itself keeps the thread (the io_context still runs it), but its private copy of Asio's bookkeeping
    // was never set, so Asio inside it no longer recognises the io_context's thread: the rule in
    // docs/plugins.md ("use the Asio compiled into libmailwright") is what prevents that.
    const std::pair<const char*, const char*> cases[] = {
        {"static-users", "thread-kept=yes asio-sees-thread=yes"},
        {"static-users-own-asio", "thread-kept=yes asio-sees-thread=no"},
    };
    for (const auto& [name, expected] : cases) {
        INFO(name);
        fixture f(std::string("[plugin.") + name + "]\nusers = [\"alice:secret\"]\ndelay = \"2ms\"\n");
        f.load();
        const auto r = run(f.host->auth().verify_password("alice", "secret"));
        CHECK(r.status == plugin::auth_status::ok);
        CHECK_THAT(r.message, Catch::StartsWith(expected));
    }
}

TEST_CASE("cert plugin: EXTERNAL maps verified certificates only", "[plugin][cert]") {
    const std::string fingerprint(64, 'a');
    for (const auto& [map, expected] : std::vector<std::pair<std::string, std::string>>{
             {"san_email", "alice@example.org"}, {"cn", "Alice"}, {"fingerprint", "alice"}}) {
        INFO(map);
        fixture f("[plugin.cert]\nmap = \"" + map + "\"\nfingerprints = [\"" + fingerprint + ":alice\"]\n");
        f.load();
        REQUIRE(f.errors.empty());
        tls::channel_info channel;
        channel.peer = {.present = true,
                        .verified = true,
                        .subject = "/CN=Alice",
                        .common_name = "Alice",
                        .san_emails = {"alice@example.org"},
                        .sha256_fingerprint = fingerprint};
        sasl::context ctx{f.host->auth(), &channel};
        auto external = sasl::make_mechanism("EXTERNAL", ctx);
        const auto step = run(external->start(std::string_view()));
        CHECK(step.outcome == sasl::step::kind::success);
        CHECK(step.user == expected);
        channel.peer.verified = false;
        CHECK(run(sasl::make_mechanism("EXTERNAL", ctx)->start(std::string_view())).outcome ==
              sasl::step::kind::failure);
    }
    fixture strip("[plugin.cert]\nstrip_domain = true\n");
    strip.load();
    tls::peer_certificate c{.present = true, .verified = true, .san_emails = {"bob@example.org"}};
    CHECK(run(strip.host->auth().certificates()->map_certificate(c)).user == "bob");
    fixture bad("[plugin.cert]\nmap = \"serial\"\nfingerprints = [\"abc:x\"]\n");
    bad.load();
    CHECK(bad.errors.size() == 2);
}

TEST_CASE("host: the auth chain offers secrets and certificate mapping only when a backend has them",
          "[plugin][auth]") {
    // static-users checks passwords only: no secrets for APOP or CRAM-MD5, no certificate mapping.
    fixture passwords_only("[plugin.static-users]\nusers = [\"alice:secret\"]\n");
    passwords_only.load();
    CHECK(passwords_only.host->auth().secrets() == nullptr);
    CHECK(passwords_only.host->auth().certificates() == nullptr);
    fixture with_cert("[plugin.static-users]\nusers = [\"alice:secret\"]\n[plugin.cert]\n", {"static-users", "cert"});
    with_cert.load();
    CHECK(with_cert.host->auth().secrets() == nullptr);
    CHECK(with_cert.host->auth().certificates() != nullptr);
}
