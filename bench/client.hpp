// The load generator's client side, shared by the mailwright-bench subcommands: C++20 coroutines on standalone
// Asio, one io_context run by --threads threads, every simulated client a coroutine on a strand of its own. A
// connection is plaintext or TLS (wolfSSL in non-blocking mode over the socket's own descriptor: on WANT_READ or
// WANT_WRITE the coroutine waits for the socket to be ready and tries again) with a buffered line reader (one
// read per 16 KiB, memchr for the line end, a bounded longest line). Every wait for the server has a deadline,
// so a stuck server costs a failed session, never a hung program. The benchmark's own client code, not the
// server's (nothing from framework/), so it measures any POP3 or SMTP server alike.
#pragma once

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>
// clang-format on

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <asio.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace bench {

using clock = std::chrono::steady_clock;

// How long one wait for the server (connect, a read, room to write) may take before the session fails.
inline constexpr clock::duration io_timeout = std::chrono::seconds(30);

inline WOLFSSL_CTX* client_context() {
    static WOLFSSL_CTX* ctx = [] {
        wolfSSL_Init();
        WOLFSSL_CTX* c = wolfSSL_CTX_new(wolfTLS_client_method());
        wolfSSL_CTX_set_verify(c, WOLFSSL_VERIFY_NONE, nullptr);  // measuring, not trusting
        // Key shares as today's clients send them: X25519 first, P-256 beside it (wolfSSL's default would be
        // P-256 alone, three times the server's cost per handshake in Debian's build).
        int groups[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1};
        wolfSSL_CTX_set_groups(c, groups, 2);
        return c;
    }();
    return ctx;
}

inline std::string_view without_line_end(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.remove_suffix(1);
    }
    return line;
}

// The server's IPv4 address (the clients bind to 127.0.0.x), `host` a literal or a name; nullopt when it is
// neither or `port` is not a port.
inline std::optional<asio::ip::tcp::endpoint> server_endpoint(const std::string& host, int port) {
    if (port <= 0 || port > 65535) {
        return std::nullopt;
    }
    std::error_code ec;
    const auto address = asio::ip::make_address_v4(host, ec);
    if (!ec) {
        return asio::ip::tcp::endpoint(address, static_cast<std::uint16_t>(port));
    }
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    const auto found = resolver.resolve(asio::ip::tcp::v4(), host, std::to_string(port), ec);
    if (ec || found.empty()) {
        return std::nullopt;
    }
    return found.begin()->endpoint();
}

// The options of every subcommand: where the server is and how many threads run the clients. `port` is
// required; every number must be positive.
inline void add_server_options(CLI::App& app, std::string& host, int& port, int& threads) {
    app.add_option("--host", host, "the server (a name or an IPv4 address)")->capture_default_str();
    app.add_option("--port", port, "the server's port")->required()->check(CLI::Range(1, 65535));
    app.add_option("--threads", threads, "threads running the clients")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
}

// Parses a subcommand's command line (CLI11, as mailwrightd's). nullopt: go on; otherwise the exit code, after
// CLI11 has printed the help (0) or what is wrong with the command line (2).
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
        return std::nullopt;
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
}

// Starts `client` on a strand of its own. An exception escaping a client (there should be none: every I/O
// failure is a result) is not swallowed: it leaves io_context::run and ends the program.
template <typename Awaitable>
void spawn(asio::io_context& io, Awaitable client) {
    asio::co_spawn(asio::make_strand(io), std::move(client), [](std::exception_ptr e) {
        if (e) {
            std::rethrow_exception(e);
        }
    });
}

// Runs `io` on `threads` threads, the calling one among them, until every client has finished.
inline void run(asio::io_context& io, int threads) {
    std::vector<std::thread> others;
    for (int i = 1; i < threads; ++i) {
        others.emplace_back([&io] {
            io.run();
#ifdef FP_ECC
            wc_ecc_fp_free();  // wolfSSL's per-thread ECC point cache (Debian builds FP_ECC), else lost at exit
#endif
        });
    }
    io.run();
    for (auto& t : others) {
        t.join();
    }
}

// One process's line of /proc/PID/stat: its parent and its CPU times in clock ticks.
struct process_stat {
    int ppid = 0;
    long own_ticks = 0;       // utime + stime (all of its threads)
    long children_ticks = 0;  // cutime + cstime: its children that have ended and been waited for
};

inline std::optional<process_stat> read_process_stat(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');  // the command name may hold spaces; the fields follow its ')'
    if (paren == std::string::npos || paren + 2 > text.size()) {
        return std::nullopt;
    }
    std::istringstream fields(text.substr(paren + 2));
    std::string field;
    process_stat s;
    long ticks[4] = {-1, -1, -1, -1};                   // fields 14 to 17: utime, stime, cutime, cstime
    for (int n = 3; n <= 17 && fields >> field; ++n) {  // field 3 is the state, 4 the parent
        if (n == 4) {
            s.ppid = std::atoi(field.c_str());
        } else if (n >= 14) {
            ticks[n - 14] = std::atol(field.c_str());
        }
    }
    if (std::any_of(std::begin(ticks), std::end(ticks), [](long t) { return t < 0; })) {
        return std::nullopt;
    }
    s.own_ticks = ticks[0] + ticks[1];
    s.children_ticks = ticks[2] + ticks[3];
    return s;
}

// `pid` and every process below it (children, their children...), found by scanning /proc for parents: a server
// such as Dovecot is a master with a process per service and per session.
inline std::vector<int> process_tree(int pid) {
    std::vector<std::pair<int, int>> parent_of;  // (pid, ppid) of every process
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            continue;
        }
        const int p = std::atoi(name.c_str());
        if (const auto s = read_process_stat(p)) {
            parent_of.emplace_back(p, s->ppid);
        }
    }
    std::vector<int> tree{pid};
    for (std::size_t i = 0; i < tree.size(); ++i) {  // breadth first; each process has one parent, so no repeats
        for (const auto& [p, ppid] : parent_of) {
            if (ppid == tree[i]) {
                tree.push_back(p);
            }
        }
    }
    return tree;
}

// The CPU time process `pid` and the processes below it have used, in seconds: each live one's own time and
// that of its children that ended (a session process that exited and was reaped is in its parent's cutime and
// cstime, so nothing is counted twice or lost); a negative number when `pid` cannot be read.
inline double process_cpu_seconds(int pid) {
    if (!read_process_stat(pid)) {
        return -1;
    }
    long ticks = 0;
    for (const int p : process_tree(pid)) {
        if (const auto s = read_process_stat(p)) {
            ticks += s->own_ticks + s->children_ticks;
        }
    }
    return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// How long the threads of process `pid` and of the processes below it have waited to run while runnable (the
// second field of /proc/PID/task/TID/schedstat), in seconds; a negative number when `pid` cannot be read. Over a
// run, divided by the messages, it says how much of a latency is the scheduler's: a thread that was woken up
// (a reply to write, a lock released) but found every core busy.
inline double process_runqueue_wait_seconds(int pid) {
    if (!read_process_stat(pid)) {
        return -1;
    }
    long double ns = 0;
    for (const int p : process_tree(pid)) {
        std::error_code ec;
        for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(p) + "/task", ec)) {
            std::ifstream in(task.path() / "schedstat");
            unsigned long long running = 0;
            unsigned long long waiting = 0;
            if (in >> running >> waiting) {
                ns += static_cast<long double>(waiting);
            }
        }
    }
    return static_cast<double>(ns / 1e9L);
}

// The memory of process `pid` and the processes below it, in KiB: the sum of their proportional set sizes (Pss
// of /proc/PID/smaps_rollup: a page shared by n of them counts 1/n in each, so shared libraries are not counted
// once per process as RSS would); a negative number when `pid` cannot be read.
inline long process_tree_pss_kib(int pid) {
    long total = -1;
    for (const int p : process_tree(pid)) {
        std::ifstream in("/proc/" + std::to_string(p) + "/smaps_rollup");
        std::string key;
        long kib = 0;
        while (in >> key) {
            if (key == "Pss:") {
                in >> kib;
                total = std::max(total, 0L) + kib;
                break;
            }
            in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
        }
    }
    return total;
}

// One client connection, plain or TLS, with a buffered line reader. Used by one coroutine at a time, on the
// executor (a strand) it was made with.
class connection {
  public:
    // `longest_line`: a reply line longer than this is a failure, not an unbounded string. `give_up_at`: no wait
    // for the server lasts past it (the run's end plus io_timeout, so a server that trickles bytes cannot keep
    // the program running either). `buffer_size`: octets per read.
    connection(const asio::any_io_executor& executor, std::size_t longest_line,
               clock::time_point give_up_at = clock::time_point::max(), std::size_t buffer_size = 16 * 1024)
        : socket_(executor),
          timer_(executor),
          longest_line_(longest_line),
          give_up_at_(give_up_at),
          buffer_(buffer_size) {}
    ~connection() {
        if (ssl_ != nullptr) {
            wolfSSL_free(ssl_);
        }
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Connects to `target` from 127.0.0.(1 + index % 250), so neither per-address limits nor ephemeral ports
    // interfere. IP_BIND_ADDRESS_NO_PORT leaves the choice of the port to connect().
    asio::awaitable<bool> connect(asio::ip::tcp::endpoint target, int index) {
        std::error_code ec;
        socket_.open(asio::ip::tcp::v4(), ec);
        if (ec) {
            co_return false;
        }
        const int one = 1;
        ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        const asio::ip::address_v4 source(0x7f000001u + static_cast<unsigned>(index % 250));
        const asio::ip::tcp::endpoint from(source, 0);
        socket_.bind(from, ec);
        socket_.set_option(asio::ip::tcp::no_delay(true), ec);
        socket_.non_blocking(true, ec);  // wolfSSL and the plaintext path use the descriptor directly
        if (ec) {
            co_return false;
        }
        auto start = [this, target](auto token) { return socket_.async_connect(target, token); };
        const bool connected = co_await within_deadline(start);
        co_return connected;
    }

    // A full TLS handshake (no resumption) as the client.
    asio::awaitable<bool> handshake() {
        ssl_ = wolfSSL_new(client_context());
        if (ssl_ == nullptr || wolfSSL_set_fd(ssl_, socket_.native_handle()) != WOLFSSL_SUCCESS) {
            co_return false;
        }
        for (;;) {
            const int r = wolfSSL_connect(ssl_);
            if (r == WOLFSSL_SUCCESS) {
                co_return true;
            }
            const bool ready = co_await wait_for_tls(r);
            if (!ready) {
                co_return false;
            }
        }
    }

    asio::awaitable<bool> write(std::string_view data) {
        while (!data.empty()) {
            if (ssl_ != nullptr) {
                // After WANT_WRITE wolfSSL wants the same buffer again; it returns the whole size once done.
                const int n = wolfSSL_write(ssl_, data.data(), static_cast<int>(data.size()));
                if (n > 0) {
                    data.remove_prefix(static_cast<std::size_t>(n));
                    continue;
                }
                const bool ready = co_await wait_for_tls(n);
                if (!ready) {
                    co_return false;
                }
                continue;
            }
            const long n = ::send(socket_.native_handle(), data.data(), data.size(), MSG_NOSIGNAL);
            if (n > 0) {
                data.remove_prefix(static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                co_return false;
            }
            const bool ready = co_await wait(asio::ip::tcp::socket::wait_write);
            if (!ready) {
                co_return false;
            }
        }
        co_return true;
    }

    // One line with its line end into `line`; false at end of stream, on an error or timeout, or past the
    // longest line.
    asio::awaitable<bool> read_line(std::string& line) {
        line.clear();
        for (;;) {
            const char* begin = buffer_.data() + begin_;
            const char* end = buffer_.data() + end_;
            const auto* lf = static_cast<const char*>(std::memchr(begin, '\n', static_cast<std::size_t>(end - begin)));
            if (lf != nullptr) {
                line.append(begin, lf + 1);
                begin_ += static_cast<std::size_t>(lf + 1 - begin);
                co_return true;
            }
            line.append(begin, end);
            begin_ = end_ = 0;
            if (line.size() > longest_line_) {
                co_return false;
            }
            const bool filled = co_await fill();
            if (!filled) {
                co_return false;
            }
        }
    }

    // Reads whatever the server sends next (a greeting, say) and forgets it; false at end of stream, on an
    // error or a timeout.
    asio::awaitable<bool> receive() {
        const bool filled = co_await fill();
        begin_ = end_ = 0;
        co_return filled;
    }

    // The TLS session, null before handshake().
    WOLFSSL* ssl() const noexcept { return ssl_; }

  private:
    // One read into the (empty) buffer.
    asio::awaitable<bool> fill() {
        for (;;) {
            if (ssl_ != nullptr) {
                const int n = wolfSSL_read(ssl_, buffer_.data(), static_cast<int>(buffer_.size()));
                if (n > 0) {
                    end_ = static_cast<std::size_t>(n);
                    co_return true;
                }
                const bool ready = co_await wait_for_tls(n);
                if (!ready) {
                    co_return false;
                }
                continue;
            }
            const long n = ::recv(socket_.native_handle(), buffer_.data(), buffer_.size(), 0);
            if (n > 0) {
                end_ = static_cast<std::size_t>(n);
                co_return true;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                co_return false;
            }
            const bool ready = co_await wait(asio::ip::tcp::socket::wait_read);
            if (!ready) {
                co_return false;
            }
        }
    }

    // After a wolfSSL call returned `result`: waits for what it wants (readable or writable); false when it
    // failed for another reason, or the wait did.
    asio::awaitable<bool> wait_for_tls(int result) {
        const int error = wolfSSL_get_error(ssl_, result);
        if (error != WOLFSSL_ERROR_WANT_READ && error != WOLFSSL_ERROR_WANT_WRITE) {
            co_return false;
        }
        const auto type =
            error == WOLFSSL_ERROR_WANT_READ ? asio::ip::tcp::socket::wait_read : asio::ip::tcp::socket::wait_write;
        const bool ready = co_await wait(type);
        co_return ready;
    }

    asio::awaitable<bool> wait(asio::ip::tcp::socket::wait_type type) {
        auto start = [this, type](auto token) { return socket_.async_wait(type, token); };
        const bool ready = co_await within_deadline(start);
        co_return ready;
    }

    // Starts `start(token)` and a timer for the deadline, and waits for the first of them; the other is
    // cancelled, and both have finished before this returns. True when the operation finished first, without
    // an error.
    template <typename Start>
    asio::awaitable<bool> within_deadline(Start start) {
        timer_.expires_at(std::min(clock::now() + io_timeout, give_up_at_));
        auto expire = [this](auto token) { return timer_.async_wait(token); };
        auto group = asio::experimental::make_parallel_group(start, expire);
        const asio::experimental::wait_for_one first;
        const auto result = co_await group.async_wait(first, asio::use_awaitable);
        co_return std::get<0>(result)[0] == 0 && !std::get<1>(result);
    }

    asio::ip::tcp::socket socket_;
    asio::steady_timer timer_;
    std::size_t longest_line_;
    clock::time_point give_up_at_;
    WOLFSSL* ssl_ = nullptr;
    std::vector<char> buffer_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

// Latency percentile `p` (0 to 1) of sorted milliseconds; 0 when there are none.
inline double percentile(const std::vector<double>& sorted_ms, double p) {
    return sorted_ms.empty() ? 0.0 : sorted_ms[static_cast<std::size_t>(p * static_cast<double>(sorted_ms.size() - 1))];
}

inline double milliseconds_since(clock::time_point start) {
    return std::chrono::duration<double, std::milli>(clock::now() - start).count();
}

}  // namespace bench
