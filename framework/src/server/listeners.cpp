// Which sockets the server listens on, and for which listener: the first bind(), reserve() and every
// reconfigure() (a reload).
//
// Theory of operation. The server holds one listening socket per address and port (`sockets`), keyed by
// both; each worker accepts from a descriptor of its own (dup(2)) through a worker_acceptor that names the
// listener it serves now. A reconfigure first binds what is new, on the calling thread: if anything fails,
// nothing has changed. It then posts one change to every worker: acceptors whose address stays get the new
// listener (the socket, its backlog and every connection in it carry on), new ones start an accept loop,
// the others are closed. A worker applies it between two of its own events, so no lock is needed there.
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <set>
#include <stdexcept>
#include <thread>

#include "mailwright/server/service.hpp"
#include "server_impl.hpp"

namespace mailwright::server {

namespace {

void close_all(std::vector<opened_socket>& opened) {
    for (auto& o : opened) {
        for (const int fd : o.worker_fds) {
            ::close(fd);
        }
        o.worker_fds.clear();
    }
}

}  // namespace

std::shared_ptr<listener_state> prepare(listener_options options) {
    if (!options.handler) {
        throw std::invalid_argument("listener '" + options.name + "' has no service");
    }
    if (options.tls_mode != tls::mode::none && !options.tls) {
        throw std::invalid_argument("listener '" + options.name + "' uses TLS but has no TLS context");
    }
    if (options.proxy.enabled && options.proxy.trusted.empty()) {
        throw std::invalid_argument("listener '" + options.name + "' takes PROXY headers but trusts no sender");
    }
    auto state = std::make_shared<listener_state>();
    state->limits = options.lines;
    if (state->limits.max_line == 0) {
        state->limits.max_line = options.handler->default_line_limits().max_line;  // the listener's bare_lf stays
    }
    if (options.read_timeout.count() == 0) {
        options.read_timeout = options.handler->default_read_timeout();
    }
    for (const auto& text : options.addresses) {
        std::error_code ec;
        auto address = asio::ip::make_address(text, ec);
        if (ec) {
            throw std::invalid_argument("listener '" + options.name + "': '" + text + "' is not an IP address");
        }
        state->addresses.push_back(address);
    }
    state->options = std::move(options);
    return state;
}

// Port 0 lets the kernel choose; a listener that says so again, unchanged, keeps what the kernel chose.
std::uint16_t server::impl::port_to_keep(const listener_state& next) const {
    if (next.options.port != 0) {
        return next.options.port;
    }
    for (const auto& l : listeners) {
        if (l->options.name == next.options.name && l->options.port == 0 && l->addresses == next.addresses) {
            return l->port;
        }
    }
    return 0;
}

void server::impl::ensure_workers() {
    if (!workers.empty()) {
        return;
    }
    const unsigned count = options.workers != 0 ? options.workers : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < count; ++i) {
        workers.push_back(std::make_unique<worker>());
    }
}

void server::impl::reserve(const std::string& name, const std::vector<std::string>& addresses, std::uint16_t port) {
    if (port == 0) {
        return;  // the kernel's choice could never be named again
    }
    std::lock_guard lock(mutex);
    for (const auto& text : addresses) {
        std::error_code ec;
        const auto address = asio::ip::make_address(text, ec);
        if (ec) {
            throw std::invalid_argument("listener '" + name + "': '" + text + "' is not an IP address");
        }
        const tcp::endpoint endpoint(address, port);
        if (sockets.count(key_of(endpoint)) == 0) {
            sockets.emplace(key_of(endpoint), listening_socket{endpoint, listen_on(control, endpoint, name)});
        }
    }
}

void server::impl::reconfigure(std::vector<listener_options> list) {
    std::vector<std::shared_ptr<listener_state>> states;
    for (auto& options : list) {
        states.push_back(prepare(std::move(options)));
    }
    std::lock_guard lock(mutex);
    if (closed) {
        throw std::logic_error("the server is shutting down");
    }
    ensure_workers();
    listener_map wanted;
    auto opened = open_wanted(states, wanted);  // nothing has changed until this has succeeded
    for (std::size_t wi = 0; wi < workers.size(); ++wi) {
        switch_worker(*workers[wi], wanted, opened, wi);
    }
    keep_sockets(wanted, opened);
    listeners.assign(states.begin(), states.end());
}

// Every address wanted, into `wanted`, binding the new ones; the sockets the workers must start accepting from,
// with a descriptor for each. Throws, having changed nothing, when one cannot be bound.
std::vector<opened_socket> server::impl::open_wanted(std::vector<std::shared_ptr<listener_state>>& states,
                                                     listener_map& wanted) {
    std::vector<opened_socket> opened;  // new sockets, and reserved ones the workers do not accept from yet
    try {
        for (auto& state : states) {
            std::uint16_t port = port_to_keep(*state);
            for (const auto& address : state->addresses) {
                tcp::endpoint endpoint(address, port);
                const auto held = port == 0 ? sockets.end() : sockets.find(key_of(endpoint));
                if (held == sockets.end()) {
                    auto socket = listen_on(control, endpoint, state->options.name);
                    endpoint = socket->local_endpoint();
                    port = endpoint.port();  // the kernel's choice for port 0; the next address shares it
                    opened.push_back({key_of(endpoint), {endpoint, std::move(socket)}, {}});
                } else if (!held->second.shared) {
                    opened.push_back({held->first, {endpoint, nullptr}, {}});  // reserved: duplicated below
                }
                if (!wanted.emplace(key_of(endpoint), state).second) {
                    throw std::invalid_argument("listeners '" + wanted[key_of(endpoint)]->options.name + "' and '" +
                                                state->options.name + "' both name " + info_of(endpoint).to_string());
                }
            }
            state->port = port;
        }
        for (auto& o : opened) {
            const auto& socket = o.listening.socket ? *o.listening.socket : *sockets.at(o.key).socket;
            for (std::size_t i = 0; i < workers.size(); ++i) {
                o.worker_fds.push_back(duplicate(socket));
            }
        }
    } catch (...) {
        close_all(opened);  // and the new sockets close as `opened` goes
        throw;
    }
    return opened;
}

// Posts the change to one worker, which applies it between two of its events.
void server::impl::switch_worker(worker& target, const listener_map& wanted, const std::vector<opened_socket>& opened,
                                 std::size_t index) {
    std::vector<std::pair<endpoint_key, std::pair<tcp::endpoint, int>>> fresh;
    for (const auto& o : opened) {
        fresh.push_back({o.key, {o.listening.endpoint, o.worker_fds[index]}});
    }
    asio::post(target.context, [this, w = &target, wanted, fresh] {
        std::erase_if(w->acceptors, [&](const std::shared_ptr<worker_acceptor>& wa) {
            const auto it = wanted.find(wa->key);
            if (it == wanted.end() || w->stopping) {
                std::error_code ignored;
                wa->acceptor->close(ignored);  // its accept loop sees it closed and ends
                return true;
            }
            wa->listener = it->second;
            return false;
        });
        for (const auto& [key, socket] : fresh) {
            if (w->stopping) {
                ::close(socket.second);
                continue;
            }
            try {
                auto wa = std::make_shared<worker_acceptor>(
                    worker_acceptor{key, assign_shared(w->context, socket.first, socket.second), wanted.at(key)});
                w->acceptors.push_back(wa);
                asio::co_spawn(w->context, accept_loop(*w, wa), asio::detached);
            } catch (const std::exception& e) {
                spdlog::error("address={} a worker cannot accept from it: {}", info_of(socket.first).to_string(),
                              e.what());
            }
        }
    });
}

// The sockets held from now on: the new ones, and the old ones still wanted.
void server::impl::keep_sockets(const listener_map& wanted, std::vector<opened_socket>& opened) {
    for (auto it = sockets.begin(); it != sockets.end();) {
        if (wanted.count(it->first) != 0) {
            ++it;
            continue;
        }
        if (serving) {
            spdlog::info("stopped listening address={}", info_of(it->second.endpoint).to_string());
        }
        it = sockets.erase(it);
    }
    for (auto& o : opened) {
        if (serving) {
            spdlog::info("listening listener={} address={} workers={}", wanted.at(o.key)->options.name,
                         info_of(o.listening.endpoint).to_string(), workers.size());
        }
        if (o.listening.socket) {
            sockets.emplace(o.key, std::move(o.listening));
        }
        sockets.at(o.key).shared = true;
    }
}

void server::impl::close_listening() {
    std::lock_guard lock(mutex);
    closed = true;
    sockets.clear();  // the workers close their own descriptors as they stop
}

std::vector<bound_endpoint> server::impl::endpoints() const {
    std::lock_guard lock(mutex);
    std::vector<bound_endpoint> result;
    for (const auto& listener : listeners) {
        for (const auto& address : listener->addresses) {
            result.push_back({listener->options.name, info_of(tcp::endpoint(address, listener->port))});
        }
    }
    return result;
}

}  // namespace mailwright::server
