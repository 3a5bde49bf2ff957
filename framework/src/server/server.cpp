// server: workers, accept loops, limits, signals and graceful shutdown.
//
// Theory of operation. bind() creates one worker per core, each with its own io_context, and on every
// worker one acceptor per listener address: one listening socket per address, which every worker waits on
// through a descriptor of its own, so the first worker free takes the next connection (listeners.cpp, which
// also changes them at a reload). An accept loop per acceptor spawns one coroutine per connection on the same
// io_context; the session stays on that thread until it ends, so session code needs no locks. The only state
// shared between workers is the connection_limiter (mutex), the session-id counter (atomic) and the listener
// table that reconfigure() changes (mutex; workers get their part by posted work).
//
// run() starts the workers and then runs a small control io_context on the calling thread that waits for
// SIGTERM/SIGINT or stop(). Shutdown: each worker closes its acceptors and asks its sessions to finish
// (their next read reports "stopping" and the protocol says goodbye); a worker whose sessions are done runs
// out of work and returns. If the grace period passes first, or a second signal comes, the workers are
// stopped and the remaining sessions are dropped when the server is destroyed.
#include "mailwright/server/server.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <functional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_set>

#include "../net/socket_stream.hpp"
#include "admin_requests.hpp"
#include "connection_limiter.hpp"
#include "mailwright/io/compute.hpp"
#include "mailwright/io/offload.hpp"
#include "mailwright/metrics/instruments.hpp"
#include "mailwright/server/service.hpp"
#include "proxy_intake.hpp"
#include "server_impl.hpp"

namespace mailwright::server {

namespace {

using asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// A refused client gets its one line within this time or is dropped: refusals happen under load, when a
// slow reader must not hold a socket.
constexpr std::chrono::seconds refusal_timeout{5};

// Accept failures from resource exhaustion (EMFILE, ENFILE, ENOBUFS, ENOMEM) leave the connection in the
// backlog; retrying at once would spin a core. Back off from 10 ms up to 1 s, and reset on success.
constexpr std::chrono::milliseconds accept_backoff_min{10};
constexpr std::chrono::milliseconds accept_backoff_max{1000};

bool is_resource_exhaustion(const std::error_code& ec) {
    // Asio reports errno values in its own "asio.system" category, which does not map them to std::errc.
    if (ec.category() != asio::error::get_system_category()) {
        return false;
    }
    switch (ec.value()) {
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            return true;
        default:
            return false;
    }
}

// Keeps a session in its worker's registry for as long as it lives, so shutdown can reach it.
class registration {
  public:
    registration(worker& w, session& s) : worker_(w), session_(s) { worker_.sessions.insert(&session_); }
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;
    ~registration() { worker_.sessions.erase(&session_); }

  private:
    worker& worker_;
    session& session_;
};

// One connection slot, released when the session ends however it ends.
class slot {
  public:
    slot(connection_limiter& limiter, const address_key& key) : limiter_(limiter), key_(key) {}
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;
    ~slot() { limiter_.release(key_); }

  private:
    connection_limiter& limiter_;
    address_key key_;
};

// A connection over a limit: logged, counted, told so in the service's words, closed.
asio::awaitable<void> refuse(net::stream& stream, const listener_state& listener, const session_info& info,
                             bool total) {
    spdlog::warn("session={} peer={} listener={} refused: too many connections{}", info.id, info.peer.to_string(),
                 info.listener, total ? "" : " from this address");
    metrics::count_refused_connection(info.listener, total);
    const auto line = listener.options.handler->refusal_line(total ? refusal::too_many_connections
                                                                   : refusal::too_many_connections_per_ip);
    stream.set_timeout(refusal_timeout);
    if (!line.empty()) {
        co_await stream.write_all(line);
    }
    stream.close();
}

}  // namespace

// What a session holds from admission to its end, in one allocation: run_session()'s frame, which an idle
// session keeps for minutes, then holds a pointer instead (docs/performance.md, "Idle sessions").
struct live_session {
    live_session(worker& w, connection_limiter& limiter, const address_key& key, std::unique_ptr<net::stream> stream,
                 session_info info, session_options options, std::string_view service)
        : held(limiter, key),
          s(std::move(stream), std::move(info), std::move(options)),
          registered(w, s),
          counted(s.info().listener, service) {}

    slot held;
    session s;
    registration registered;
    metrics::open_session counted;
};

asio::awaitable<void> server::impl::accept_loop(worker& w, std::shared_ptr<worker_acceptor> wa) {
    asio::steady_timer backoff_timer(w.context);
    std::chrono::milliseconds backoff{0};
    tcp::acceptor& acceptor = *wa->acceptor;
    for (;;) {
        tcp::endpoint peer;  // filled by accept(2) itself: no getpeername(2) per connection
        auto [ec, socket] = co_await acceptor.async_accept(peer, use_tuple);
        if (w.stopping || !acceptor.is_open()) {
            co_return;  // shutting down, or a reload closed this socket
        }
        const auto& name = wa->listener->options.name;  // a reload may have handed the socket on
        if (ec) {
            if (is_resource_exhaustion(ec)) {
                backoff = std::clamp(backoff * 2, accept_backoff_min, accept_backoff_max);
                spdlog::warn("listener={} accept failed: {}; retrying in {} ms", name, ec.message(), backoff.count());
                backoff_timer.expires_after(backoff);
                co_await backoff_timer.async_wait(use_tuple);
            }
            spdlog::debug("listener={} accept failed: {}", name, ec.message());
            continue;  // anything else (ECONNABORTED, ...) concerns only the client that gave up
        }
        backoff = std::chrono::milliseconds{0};
        auto stream = std::make_unique<net::tcp_stream>(std::move(socket));
        asio::co_spawn(w.context, run_session(w, std::move(stream), peer, wa->listener), [](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    spdlog::error("session setup failed: {}", ex.what());
                } catch (...) {  // escaping here would end io_context::run(), and the worker with it
                    spdlog::error("session setup failed: a non-standard exception");
                }
            }
        });
    }
}

asio::awaitable<std::unique_ptr<live_session>> server::impl::admit(worker& w, std::unique_ptr<net::tcp_stream> tcp,
                                                                   tcp::endpoint peer, const listener_state& listener) {
    std::error_code ec;
    const auto local = tcp->socket().local_endpoint(ec);
    if (ec) {
        co_return nullptr;  // the client is already gone
    }
    tcp->socket().set_option(tcp::no_delay(true), ec);  // replies are whole lines, written when a batch is done

    session_info info{next_session_id.fetch_add(1, std::memory_order_relaxed), info_of(peer), info_of(local),
                      listener.options.name};
    std::unique_ptr<net::stream> stream = std::move(tcp);
    // Behind a load balancer the header comes first, before the limits: they count the client it names, not
    // the proxy (which would otherwise be one address holding every connection).
    auto key = key_of(peer.address());
    proxied_start proxied;
    if (listener.options.proxy.enabled) {
        proxied = co_await read_proxy_header(listener.options.proxy, stream, info);
        if (!proxied.admitted) {
            stream->close();
            co_return nullptr;
        }
        key = key_of(asio::ip::make_address(info.peer.address, ec));  // a numeric address the parser made
    }
    const auto verdict = limiter.try_acquire(key);
    if (verdict != connection_limiter::verdict::accepted) {
        co_await refuse(*stream, listener, info, verdict == connection_limiter::verdict::too_many_total);
        co_return nullptr;
    }
    const auto& options = listener.options;
    stream->set_timeout(options.read_timeout);
    co_return std::make_unique<live_session>(
        w, limiter, key, std::move(stream), std::move(info),
        session_options{.limits = listener.limits,
                        .read_timeout = options.read_timeout,
                        .tls = options.tls_mode == tls::mode::none ? nullptr : options.tls,
                        .proxied_tls = std::move(proxied.tls)},
        options.handler->name());
}

asio::awaitable<void> server::impl::run_session(worker& w, std::unique_ptr<net::tcp_stream> stream, tcp::endpoint peer,
                                                std::shared_ptr<const listener_state> held_listener) {
    const listener_state& listener = *held_listener;  // this session's, whatever a reload does meanwhile
    const std::unique_ptr<live_session> live = co_await admit(w, std::move(stream), peer, listener);
    if (!live) {
        co_return;
    }
    session& s = live->s;
    const auto& options = listener.options;
    if (w.stopping) {
        s.request_stop();
    }
    spdlog::info("{} listener={} connected", s.log_prefix(), s.info().listener);

    bool failed = false;
    if (options.tls_mode == tls::mode::implicit) {
        // RFC 8314: the handshake comes first; the protocol then starts exactly as it would in plaintext,
        // greeting and all. TLS never stands in for authentication.
        const std::error_code ec = co_await s.start_tls();  // named first: GCC 12 (docs/architecture.md)
        if (ec) {
            spdlog::info("{} TLS handshake failed: {}", s.log_prefix(), ec.message());
            failed = true;
        }
    }
    if (!failed) {
        try {
            co_await options.handler->serve(s);
        } catch (const std::exception& e) {
            failed = true;
            spdlog::error("{} service {} failed: {}; connection closed", s.log_prefix(), options.handler->name(),
                          e.what());
        } catch (...) {  // a service plugin may throw anything; it costs only this connection
            failed = true;
            spdlog::error("{} service {} failed: a non-standard exception; connection closed", s.log_prefix(),
                          options.handler->name());
        }
    }
    if (!failed) {
        co_await s.flush();
        co_await s.stream().shutdown();
    }
    s.stream().close();
    const auto lasted =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - s.started());
    spdlog::info("{} disconnected after {} ms", s.log_prefix(), lasted.count());
}

void server::impl::begin_shutdown() {
    if (shutting_down) {
        force_stop();
        return;
    }
    shutting_down = true;
    watchdog.cancel();
    if (options.on_stopping) {
        options.on_stopping();
    }
    const auto grace_period = shutdown_grace();
    spdlog::info("shutting down: no new connections; {} open sessions have {} ms to finish", limiter.total(),
                 grace_period.count());
    close_listening();
    for (auto& w : workers) {
        asio::post(w->context, [wp = w.get()] {
            wp->stopping = true;
            wp->idle_guard.reset();  // a worker whose sessions are done now runs out of work and returns
            for (auto& wa : wp->acceptors) {
                std::error_code ignored;
                wa->acceptor->close(ignored);
            }
            for (session* s : wp->sessions) {
                s->request_stop();
            }
        });
    }
    grace.expires_after(grace_period);
    grace.async_wait([this](std::error_code ec) {
        if (!ec) {
            force_stop();
        }
    });
}

void server::impl::announce() {
    {
        std::lock_guard lock(mutex);
        serving = true;
    }
    for (const auto& bound : endpoints()) {
        spdlog::info("listening listener={} address={} workers={}", bound.listener, bound.endpoint.to_string(),
                     workers.size());
    }
    if (options.on_ready) {
        options.on_ready();
    }
    if (options.watchdog_interval.count() > 0 && options.on_watchdog) {
        arm_watchdog();
    }
}

// One round: a no-op posted to every worker, each answering on the control thread; the last answer feeds the
// watchdog. No new round while one is out, so a stuck worker stops the calls instead of queueing no-ops.
void server::impl::arm_watchdog() {
    watchdog.expires_after(options.watchdog_interval);
    watchdog.async_wait([this](std::error_code ec) {
        if (ec || shutting_down) {
            return;
        }
        if (!watchdog_waiting) {
            watchdog_waiting = true;
            auto remaining = std::make_shared<std::size_t>(workers.size());
            for (auto& w : workers) {
                asio::post(w->context, [this, remaining] {
                    asio::post(control, [this, remaining] {
                        if (--*remaining == 0) {
                            watchdog_waiting = false;
                            if (!shutting_down) {
                                options.on_watchdog();
                            }
                        }
                    });
                });
            }
        }
        arm_watchdog();
    });
}

void server::impl::force_stop() {
    spdlog::warn("forcing shutdown: closing {} remaining sessions", limiter.total());
    for (auto& w : workers) {
        w->context.stop();
    }
}

server::server(server_options options) : impl_(std::make_unique<impl>(options)) {}

server::~server() = default;

void server::add_listener(listener_options options) {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->workers.empty()) {
        throw std::logic_error("server::add_listener after bind(): use reconfigure()");
    }
    prepare(options);  // its mistakes are the caller's now, not at bind()
    impl_->pending.push_back(std::move(options));
}

void server::bind() {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->workers.empty()) {
        return;
    }
    auto pending = std::move(impl_->pending);
    lock.unlock();
    impl_->reconfigure(std::move(pending));
}

void server::reserve(const std::string& listener, const std::vector<std::string>& addresses, std::uint16_t port) {
    impl_->reserve(listener, addresses, port);
}

void server::reconfigure(std::vector<listener_options> listeners) { impl_->reconfigure(std::move(listeners)); }

void server::set_limits(const server_options& limits) {
    impl_->limiter.set_limits(limits.max_connections, limits.max_connections_per_ip);
    std::lock_guard lock(impl_->mutex);
    impl_->options.shutdown_grace = limits.shutdown_grace;
}

std::vector<bound_endpoint> server::bound_endpoints() const { return impl_->endpoints(); }

void server::run() {
    auto& m = *impl_;
    // spdlog creates its default logger on first use; do it here, before any worker can race to it (its
    // one-time initialisation lives in libspdlog, which ThreadSanitizer cannot see into).
    spdlog::default_logger_raw();
    bind();  // the accept loops are posted to the workers, and start with them
    auto keep_running = asio::make_work_guard(m.control);
    asio::signal_set signals(m.control);
    std::function<void()> wait_for_signal = [&] {
        signals.async_wait([&](std::error_code ec, int number) {
            if (ec) {
                return;
            }
            if (number == SIGHUP) {
                spdlog::info("SIGHUP: reloading");
                if (m.options.on_reload) {
                    m.options.on_reload();
                }
            } else {
                spdlog::info("received signal {}", number);
                m.begin_shutdown();  // a second one forces the stop
            }
            wait_for_signal();
        });
    };
    if (m.options.handle_signals) {
        signals.add(SIGINT);
        signals.add(SIGTERM);
        signals.add(SIGHUP);
        wait_for_signal();
    }

    // Workers start with the shutdown signals blocked, so a signal always reaches the control thread, which
    // waits for it; the mask is restored here once they run.
    sigset_t shutdown_signals, previous;
    sigemptyset(&shutdown_signals);
    sigaddset(&shutdown_signals, SIGINT);
    sigaddset(&shutdown_signals, SIGTERM);
    sigaddset(&shutdown_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &shutdown_signals, &previous);
    std::vector<std::thread> threads;
    for (auto& w : m.workers) {
        threads.emplace_back([&m, &signals, &keep_running, wp = w.get()] {
            wp->context.run();
            tls::release_thread_state();
            asio::post(m.control, [&] {
                if (++m.finished_workers == m.workers.size()) {
                    std::error_code ignored;
                    signals.cancel(ignored);
                    m.grace.cancel();
                    m.watchdog.cancel();
                    keep_running.reset();
                }
            });
        });
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    // Only now is everything in place to serve and to stop: tell whoever waits for us (tests, scripts). A
    // reload says the same of the sockets it opens.
    m.announce();
    m.control.run();
    for (auto& t : threads) {
        t.join();
    }
    // A blocking job still running (an fsync, a plugin's slow call) hands its result to its worker's io_context
    // when it ends, and a compute job (a hash) its result and its place to a waiter's, so the contexts must
    // outlive every job, also after a forced stop.
    io::wait_blocking_idle();
    io::wait_compute_idle();
    // Destroying the io_contexts ends the coroutines of sessions that outlived the grace period, which closes
    // their sockets now rather than when the server object goes.
    const std::lock_guard lock(m.mutex);  // no administrator's request is posting to a worker (admin_requests.hpp)
    m.workers.clear();
    spdlog::info("server stopped");
}

void server::stop() {
    asio::post(impl_->control, [m = impl_.get()] { m->begin_shutdown(); });
}

namespace {

// The workers as the administrator's requests see them; impl::mutex is held.
std::vector<detail::worker_sessions> worker_sessions(const std::vector<std::unique_ptr<worker>>& workers) {
    std::vector<detail::worker_sessions> views;
    for (const auto& w : workers) {
        views.push_back({&w->context, &w->sessions});
    }
    return views;
}

}  // namespace

std::vector<session_summary> server::sessions() const {
    std::unique_lock alive(impl_->mutex);
    const auto workers = worker_sessions(impl_->workers);
    return detail::list_sessions(std::move(alive), workers);
}

std::size_t server::kick(std::uint64_t id) {
    std::unique_lock alive(impl_->mutex);
    const auto workers = worker_sessions(impl_->workers);
    return detail::kick_sessions(std::move(alive), workers, [id](const session& s) { return s.id() == id; });
}

std::size_t server::kick_user(std::string_view user) {
    if (user.empty()) {
        return 0;  // the sessions nobody logged into are not one user's
    }
    std::unique_lock alive(impl_->mutex);
    const auto workers = worker_sessions(impl_->workers);
    return detail::kick_sessions(std::move(alive), workers,
                                 [name = std::string(user)](const session& s) { return s.user() == name; });
}

}  // namespace mailwright::server
