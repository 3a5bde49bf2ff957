// POP3 sessions per second: each session connects (with --tls: implicit TLS, a full handshake, no resumption),
// reads the greeting, logs in with AUTH PLAIN, asks STAT, retrieves message 1 whole, says QUIT and waits for
// the server to close. A session's latency is all of that, connect to close. Each client is a coroutine
// (client.hpp) running session after session until the time is up; --threads threads run them all. Client i
// connects from 127.0.0.(1 + i % 250) and logs in as user{i % users}: a POP3 maildrop is locked for the length
// of a session, so concurrent clients need different users (a second session of the same user gets
// -ERR [IN-USE]). Client and server share the machine, so the figure includes the client's half of the work.
// Each client's first session is also reported apart (p50 and max): with a credentials cache those are the
// cold logins, one per user when there are as many users as clients. With --pid, the server's CPU time per
// session and its memory (proportional set size) at the end, both summed over the process and the processes
// below it, so a server made of many processes (Dovecot: a master, auth, a login and a pop3 process per
// session...) is measured whole. bench/pop3.sh and bench/peers.sh make the users and their Maildirs, start the
// server and run this program.
//
//   mailwright-bench pop3 --port 1110 [--seconds 10] [--concurrency 32] [--tls] [--users N]
//                         [--password secret] [--host 127.0.0.1] [--threads 1] [--pid SERVER_PID]
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client.hpp"
#include "commands.hpp"

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
    int threads = 1;  // running the io_context
    int pid = 0;      // the server's process, for its CPU time per session and its memory; 0: not measured
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

// One session's dialogue over `c`; `r` collects what it learns and what went wrong.
class session {
  public:
    session(bench::connection& c, outcome& r) : c_(c), r_(r) {}

    // Reads a reply; true when it is +OK.
    asio::awaitable<bool> reply_ok(std::string_view step) {
        const bool read = co_await c_.read_line(line);
        if (!read) {
            r_.error = fmt::format("{}: connection closed or timed out", step);
            co_return false;
        }
        if (!line.starts_with("+OK")) {
            r_.error = fmt::format("{}: {}", step, bench::without_line_end(line));
            co_return false;
        }
        co_return true;
    }

    asio::awaitable<bool> command(std::string_view step, std::string_view text) {
        const bool written = co_await c_.write(text);
        if (!written) {
            r_.error = fmt::format("{}: write failed", step);
            co_return false;
        }
        const bool ok = co_await reply_ok(step);
        co_return ok;
    }

    std::string line;  // the last line read

  private:
    bench::connection& c_;
    outcome& r_;
};

asio::awaitable<outcome> run_session(const options& o, const asio::ip::tcp::endpoint& target, int client,
                                     const std::string& auth_line, bench::clock::time_point give_up_at) {
    outcome r;
    const auto executor = co_await asio::this_coro::executor;
    bench::connection c(executor, longest_line, give_up_at);
    const bool connected = co_await c.connect(target, client);
    if (!connected) {
        r.error = "connect failed";
        co_return r;
    }
    if (o.tls) {
        const bool secured = co_await c.handshake();
        if (!secured) {
            r.error = "TLS handshake failed";
            co_return r;
        }
    }
    session s(c, r);
    bool ok = co_await s.reply_ok("greeting");
    if (ok) {
        ok = co_await s.command("AUTH PLAIN", auth_line);
    }
    if (ok) {
        ok = co_await s.command("STAT", "STAT\r\n");
    }
    if (!ok) {
        co_return r;
    }
    const std::string_view stat = bench::without_line_end(s.line);
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
        co_return r;
    }
    ok = co_await s.command("RETR 1", "RETR 1\r\n");
    if (!ok) {
        co_return r;
    }
    for (;;) {
        const bool read = co_await c.read_line(s.line);
        if (!read) {
            r.error = "RETR 1: connection closed or timed out before the final \".\"";
            co_return r;
        }
        if (s.line == ".\r\n") {
            break;
        }
        r.retr_octets += s.line.size() - (s.line.starts_with('.') ? 1 : 0);
    }
    ok = co_await s.command("QUIT", "QUIT\r\n");
    if (!ok) {
        co_return r;
    }
    // The server closes after QUIT. Waiting for that (not counted as a failure if it does not come) keeps this
    // client's next session from racing the end of this one, whose maildrop lock is being released.
    for (;;) {
        const bool read = co_await c.read_line(s.line);
        if (!read) {
            break;
        }
    }
    r.ok = true;
    co_return r;
}

// What the clients found, gathered as each finishes.
struct totals {
    std::atomic<long> failures{0};
    std::atomic<long> size_mismatches{0};
    std::mutex mutex;
    std::vector<double> latencies_ms;  // every session that succeeded
    std::vector<double> first_ms;      // each client's first session that succeeded (a cold cache's logins)
    std::string first_error;
    std::uint64_t retr_octets = 0;
};

// Client t: session after session until `until`.
asio::awaitable<void> client(const options& o, const asio::ip::tcp::endpoint& target, int t,
                             bench::clock::time_point until, totals& all) {
    std::string credentials;
    credentials += '\0';
    credentials += fmt::format("user{}", t % o.users);
    credentials += '\0';
    credentials += o.password;
    const std::string auth_line = "AUTH PLAIN " + base64(credentials) + "\r\n";
    const auto give_up_at = until + bench::io_timeout;
    std::vector<double> mine;
    std::string error;
    std::uint64_t octets = 0;
    std::optional<double> first;
    while (bench::clock::now() < until) {
        const auto begun = bench::clock::now();
        const outcome r = co_await run_session(o, target, t, auth_line, give_up_at);
        if (!r.ok) {
            ++all.failures;
            if (error.empty()) {
                error = fmt::format("client {} (user{}): {}", t, t % o.users, r.error);
            }
            continue;
        }
        mine.push_back(bench::milliseconds_since(begun));
        if (!first) {
            first = mine.back();
        }
        octets = r.retr_octets;
        if (r.stat_messages == 1 && r.stat_octets != r.retr_octets) {
            ++all.size_mismatches;
        }
    }
    std::lock_guard lock(all.mutex);
    all.latencies_ms.insert(all.latencies_ms.end(), mine.begin(), mine.end());
    if (first) {
        all.first_ms.push_back(*first);
    }
    if (all.first_error.empty()) {
        all.first_error = error;
    }
    if (all.retr_octets == 0) {
        all.retr_octets = octets;
    }
}

}  // namespace

int bench::pop3_main(int argc, char** argv) {
    options o;
    CLI::App app("POP3 sessions per second: connect, AUTH PLAIN, STAT, RETR 1, QUIT", argv[0]);
    bench::add_server_options(app, o.host, o.port, o.threads);
    app.add_option("--seconds", o.seconds, "how long to run")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--concurrency", o.concurrency, "sessions in flight")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_flag("--tls", o.tls, "implicit TLS, a full handshake per session");
    app.add_option("--users", o.users, "client i logs in as user{i % N} (default: one per client)")
        ->check(CLI::PositiveNumber);
    app.add_option("--password", o.password, "every user's password")->capture_default_str();
    app.add_option("--pid", o.pid,
                   "the server's process, for its CPU time per session and its memory (with the "
                   "processes below it)")
        ->check(CLI::PositiveNumber);
    if (const auto code = bench::parse_command_line(app, argc, argv)) {
        return *code;
    }
    if (o.users == 0) {
        o.users = o.concurrency;
    }
    const auto target = bench::server_endpoint(o.host, o.port);
    if (!target) {
        fmt::print(stderr, "{}: cannot find the server {}\n", argv[0], o.host);
        return 2;
    }
    if (o.tls) {
        bench::client_context();
    }
    totals all;
    asio::io_context io(o.threads);
    const double cpu_before = o.pid > 0 ? bench::process_cpu_seconds(o.pid) : -1;
    const auto start = bench::clock::now();
    const auto until = start + std::chrono::seconds(o.seconds);
    for (int t = 0; t < o.concurrency; ++t) {
        bench::spawn(io, client(o, *target, t, until, all));
    }
    bench::run(io, o.threads);
    const double elapsed = std::chrono::duration<double>(bench::clock::now() - start).count();
    const double cpu_after = o.pid > 0 ? bench::process_cpu_seconds(o.pid) : -1;
    const long pss_kib = o.pid > 0 ? bench::process_tree_pss_kib(o.pid) : -1;
    const long failed = all.failures.load();
    auto& latencies_ms = all.latencies_ms;
    const auto sessions = static_cast<long>(latencies_ms.size());
    if (!all.first_error.empty()) {
        fmt::print(stderr, "pop3: {} failed sessions; the first: {}\n", failed, all.first_error);
    }
    if (all.size_mismatches.load() > 0) {
        fmt::print(stderr, "pop3: {} sessions where RETR 1 sent another size than STAT reported\n",
                   all.size_mismatches.load());
    }
    if (failed > sessions) {
        fmt::print(stderr, "pop3: more than half the sessions failed ({} of {}); no figures\n", failed,
                   failed + sessions);
        return 1;
    }
    std::sort(latencies_ms.begin(), latencies_ms.end());
    std::sort(all.first_ms.begin(), all.first_ms.end());
    auto pct = [&](double p) { return bench::percentile(latencies_ms, p); };
    auto first_pct = [&](double p) { return bench::percentile(all.first_ms, p); };
    const double rate = static_cast<double>(sessions) / elapsed;
    // Microseconds of the server's CPU per session (its processes' utime and stime; 10 ms ticks, so a run should
    // give it a few seconds of CPU) and its memory at the end; left out when not measured.
    const double cpu_us = cpu_before >= 0 && cpu_after >= cpu_before && sessions > 0
                              ? (cpu_after - cpu_before) * 1e6 / static_cast<double>(sessions)
                              : -1;
    std::string server_text;
    std::string server_json;
    if (cpu_us >= 0) {
        server_text += fmt::format("; {:.0f} us of server CPU per session", cpu_us);
        server_json += fmt::format(R"(,"server_cpu_us_per_session":{:.1f})", cpu_us);
    }
    if (pss_kib >= 0) {
        server_text += fmt::format(", server PSS {} KiB", pss_kib);
        server_json += fmt::format(R"(,"server_pss_kib":{})", pss_kib);
    }
    // Each client's first session: the logins a cold credentials cache sees (one per user, all at once).
    fmt::print(
        "pop3 {}: {:.0f} sessions/s over {:.1f} s, {} clients, p50 {:.1f} ms, p99 {:.1f} ms, {} failed, "
        "RETR {} octets; first session of each client p50 {:.1f} ms, max {:.1f} ms{}\n",
        o.tls ? "tls" : "plain", rate, elapsed, o.concurrency, pct(0.5), pct(0.99), failed, all.retr_octets,
        first_pct(0.5), first_pct(1.0), server_text);
    fmt::print(R"({{"bench":"pop3","tls":{},"sessions_per_second":{:.0f},"seconds":{:.3f},"concurrency":{},)"
               R"("p50_ms":{:.3f},"p99_ms":{:.3f},"failed":{},"retr_octets":{},"first_p50_ms":{:.3f},)"
               R"("first_max_ms":{:.3f}{}}})"
               "\n",
               o.tls, rate, elapsed, o.concurrency, pct(0.5), pct(0.99), failed, all.retr_octets, first_pct(0.5),
               first_pct(1.0), server_json);
    return 0;
}
