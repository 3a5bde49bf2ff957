// Opens N connections to a server, waits for each greeting (so the server really holds a session for each),
// and prints how much the server's resident memory grew per connection, read from /proc/PID/status once all
// of them are open.
//
//   mailwright-bench idle --port 7007 --pid $(pidof mailwrightd) --connections 10000 [--tls] [--host 127.0.0.1]
//                         [--threads 1]
//
// A few coroutines (client.hpp) open the sessions, 32 at a time, on --threads threads; an open session is then
// only its socket (and its TLS state), held without a coroutine or a thread of its own until the figure is
// taken. Source addresses rotate over 127.0.0.1-127.0.0.250 so that neither the per-address limit nor the
// ephemeral port range is what is being measured. With --tls each session first completes a TLS handshake
// (an implicit-TLS listener), so the figure includes the server's TLS state.
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client.hpp"
#include "commands.hpp"

namespace {

constexpr int openers = 32;  // sessions being opened at once

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

// The sessions opened so far, and the next one to open.
struct sessions {
    std::atomic<int> next{0};
    std::atomic<int> failed{0};
    std::mutex mutex;
    std::vector<std::unique_ptr<bench::connection>> open;
};

// Opens session after session (connect, TLS handshake with --tls, greeting) until `connections` are done.
asio::awaitable<void> opener(const asio::ip::tcp::endpoint& target, int connections, bool tls, sessions& all) {
    const auto executor = co_await asio::this_coro::executor;
    for (int i = all.next++; i < connections; i = all.next++) {
        auto c = std::make_unique<bench::connection>(executor, 0, bench::clock::time_point::max(), 512);
        bool ok = co_await c->connect(target, i);
        if (ok && tls) {
            ok = co_await c->handshake();
        }
        if (ok) {
            ok = co_await c->receive();  // the greeting
        }
        if (!ok) {
            ++all.failed;
            continue;
        }
        std::lock_guard lock(all.mutex);
        all.open.push_back(std::move(c));
    }
}

}  // namespace

int bench::idle_main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = 0;
    int pid = 0;
    int connections = 1000;
    int threads = 1;
    bool tls = false;
    CLI::App app("The server's resident memory per open, idle session", argv[0]);
    bench::add_server_options(app, host, port, threads);
    app.add_option("--pid", pid, "the server's process")->required()->check(CLI::PositiveNumber);
    app.add_option("--connections", connections, "sessions to open")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_flag("--tls", tls, "implicit TLS");
    if (const auto code = bench::parse_command_line(app, argc, argv)) {
        return *code;
    }
    const auto target = bench::server_endpoint(host, port);
    if (!target) {
        fmt::print(stderr, "{}: cannot find the server {}\n", argv[0], host);
        return 2;
    }
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    if (tls) {
        bench::client_context();
    }

    asio::io_context io(threads);
    sessions all;  // destroyed (every session closed) before the io_context
    all.open.reserve(static_cast<std::size_t>(connections));
    const long before = rss_kib(pid);
    for (int k = 0; k < std::min(openers, connections); ++k) {
        bench::spawn(io, opener(*target, connections, tls, all));
    }
    bench::run(io, threads);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the server settle its buffers
    const long after = rss_kib(pid);
    const std::size_t open = all.open.size();
    const int failed = all.failed.load();
    const double per_connection = open == 0 ? 0.0 : static_cast<double>(after - before) * 1024.0 / open;
    fmt::print("idle{}: {} sessions open ({} failed); server RSS {} KiB -> {} KiB; {:.0f} bytes per session\n",
               tls ? " (TLS)" : "", open, failed, before, after, per_connection);
    fmt::print(R"({{"bench":"idle","tls":{},"sessions":{},"failed":{},"rss_before_kib":{},"rss_after_kib":{},)"
               R"("bytes_per_session":{:.0f}}})"
               "\n",
               tls, open, failed, before, after, per_connection);
    return failed == 0 ? 0 : 1;
}
