// control_socket: the unix socket, its clients, and their deadlines.
#include "control_socket.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "control_protocol.hpp"
#include "privileges.hpp"

namespace mailwrightd {

namespace {

using asio::local::stream_protocol;
namespace control = mailwright::control;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// A socket file at `path` is replaced only when nobody answers on it: the daemon that made it is gone.
void clear_stale(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            return;
        }
        throw std::system_error(errno, std::generic_category(), "control socket " + path);
    }
    if (!S_ISSOCK(st.st_mode)) {
        throw std::runtime_error("control socket " + path + " exists and is not a socket; not replacing it");
    }
    asio::io_context io;
    stream_protocol::socket probe(io);
    std::error_code ec;
    probe.connect(stream_protocol::endpoint(path), ec);
    if (!ec) {
        throw std::runtime_error("another daemon is running: it answers on the control socket " + path);
    }
    if (ec != asio::error::connection_refused) {
        throw std::system_error(ec, "control socket " + path + ": cannot tell whether a daemon answers on it");
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        throw std::system_error(errno, std::generic_category(), "removing the stale control socket " + path);
    }
    spdlog::info("control socket {}: replaced the one a daemon that is gone left behind", path);
}

// Running as root with [server] user: the socket belongs to the user the daemon serves as.
void hand_over(const control_socket_options& options) {
    if (options.user.empty() || ::geteuid() != 0) {
        return;
    }
    mailwright::config::server_config wanted;
    wanted.user = options.user;
    wanted.group = options.group;
    const account owner = resolve_account(wanted);  // throws naming the user or group the system lacks
    if (::lchown(options.path.c_str(), owner.uid, owner.gid) != 0) {
        throw std::system_error(errno, std::generic_category(), "control socket " + options.path + ": chown");
    }
}

// One client: its socket, and the deadline a watchdog holds it to.
struct connection {
    explicit connection(stream_protocol::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}

    void close() {
        std::error_code ignored;
        socket.close(ignored);
        timer.cancel();
    }

    stream_protocol::socket socket;
    asio::steady_timer timer;
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::now() + control::request_timeout;
};

// Closes the client's socket when its deadline passes; the pending read or write then fails.
asio::awaitable<void> watchdog(std::shared_ptr<connection> c) {
    while (c->socket.is_open()) {
        if (std::chrono::steady_clock::now() >= c->deadline) {
            spdlog::debug("control: a client was silent for {} s; closed", control::request_timeout.count());
            c->close();
            co_return;
        }
        c->timer.expires_at(c->deadline);
        const auto waited = co_await c->timer.async_wait(use_tuple);
        (void)waited;
    }
}

// Logs what ended a control coroutine instead of letting it end the admin thread.
void log_failure(const std::exception_ptr& e) {
    if (!e) {
        return;
    }
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::error("control socket: {}", ex.what());
    } catch (...) {
        spdlog::error("control socket: a non-standard exception");
    }
}

std::string refusal(std::string_view why) {
    return fmt::format("{{\"ok\":false,\"error\":\"{}\"}}\n", why);  // constant texts: nothing to escape
}

}  // namespace

struct control_socket::impl {
    impl(asio::io_context& context, control_socket_options o, control_sources s)
        : options(std::move(o)), sources(std::move(s)), acceptor(context) {}

    asio::awaitable<void> accept_loop(std::shared_ptr<impl> self);
    asio::awaitable<void> serve(std::shared_ptr<impl> self, std::shared_ptr<connection> c);

    control_socket_options options;
    control_sources sources;
    stream_protocol::acceptor acceptor;
    std::size_t clients = 0;  // on the admin thread only
};

control_socket::control_socket(asio::io_context& context, control_socket_options options, control_sources sources)
    : impl_(std::make_shared<impl>(context, std::move(options), std::move(sources))) {
    const std::string& path = impl_->options.path;
    clear_stale(path);
    const stream_protocol::endpoint endpoint(path);
    auto& acceptor = impl_->acceptor;
    acceptor.open(endpoint.protocol());
    // Made with umask 0177, the socket is srw------- from the moment it exists: nobody else can connect in a
    // window before a chmod. (The umask is the process's; nothing else makes files while the daemon starts.)
    const mode_t previous = ::umask(0177);
    std::error_code ec;
    acceptor.bind(endpoint, ec);
    ::umask(previous);
    if (ec) {
        throw std::system_error(ec, "control socket " + path);
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        device_ = st.st_dev;
        inode_ = st.st_ino;
    }
    hand_over(impl_->options);  // before listen(): until then a connect is refused
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        throw std::system_error(ec, "control socket " + path + ": listen");
    }
}

control_socket::~control_socket() {
    // Only our own file: a daemon started after us may have put its socket there.
    struct stat st {};
    const std::string& path = impl_->options.path;
    if (::lstat(path.c_str(), &st) == 0 && st.st_dev == device_ && st.st_ino == inode_) {
        if (::unlink(path.c_str()) != 0) {
            spdlog::warn("control socket {} left behind: {}", path, std::generic_category().message(errno));
        }
    }
}

void control_socket::start() {
    asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(impl_), log_failure);
    spdlog::info("control socket listening at {}", impl_->options.path);
}

const std::string& control_socket::path() const noexcept { return impl_->options.path; }

asio::awaitable<void> control_socket::impl::accept_loop(std::shared_ptr<impl> self) {
    asio::steady_timer backoff(acceptor.get_executor());
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (!acceptor.is_open() || ec == asio::error::operation_aborted) {
            co_return;
        }
        if (ec) {
            // Out of descriptors, most likely: the connection stays in the backlog; do not spin on it.
            spdlog::warn("control socket: accept failed: {}", ec.message());
            backoff.expires_after(std::chrono::milliseconds(100));
            const auto waited = co_await backoff.async_wait(use_tuple);
            (void)waited;
            continue;
        }
        auto c = std::make_shared<connection>(std::move(socket));
        asio::co_spawn(acceptor.get_executor(), serve(self, c), log_failure);
    }
}

asio::awaitable<void> control_socket::impl::serve(std::shared_ptr<impl> self, std::shared_ptr<connection> c) {
    struct counted {
        explicit counted(std::size_t& n) : count(n) { ++count; }
        counted(const counted&) = delete;
        counted& operator=(const counted&) = delete;
        ~counted() { --count; }
        std::size_t& count;
    } one(self->clients);
    asio::co_spawn(c->socket.get_executor(), watchdog(c), log_failure);
    if (clients > control::max_clients) {
        const std::string busy = refusal("too many control clients at once; try again");
        const auto written = co_await asio::async_write(c->socket, asio::buffer(busy), use_tuple);
        (void)written;
        c->close();
        co_return;
    }
    std::string buffer;
    for (;;) {
        c->deadline = std::chrono::steady_clock::now() + control::request_timeout;
        const auto [ec, n] = co_await asio::async_read_until(
            c->socket, asio::dynamic_buffer(buffer, control::max_request), '\n', use_tuple);
        std::string reply;
        if (ec == asio::error::not_found) {
            reply = refusal("request too long");
        } else if (ec) {
            break;  // the client is done, or the watchdog closed it
        } else {
            reply = answer(sources, std::string_view(buffer).substr(0, n - 1));
            buffer.erase(0, n);
        }
        const auto [written, octets] = co_await asio::async_write(c->socket, asio::buffer(reply), use_tuple);
        (void)octets;
        if (written || ec) {
            break;
        }
    }
    c->close();
}

}  // namespace mailwrightd
