// One configuration as mailwrightd serves it, and the reload that replaces it: see generation.hpp.
#include "generation.hpp"

#include <spdlog/spdlog.h>
#include <stdexcept>

#include "mailwright/log/log.hpp"
#include "mailwright/sasl/check_password.hpp"
#include "notify.hpp"
#include "setup.hpp"

namespace mailwrightd {

using namespace mailwright;

namespace {

// What a reload cannot change: the process as started. Each difference is named, and the value it had kept.
std::vector<std::string> needs_restart(const config::daemon_config& before, const config::daemon_config& after) {
    std::vector<std::string> kept;
    const auto& b = before.server;
    const auto& a = after.server;
    const auto check = [&](bool same, const char* key) {
        if (!same) {
            kept.emplace_back(key);
        }
    };
    check(b.workers == a.workers, "[server] workers");
    check(b.blocking_threads == a.blocking_threads, "[server] blocking_threads");
    check(b.hashing_threads == a.hashing_threads && b.hashing_queue == a.hashing_queue &&
              b.hashing_wait == a.hashing_wait,
          "[server] hashing_threads, hashing_queue and hashing_wait");
    check(b.ipv6_prefix == a.ipv6_prefix, "[server] ipv6_prefix");
    check(b.state_dir == a.state_dir, "[server] state_dir");
    check(b.user == a.user && b.group == a.group, "[server] user and group");
    check(b.hostname == a.hostname, "[server] hostname");
    check(before.admin.control_socket == after.admin.control_socket, "[admin] control_socket");
    check(before.admin.metrics == after.admin.metrics, "[admin] metrics");
    // The logger is swapped only at start: other threads log through it without a lock (the level follows).
    check(before.log.format == after.log.format && before.log.output == after.log.output, "[log] format and output");
    return kept;
}

}  // namespace

bool generation::in_use() const {
    for (const auto& l : listeners) {
        if (l.handler.use_count() > 1) {
            return true;
        }
    }
    return false;
}

void build_listeners(generation& g, lasting_state& lasting) {
    service_context services{g.config, g.plugins, lasting.penalty, lasting.hostname, lasting.logins};
    g.listeners.clear();
    for (const auto& l : g.config.listeners) {
        const auto tls = g.tls.find(l.name);
        g.listeners.push_back(
            {.name = l.name,
             .addresses = l.addresses,
             .port = l.port,
             .handler = make_service(l, services),
             .lines = {.max_line = l.max_line, .bare_lf = l.bare_lf},
             .read_timeout = l.read_timeout,
             .tls_mode = l.tls_mode,
             .tls = tls == g.tls.end() ? nullptr : tls->second,
             .proxy = {.enabled = l.proxy_protocol, .trusted = l.proxy_trusted, .timeout = l.proxy_timeout}});
    }
}

configuration_keeper::configuration_keeper(std::string path, server::server& server, lasting_state lasting,
                                           std::unique_ptr<generation> first)
    : path_(std::move(path)), server_(server), lasting_(std::move(lasting)), current_(std::move(first)) {}

configuration_keeper::~configuration_keeper() = default;

reload_outcome configuration_keeper::reload() {
    std::lock_guard lock(mutex_);
    notify::reloading();  // SIGHUP or mailwrightctl: systemd hears of either
    auto outcome = reload_locked();
    notify::ready();
    if (outcome.ok) {
        spdlog::info("reload: {}", outcome.message);
    } else {
        spdlog::error("reload refused, the running configuration serves on: {}", outcome.message);
    }
    // Generations no session uses any more go now, on this thread: their plugins unload here.
    retired_.remove_if([](const std::unique_ptr<generation>& g) { return !g->in_use(); });
    return outcome;
}

std::vector<plugin::loaded_plugin> configuration_keeper::plugins() {
    std::lock_guard lock(mutex_);
    return current_->plugins->loaded();
}

reload_outcome configuration_keeper::reload_locked() {
    if (path_.empty()) {
        return {false, "the built-in configuration cannot change: start with --config FILE to reload one"};
    }
    auto loaded = load(path_);
    if (!loaded.config) {
        std::string why;
        for (const auto& e : loaded.errors) {
            spdlog::error("{}", e.to_string());  // file:line:column: what is wrong
            why += (why.empty() ? "" : "; ") + e.to_string();
        }
        return {false, why};
    }
    std::string why;
    lasting_state lasting = lasting_;
    auto next = next_generation(std::move(*loaded.config), lasting, why);
    if (!next) {
        return {false, why};
    }
    try {
        server_.reconfigure(next->listeners);
    } catch (const std::exception& e) {
        return {false, e.what()};
    }
    server_.set_limits({.max_connections = next->config.server.max_connections,
                        .max_connections_per_ip = next->config.server.max_connections_per_ip,
                        .shutdown_grace = next->config.server.shutdown_grace});
    lasting_ = std::move(lasting);
    // A changed ttl or a smaller size starts the cache afresh; the same one keeps what it holds.
    sasl::configure_credential_cache({.ttl = next->config.auth.cache_ttl, .size = next->config.auth.cache_size});
    spdlog::default_logger()->set_level(
        static_cast<spdlog::level::level_enum>(*log::parse_level(next->config.log.level)));
    std::string message = "configuration reloaded from " + path_;
    for (const auto& key : needs_restart(current_->config, next->config)) {
        spdlog::warn("reload: {} changed; it takes effect at the next restart", key);
        message += "; " + key + " needs a restart";
    }
    retired_.push_back(std::move(current_));
    current_ = std::move(next);
    return {true, message};
}

// The next generation built from `config`, its plugins loaded and its services made (with `lasting`, a copy of
// what lasts that it may change); nullptr with `why`.
std::unique_ptr<generation> configuration_keeper::next_generation(config::daemon_config config, lasting_state& lasting,
                                                                  std::string& why) {
    auto next = std::make_unique<generation>();
    next->config = std::move(config);
    auto& cfg = next->config;
    // What a reload cannot change keeps its running value, so the plugins see the process as it is.
    cfg.server.state_dir = current_->config.server.state_dir;
    next->plugins = std::make_shared<plugin::host>(host_options(cfg));
    if (!load_plugins(cfg, *next->plugins)) {
        why = "a plugin could not be loaded (the log above says why)";
        return nullptr;
    }
    const bool penalty_changed = cfg.auth.failure_delay != current_->config.auth.failure_delay ||
                                 cfg.auth.failure_delay_max != current_->config.auth.failure_delay_max;
    try {
        next->tls = build_tls(cfg, &current_->tls);
        if (penalty_changed) {  // new delays, and a table that starts empty
            lasting.penalty = std::make_shared<sasl::failure_penalty>(sasl::failure_penalty::options{
                .initial = cfg.auth.failure_delay, .maximum = cfg.auth.failure_delay_max});
        }
        build_listeners(*next, lasting);
    } catch (const std::exception& e) {
        why = e.what();
        return nullptr;
    }
    return next;
}

}  // namespace mailwrightd
