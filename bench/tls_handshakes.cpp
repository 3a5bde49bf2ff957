// TLS handshakes per second against an implicit-TLS listener: each connection connects, completes a full
// handshake (no resumption), reads the greeting and closes. Client and server share the machine, so the
// figure includes the client's half of the work.
//
//   mailwright-bench-tls --port 7993 [--seconds 10] [--concurrency 4] [--host 127.0.0.1]
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "tls_client.hpp"

int bench::tls_main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = 0;
    int seconds = 10;
    int concurrency = 4;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--host") {
            host = argv[i + 1];
        } else if (flag == "--port") {
            port = std::atoi(argv[i + 1]);
        } else if (flag == "--seconds") {
            seconds = std::atoi(argv[i + 1]);
        } else if (flag == "--concurrency") {
            concurrency = std::atoi(argv[i + 1]);
        }
    }
    if (port <= 0 || seconds <= 0 || concurrency <= 0) {
        fmt::print(stderr, "usage: {} --port PORT [--seconds 10] [--concurrency 4] [--host 127.0.0.1]\n", argv[0]);
        return 2;
    }
    bench::client_context();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    std::atomic<long> failures{0};
    std::mutex mutex;
    std::vector<double> latencies_ms;
    std::string version;
    std::vector<std::thread> threads;
    for (int t = 0; t < concurrency; ++t) {
        threads.emplace_back([&, t] {
            std::vector<double> mine;
            std::string seen;
            for (int n = 0; std::chrono::steady_clock::now() < until; ++n) {
                const auto start = std::chrono::steady_clock::now();
                const int fd = bench::connect_loopback(host, port, t * 100000 + n);
                WOLFSSL* ssl = fd >= 0 ? bench::tls_session(fd) : nullptr;
                if (ssl == nullptr) {
                    ++failures;
                    continue;
                }
                if (seen.empty()) {
                    seen = std::string(wolfSSL_get_version(ssl)) + " " + wolfSSL_get_cipher_name(ssl);
                }
                wolfSSL_free(ssl);
                ::close(fd);
                mine.push_back(
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
            }
            std::lock_guard lock(mutex);
            latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
            if (version.empty()) {
                version = seen;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    std::sort(latencies_ms.begin(), latencies_ms.end());
    auto pct = [&](double p) {
        return latencies_ms.empty() ? 0.0 : latencies_ms[static_cast<std::size_t>(p * (latencies_ms.size() - 1))];
    };
    const double rate = static_cast<double>(latencies_ms.size()) / seconds;
    fmt::print(
        "tls: {:.0f} handshakes/s ({} in {} s, {} clients, {} failed), {}; latency p50 {:.2f} ms p99 {:.2f} ms\n", rate,
        latencies_ms.size(), seconds, concurrency, failures.load(), version, pct(0.5), pct(0.99));
    fmt::print(R"({{"bench":"tls","handshakes_per_s":{:.0f},"handshakes":{},"seconds":{},"concurrency":{},)"
               R"("failed":{},"negotiated":"{}","p50_ms":{:.3f},"p99_ms":{:.3f}}})"
               "\n",
               rate, latencies_ms.size(), seconds, concurrency, failures.load(), version, pct(0.5), pct(0.99));
    return failures.load() == 0 ? 0 : 1;
}
