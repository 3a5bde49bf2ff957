// The server: worker threads, each with its own io_context and its own acceptor (a dup(2) of the one listening
// socket of each listener address), connection limits, and graceful shutdown. A session never leaves the worker that
// accepted it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mailwright/io/line_buffer.hpp"
#include "mailwright/server/session.hpp"
#include "mailwright/tls/context.hpp"
#include "mailwright/tls/settings.hpp"

namespace mailwright::server {

class service;

struct listener_options {
    std::string name;                    // for logs and session_info::listener
    std::vector<std::string> addresses;  // numeric IPv4 or IPv6 addresses to bind
    std::uint16_t port = 0;              // 0: let the kernel choose (tests); bound_endpoints() tells
    std::shared_ptr<service> handler;
    io::line_limits lines;                      // max_line 0: the service's default_line_limits().max_line
    std::chrono::milliseconds read_timeout{0};  // 0: the service's default_read_timeout()
    tls::mode tls_mode = tls::mode::none;
    std::shared_ptr<tls::context_holder> tls;  // required unless tls_mode is none
};

struct server_options {
    unsigned workers = 0;                // 0: one per core
    std::size_t max_connections = 4096;  // all listeners together
    std::size_t max_connections_per_ip = 64;
    // IPv6 clients count by this prefix for max_connections_per_ip: one host usually has a whole /64.
    unsigned ipv6_prefix = 64;
    std::chrono::milliseconds shutdown_grace{std::chrono::seconds(10)};
    bool handle_signals = true;  // SIGTERM/SIGINT start a graceful shutdown; a second one forces it
    // Called on SIGHUP (when handle_signals), on the control thread: reload what can be reloaded (TLS
    // certificates) without touching open sessions.
    std::function<void()> on_reload;
};

struct bound_endpoint {
    std::string listener;
    endpoint_info endpoint;
};

class server {
  public:
    explicit server(server_options options);
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    ~server();

    void add_listener(listener_options options);

    // Binds every listener on every worker. Throws std::system_error naming the address on failure (port in
    // use, address not local), so a daemon fails before it pretends to serve.
    void bind();
    std::vector<bound_endpoint> bound_endpoints() const;

    // Serves until stop() or a signal, then shuts down gracefully: stop accepting, ask every session to
    // finish, and after the grace period close whatever is left. Calls bind() first if needed.
    void run();

    // Starts a graceful shutdown; a second call forces it. Safe from any thread.
    void stop();

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace mailwright::server
