// What every mailwrightd command does first: read the file, load the plugins it names, build the TLS
// contexts of its listeners.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "mailwright/config/config.hpp"
#include "mailwright/plugin/host.hpp"
#include "mailwright/tls/context.hpp"

namespace mailwrightd {

// The file at `path`, or the built-in default when `path` is empty.
mailwright::config::load_result load(const std::string& path);
// Prints the errors, if any, to stderr; true when there are none.
bool report(const mailwright::config::load_result& result);

mailwright::plugin::host_options host_options(const mailwright::config::daemon_config& cfg);
// Loads the plugins of every [plugin.<name>] table, and the linked-in services listeners name without one.
// Returns false (after printing why) on any problem.
bool load_plugins(const mailwright::config::daemon_config& cfg, mailwright::plugin::host& host);

// Builds the TLS context of every TLS listener. Throws std::runtime_error naming the listener.
std::map<std::string, std::shared_ptr<mailwright::tls::context_holder>> build_tls(
    const mailwright::config::daemon_config& cfg);
// [tls] generate_self_signed: makes the development certificate when its files are missing.
void make_development_certificate(const mailwright::config::tls_config& tls);

}  // namespace mailwrightd
