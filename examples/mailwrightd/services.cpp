// The services mailwrightd builds itself (POP3, SMTP, LMTP), and how a listener gets its service.
#include "services.hpp"

#include <unistd.h>

#include <map>
#include <stdexcept>

#include "mailwright/plugin/host.hpp"
#include "mailwright/pop3/service.hpp"
#include "mailwright/smtp/service.hpp"

namespace mailwrightd {

using namespace mailwright;

namespace {

using service_factory = std::shared_ptr<server::service> (*)(const config::listener_config&, service_context&);

std::shared_ptr<server::service> make_pop3(const config::listener_config& l, service_context& ctx) {
    if (!ctx.plugins->store()) {
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
    env.auth = &ctx.plugins->auth();
    env.store = ctx.plugins->store();
    env.penalty = ctx.penalty;
    env.logins = ctx.logins;
    std::shared_ptr<plugin::host> host = ctx.plugins;
    env.hooks = [host](plugin::pop3_event event, const plugin::event_context& context) {
        return host->run_pop3_hooks(event, context);
    };
    return std::make_shared<pop3::service>(std::move(o), std::move(env));
}

}  // namespace

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

namespace {

std::shared_ptr<server::service> make_smtp(const config::listener_config& l, service_context& ctx) {
    if (!ctx.plugins->store()) {
        throw std::runtime_error("listener '" + l.name + "' serves " + l.service +
                                 ", which needs a mailstore plugin: add e.g. [plugin.maildir]");
    }
    if (auto problem = relay_problem(l, *ctx.plugins->store())) {
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
    env.auth = &ctx.plugins->auth();
    env.store = ctx.plugins->store();
    env.penalty = ctx.penalty;
    std::shared_ptr<plugin::host> host = ctx.plugins;
    env.hooks = [host](plugin::smtp_phase phase, const plugin::event_context& context) {
        return host->run_smtp_hooks(phase, context);
    };
    env.resolve = [host](std::string_view local_part, std::string_view domain, const plugin::event_context& context) {
        return host->resolve_recipient(local_part, domain, context);
    };
    env.filters = [host](const plugin::event_context& context) { return host->make_filters(context); };
    return std::make_shared<smtp::service>(std::move(o), std::move(env));
}

}  // namespace

namespace {

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

}  // namespace

std::span<const config::service_section> builtin_sections() { return service_sections; }

std::vector<std::string_view> builtin_services() {
    std::vector<std::string_view> names;
    for (const auto& [name, factory] : service_registry()) {
        names.push_back(name);
    }
    return names;
}

bool is_builtin(std::string_view service) { return service_registry().count(service) != 0; }

std::shared_ptr<server::service> make_service(const config::listener_config& l, service_context& ctx) {
    const auto it = service_registry().find(l.service);
    return it != service_registry().end() ? it->second(l, ctx) : ctx.plugins->make_service(l.service);
}

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

}  // namespace mailwrightd
