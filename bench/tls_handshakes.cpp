// TLS handshakes per second against an implicit-TLS listener: each connection connects, completes a full
// handshake (no resumption), reads the greeting and closes. Each client is a coroutine (client.hpp), handshake
// after handshake until the time is up; --threads threads run them all. Client and server share the machine, so
// the figure includes the client's half of the work.
//
// With --pid, the server's own CPU time over the run (utime + stime of /proc/PID/stat, summed over the process
// and the processes below it: client.hpp's process_cpu_seconds) gives its handshakes per CPU-second: the figure
// to hold against wolfSSL's server side in memory (mailwright-bench-wolfssl), since on a shared machine the
// wall-clock rate depends on what the client costs; without --pid that figure is left out of the output. --plain does
// the same against a plaintext listener without the handshake (connect, greeting, close): what the TCP connection and
// the session cost the server by themselves, the part of a handshake over the network that wolfSSL in memory never
// pays.
//
//   mailwright-bench tls --port 7993 [--seconds 10] [--concurrency 4] [--host 127.0.0.1] [--threads 1]
//                        [--pid SERVER_PID] [--plain]
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "client.hpp"
#include "commands.hpp"

namespace {

// What the clients found, gathered as each finishes.
struct totals {
    std::atomic<long> failures{0};
    std::mutex mutex;
    std::vector<double> latencies_ms;
    std::string version;
};

// Client t: handshake after handshake until `until`.
asio::awaitable<void> client(const asio::ip::tcp::endpoint& target, int t, bench::clock::time_point until, bool plain,
                             totals& all) {
    const auto executor = co_await asio::this_coro::executor;
    const auto give_up_at = until + bench::io_timeout;
    std::vector<double> mine;
    std::string seen;
    for (int n = 0; bench::clock::now() < until; ++n) {
        const auto start = bench::clock::now();
        bool ok = false;
        {
            bench::connection c(executor, 0, give_up_at, 512);
            ok = co_await c.connect(target, t * 100000 + n);
            if (ok && !plain) {
                ok = co_await c.handshake();
            }
            if (ok) {
                ok = co_await c.receive();  // the greeting
            }
            if (ok && !plain && seen.empty()) {
                seen = std::string(wolfSSL_get_version(c.ssl())) + " " + wolfSSL_get_cipher_name(c.ssl());
            }
        }  // closed: the close is part of the latency
        if (!ok) {
            ++all.failures;
            continue;
        }
        mine.push_back(bench::milliseconds_since(start));
    }
    std::lock_guard lock(all.mutex);
    all.latencies_ms.insert(all.latencies_ms.end(), mine.begin(), mine.end());
    if (all.version.empty()) {
        all.version = seen;
    }
}

}  // namespace

int bench::tls_main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = 0;
    int seconds = 10;
    int concurrency = 4;
    int threads = 1;
    int pid = 0;
    bool plain = false;
    CLI::App app("TLS handshakes per second against an implicit-TLS listener", argv[0]);
    bench::add_server_options(app, host, port, threads);
    app.add_option("--seconds", seconds, "how long to run")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--concurrency", concurrency, "clients in flight")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--pid", pid, "the server's process, for its handshakes per CPU-second")->check(CLI::PositiveNumber);
    app.add_flag("--plain", plain, "a plaintext listener: connect, read the greeting, close; no handshake");
    if (const auto code = bench::parse_command_line(app, argc, argv)) {
        return *code;
    }
    const auto target = bench::server_endpoint(host, port);
    if (!target) {
        fmt::print(stderr, "{}: cannot find the server {}\n", argv[0], host);
        return 2;
    }
    bench::client_context();
    totals all;
    asio::io_context io(threads);
    const double cpu_before = pid > 0 ? bench::process_cpu_seconds(pid) : -1;
    const auto until = bench::clock::now() + std::chrono::seconds(seconds);
    for (int t = 0; t < concurrency; ++t) {
        bench::spawn(io, client(*target, t, until, plain, all));
    }
    bench::run(io, threads);
    const double cpu_after = pid > 0 ? bench::process_cpu_seconds(pid) : -1;
    auto& latencies_ms = all.latencies_ms;
    std::sort(latencies_ms.begin(), latencies_ms.end());
    auto pct = [&](double p) { return bench::percentile(latencies_ms, p); };
    const double rate = static_cast<double>(latencies_ms.size()) / seconds;
    // Handshakes per CPU-second of the server (0: not measured).
    const double per_cpu = cpu_before >= 0 && cpu_after > cpu_before
                               ? static_cast<double>(latencies_ms.size()) / (cpu_after - cpu_before)
                               : 0.0;
    const char* what = plain ? "connections" : "handshakes";
    if (plain) {
        all.version = "plaintext";
    }
    fmt::print("tls: {:.0f} {}/s ({} in {} s, {} clients, {} failed), {}; latency p50 {:.2f} ms p99 {:.2f} ms{}\n",
               rate, what, latencies_ms.size(), seconds, concurrency, all.failures.load(), all.version, pct(0.5),
               pct(0.99), per_cpu > 0 ? fmt::format("; {:.0f} {} per CPU-second of the server", per_cpu, what) : "");
    // Without --pid (or when the server's CPU time could not be read) the per-CPU figure is left out, not 0.
    fmt::print(R"({{"bench":"tls","plain":{},"handshakes_per_s":{:.0f},"handshakes":{},"seconds":{},"concurrency":{},)"
               R"("failed":{},"negotiated":"{}","p50_ms":{:.3f},"p99_ms":{:.3f}{}}})"
               "\n",
               plain, rate, latencies_ms.size(), seconds, concurrency, all.failures.load(), all.version, pct(0.5),
               pct(0.99), per_cpu > 0 ? fmt::format(R"(,"server_handshakes_per_cpu_second":{:.1f})", per_cpu) : "");
    return all.failures.load() == 0 ? 0 : 1;
}
