// What a plugin that talks to PostgreSQL configures (its own [plugin.<name>] table), and the reconnection
// back-off. No I/O here: tests/unit/test_pgclient.cpp drives both.
//
//   conninfo        = "host=127.0.0.1 port=5432 dbname=mail user=mailwright"   (libpq's connection string; required)
//                     An IP address (or hostaddr=) rather than a name: libpq resolves a host name with a blocking
//                     getaddrinfo() inside PQconnectStart/PQconnectPoll, which would stall the event loop.
//   pool_size       = 4        connections per worker thread (a session never leaves its worker)
//   connect_timeout = "5s"     for a whole connection set-up (TCP, TLS, authentication)
//   query_timeout   = "10s"    for one statement, and for waiting for a free connection
//   reconnect_min   = "500ms"  the first pause after a failed connection; doubled after each further failure
//   reconnect_max   = "30s"    ... up to this
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "mailwright/plugin/plugin.hpp"

namespace mailwright::pgclient {

using clock = std::chrono::steady_clock;

struct settings {
    std::string conninfo;
    // Small: every worker has its own connections, so a node opens workers * pool_size of them, and PostgreSQL
    // spends a process (and work_mem) on each; max_connections is 100 by default.
    std::size_t pool_size = 4;
    std::chrono::milliseconds connect_timeout{5000};
    // A statement the server has not answered in this time is given up (the connection is closed, so the server
    // ends it): a client waits at most this long for an answer it can act on (a temporary failure).
    std::chrono::milliseconds query_timeout{10000};
    // A dead server is not hammered: after a failed connection, the worker tries again only after this pause,
    // which doubles after each failure up to reconnect_max; meanwhile acquire() fails at once.
    std::chrono::milliseconds reconnect_min{500};
    std::chrono::milliseconds reconnect_max{30000};
};

// Reads the keys above from `config`, reporting a mistake where it stands: a missing conninfo, one libpq cannot
// parse (PQconninfoParse's message), or reconnect_min above reconnect_max. Nothing when something is wrong.
std::optional<settings> read_settings(plugin::settings& config);

// When a worker may try to connect again (sans-I/O: the caller says what time it is).
class backoff {
  public:
    backoff(std::chrono::milliseconds min, std::chrono::milliseconds max) : min_(min), max_(max) {}

    // Whether a connection may be tried at `now`.
    bool may_try(clock::time_point now) const noexcept { return now >= not_before_; }
    clock::time_point not_before() const noexcept { return not_before_; }
    // A connection failed at `now`: the next try waits min, then twice as long after each further failure.
    void failed(clock::time_point now) noexcept;
    // A connection succeeded: the next failure waits min again.
    void succeeded() noexcept {
        delay_ = {};
        not_before_ = {};
    }
    std::chrono::milliseconds delay() const noexcept { return delay_; }

  private:
    std::chrono::milliseconds min_, max_;
    std::chrono::milliseconds delay_{};  // the pause after the last failure; zero after a success
    clock::time_point not_before_{};
};

}  // namespace mailwright::pgclient
