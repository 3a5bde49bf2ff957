// What every mailwrightd command does first: read the file, load the plugins it names, build the TLS
// contexts of its listeners.
#include "setup.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cstdio>
#include <optional>

#include "default_config.hpp"
#include "mailwright/tls/certificate.hpp"
#include "services.hpp"

namespace mailwrightd {

using namespace mailwright;

namespace {

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

}  // namespace

std::filesystem::path installed_config_dir() { return std::filesystem::path(MAILWRIGHT_SYSCONFDIR) / "mailwright"; }

std::filesystem::path installed_config_file() { return installed_config_dir() / "mailwright.toml"; }

namespace {

// Whether `path` is in installed_config_dir() or below, once both are canonical (a symbolic link to the file
// from elsewhere counts as well as the file itself).
bool is_installed(const std::string& path) {
    std::error_code ec;
    const auto file = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
    const auto dir = std::filesystem::weakly_canonical(installed_config_dir(), ec);
    const auto relative = file.lexically_relative(dir);
    return !ec && !relative.empty() && *relative.begin() != "..";
}

}  // namespace

config::load_result load(const std::string& path) {
    auto names = builtin_services();
    for (const auto name : plugin::linked_plugin_names(plugin::plugin_kind::service)) {
        names.push_back(name);
    }
    config::schema schema{names, builtin_sections()};
    schema.absolute_paths = !path.empty() && is_installed(path);
    return path.empty() ? config::load_string(mailwrightd::default_config, "<built-in default>", schema)
                        : config::load_file(path, schema);
}

bool report(const config::load_result& result) {
    for (const auto& e : result.errors) {
        std::fprintf(stderr, "%s\n", e.to_string().c_str());
    }
    return result.errors.empty();
}

tls_contexts build_tls(const config::daemon_config& cfg, const tls_contexts* previous) {
    tls_contexts contexts;
    for (const auto& l : cfg.listeners) {
        if (l.tls_mode == tls::mode::none) {
            continue;
        }
        try {
            contexts[l.name] = std::make_shared<tls::context_holder>(tls::context::create(l.tls));
            if (previous != nullptr) {
                spdlog::info("listener={} TLS certificates reloaded", l.name);
            }
        } catch (const std::exception& e) {
            const auto old = previous != nullptr ? previous->find(l.name) : tls_contexts::const_iterator{};
            if (previous == nullptr || old == previous->end()) {
                throw std::runtime_error("listener '" + l.name + "': " + e.what());
            }
            spdlog::error("listener={} TLS reload failed, keeping the previous certificates: {}", l.name, e.what());
            contexts[l.name] = old->second;
        }
    }
    return contexts;
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
        if (!is_builtin(l.service) && !host.provides_service(l.service)) {
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

}  // namespace mailwrightd
