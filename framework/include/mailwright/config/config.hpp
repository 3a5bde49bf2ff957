// The daemon's configuration: one TOML file parsed into typed, validated structs. Every error names the
// file, line and column, what is wrong and what would be right; all errors are reported at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/io/line_buffer.hpp"
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

// [listener.pop3]: what only a POP3 listener has.
struct pop3_config {
    bool apop = false;
    std::chrono::seconds login_delay{0};
    std::string expire = "NEVER";
    std::string implementation = "Mailwright";
};

// [listener.smtp]: what only SMTP and LMTP listeners have.
struct smtp_config {
    std::string role = "mx";  // "mx" or "submission" for service "smtp"; LMTP has one role
    std::vector<std::string> local_domains;
    bool require_tls = false;
    std::size_t max_recipients = 1000;
    std::uint64_t max_message_size = 10'240'000;
    std::string bare_line_ends = "reject";
    std::chrono::milliseconds pregreet_wait{0};
    std::uint64_t min_data_rate = 500;
    bool allow_null_sender = false;             // role "submission" only: MAIL FROM:<> is allowed
    bool implicit_helo_after_starttls = false;  // legacy clients: MAIL after STARTTLS without a new EHLO
    std::string postmaster = "postmaster";      // the user who receives <postmaster> (RFC 5321 4.5.1)
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
    pop3_config pop3;
    smtp_config smtp;
};

// [auth]: failed-login penalties, shared by every listener (sasl::failure_penalty).
struct auth_config {
    std::chrono::milliseconds failure_delay{2000};
    std::chrono::milliseconds failure_delay_max{15000};
};

struct tls_config {
    tls::settings defaults;
    // Create a self-signed development certificate at [tls] certificate/key when those files are missing.
    bool generate_self_signed = false;
    std::vector<std::string> self_signed_names{"localhost"};
};

struct server_config {
    unsigned workers = 0;
    unsigned blocking_threads = 8;  // io::offload's pool: file I/O, fsync, password hashing
    std::size_t max_connections = 4096;
    std::size_t max_connections_per_ip = 64;
    unsigned ipv6_prefix = 64;  // IPv6 clients are counted by this prefix for max_connections_per_ip
    std::chrono::milliseconds shutdown_grace{std::chrono::seconds(10)};
    std::string state_dir = "var";
    std::string hostname;  // greetings, APOP timestamps; empty: the machine's host name
};

struct log_config {
    std::string level = "info";
};

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
    plugins_config plugins;
    std::vector<listener_config> listeners;
};

// What a plugin reads its table through. Problems are collected, with file:line:column; finish() adds every
// key the plugin did not read as unknown.
class plugin_settings : public plugin::settings {
  public:
    virtual void finish() = 0;
};

std::unique_ptr<plugin_settings> open_plugin_settings(const daemon_config& config, const plugin_section& section,
                                                      std::vector<error>& errors);

struct load_result {
    std::optional<daemon_config> config;  // set when errors is empty
    std::vector<error> errors;
};

// What the caller can serve: a listener naming any other service is an error.
struct schema {
    std::span<const std::string_view> services;
};

load_result load_file(const std::string& path, const schema& known);
load_result load_string(std::string_view text, std::string_view source_name, const schema& known);

// "90s", "5m", "2h", "250ms", or a bare number of seconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace mailwright::config
