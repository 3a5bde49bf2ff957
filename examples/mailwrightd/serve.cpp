// mailwrightd serving: start-up, the listeners, reload and shutdown.
#include "serve.hpp"

#include <sys/resource.h>

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>

#include "admin.hpp"
#include "bootstrap.hpp"
#include "control_socket.hpp"
#include "generation.hpp"
#include "mailwright/io/compute.hpp"
#include "mailwright/io/offload.hpp"
#include "mailwright/log/log.hpp"
#include "mailwright/plugin/host.hpp"
#include "mailwright/sasl/check_password.hpp"
#include "mailwright/sasl/penalty.hpp"
#include "mailwright/sasl/stand_in_key.hpp"
#include "mailwright/server/server.hpp"
#include "mailwright/version.hpp"
#include "metrics_endpoint.hpp"
#include "notify.hpp"
#include "privileges.hpp"
#include "services.hpp"
#include "setup.hpp"

namespace mailwrightd {

using namespace mailwright;

namespace {

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

// The demo's first start: its user, password and welcome message (the plugins must be loaded).
void greet_demo(const demo_state& demo, plugin::host& plugins) {
    if (demo.needs_welcome && plugins.store()) {
        deliver_welcome(*plugins.store(), demo.user);
    }
    if (!demo.password.empty()) {
        // Shown once, on the terminal, never in the log.
        std::printf("Demo user '%s', password '%s' (kept in %s). Its Maildir: %s\n", demo.user.c_str(),
                    demo.password.c_str(), demo.password_file.c_str(), demo.maildir.c_str());
    } else {
        std::printf("Demo user '%s': the password is in %s. Its Maildir: %s\n", demo.user.c_str(),
                    demo.password_file.c_str(), demo.maildir.c_str());
    }
    std::fflush(stdout);
}

server::server_options server_options(const config::daemon_config& cfg, bool demo, std::function<void()> on_reload) {
    return {.workers = cfg.server.workers,
            .max_connections = cfg.server.max_connections,
            .max_connections_per_ip = cfg.server.max_connections_per_ip,
            .ipv6_prefix = cfg.server.ipv6_prefix,
            .shutdown_grace = cfg.server.shutdown_grace,
            .on_reload = std::move(on_reload),
            .on_ready =
                [demo] {
                    notify::ready();
                    if (demo) {  // the last of its start-up output: what to try now
                        std::fwrite(try_commands().data(), 1, try_commands().size(), stdout);
                        std::fflush(stdout);
                    }
                },
            .on_stopping = [] { notify::stopping(); },
            .watchdog_interval = std::chrono::ceil<std::chrono::milliseconds>(notify::watchdog_interval()),
            .on_watchdog = [] { notify::watchdog(); }};
}

// [admin] control_socket: made before the privileges drop (its directory may be root's; the socket is handed
// to [server] user), served once the admin thread runs, by then with a keeper. Null when not configured.
std::unique_ptr<control_socket> open_control_socket(const config::daemon_config& cfg, admin_thread& admin,
                                                    server::server& srv,
                                                    const std::unique_ptr<configuration_keeper>& keeper) {
    if (cfg.admin.control_socket.empty()) {
        return nullptr;
    }
    auto control = std::make_unique<control_socket>(
        admin.context(), control_socket_options{cfg.admin.control_socket, cfg.server.user, cfg.server.group},
        control_sources{.server = srv,
                        .plugins = [&keeper] { return keeper->plugins(); },
                        .reload = [&keeper] { return keeper->reload(); }});
    control->start();
    return control;
}

}  // namespace

// Start-up, in the order privileges need: what only root may do first (bind the listeners' addresses, read
// the TLS keys), then everything else as the configured user.
int serve(const std::string& config_path) {
    const auto loaded = load(config_path);
    if (!report(loaded)) {
        return 2;
    }
    auto first = std::make_unique<generation>();
    first->config = *loaded.config;
    const auto& cfg = first->config;
    log::init(config::log_settings(cfg.log));
    raise_fd_limit();
    io::set_blocking_threads(cfg.server.blocking_threads);  // before anything offloads: the pool starts then
    io::set_compute_options({.threads = cfg.server.hashing_threads,
                             .queue = cfg.server.hashing_queue,
                             .wait = cfg.server.hashing_wait});  // likewise, before anything hashes
    sasl::configure_credential_cache({.ttl = cfg.auth.cache_ttl, .size = cfg.auth.cache_size});

    std::unique_ptr<configuration_keeper> keeper;  // set once serving; outlives the server, which holds its services
    server::server srv(server_options(cfg, config_path.empty(), [&keeper] {
        if (keeper) {
            keeper->reload();
        }
    }));
    for (const auto& l : cfg.listeners) {
        srv.reserve(l.name, l.addresses, l.port);
    }
    admin_thread admin;  // declared after srv and keeper: stopped before they go
    const auto metrics = metrics_endpoint::open(admin.context(), cfg);  // [admin] metrics; nullptr when not set
    const auto control = open_control_socket(cfg, admin, srv, keeper);
    make_development_certificate(cfg.tls);
    first->tls = build_tls(cfg);
    // privileges drop here: nothing after this line needs root. With [server] user the daemon is that user from
    // here on, and state_dir is its (privileges.cpp).
    drop_privileges(cfg);

    std::optional<demo_state> demo;
    if (config_path.empty()) {
        demo = bootstrap_demo(cfg.server.state_dir);
    }
    load_stand_in_key(cfg);
    first->plugins = std::make_shared<plugin::host>(host_options(cfg));
    if (!load_plugins(cfg, *first->plugins)) {
        return 2;
    }
    if (demo) {
        greet_demo(*demo, *first->plugins);
    }
    lasting_state lasting{.penalty = std::make_shared<sasl::failure_penalty>(sasl::failure_penalty::options{
                              .initial = cfg.auth.failure_delay, .maximum = cfg.auth.failure_delay_max}),
                          .hostname = host_name(cfg)};
    build_listeners(*first, lasting);
    srv.reconfigure(first->listeners);
    keeper = std::make_unique<configuration_keeper>(config_path, srv, std::move(lasting), std::move(first));
    admin.start();
    spdlog::info("mailwrightd {} starting with {}", version, cfg.file);
    srv.run();
    admin.stop();  // ends the admin thread's accept loops (metrics, control socket) and any request in progress
    return 0;
}

}  // namespace mailwrightd
