// The services mailwrightd builds itself (POP3, SMTP, LMTP) and how each listener gets its service: one of
// those, or a service plugin's.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/config/config.hpp"
#include "mailwright/pop3/service.hpp"
#include "mailwright/sasl/penalty.hpp"
#include "mailwright/server/service.hpp"

namespace mailwright::plugin {
class host;
class mailstore;
}  // namespace mailwright::plugin

namespace mailwrightd {

// What a built-in service may need from the daemon. The services it makes keep `plugins` alive: sessions
// that started on one configuration finish on its plugins after a reload.
struct service_context {
    const mailwright::config::daemon_config& config;
    std::shared_ptr<mailwright::plugin::host> plugins;
    // One table for every listener: an attacker gains nothing by switching ports (or waiting for a reload).
    std::shared_ptr<mailwright::sasl::failure_penalty> penalty;
    std::string hostname;
    std::shared_ptr<mailwright::pop3::login_times> logins;  // LOGIN-DELAY, likewise
};

// The service of listener `l`: built in, or from the service plugin it names (which must be loaded).
// Throws std::runtime_error naming the listener when the configuration cannot work (no mailstore, ...).
std::shared_ptr<mailwright::server::service> make_service(const mailwright::config::listener_config& l,
                                                          service_context& ctx);

bool is_builtin(std::string_view service);
std::vector<std::string_view> builtin_services();
// The built-in services' own tables ([listener.pop3], [listener.smtp]), read while the file loads.
std::span<const mailwright::config::service_section> builtin_sections();

// Why listener `l` cannot work with `store`, if it cannot: one that relays needs a store that hands mail on.
std::optional<std::string> relay_problem(const mailwright::config::listener_config& l,
                                         const mailwright::plugin::mailstore& store);

// [server] hostname, or the machine's.
std::string host_name(const mailwright::config::daemon_config& cfg);

}  // namespace mailwrightd
