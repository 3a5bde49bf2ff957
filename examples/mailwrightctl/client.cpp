// client: a blocking unix-socket client, with a deadline on every read and write.
#include "client.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mailwrightctl {

namespace {

// A reply holds at most every session of a busy daemon; more than this is not a reply.
constexpr std::size_t max_reply = 64 * 1024 * 1024;

class descriptor {
  public:
    explicit descriptor(int fd) : fd_(fd) {}
    descriptor(const descriptor&) = delete;
    descriptor& operator=(const descriptor&) = delete;
    ~descriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    int get() const { return fd_; }

  private:
    int fd_;
};

std::string why_not(const std::string& path, int error) {
    switch (error) {
        case ENOENT:
            return fmt::format("no control socket at {}: is mailwrightd running? is [admin] control_socket set?", path);
        case ECONNREFUSED:
            return fmt::format(
                "nobody answers on {}: is mailwrightd running? (the file may be left from a "
                "daemon that is gone)",
                path);
        case EACCES:
        case EPERM:
            return fmt::format("permission denied on {}: run mailwrightctl as the daemon's user, or as root", path);
        default:
            return fmt::format("cannot connect to {}: {}", path, std::strerror(error));
    }
}

void set_timeouts(int fd, std::chrono::seconds timeout) {
    const timeval tv{.tv_sec = static_cast<time_t>(timeout.count()), .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

std::string ask(const std::string& socket_path, std::string_view request, std::chrono::seconds timeout) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.empty() || socket_path.size() >= sizeof address.sun_path) {
        throw unreachable(
            fmt::format("'{}' cannot be a socket path (1 to {} octets)", socket_path, sizeof address.sun_path - 1));
    }
    std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
    descriptor fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        throw unreachable(fmt::format("socket: {}", std::strerror(errno)));
    }
    set_timeouts(fd.get(), timeout);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        throw unreachable(why_not(socket_path, errno));
    }
    std::string line = std::string(request) + "\n";
    for (std::size_t sent = 0; sent < line.size();) {
        const ssize_t n = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw unreachable(fmt::format("sending to {}: {}", socket_path, std::strerror(errno)));
        }
        sent += static_cast<std::size_t>(n);
    }
    std::string reply;
    char buffer[65536];
    for (;;) {
        const auto end = reply.find('\n');
        if (end != std::string::npos) {
            reply.resize(end);
            return reply;
        }
        if (reply.size() > max_reply) {
            throw unreachable(fmt::format("the reply from {} is too long", socket_path));
        }
        const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            throw unreachable(fmt::format("no reply from {} within {} s", socket_path, timeout.count()));
        }
        if (n < 0) {
            throw unreachable(fmt::format("reading from {}: {}", socket_path, std::strerror(errno)));
        }
        if (n == 0) {
            throw unreachable(fmt::format("{} closed the connection without a reply", socket_path));
        }
        reply.append(buffer, static_cast<std::size_t>(n));
    }
}

}  // namespace mailwrightctl
