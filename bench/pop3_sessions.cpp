// POP3 sessions per second: each session connects (with --tls: implicit TLS, a full handshake, no resumption),
// reads the greeting, logs in with AUTH PLAIN, asks STAT, retrieves message 1 whole, says QUIT and waits for
// the server to close. A session's latency is all of that, connect to close. One blocking thread per client.
// Client i logs in as user{i % users}: a POP3 maildrop is locked for the length of a session, so concurrent
// clients need different users (a second session of the same user gets -ERR [IN-USE]). Client and server share
// the machine, so the figure includes the client's half of the work. bench/pop3.sh makes the users and their
// Maildirs, starts mailwrightd and runs this program.
//
//   mailwright-bench-pop3 --port 1110 [--seconds 10] [--concurrency 32] [--tls] [--users N]
//                         [--password secret] [--host 127.0.0.1]
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "line_client.hpp"

namespace {

constexpr std::size_t longest_line = 1024 * 1024;  // a runaway reply is a failure, not an unbounded string

struct options {
    std::string host = "127.0.0.1";
    int port = 0;
    int seconds = 10;
    int concurrency = 32;
    int users = 0;  // 0: as many as clients
    bool tls = false;
    std::string password = "secret";
};

std::string base64(std::string_view in) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const auto v = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16 |
                       static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8 |
                       static_cast<unsigned>(static_cast<unsigned char>(in[i + 2]));
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += alphabet[v >> 6 & 63];
        out += alphabet[v & 63];
    }
    if (i + 1 == in.size()) {
        const auto v = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16;
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        const auto v = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16 |
                       static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8;
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += alphabet[v >> 6 & 63];
        out += '=';
    }
    return out;
}

struct outcome {
    bool ok = false;
    std::string error;              // what went wrong, when not ok
    std::uint64_t retr_octets = 0;  // the message as RETR sent it: dot-stuffing undone, CRLF counted
    std::uint64_t stat_messages = 0;
    std::uint64_t stat_octets = 0;
};

outcome run_session(const options& o, int client, const std::string& auth_line) {
    outcome r;
    const int fd = bench::connect_loopback(o.host, o.port, client);
    if (fd < 0) {
        r.error = "connect failed";
        return r;
    }
    bench::connection c(fd, longest_line);
    if (o.tls && !c.handshake()) {
        r.error = "TLS handshake failed";
        return r;
    }
    std::string line;
    auto reply_ok = [&](std::string_view step) {
        if (!c.read_line(line)) {
            r.error = fmt::format("{}: connection closed or timed out", step);
            return false;
        }
        if (!line.starts_with("+OK")) {
            r.error = fmt::format("{}: {}", step, bench::without_line_end(line));
            return false;
        }
        return true;
    };
    auto command = [&](std::string_view step, std::string_view text) {
        if (!c.write(text)) {
            r.error = fmt::format("{}: write failed", step);
            return false;
        }
        return reply_ok(step);
    };
    if (!reply_ok("greeting") || !command("AUTH PLAIN", auth_line) || !command("STAT", "STAT\r\n")) {
        return r;
    }
    const std::string_view stat = bench::without_line_end(line);
    const char* p = stat.data() + 3;
    const char* const stat_end = stat.data() + stat.size();
    while (p < stat_end && *p == ' ') {
        ++p;
    }
    auto parsed = std::from_chars(p, stat_end, r.stat_messages);
    p = parsed.ptr;
    while (p < stat_end && *p == ' ') {
        ++p;
    }
    parsed = std::from_chars(p, stat_end, r.stat_octets);
    if (parsed.ec != std::errc{}) {
        r.error = fmt::format("STAT: cannot read \"{}\"", stat);
        return r;
    }
    if (!command("RETR 1", "RETR 1\r\n")) {
        return r;
    }
    for (;;) {
        if (!c.read_line(line)) {
            r.error = "RETR 1: connection closed or timed out before the final \".\"";
            return r;
        }
        if (line == ".\r\n") {
            break;
        }
        r.retr_octets += line.size() - (line.starts_with('.') ? 1 : 0);
    }
    if (!command("QUIT", "QUIT\r\n")) {
        return r;
    }
    // The server closes after QUIT. Waiting for that (not counted as a failure if it does not come) keeps this
    // client's next session from racing the end of this one, whose maildrop lock is being released.
    while (c.read_line(line)) {
    }
    r.ok = true;
    return r;
}

bool parse(int argc, char** argv, options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (flag == "--tls") {
            o.tls = true;
            continue;
        }
        if (i + 1 >= argc) {
            return false;
        }
        const char* value = argv[++i];
        if (flag == "--host") {
            o.host = value;
        } else if (flag == "--port") {
            o.port = std::atoi(value);
        } else if (flag == "--seconds") {
            o.seconds = std::atoi(value);
        } else if (flag == "--concurrency") {
            o.concurrency = std::atoi(value);
        } else if (flag == "--users") {
            o.users = std::atoi(value);
        } else if (flag == "--password") {
            o.password = value;
        } else {
            return false;
        }
    }
    if (o.users == 0) {
        o.users = o.concurrency;
    }
    return o.port > 0 && o.seconds > 0 && o.concurrency > 0 && o.users > 0;
}

}  // namespace

int bench::pop3_main(int argc, char** argv) {
    options o;
    if (!parse(argc, argv, o)) {
        fmt::print(stderr,
                   "usage: {} --port PORT [--seconds 10] [--concurrency 32] [--tls] [--users N] [--password secret] "
                   "[--host 127.0.0.1]\n",
                   argv[0]);
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);  // a server that closes early is a failed session, not a dead benchmark
    if (o.tls) {
        bench::client_context();
    }
    std::atomic<long> failures{0};
    std::atomic<long> size_mismatches{0};
    std::mutex mutex;
    std::vector<double> latencies_ms;
    std::string first_error;
    std::uint64_t retr_octets = 0;
    const auto start = std::chrono::steady_clock::now();
    const auto until = start + std::chrono::seconds(o.seconds);
    std::vector<std::thread> threads;
    for (int t = 0; t < o.concurrency; ++t) {
        threads.emplace_back([&, t] {
            std::string credentials;
            credentials += '\0';
            credentials += fmt::format("user{}", t % o.users);
            credentials += '\0';
            credentials += o.password;
            const std::string auth_line = "AUTH PLAIN " + base64(credentials) + "\r\n";
            std::vector<double> mine;
            std::string error;
            std::uint64_t octets = 0;
            while (std::chrono::steady_clock::now() < until) {
                const auto begun = std::chrono::steady_clock::now();
                const outcome r = run_session(o, t, auth_line);
                if (!r.ok) {
                    ++failures;
                    if (error.empty()) {
                        error = fmt::format("client {} (user{}): {}", t, t % o.users, r.error);
                    }
                    continue;
                }
                mine.push_back(
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begun).count());
                octets = r.retr_octets;
                if (r.stat_messages == 1 && r.stat_octets != r.retr_octets) {
                    ++size_mismatches;
                }
            }
            std::lock_guard lock(mutex);
            latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
            if (first_error.empty()) {
                first_error = error;
            }
            if (retr_octets == 0) {
                retr_octets = octets;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const long failed = failures.load();
    const auto sessions = static_cast<long>(latencies_ms.size());
    if (!first_error.empty()) {
        fmt::print(stderr, "pop3: {} failed sessions; the first: {}\n", failed, first_error);
    }
    if (size_mismatches.load() > 0) {
        fmt::print(stderr, "pop3: {} sessions where RETR 1 sent another size than STAT reported\n",
                   size_mismatches.load());
    }
    if (failed > sessions) {
        fmt::print(stderr, "pop3: more than half the sessions failed ({} of {}); no figures\n", failed,
                   failed + sessions);
        return 1;
    }
    std::sort(latencies_ms.begin(), latencies_ms.end());
    auto pct = [&](double p) {
        return latencies_ms.empty() ? 0.0 : latencies_ms[static_cast<std::size_t>(p * (latencies_ms.size() - 1))];
    };
    const double rate = static_cast<double>(sessions) / elapsed;
    fmt::print(
        "pop3 {}: {:.0f} sessions/s over {:.1f} s, {} clients, p50 {:.1f} ms, p99 {:.1f} ms, {} failed, "
        "RETR {} octets\n",
        o.tls ? "tls" : "plain", rate, elapsed, o.concurrency, pct(0.5), pct(0.99), failed, retr_octets);
    fmt::print(R"({{"bench":"pop3","tls":{},"sessions_per_second":{:.0f},"seconds":{:.3f},"concurrency":{},)"
               R"("p50_ms":{:.3f},"p99_ms":{:.3f},"failed":{},"retr_octets":{}}})"
               "\n",
               o.tls, rate, elapsed, o.concurrency, pct(0.5), pct(0.99), failed, retr_octets);
    return 0;
}
