// The server's insides (private to src/server): workers, listeners and listening sockets, shared by
// server.cpp (sessions, run, shutdown) and listeners.cpp (which sockets are listened on, and for whom).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "../net/socket_stream.hpp"
#include "connection_limiter.hpp"
#include "listening.hpp"
#include "mailwright/server/server.hpp"

namespace mailwright::server {

using asio::ip::tcp;

struct live_session;  // server.cpp

// A listener as configured. Immutable once serving: a reload makes new ones, and a session keeps the one it
// was accepted by (its service, its TLS context, its limits) until it ends.
struct listener_state {
    listener_options options;
    io::line_limits limits;
    std::vector<asio::ip::address> addresses;
    std::uint16_t port = 0;  // as bound: the kernel's choice when options.port is 0
};

// One worker's acceptor for one listening socket, and the listener it serves now: a reload that keeps the
// address and port hands the same socket to the new listener, so not one connection is refused meanwhile.
struct worker_acceptor {
    endpoint_key key;
    std::shared_ptr<tcp::acceptor> acceptor;
    std::shared_ptr<const listener_state> listener;
};

struct worker {
    // Declaration order is destruction order reversed: the acceptors go first, then the io_context (whose
    // destruction ends any coroutine still suspended, and those unregister from sessions), then sessions.
    std::unordered_set<session*> sessions;
    bool stopping = false;
    asio::io_context context{1};
    // Keeps an idle worker (no session, no listener) waiting for a reload's listeners, until shutdown.
    asio::executor_work_guard<asio::io_context::executor_type> idle_guard = asio::make_work_guard(context);
    std::vector<std::shared_ptr<worker_acceptor>> acceptors;
};

// A listening socket the server holds on to. Workers accept through descriptors of their own (dup(2)); this
// one keeps the address bound across a reload and is what a reload that keeps the address takes over.
struct listening_socket {
    tcp::endpoint endpoint;
    std::unique_ptr<tcp::acceptor> socket;  // on the control io_context, never waited on
    bool shared = false;                    // the workers accept from it (false while only reserved)
};

// A new listening socket for a reload, and one descriptor of it per worker.
struct opened_socket {
    endpoint_key key;
    listening_socket listening;
    std::vector<int> worker_fds;
};

using listener_map = std::map<endpoint_key, std::shared_ptr<const listener_state>>;

// A listener's options checked and completed with its service's defaults. Throws std::invalid_argument.
std::shared_ptr<listener_state> prepare(listener_options options);

struct server::impl {
    explicit impl(server_options o)
        : options(o), limiter(options.max_connections, options.max_connections_per_ip, options.ipv6_prefix) {}

    server_options options;
    connection_limiter limiter;
    std::vector<listener_options> pending;  // add_listener() before bind()
    std::vector<std::unique_ptr<worker>> workers;
    std::atomic<std::uint64_t> next_session_id{1};

    // Control thread (the one that called run()).
    asio::io_context control{1};
    asio::steady_timer grace{control};
    bool shutting_down = false;
    std::size_t finished_workers = 0;
    asio::steady_timer watchdog{control};
    bool watchdog_waiting = false;  // a round of no-ops is out; not every worker has run its one yet

    // What reconfigure() changes, from whichever thread calls it; the workers see it through posted work.
    mutable std::mutex mutex;
    std::vector<std::shared_ptr<const listener_state>> listeners;
    std::map<endpoint_key, listening_socket> sockets;  // declared after `control`: closed before it goes
    bool serving = false;                              // run() has started the workers
    bool closed = false;                               // shutting down: no more listeners

    void ensure_workers();
    std::uint16_t port_to_keep(const listener_state& next) const;
    void reconfigure(std::vector<listener_options> list);
    std::vector<opened_socket> open_wanted(std::vector<std::shared_ptr<listener_state>>& states, listener_map& wanted);
    void switch_worker(worker& target, const listener_map& wanted, const std::vector<opened_socket>& opened,
                       std::size_t index);
    void keep_sockets(const listener_map& wanted, std::vector<opened_socket>& opened);
    void reserve(const std::string& name, const std::vector<std::string>& addresses, std::uint16_t port);
    void close_listening();
    std::chrono::milliseconds shutdown_grace() const {
        std::lock_guard lock(mutex);
        return options.shutdown_grace;
    }
    std::vector<bound_endpoint> endpoints() const;

    asio::awaitable<void> accept_loop(worker& w, std::shared_ptr<worker_acceptor> acceptor);
    // A connection's life: admit() reads a PROXY header if the listener wants one and takes a slot in the
    // limits (or refuses the client); run_session() then serves it and says goodbye.
    asio::awaitable<std::unique_ptr<live_session>> admit(worker& w, std::unique_ptr<net::tcp_stream> stream,
                                                         tcp::endpoint peer, const listener_state& listener);
    asio::awaitable<void> run_session(worker& w, std::unique_ptr<net::tcp_stream> stream, tcp::endpoint peer,
                                      std::shared_ptr<const listener_state> listener);
    void announce();  // the workers run: say where the server listens, and that it is ready
    void begin_shutdown();
    void force_stop();
    void arm_watchdog();
};

}  // namespace mailwright::server
