// The daemon's configuration: one TOML file parsed into typed, validated structs. Every error names the
// file, line and column, what is wrong and what would be right; all errors are reported at once.
//
// This layer knows no protocol: a [[listener]] has the keys every listener has, and the service's own table
// (e.g. [listener.pop3]) is read by the service through a section_reader (section.hpp), as the schema says.
#pragma once

#include <any>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/config/section.hpp"
#include "mailwright/io/line_buffer.hpp"
#include "mailwright/log/log.hpp"
#include "mailwright/net/network.hpp"
#include "mailwright/plugin/plugin.hpp"
#include "mailwright/tls/settings.hpp"

namespace mailwright::config {

struct error {
    std::string file;
    std::uint32_t line = 0;  // 1-based; 0 when the error is about the file as a whole
    std::uint32_t column = 0;
    std::string message;

    std::string to_string() const;  // "file:line:column: message"
};

struct listener_config {
    std::string name;
    std::string service;
    std::vector<std::string> addresses{"127.0.0.1"};
    std::uint16_t port = 0;
    std::chrono::milliseconds read_timeout{0};  // 0: the service's default (POP3 10 min, others 5 min)
    std::size_t max_line = 0;                   // 0: the service's own default
    io::bare_lf_policy bare_lf = io::bare_lf_policy::accept;
    tls::mode tls_mode = tls::mode::none;
    tls::settings tls;  // [tls], then the listener's own [listener.tls_options] on top

    // Authentication, for services that authenticate (POP3, SMTP submission).
    std::vector<std::string> auth_mechanisms{"PLAIN", "LOGIN"};
    bool plaintext_auth = false;     // USER/PASS, PLAIN and LOGIN without TLS
    bool auth_requires_tls = false;  // no authentication at all before TLS; default: on for tls = "starttls"
    unsigned max_auth_failures = 3;  // then the connection is closed
    unsigned max_bad_commands = 0;   // 0: the service's default
    // The PROXY protocol (v1 and v2) in front: who may send it and how long its header may take
    // (server::proxy_protocol_options).
    bool proxy_protocol = false;
    net::network_list proxy_trusted;  // required when proxy_protocol is on
    std::chrono::milliseconds proxy_timeout{std::chrono::seconds(5)};
    // What the service made of its own table ([listener.pop3], [listener.smtp]), as its section reader
    // returned it: pop3::options, smtp::options. Empty for a service without one (echo, a service plugin).
    std::any settings;
};

// [auth]: failed-login penalties, shared by every listener (sasl::failure_penalty), and the verified-credentials
// cache (sasl::credential_cache).
struct auth_config {
    std::chrono::milliseconds failure_delay{2000};
    std::chrono::milliseconds failure_delay_max{15000};
    std::chrono::milliseconds cache_ttl{std::chrono::minutes(5)};  // 0: no cache
    std::size_t cache_size = 10000;                                // entries; 0: no cache
};

struct tls_config {
    tls::settings defaults;
    // Create a self-signed development certificate at [tls] certificate/key when those files are missing.
    bool generate_self_signed = false;
    std::vector<std::string> self_signed_names{"localhost"};
};

struct server_config {
    unsigned workers = 0;
    unsigned blocking_threads = 8;  // io::offload's pool: file I/O, fsync
    // io::compute's pool: password hashing and other CPU work (io::compute_options)
    unsigned hashing_threads = 0;  // 0: one less than the cores, at least one
    std::size_t hashing_queue = 64;
    std::chrono::milliseconds hashing_wait{1000};
    std::size_t max_connections = 4096;
    std::size_t max_connections_per_ip = 64;
    unsigned ipv6_prefix = 64;  // IPv6 clients are counted by this prefix for max_connections_per_ip
    std::chrono::milliseconds shutdown_grace{std::chrono::seconds(10)};
    std::string state_dir = "var";
    std::string hostname;  // greetings, APOP timestamps; empty: the machine's host name
    // The account the daemon runs as once its listeners are bound and its TLS keys read (as root); empty:
    // stay as started. `group` empty: the user's primary group.
    std::string user;
    std::string group;
};

// [admin]: how an administrator reaches the running daemon. Both are off unless configured.
struct admin_config {
    std::string control_socket;  // path of the unix socket mailwrightctl talks to (mode 0600)
    std::string metrics;         // "address:port" of the Prometheus text endpoint (parse_listen_address)
};

struct log_config {
    std::string level = "info";
    log::format format = log::format::text;
    log::output output = log::output::standard_error;
};

// What log::init() takes from [log].
log::settings log_settings(const log_config& c);

struct plugin_table;  // a plugin's TOML table, opaque here

struct plugin_section {
    std::string name;  // from [plugin.<name>]
    std::shared_ptr<const plugin_table> table;
};

struct plugins_config {
    std::vector<std::string> path;        // searched before the built-in defaults
    std::vector<std::string> auth_order;  // [plugins] auth
    std::vector<std::string> hook_order;  // [plugins] hooks
    std::vector<plugin_section> sections;
};

struct daemon_config {
    std::string file;  // where it came from, for later errors
    server_config server;
    log_config log;
    tls_config tls;
    auth_config auth;
    admin_config admin;
    plugins_config plugins;
    std::vector<listener_config> listeners;
};

// What a plugin reads its table through. Problems are collected, with file:line:column, and passed on by
// finish(). When the plugin's init() ran to its end (`initialised`), finish() also reports every key it did
// not read as unknown; when it did not (the plugin could not be loaded, or failed, or one before it did), the
// keys it never got to read are no mistake of the file's and are not reported.
class plugin_settings : public plugin::settings {
  public:
    virtual void finish(bool initialised) = 0;
};

std::unique_ptr<plugin_settings> open_plugin_settings(const daemon_config& config, const plugin_section& section,
                                                      std::vector<error>& errors);

struct load_result {
    std::optional<daemon_config> config;  // set when errors is empty
    std::vector<error> errors;
};

// A service's own table in a [[listener]], read by the service itself: its keys, defaults and checks are
// the service's (e.g. pop3::read_settings), the file, the positions and the unknown keys the config layer's.
struct service_section {
    std::string_view service;  // "lmtp"
    std::string_view table;    // "smtp": the table is [listener.smtp] (services may share one)
    // Called for every listener of `service` while the file loads, with an empty table when the file has
    // none, so the defaults come from the service too. What it returns is kept in listener_config::settings.
    std::any (*read)(section_reader& section, std::string_view service);
};

// What the caller can serve: a listener naming any other service is an error.
struct schema {
    std::span<const std::string_view> services;
    std::span<const service_section> sections = {};  // the services above with a table of their own
    // Every path the configuration layer reads (state_dir, the TLS files, the control socket) must be
    // absolute: a file installed for a service, whose working directory is not the file's directory.
    bool absolute_paths = false;
};

load_result load_file(const std::string& path, const schema& known);
load_result load_string(std::string_view text, std::string_view source_name, const schema& known);

// "90s", "5m", "2h", "250ms", or a bare number of seconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// Where an admin service listens: "127.0.0.1:9325", "[::1]:9325" (a numeric address: no name is looked up at
// start), or a port alone, "9325", which means loopback (127.0.0.1). Port 0: the kernel chooses.
struct listen_address {
    std::string address;
    std::uint16_t port = 0;
};
std::optional<listen_address> parse_listen_address(std::string_view text);

}  // namespace mailwright::config
