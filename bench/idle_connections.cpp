// Opens N connections to a server, waits for each greeting (so the server really holds a session for each),
// and prints how much the server's resident memory grew per connection.
//
//   mailwright-bench-idle --port 7007 --pid $(pidof mailwrightd) --connections 10000
//
// Source addresses rotate over 127.0.0.1-127.0.0.250 so that neither the per-address limit nor the
// ephemeral port range is what is being measured.
#include <arpa/inet.h>
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

int open_session(const char* host, int port, int index) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(0x7f000001u + static_cast<unsigned>(index % 250));
    ::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source);
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, host, &target.sin_addr);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    char greeting[512];
    if (::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0 ||
        ::recv(fd, greeting, sizeof greeting, 0) <= 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = 0;
    int pid = 0;
    int connections = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--host") {
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
        fmt::print(stderr, "usage: {} --port PORT --pid SERVER_PID [--connections N] [--host 127.0.0.1]\n", argv[0]);
        return 2;
    }
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);

    const long before = rss_kib(pid);
    std::vector<int> fds;
    fds.reserve(static_cast<std::size_t>(connections));
    int failed = 0;
    for (int i = 0; i < connections; ++i) {
        const int fd = open_session(host.c_str(), port, i);
        fd >= 0 ? fds.push_back(fd) : void(++failed);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the server settle its buffers
    const long after = rss_kib(pid);
    const double per_connection = fds.empty() ? 0.0 : static_cast<double>(after - before) * 1024.0 / fds.size();
    fmt::print("idle: {} sessions open ({} failed); server RSS {} KiB -> {} KiB; {:.0f} bytes per session\n",
               fds.size(), failed, before, after, per_connection);
    fmt::print(R"({{"bench":"idle","sessions":{},"failed":{},"rss_before_kib":{},"rss_after_kib":{},)"
               R"("bytes_per_session":{:.0f}}})"
               "\n",
               fds.size(), failed, before, after, per_connection);
    for (int fd : fds) {
        ::close(fd);
    }
    return failed == 0 ? 0 : 1;
}
