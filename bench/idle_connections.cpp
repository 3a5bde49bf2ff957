// Opens N sessions to a server, each as a real client leaves one waiting for its next command: connect (a TLS
// handshake with --tls), the greeting, one command and its whole reply (POP3 CAPA, SMTP EHLO, a line for echo).
// Then it prints how much the server's resident memory (/proc/PID/status) grew per session.
//
//   mailwright-bench idle --port 7007 --pid $(pidof mailwrightd) --connections 10000 [--service pop3|smtp|echo]
//                         [--tls] [--host 127.0.0.1] [--sources 1000] [--openers 32] [--warmup 16]
//
// The baseline is taken after the first --warmup sessions are open, so what a server sets up once (a worker's
// first TLS handshake, its first pooled buffers, its allocator's arenas) is not counted per session: the figure
// is (RSS after - RSS at the baseline) / (sessions - warmup).
//
// --openers threads open the sessions with blocking sockets (every wait bounded by SO_RCVTIMEO/SO_SNDTIMEO);
// an open session is then only its descriptor here (the TLS object is freed without a close_notify, which the
// server does not notice), so this process stays small whatever N is. Source addresses rotate over --sources
// addresses in 127.0.0.0/8 (127.0.0.1, ..., 127.0.0.254, 127.0.1.1, ...): neither the per-address limit nor
// the ephemeral ports run out. Every session is closed before the program ends.
#include <fmt/format.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client.hpp"
#include "commands.hpp"

namespace {

constexpr std::size_t longest_reply = 64 * 1024;

long rss_kib(const std::string& pid) {
    std::ifstream status("/proc/" + pid + "/status");
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

// The k-th source address: 127.0.0.1-254, then 127.0.1.1-254, ... (no .0 nor .255 in the last octet).
in_addr_t source_address(int k) {
    const auto u = static_cast<std::uint32_t>(k);
    return htonl(0x7f000000u + (u / 254) * 256 + u % 254 + 1);
}

// What the client says after the greeting, and how it knows a reply is complete.
struct dialogue {
    std::string command;
    bool pop3 = false;  // a +OK to CAPA is multi-line (ends with "."); otherwise one SMTP-style reply
};

bool reply_complete(std::string_view text, bool multi_line_pop3) {
    if (text.size() < 2 || text.substr(text.size() - 2) != "\r\n") {
        return false;
    }
    if (multi_line_pop3) {
        return !text.starts_with("+OK") || text == "\r\n.\r\n" || text.ends_with("\r\n.\r\n");
    }
    // SMTP: the last line is "ddd text" (a space, or nothing, after the code), not "ddd-text".
    const auto start = text.rfind("\r\n", text.size() - 3);
    const auto line = text.substr(start == std::string_view::npos ? 0 : start + 2);
    return line.size() < 6 || line[3] != '-';
}

// One session's client side over a blocking descriptor (plain or TLS).
class session_client {
  public:
    explicit session_client(int fd) : fd_(fd) {}
    ~session_client() {
        if (ssl_ != nullptr) {
            wolfSSL_free(ssl_);  // no close_notify: the server keeps the session
        }
    }
    session_client(const session_client&) = delete;
    session_client& operator=(const session_client&) = delete;

    bool handshake() {
        ssl_ = wolfSSL_new(bench::client_context());
        return ssl_ != nullptr && wolfSSL_set_fd(ssl_, fd_) == WOLFSSL_SUCCESS &&
               wolfSSL_connect(ssl_) == WOLFSSL_SUCCESS;
    }
    bool send(std::string_view data) {
        while (!data.empty()) {
            const long n = ssl_ != nullptr ? wolfSSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                                           : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) {
                if (ssl_ == nullptr && n < 0 && errno == EINTR) {
                    continue;
                }
                return false;
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    bool reply(bool multi_line_pop3) {
        std::string text;
        char buffer[4096];
        while (!reply_complete(text, multi_line_pop3)) {
            const long n =
                ssl_ != nullptr ? wolfSSL_read(ssl_, buffer, sizeof buffer) : ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) {
                if (ssl_ == nullptr && n < 0 && errno == EINTR) {
                    continue;
                }
                return false;
            }
            text.append(buffer, static_cast<std::size_t>(n));
            if (text.size() > longest_reply) {
                return false;
            }
        }
        return true;
    }

  private:
    int fd_;
    WOLFSSL* ssl_ = nullptr;
};

struct run_options {
    sockaddr_in target{};
    int connections = 0;
    int sources = 1000;
    bool tls = false;
    dialogue talk;
};

// Opens session `index`; its descriptor, left open, or -1.
int open_session(const run_options& o, int index) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const timeval timeout{30, 0};  // every wait for the server, connect() included
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = source_address(index % o.sources);
    bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&from), sizeof from) == 0 &&
              ::connect(fd, reinterpret_cast<const sockaddr*>(&o.target), sizeof o.target) == 0;
    if (ok) {
        session_client client(fd);
        ok = (!o.tls || client.handshake()) && client.reply(false) && client.send(o.talk.command) &&
             client.reply(o.talk.pop3);
    }
    if (!ok) {
        ::close(fd);
        return -1;
    }
    return fd;
}

struct sessions {
    std::atomic<int> next{0};
    std::atomic<int> failed{0};
    std::mutex mutex;
    std::vector<int> open;  // descriptors
};

void opener(const run_options& o, sessions& all) {
    for (int i = all.next++; i < o.connections; i = all.next++) {
        const int fd = open_session(o, i);
        if (fd < 0) {
            ++all.failed;
            continue;
        }
        std::lock_guard lock(all.mutex);
        all.open.push_back(fd);
    }
#ifdef FP_ECC
    wc_ecc_fp_free();  // wolfSSL's per-thread ECC point cache (Debian builds FP_ECC), else lost at exit
#endif
}

void open_all(const run_options& o, sessions& all, int openers) {
    std::vector<std::thread> threads;
    for (int k = 0; k < openers; ++k) {
        threads.emplace_back([&] { opener(o, all); });
    }
    for (auto& t : threads) {
        t.join();
    }
}

}  // namespace

int bench::idle_main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = 0;
    int pid = 0;
    int openers = 32;
    int warmup = 16;
    std::string service = "pop3";
    run_options o;
    o.connections = 1000;
    CLI::App app("The server's resident memory per open session waiting for its next command", argv[0]);
    app.add_option("--host", host, "the server (an IPv4 address or a name)")->capture_default_str();
    app.add_option("--port", port, "the server's port")->required()->check(CLI::Range(1, 65535));
    app.add_option("--pid", pid, "the server's process")->required()->check(CLI::PositiveNumber);
    app.add_option("--connections", o.connections, "sessions to open")
        ->capture_default_str()
        ->check(CLI::Range(2, 10000000));
    app.add_option("--service", service, "what the server speaks: pop3, smtp or echo")
        ->capture_default_str()
        ->check(CLI::IsMember({"pop3", "smtp", "echo"}));
    app.add_flag("--tls", o.tls, "implicit TLS");
    app.add_option("--sources", o.sources, "source addresses in 127.0.0.0/8")
        ->capture_default_str()
        ->check(CLI::Range(1, 16000000));
    app.add_option("--openers", openers, "sessions being opened at once (threads)")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    app.add_option("--warmup", warmup, "sessions opened before the baseline")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    if (const auto code = bench::parse_command_line(app, argc, argv)) {
        return *code;
    }
    warmup = std::min(warmup, o.connections - 1);
    const auto target = bench::server_endpoint(host, port);
    if (!target) {
        fmt::print(stderr, "{}: cannot find the server {}\n", argv[0], host);
        return 2;
    }
    o.target.sin_family = AF_INET;
    o.target.sin_port = htons(static_cast<std::uint16_t>(port));
    o.target.sin_addr.s_addr = htonl(target->address().to_v4().to_uint());
    o.talk = service == "pop3"   ? dialogue{"CAPA\r\n", true}
             : service == "smtp" ? dialogue{"EHLO bench.example.org\r\n", false}
                                 : dialogue{"hello\r\n", false};
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    if (static_cast<rlim_t>(o.connections) + 64 > limit.rlim_cur) {
        fmt::print(stderr, "{}: {} sessions need more descriptors than the limit, {} (ulimit -n)\n", argv[0],
                   o.connections, limit.rlim_cur);
        return 2;
    }
    if (o.tls) {
        bench::client_context();
    }
    const std::string server = std::to_string(pid);
    sessions all;
    all.open.reserve(static_cast<std::size_t>(o.connections));

    const long started_kib = rss_kib(server);
    run_options first = o;
    first.connections = warmup;
    open_all(first, all, 1);
    all.next = warmup;  // the opener's last look past the warmup counted one index
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const long baseline = rss_kib(server);
    const auto opening = std::chrono::steady_clock::now();
    open_all(o, all, openers);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - opening).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the server settle its buffers
    const long after = rss_kib(server);
    const long own = rss_kib("self");

    const std::size_t open = all.open.size();
    const int failed = all.failed.load();
    const std::size_t counted = open > static_cast<std::size_t>(warmup) ? open - static_cast<std::size_t>(warmup) : 0;
    const double per_session = counted == 0 ? 0.0 : static_cast<double>(after - baseline) * 1024.0 / counted;
    fmt::print(
        "idle {}{}: {} sessions open ({} failed) in {:.1f} s; server RSS {} KiB at start, {} KiB after {} "
        "sessions, {} KiB after all; {:.0f} bytes per session; this client's RSS {} KiB\n",
        service, o.tls ? " (TLS)" : "", open, failed, seconds, started_kib, baseline, warmup, after, per_session, own);
    fmt::print(R"({{"bench":"idle","service":"{}","tls":{},"sessions":{},"failed":{},"warmup":{},)"
               R"("rss_start_kib":{},"rss_before_kib":{},"rss_after_kib":{},"bytes_per_session":{:.0f},)"
               R"("open_seconds":{:.2f},"client_rss_kib":{}}})"
               "\n",
               service, o.tls, open, failed, warmup, started_kib, baseline, after, per_session, seconds, own);
    for (const int fd : all.open) {
        ::close(fd);
    }
    return failed == 0 ? 0 : 1;
}
