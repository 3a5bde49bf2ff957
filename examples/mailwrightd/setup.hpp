// What every mailwrightd command does first: read the file, load the plugins it names, build the TLS
// contexts of its listeners.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "mailwright/config/config.hpp"
#include "mailwright/plugin/host.hpp"
#include "mailwright/tls/context.hpp"

namespace mailwrightd {

// Where an installed mailwrightd keeps its configuration: SYSCONFDIR/mailwright, SYSCONFDIR being CMake's
// CMAKE_INSTALL_FULL_SYSCONFDIR (/etc for the prefix /usr, /usr/local/etc for /usr/local).
std::filesystem::path installed_config_dir();
// What mailwrightd serves when given no --config (and no --demo): installed_config_dir()/mailwright.toml.
std::filesystem::path installed_config_file();

// The file at `path`, or the built-in default when `path` is empty. A file in installed_config_dir() is one
// installed for a service: every path in it must be absolute (config::schema::absolute_paths).
mailwright::config::load_result load(const std::string& path);
// Prints the errors, if any, to stderr; true when there are none.
bool report(const mailwright::config::load_result& result);

mailwright::plugin::host_options host_options(const mailwright::config::daemon_config& cfg);
// Loads the plugins of every [plugin.<name>] table, and the linked-in services listeners name without one.
// Returns false (after printing why) on any problem.
bool load_plugins(const mailwright::config::daemon_config& cfg, mailwright::plugin::host& host);

using tls_contexts = std::map<std::string, std::shared_ptr<mailwright::tls::context_holder>>;

// Builds the TLS context of every TLS listener, by listener name. Throws std::runtime_error naming the
// listener. At a reload, `previous` are the running contexts: a listener whose certificate cannot be read now
// (a key only root may read, a renewal half-written) keeps the one it had, with an error logged, rather than
// failing the reload; only a listener without one fails it.
tls_contexts build_tls(const mailwright::config::daemon_config& cfg, const tls_contexts* previous = nullptr);
// [tls] generate_self_signed: makes the development certificate when its files are missing.
void make_development_certificate(const mailwright::config::tls_config& tls);

}  // namespace mailwrightd
