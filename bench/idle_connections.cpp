// Opens N connections to a server, waits for each greeting (so the server really holds a session for each),
// and prints how much the server's resident memory grew per connection.
//
//   mailwright-bench-idle --port 7007 --pid $(pidof mailwrightd) --connections 10000
//
// Source addresses rotate over 127.0.0.1-127.0.0.250 so that neither the per-address limit nor the
// ephemeral port range is what is being measured. With --tls each session first completes a TLS handshake
// (an implicit-TLS listener), so the figure includes the server's TLS state.
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "tls_client.hpp"

namespace {

long rss_kib(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    while (status >> key) {
        if (key == "VmRSS:") {
            long kib = 0;
            status >> kib;
            return kib;
        }
        status.ignore(4096, '\n');
    }
    return -1;
}

int open_session(const std::string& host, int port, int index, bool tls, std::vector<WOLFSSL*>& sessions) {
    const int fd = bench::connect_loopback(host, port, index);
    if (fd < 0) {
        return -1;
    }
    if (tls) {
        WOLFSSL* ssl = bench::tls_session(fd);
        if (ssl == nullptr) {
            return -1;
        }
        sessions.push_back(ssl);
        return fd;
    }
    char greeting[512];
    if (::recv(fd, greeting, sizeof greeting, 0) <= 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

int bench::idle_main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = 0;
    int pid = 0;
    int connections = 1000;
    bool tls = false;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--tls") {
            tls = true;
        }
    }
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--tls") {
            --i;
        } else if (flag == "--host") {
            host = argv[i + 1];
        } else if (flag == "--port") {
            port = std::atoi(argv[i + 1]);
        } else if (flag == "--pid") {
            pid = std::atoi(argv[i + 1]);
        } else if (flag == "--connections") {
            connections = std::atoi(argv[i + 1]);
        }
    }
    if (port <= 0 || pid <= 0 || connections <= 0) {
        fmt::print(stderr, "usage: {} --port PORT --pid SERVER_PID [--connections N] [--tls] [--host 127.0.0.1]\n",
                   argv[0]);
        return 2;
    }
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);

    const long before = rss_kib(pid);
    std::vector<int> fds;
    std::vector<WOLFSSL*> sessions;
    fds.reserve(static_cast<std::size_t>(connections));
    int failed = 0;
    for (int i = 0; i < connections; ++i) {
        const int fd = open_session(host, port, i, tls, sessions);
        fd >= 0 ? fds.push_back(fd) : void(++failed);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the server settle its buffers
    const long after = rss_kib(pid);
    const double per_connection = fds.empty() ? 0.0 : static_cast<double>(after - before) * 1024.0 / fds.size();
    fmt::print("idle{}: {} sessions open ({} failed); server RSS {} KiB -> {} KiB; {:.0f} bytes per session\n",
               tls ? " (TLS)" : "", fds.size(), failed, before, after, per_connection);
    fmt::print(R"({{"bench":"idle","tls":{},"sessions":{},"failed":{},"rss_before_kib":{},"rss_after_kib":{},)"
               R"("bytes_per_session":{:.0f}}})"
               "\n",
               tls, fds.size(), failed, before, after, per_connection);
    for (WOLFSSL* ssl : sessions) {
        wolfSSL_free(ssl);
    }
    for (int fd : fds) {
        ::close(fd);
    }
    return failed == 0 ? 0 : 1;
}
