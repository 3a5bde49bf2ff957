// How many rate-limit decisions a second the ratelimit plugin's engine makes (plugins/ratelimit/limiter.hpp),
// with 1 and 2 threads: each decision hashes the key and updates two buckets (client and sender) with a
// compare-exchange. "spread": every thread cycles through its own 4096 clients; "one key": all threads hit the
// same two buckets, the worst case for the lock-free table (every take contends for one cache line).
//   mailwright-bench-ratelimit [--seconds 2]
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "limiter.hpp"

using namespace mailwright::ratelimit;
using clock_type = std::chrono::steady_clock;

namespace {

double run(limiter& l, int threads, bool spread, std::chrono::duration<double> length) {
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> total{0};
    const auto start = clock_type::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            std::vector<std::string> clients;
            for (int i = 0; i < 4096; ++i) {
                clients.push_back(spread ? fmt::format("10.{}.{}.{}", t, i / 256, i % 256) : "192.0.2.1");
            }
            std::uint64_t done = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                for (const auto& c : clients) {
                    const subject who{c, {}, "sender@example.org"};
                    l.take(counted::messages, who, clock_type::now() - start);
                }
                done += clients.size();
            }
            total += done;
        });
    }
    std::this_thread::sleep_for(length);
    stop = true;
    for (auto& w : workers) {
        w.join();
    }
    return static_cast<double>(total.load()) / std::chrono::duration<double>(clock_type::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 2;
    if (argc == 3 && std::string(argv[1]) == "--seconds") {
        seconds = std::stod(argv[2]);
    }
    rules r;
    r.at(counted::messages, scope::client) = rate{100, std::chrono::seconds(1)};
    r.at(counted::messages, scope::sender) = rate{1000, std::chrono::seconds(1)};
    std::string json = "{\"bench\":\"ratelimit\"";
    for (const bool spread : {true, false}) {
        for (const int threads : {1, 2}) {
            limiter l(r, hash_key{0x1234, 0x5678});
            const double rate_per_s = run(l, threads, spread, std::chrono::duration<double>(seconds));
            const char* name = spread ? "spread" : "one key";
            fmt::print("{:8} {} thread(s): {:>12.0f} decisions/s\n", name, threads, rate_per_s);
            json += fmt::format(",\"{}_{}t\":{:.0f}", spread ? "spread" : "one_key", threads, rate_per_s);
        }
    }
    fmt::print("{}}}\n", json);
    return 0;
}
