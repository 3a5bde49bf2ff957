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
#include <string_view>
#include <vector>

#include "mailwright/io/line_buffer.hpp"
#include "mailwright/net/network.hpp"
#include "mailwright/server/session.hpp"
#include "mailwright/tls/context.hpp"
#include "mailwright/tls/settings.hpp"

namespace mailwright::server {

class service;

// The PROXY protocol (v1 and v2, told apart by their signatures) in front of a listener: a load balancer says
// who the client is before the client's first octet. Only from `trusted` peers (anyone else is closed before
// a byte is answered), within `timeout` of the connection; then the session's peer is the client.
struct proxy_protocol_options {
    bool enabled = false;
    net::network_list trusted;  // must not be empty when enabled
    // The proxy sends its header at once (doc/proxy-protocol.txt 2.1: "sent immediately and at once"); waiting
    // longer only lets a stuck or hostile peer hold a socket and a worker's attention.
    std::chrono::milliseconds timeout{std::chrono::seconds(5)};
};

struct listener_options {
    std::string name;                    // for logs and session_info::listener
    std::vector<std::string> addresses;  // numeric IPv4 or IPv6 addresses to bind
    std::uint16_t port = 0;              // 0: let the kernel choose (tests); bound_endpoints() tells
    std::shared_ptr<service> handler;
    io::line_limits lines;                      // max_line 0: the service's default_line_limits().max_line
    std::chrono::milliseconds read_timeout{0};  // 0: the service's default_read_timeout()
    tls::mode tls_mode = tls::mode::none;
    std::shared_ptr<tls::context_holder> tls;  // required unless tls_mode is none
    proxy_protocol_options proxy;              // before TLS and the greeting, when enabled
};

struct server_options {
    unsigned workers = 0;                // 0: one per core
    std::size_t max_connections = 4096;  // all listeners together
    std::size_t max_connections_per_ip = 64;
    // IPv6 clients count by this prefix for max_connections_per_ip: one host usually has a whole /64.
    unsigned ipv6_prefix = 64;
    std::chrono::milliseconds shutdown_grace{std::chrono::seconds(10)};
    bool handle_signals = true;  // SIGTERM/SIGINT start a graceful shutdown; a second one forces it
    // Called on SIGHUP (when handle_signals), on the control thread: reload the configuration (typically with
    // reconfigure() and set_limits()) without touching open sessions.
    std::function<void()> on_reload;
    // Called once on the control thread when every listener accepts connections and every worker runs (a
    // service manager's "ready": systemd READY=1).
    std::function<void()> on_ready;
    // Called once on the control thread when a graceful shutdown begins (systemd STOPPING=1).
    std::function<void()> on_stopping;
    // Every watchdog_interval (when not zero) each worker is handed a no-op; once all have run theirs,
    // on_watchdog is called on the control thread. A worker that is stuck (a plugin blocking it, a loop)
    // holds back every later call too, so a watchdog fed from on_watchdog sees the workers, not a timer.
    std::chrono::milliseconds watchdog_interval{0};
    std::function<void()> on_watchdog;
};

struct bound_endpoint {
    std::string listener;
    endpoint_info endpoint;
};

// One open session as an administrator sees it (mailwrightctl sessions).
struct session_summary {
    std::uint64_t id = 0;
    std::string listener;
    endpoint_info peer;
    std::string user;   // the authenticated user; empty before a login
    std::string state;  // the protocol's state ("TRANSACTION", "mail", ...); empty for a service that sets none
    std::chrono::milliseconds age{0};
};

class server {
  public:
    explicit server(server_options options);
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    ~server();

    // The listeners to serve from the start; bind() binds them.
    void add_listener(listener_options options);

    // Binds every listener added on every worker. Throws std::system_error naming the address on failure (port
    // in use, address not local), so a daemon fails before it pretends to serve.
    void bind();
    std::vector<bound_endpoint> bound_endpoints() const;

    // Binds the listening sockets of a listener before its service exists, for a daemon that must bind as root
    // and build its services after giving root up: a later bind() or reconfigure() whose listener names the
    // same address and port takes the socket over instead of binding again (one it does not take is closed
    // then). Port 0 cannot be reserved. Throws std::system_error like bind().
    void reserve(const std::string& listener, const std::vector<std::string>& addresses, std::uint16_t port);

    // Serves `listeners` from now on, in place of the current ones (a reload), from any thread. An address
    // and port that stays keeps its socket and passes to the new listener without refusing a connection; a new
    // one is bound, one no longer named is closed. Sessions in flight keep the listener (service, TLS context,
    // limits) they were accepted by. All or nothing: when a new address cannot be bound, or a listener is
    // invalid, it throws (std::system_error, std::invalid_argument) and the current listeners serve on.
    void reconfigure(std::vector<listener_options> listeners);

    // New connection limits and grace period for what comes next (workers and ipv6_prefix stay as started).
    void set_limits(const server_options& limits);

    // Serves until stop() or a signal, then shuts down gracefully: stop accepting, ask every session to
    // finish, and after the grace period close whatever is left. Calls bind() first if needed.
    void run();

    // Starts a graceful shutdown; a second call forces it. Safe from any thread.
    void stop();

    // The administrator's view (mailwrightctl), callable from any thread once bind() returned. Each worker
    // answers on its own thread; a worker that has stopped, or does not answer within 2 s (a stuck plugin
    // call), is left out rather than waited for. Do not call them from a worker thread.
    std::vector<session_summary> sessions() const;
    // Ends the session with that id, or every session of that authenticated user: each is asked to stop (its
    // next read reports "stopping" and the protocol says goodbye, as at shutdown), and one that has not ended
    // 5 s later (busy in a plugin call or a write) is closed. Returns how many sessions were found.
    std::size_t kick(std::uint64_t id);
    std::size_t kick_user(std::string_view user);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace mailwright::server
