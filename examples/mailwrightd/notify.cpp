// systemd's notify protocol without libsystemd: the protocol is a documented, stable datagram format of a few
// lines, and speaking it takes one socket(2) and one sendto(2); a library for that would be one more
// dependency for every build and every appliance that does not run systemd.
#include "notify.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace mailwrightd::notify {

namespace {

std::string_view environment(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? std::string_view(value) : std::string_view();
}

template <class Int>
bool parse(std::string_view text, Int& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

}  // namespace

bool send(std::string_view state) {
    const std::string_view where = environment("NOTIFY_SOCKET");
    if (where.empty()) {
        return false;
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    // A path must be absolute; '@' stands for the NUL that starts an abstract address (unix(7)).
    if ((where.front() != '/' && where.front() != '@') || where.size() >= sizeof address.sun_path) {
        spdlog::error(
            "NOTIFY_SOCKET=\"{}\" is neither an absolute path nor an abstract address ('@...'); the "
            "service manager is not told \"{}\"",
            where, state);
        return false;
    }
    std::memcpy(address.sun_path, where.data(), where.size());
    if (where.front() == '@') {
        address.sun_path[0] = '\0';
    }
    // An abstract address is exactly as long as it is written, with no terminating NUL counted.
    const auto length =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + where.size() + (where.front() == '@' ? 0 : 1));
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        spdlog::error("cannot tell the service manager \"{}\": socket: {}", state, std::strerror(errno));
        return false;
    }
    const bool sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address),
                               length) == static_cast<ssize_t>(state.size());
    const int error = errno;
    ::close(fd);
    if (!sent) {
        spdlog::error("cannot tell the service manager \"{}\" at {}: {}", state, where, std::strerror(error));
    }
    return sent;
}

void ready() { send("READY=1\nSTATUS=serving"); }

void reloading() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1'000'000ULL +
                      static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
    send(fmt::format("RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC={}", usec));
}

void stopping() { send("STOPPING=1\nSTATUS=stopping"); }

void watchdog() { send("WATCHDOG=1"); }

std::chrono::microseconds watchdog_interval() {
    unsigned long long usec = 0;
    if (!parse(environment("WATCHDOG_USEC"), usec) || usec == 0) {
        return std::chrono::microseconds{0};
    }
    // Set for the main process only: a child that inherited the variables must not ping for its parent.
    if (const auto pid_text = environment("WATCHDOG_PID"); !pid_text.empty()) {
        pid_t pid = 0;
        if (!parse(pid_text, pid) || pid != ::getpid()) {
            return std::chrono::microseconds{0};
        }
    }
    return std::chrono::microseconds{static_cast<std::chrono::microseconds::rep>(usec / 2)};
}

}  // namespace mailwrightd::notify
