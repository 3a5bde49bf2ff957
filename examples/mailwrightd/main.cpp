// mailwrightd: the reference daemon. It reads one TOML file (or its built-in default), builds the listeners
// and serves until SIGTERM/SIGINT.
#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <any>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include "bootstrap.hpp"
#include "default_config.hpp"
#include "mailwright/config/config.hpp"
#include "mailwright/io/offload.hpp"
#include "mailwright/log/log.hpp"
#include "mailwright/plugin/host.hpp"
#include "mailwright/pop3/service.hpp"
#include "mailwright/sasl/crypto.hpp"
#include "mailwright/sasl/password.hpp"
#include "mailwright/sasl/penalty.hpp"
#include "mailwright/sasl/stand_in_key.hpp"
#include "mailwright/server/server.hpp"
#include "mailwright/smtp/service.hpp"
#include "mailwright/tls/certificate.hpp"
#include "mailwright/tls/context.hpp"
#include "mailwright/version.hpp"

namespace {

using namespace mailwright;

// What a built-in service may need from the daemon.
struct service_context {
    const config::daemon_config& config;
    plugin::host& plugins;
    std::shared_ptr<sasl::failure_penalty> penalty;  // one table for every listener: an attacker gains nothing
                                                     // by switching ports
    std::string hostname;
    std::shared_ptr<pop3::login_times> logins = std::make_shared<pop3::login_times>();  // LOGIN-DELAY, likewise
};

using service_factory = std::shared_ptr<server::service> (*)(const config::listener_config&, service_context&);

std::shared_ptr<server::service> make_pop3(const config::listener_config& l, service_context& ctx) {
    if (!ctx.plugins.store()) {
        throw std::runtime_error("listener '" + l.name +
                                 "' serves pop3, which needs a mailstore plugin: add e.g. [plugin.maildir]");
    }
    auto o = std::any_cast<pop3::options>(l.settings);  // [listener.pop3], read by the service at load
    o.mechanisms = l.auth_mechanisms;
    o.plaintext_auth = l.plaintext_auth;
    o.auth_requires_tls = l.auth_requires_tls;
    o.max_auth_failures = l.max_auth_failures;
    if (l.max_bad_commands != 0) {
        o.max_bad_commands = l.max_bad_commands;
    }
    o.hostname = ctx.hostname;
    pop3::environment env;
    env.auth = &ctx.plugins.auth();
    env.store = ctx.plugins.store();
    env.penalty = ctx.penalty;
    env.logins = ctx.logins;
    plugin::host* host = &ctx.plugins;
    env.hooks = [host](plugin::pop3_event event, const plugin::event_context& context) {
        return host->run_pop3_hooks(event, context);
    };
    return std::make_shared<pop3::service>(std::move(o), std::move(env));
}

// A listener that relays needs a store that hands mail on: Maildir would have nowhere to put it.
std::optional<std::string> relay_problem(const config::listener_config& l, const plugin::mailstore& store) {
    const auto* o = std::any_cast<smtp::options>(&l.settings);
    if (o == nullptr || o->relay == smtp::relay_policy::none || store.delivers_remote()) {
        return std::nullopt;
    }
    return "listener '" + l.name +
           "' relays ([listener.smtp] relay), but the mailstore keeps mail for local users only: configure one "
           "that hands mail on, such as [plugin.forward]";
}

std::shared_ptr<server::service> make_smtp(const config::listener_config& l, service_context& ctx) {
    if (!ctx.plugins.store()) {
        throw std::runtime_error("listener '" + l.name + "' serves " + l.service +
                                 ", which needs a mailstore plugin: add e.g. [plugin.maildir]");
    }
    if (auto problem = relay_problem(l, *ctx.plugins.store())) {
        throw std::runtime_error(*problem);
    }
    auto o = std::any_cast<smtp::options>(l.settings);  // [listener.smtp], read by the service at load
    o.hostname = ctx.hostname;
    o.mechanisms = l.auth_mechanisms;
    o.plaintext_auth = l.plaintext_auth;
    o.auth_requires_tls = l.auth_requires_tls;
    o.max_auth_failures = l.max_auth_failures;
    if (l.max_bad_commands != 0) {
        o.max_errors = l.max_bad_commands;
    }
    smtp::environment env;
    env.auth = &ctx.plugins.auth();
    env.store = ctx.plugins.store();
    env.penalty = ctx.penalty;
    plugin::host* host = &ctx.plugins;
    env.hooks = [host](plugin::smtp_phase phase, const plugin::event_context& context) {
        return host->run_smtp_hooks(phase, context);
    };
    env.resolve = [host](std::string_view local_part, std::string_view domain, const plugin::event_context& context) {
        return host->resolve_recipient(local_part, domain, context);
    };
    env.filters = [host](const plugin::event_context& context) { return host->make_filters(context); };
    return std::make_shared<smtp::service>(std::move(o), std::move(env));
}

// The protocols this daemon builds itself. Any other service comes from a service plugin: one with a
// [plugin.<name>] table, or one linked into the daemon (echo, CMakeLists.txt), loaded when a listener names it.
const std::map<std::string_view, service_factory>& service_registry() {
    static const std::map<std::string_view, service_factory> registry{
        {"pop3", make_pop3},
        {"smtp", make_smtp},
        {"lmtp", make_smtp},
    };
    return registry;
}

std::any pop3_settings(config::section_reader& section, std::string_view) { return pop3::read_settings(section); }
std::any smtp_settings(config::section_reader& section, std::string_view service) {
    return smtp::read_settings(section, service);
}

// The built-in services' own tables, read by each service while the file loads: --check-config reports
// their mistakes with the rest.
constexpr config::service_section service_sections[] = {
    {"pop3", "pop3", pop3_settings},
    {"smtp", "smtp", smtp_settings},
    {"lmtp", "smtp", smtp_settings},
};

std::string host_name(const config::daemon_config& cfg) {
    if (!cfg.server.hostname.empty()) {
        return cfg.server.hostname;
    }
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') {
        return "localhost";
    }
    return name;
}

config::load_result load(const std::string& path) {
    std::vector<std::string_view> names;
    for (const auto& [name, factory] : service_registry()) {
        names.push_back(name);
    }
    for (const auto name : plugin::linked_plugin_names(plugin::plugin_kind::service)) {
        names.push_back(name);
    }
    const config::schema schema{names, service_sections};
    return path.empty() ? config::load_string(mailwrightd::default_config, "<built-in default>", schema)
                        : config::load_file(path, schema);
}

bool report(const config::load_result& result) {
    for (const auto& e : result.errors) {
        std::fprintf(stderr, "%s\n", e.to_string().c_str());
    }
    return result.errors.empty();
}

// Builds the TLS context of every TLS listener. Throws std::runtime_error naming the listener.
std::map<std::string, std::shared_ptr<tls::context_holder>> build_tls(const config::daemon_config& cfg) {
    std::map<std::string, std::shared_ptr<tls::context_holder>> contexts;
    for (const auto& l : cfg.listeners) {
        if (l.tls_mode == tls::mode::none) {
            continue;
        }
        try {
            contexts[l.name] = std::make_shared<tls::context_holder>(tls::context::create(l.tls));
        } catch (const std::exception& e) {
            throw std::runtime_error("listener '" + l.name + "': " + e.what());
        }
    }
    return contexts;
}

// SIGHUP: new certificates for new connections; open sessions keep what they have. A context that cannot
// be built leaves the listener on its previous one.
void reload_tls(const config::daemon_config& cfg,
                const std::map<std::string, std::shared_ptr<tls::context_holder>>& contexts) {
    for (const auto& l : cfg.listeners) {
        const auto it = contexts.find(l.name);
        if (it == contexts.end()) {
            continue;
        }
        try {
            it->second->set(tls::context::create(l.tls));
            spdlog::info("listener={} TLS certificates reloaded", l.name);
        } catch (const std::exception& e) {
            spdlog::error("listener={} TLS reload failed, keeping the previous certificates: {}", l.name, e.what());
        }
    }
}

void make_development_certificate(const config::tls_config& tls) {
    if (!tls.generate_self_signed || tls.defaults.certificate.empty() || tls.defaults.key.empty()) {
        return;
    }
    if (tls::ensure_self_signed(tls.defaults.certificate, tls.defaults.key, tls.self_signed_names)) {
        std::printf("Generated a self-signed development certificate %s (key %s) for %s\n",
                    tls.defaults.certificate.c_str(), tls.defaults.key.c_str(), tls.self_signed_names.front().c_str());
        std::fflush(stdout);
    }
}

// The linked-in service plugins that listeners name without a [plugin.<name>] table, each once.
std::vector<std::string> linked_services_without_table(const config::daemon_config& cfg) {
    const auto linked = plugin::linked_plugin_names(plugin::plugin_kind::service);
    std::vector<std::string> names;
    for (const auto& l : cfg.listeners) {
        const bool has_table = std::any_of(cfg.plugins.sections.begin(), cfg.plugins.sections.end(),
                                           [&](const config::plugin_section& s) { return s.name == l.service; });
        if (!has_table && std::find(linked.begin(), linked.end(), l.service) != linked.end() &&
            std::find(names.begin(), names.end(), l.service) == names.end()) {
            names.push_back(l.service);
        }
    }
    return names;
}

// Loads the plugins of every [plugin.<name>] table, and the linked-in services listeners name without one.
// Returns false (after printing why) on any problem: a plugin that cannot be loaded, fails to initialise, or
// has settings that are wrong or unknown.
bool load_plugins(const config::daemon_config& cfg, plugin::host& host) {
    std::vector<config::error> errors;
    std::vector<std::unique_ptr<config::plugin_settings>> settings;
    std::vector<plugin::load_request> requests;
    for (const auto& section : cfg.plugins.sections) {
        settings.push_back(config::open_plugin_settings(cfg, section, errors));
        requests.push_back({section.name, settings.back().get()});
    }
    for (const auto& name : linked_services_without_table(cfg)) {  // as if its table were there and empty
        settings.push_back(config::open_plugin_settings(cfg, {name, nullptr}, errors));
        requests.push_back({name, settings.back().get()});
    }
    std::optional<std::string> failure;
    try {
        host.load(requests);
    } catch (const plugin::load_error& e) {
        failure = e.what();
    }
    // Each mistake once. What the plugins that ran said about their settings comes first: a wrong value is
    // often why an init() failed. Unknown keys only from plugins whose init() ran to its end: one that never
    // ran (not found, another ABI, a plugin before it failed) or stopped half-way has not read the keys it
    // knows, and reporting them all as unknown buried the one real cause.
    for (std::size_t i = 0; i < settings.size(); ++i) {
        settings[i]->finish(host.initialised(requests[i].name));
    }
    report({std::nullopt, errors});
    if (failure) {
        std::fprintf(stderr, "mailwrightd: %s\n", failure->c_str());
    }
    if (failure || !errors.empty()) {
        return false;
    }
    for (const auto& l : cfg.listeners) {
        if (service_registry().count(l.service) == 0 && !host.provides_service(l.service)) {
            std::fprintf(stderr, "%s: listener '%s' names service \"%s\", but plugin '%s' is not a service plugin\n",
                         cfg.file.c_str(), l.name.c_str(), l.service.c_str(), l.service.c_str());
            return false;
        }
    }
    return true;
}

plugin::host_options host_options(const config::daemon_config& cfg) {
    plugin::host_options options;
    for (const auto& dir : cfg.plugins.path) {
        options.search_path.emplace_back(dir);
    }
    for (auto& dir : plugin::default_search_path()) {
        options.search_path.push_back(std::move(dir));
    }
    options.state_dir = cfg.server.state_dir;
    options.auth_order = cfg.plugins.auth_order;
    options.hook_order = cfg.plugins.hook_order;
    return options;
}

// mailwrightd --check-config FILE: the file, its plugins' settings and the certificates, checked as a start
// would check them, with nothing created or changed. Exit 0 when valid, 2 when not.
int check_config(const std::string& check_path) {
    const auto loaded = load(check_path);
    if (!report(loaded)) {
        return 2;
    }
    // Logs go to stderr at the configured level, as a start's do (docs/configuration.md): stdout carries the
    // verdict alone, for scripts. Plugins are told it is a check (host_view::checking()): they validate and
    // create nothing; the daemon's own start-up work (state_dir, the demo files, certificates) is not done.
    log::init(*log::parse_level(loaded.config->log.level));
    auto options = host_options(*loaded.config);
    options.checking = true;
    plugin::host host(std::move(options));
    if (!load_plugins(*loaded.config, host)) {
        return 2;
    }
    for (const auto& l : loaded.config->listeners) {
        if (auto problem = host.store() ? relay_problem(l, *host.store()) : std::nullopt) {
            std::fprintf(stderr, "%s: %s\n", check_path.c_str(), problem->c_str());
            return 2;
        }
    }
    // The certificates must load too, unless the daemon is to generate them at start.
    const auto& tls = loaded.config->tls;
    if (!tls.generate_self_signed || std::filesystem::exists(tls.defaults.certificate)) {
        try {
            build_tls(*loaded.config);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s\n", check_path.c_str(), e.what());
            return 2;
        }
    }
    std::printf("%s: configuration is valid\n", check_path.c_str());
    return 0;
}

// mailwrightd --auth-test USER: asks the configured auth chain, with the password read from stdin, as a
// login would (Dovecot's "doveadm auth test"). Exit 0 when accepted, 1 when rejected, 75 on tempfail.
int auth_test(const std::string& config_path, const std::string& user) {
    const auto loaded = load(config_path);
    if (!report(loaded)) {
        return 2;
    }
    log::init(log::level::warn);
    plugin::host host(host_options(*loaded.config));
    if (!load_plugins(*loaded.config, host)) {
        return 2;
    }
    std::string password;
    std::getline(std::cin, password);
    asio::io_context io;
    plugin::auth_result result;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { result = co_await host.auth().verify_password(user, password); },
        asio::detached);
    io.run();
    switch (result.status) {
        case plugin::auth_status::ok:
            std::printf("%s: accepted as %s\n", user.c_str(), result.user.c_str());
            return 0;
        case plugin::auth_status::rejected:
            std::printf("%s: rejected\n", user.c_str());
            return 1;
        case plugin::auth_status::tempfail:
            std::printf("%s: temporary failure\n", user.c_str());
            return 75;
    }
    return 1;
}

// The demo mailbox's first message, delivered through the configured store like any other.
void deliver_welcome(plugin::mailstore& store, const std::string& user) {
    const std::string text = mailwrightd::welcome_message(user);
    const std::string users[] = {user};
    asio::io_context io;
    bool stored = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            const auto result = co_await plugin::deliver(store, users, text);
            stored = result.recipients.size() == 1 && result.recipients.front().ok();
        },
        asio::detached);
    io.run();
    if (!stored) {
        throw std::runtime_error("could not deliver the welcome message to the demo mailbox");
    }
}

int print_passwd_line(const std::string& user, const std::string& scheme_name) {
    const auto scheme = sasl::parse_scheme(scheme_name);
    if (!scheme || *scheme == sasl::scheme::plain) {
        std::fprintf(stderr, "mailwrightd passwd: unknown scheme %s\n", scheme_name.c_str());
        return 2;
    }
    if (user.empty() || user.find(':') != std::string::npos || user.front() == '#') {
        std::fprintf(stderr, "mailwrightd passwd: a user name may not be empty, contain ':' or start with '#'\n");
        return 2;
    }
    std::string password;
    if (!std::getline(std::cin, password) || password.empty()) {
        std::fprintf(stderr, "mailwrightd passwd: no password on standard input\n");
        return 2;
    }
    std::string line;
    try {
        line = user + ":" + sasl::hash_password(*scheme, password);
    } catch (const std::invalid_argument& e) {  // a NUL in a password for crypt(3) or SCRAM
        sasl::wipe(password);
        std::fprintf(stderr, "mailwrightd passwd: %s\n", e.what());
        return 2;
    }
    sasl::wipe(password);
    std::printf("%s\n", line.c_str());
    return 0;
}

// SCRAM shows an unknown user a salt made from a key; kept in state_dir, it stays the same across restarts,
// as a real user's salt does, so a restart does not tell the two apart.
void load_stand_in_key(const config::daemon_config& cfg) {
    const std::filesystem::path dir = cfg.server.state_dir;
    if (std::filesystem::create_directories(dir)) {
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
    }
    sasl::set_stand_in_key(sasl::load_or_create_stand_in_key(dir / "scram-stand-in.key"));
}

// Each connection is a file descriptor: take the hard limit, which the administrator chose.
void raise_fd_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

int serve(const std::string& config_path) {
    const auto loaded = load(config_path);
    if (!report(loaded)) {
        return 2;
    }
    const auto& cfg = *loaded.config;
    log::init(*log::parse_level(cfg.log.level));
    raise_fd_limit();
    io::set_blocking_threads(cfg.server.blocking_threads);  // before anything offloads: the pool starts then

    std::optional<mailwrightd::demo_state> demo;
    if (config_path.empty()) {
        demo = mailwrightd::bootstrap_demo(cfg.server.state_dir);
    }
    load_stand_in_key(cfg);
    plugin::host plugins(host_options(cfg));
    if (!load_plugins(cfg, plugins)) {
        return 2;
    }
    if (demo) {
        if (demo->needs_welcome && plugins.store()) {
            deliver_welcome(*plugins.store(), demo->user);
        }
        if (!demo->password.empty()) {
            // Shown once, on the terminal, never in the log.
            std::printf("Demo user '%s', password '%s' (kept in %s). Its Maildir: %s\n", demo->user.c_str(),
                        demo->password.c_str(), demo->password_file.c_str(), demo->maildir.c_str());
        } else {
            std::printf("Demo user '%s': the password is in %s. Its Maildir: %s\n", demo->user.c_str(),
                        demo->password_file.c_str(), demo->maildir.c_str());
        }
        std::fflush(stdout);
    }

    make_development_certificate(cfg.tls);
    const auto contexts = build_tls(cfg);

    service_context services{cfg, plugins,
                             std::make_shared<sasl::failure_penalty>(sasl::failure_penalty::options{
                                 .initial = cfg.auth.failure_delay, .maximum = cfg.auth.failure_delay_max}),
                             host_name(cfg)};
    server::server srv({.workers = cfg.server.workers,
                        .max_connections = cfg.server.max_connections,
                        .max_connections_per_ip = cfg.server.max_connections_per_ip,
                        .ipv6_prefix = cfg.server.ipv6_prefix,
                        .shutdown_grace = cfg.server.shutdown_grace,
                        .on_reload = [&] { reload_tls(cfg, contexts); }});
    for (const auto& l : cfg.listeners) {
        const auto tls = contexts.find(l.name);
        srv.add_listener({.name = l.name,
                          .addresses = l.addresses,
                          .port = l.port,
                          .handler = service_registry().count(l.service) != 0
                                         ? service_registry().at(l.service)(l, services)
                                         : plugins.make_service(l.service),
                          .lines = {.max_line = l.max_line, .bare_lf = l.bare_lf},
                          .read_timeout = l.read_timeout,
                          .tls_mode = l.tls_mode,
                          .tls = tls == contexts.end() ? nullptr : tls->second});
    }
    srv.bind();
    spdlog::info("mailwrightd {} starting", version);
    srv.run();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"mailwrightd: the Mailwright mail daemon"};
    std::string config_path;
    std::string check_path;
    bool print_default = false;
    std::string auth_user;
    app.add_option("-c,--config", config_path, "TOML configuration file (default: the built-in one)")
        ->check(CLI::ExistingFile);
    app.add_option("--check-config", check_path, "Validate a configuration file and exit");
    app.add_flag("--print-default-config", print_default, "Print the built-in configuration and exit");
    app.add_option("--auth-test", auth_user,
                   "Check USER's password (read from standard input) against the configured auth plugins, and exit");
    app.set_version_flag("-V,--version", fmt::format("mailwrightd {}", version));
    auto* passwd = app.add_subcommand(
        "passwd", "Print a passwd-file line for USER; the password is read from standard input, never an argument");
    std::string passwd_user;
    std::string passwd_scheme = "YESCRYPT";
    passwd->add_option("user", passwd_user, "The user name")->required();
    passwd
        ->add_option("-s,--scheme", passwd_scheme,
                     "YESCRYPT (default), SHA512-CRYPT, BLF-CRYPT, ARGON2ID, SCRAM-SHA-256 (allows SCRAM without "
                     "keeping the password), or PLAIN-EQUIVALENT (needed by APOP and CRAM-MD5)")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    if (passwd->parsed()) {
        return print_passwd_line(passwd_user, passwd_scheme);
    }

    if (print_default) {
        std::fwrite(mailwrightd::default_config.data(), 1, mailwrightd::default_config.size(), stdout);
        return 0;
    }
    if (!check_path.empty()) {
        return check_config(check_path);
    }
    try {
        if (!auth_user.empty()) {
            return auth_test(config_path, auth_user);
        }
        return serve(config_path);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mailwrightd: %s\n", e.what());
        return 1;
    }
}
