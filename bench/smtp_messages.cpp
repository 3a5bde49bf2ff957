// SMTP messages per second: each message is MAIL FROM, RCPT TO, DATA, the text (RFC 5322 headers and lines of
// about 70 characters, exactly --size octets before the final ".") and the final ".", and counts only when the
// server answers the final "." with 250. By default every message has a connection of its own (connect, with
// --tls a full implicit-TLS handshake without resumption, greeting, EHLO, the message, QUIT, and a wait for the
// server to close); with --reuse a connection carries message after message, back to back without RSET, until
// the time is up. With --pipeline MAIL, RCPT and DATA go in one write and their three replies are read after
// (RFC 2920); otherwise each command waits for its reply. A message's latency runs from MAIL to the 250 after
// the final "." and, without --reuse, from the connect. Each client is a coroutine (client.hpp); --threads
// threads run them all. Client i connects from 127.0.0.(1 + i % 250). Client and server share the machine, so
// the figure includes the client's half of the work. With --pid, the server's own CPU time over the run
// (utime + stime of /proc/PID/stat) divided by the messages accepted: the steadier figure on a shared machine,
// where the rate also depends on what the client costs (summed over the process and the processes below it),
// and how long its threads waited for a core per message (/proc/PID/task/TID/schedstat): the scheduler's share
// of the latency when client and server share the cores.
// With --rate the clients are paced instead of running flat out: client i's messages are due every
// concurrency/rate seconds, the clients staggered, and a message's latency runs from when it was due (so a
// server that stalls is charged for the messages that waited behind the stall, not only the one it held; with
// --reuse a connection's first message also carries its connect and EHLO). That is the latency of a given load,
// the figure to compare with and without other work on the server (bench/pop3.sh --mixed). bench/smtp.sh and
// bench/filters.sh start mailwrightd and run this program.
//
//   mailwright-bench smtp --port 2525 [--seconds 10] [--concurrency 16] [--size 1024] [--tls] [--reuse]
//                         [--pipeline] [--to bench@example.org] [--from sender@remote.example] [--host 127.0.0.1]
//                         [--threads 1] [--pid SERVER_PID] [--rate MESSAGES_PER_SECOND]
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
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

constexpr std::size_t longest_line = 64 * 1024;  // a runaway reply is a failure, not an unbounded string
constexpr std::size_t text_line = 72;            // octets of a body line, CRLF included: 70 characters

struct options {
    std::string host = "127.0.0.1";
    int port = 0;
    int seconds = 10;
    int concurrency = 16;
    long size = 1024;
    bool tls = false;
    bool reuse = false;
    bool pipeline = false;
    std::string to = "bench@example.org";
    std::string from = "sender@remote.example";
    int threads = 1;  // running the io_context
    int pid = 0;      // the server's process, for its CPU time per message; 0: not measured
    double rate = 0;  // messages per second from all clients together; 0: each client as fast as it can
};

struct message_text {
    std::string text;
    std::size_t id_at = 0;
};

std::optional<message_text> make_message(const options& o) {
    std::string header = fmt::format(
        "From: SMTP Bench <{}>\r\n"
        "To: <{}>\r\n"
        "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        "Message-ID: <0000000000000000@remote.example>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "Subject: SMTP benchmark message",
        o.from, o.to);
    const std::size_t id_at = header.find("<0000000000000000@") + 1;
    // The header ends with CRLF and the empty line; a body line needs at least its CRLF, so a single octet left
    // over goes into the Subject.
    if (o.size < 0 || static_cast<std::size_t>(o.size) < header.size() + 4) {
        return std::nullopt;
    }
    if (static_cast<std::size_t>(o.size) - header.size() - 4 == 1) {
        header += '.';
    }
    header += "\r\n\r\n";
    std::string text = header;
    text.reserve(static_cast<std::size_t>(o.size) + 3);
    static constexpr std::string_view filler =
        "The quick brown fox jumps over the lazy dog, and the dog does not mind. "
        "The quick brown fox jumps over the lazy dog, and the dog does not mind. ";
    for (std::size_t n = 1; text.size() < static_cast<std::size_t>(o.size); ++n) {
        const std::size_t left = static_cast<std::size_t>(o.size) - text.size();
        // Never leave a single octet, which no line can be.
        const std::size_t octets = left <= text_line ? left : (left == text_line + 1 ? text_line - 1 : text_line);
        // The line number first: no line starts with a dot.
        std::string line = fmt::format("{:05} {}", n % 100000, filler.substr((n - 1) % 72));
        line.resize(octets - 2);
        text += line;
        text += "\r\n";
    }
    text += ".\r\n";
    return message_text{std::move(text), id_at};
}

// A whole reply, multi-line ones included (RFC 5321 4.2.1: "250-" continues, "250 " ends). Its code into
// `code` (0 when the reply is malformed), its last line, without the line end, into `text`; false when the
// connection ends or times out first.
asio::awaitable<bool> read_reply(bench::connection& c, int& code, std::string& text) {
    std::string line;
    for (;;) {
        const bool read = co_await c.read_line(line);
        if (!read) {
            co_return false;
        }
        const std::string_view l = bench::without_line_end(line);
        if (l.size() >= 4 && l[3] == '-') {
            continue;
        }
        code = l.size() >= 3 && std::all_of(l.begin(), l.begin() + 3, [](char ch) { return ch >= '0' && ch <= '9'; })
                   ? (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0')
                   : 0;
        text = std::string(l);
        co_return true;
    }
}

// One client's dialogue. A step that fails leaves `error` set and the connection to be dropped: its state is
// then unknown, so the next message starts a new one.
class client {
  public:
    client(const options& o, const asio::ip::tcp::endpoint& target, int index, message_text message,
           bench::clock::time_point give_up_at)
        : o_(o),
          target_(target),
          index_(index),
          give_up_at_(give_up_at),
          message_(std::move(message)),
          mail_(fmt::format("MAIL FROM:<{}>\r\n", o.from)),
          rcpt_(fmt::format("RCPT TO:<{}>\r\n", o.to)),
          envelope_(mail_ + rcpt_ + "DATA\r\n") {}

    // Connect (and handshake), greeting, EHLO.
    asio::awaitable<bool> open() {
        const auto executor = co_await asio::this_coro::executor;
        c_.emplace(executor, longest_line, give_up_at_);
        const bool connected = co_await c_->connect(target_, index_);
        if (!connected) {
            error = "connect failed";
            c_.reset();
            co_return false;
        }
        if (o_.tls) {
            const bool secured = co_await c_->handshake();
            if (!secured) {
                co_return fail("TLS handshake failed");
            }
        }
        const bool greeted = co_await expect("greeting", 220);
        if (!greeted) {
            co_return false;
        }
        const bool ok = co_await command("EHLO", "EHLO bench.remote.example\r\n", 250);
        co_return ok;
    }

    // One transaction; true when the final "." was answered with 250.
    asio::awaitable<bool> send_message() {
        if (o_.pipeline) {
            const bool written = co_await c_->write(envelope_);
            if (!written) {
                co_return fail("MAIL, RCPT, DATA: write failed");
            }
            // All three replies are read, whatever they say, so the dialogue stays in step.
            const bool mail = co_await expect("MAIL", 250);
            bool rcpt = false;
            if (mail) {
                rcpt = co_await expect("RCPT", 250);
            } else if (c_.has_value()) {
                rcpt = co_await expect("RCPT", -1);
            }
            bool data = false;
            if (mail && rcpt) {
                data = co_await expect("DATA", 354);
            } else if (c_.has_value()) {
                data = co_await expect("DATA", -1);
            }
            if (!mail || !rcpt || !data) {
                co_return false;
            }
        } else {
            bool ok = co_await command("MAIL", mail_, 250);
            if (ok) {
                ok = co_await command("RCPT", rcpt_, 250);
            }
            if (ok) {
                ok = co_await command("DATA", "DATA\r\n", 354);
            }
            if (!ok) {
                co_return false;
            }
        }
        fmt::format_to_n(message_.text.data() + message_.id_at, 16, "{:016x}",
                         static_cast<std::uint64_t>(index_) << 40 | ++sent_);
        const bool written = co_await c_->write(message_.text);
        if (!written) {
            co_return fail("message text: write failed");
        }
        const bool accepted = co_await expect("final \".\"", 250);
        co_return accepted;
    }

    // QUIT, its 221, and the server's close. Not part of any message: a failure here is not counted.
    asio::awaitable<void> close() {
        if (c_.has_value()) {
            const bool written = co_await c_->write("QUIT\r\n");
            std::string line;
            while (written) {
                const bool read = co_await c_->read_line(line);
                if (!read) {
                    break;
                }
            }
        }
        c_.reset();
    }

    bool connected() const noexcept { return c_.has_value(); }
    void drop() { c_.reset(); }

    std::string error;  // the first problem of the last step that failed

  private:
    bool fail(std::string text) {
        error = std::move(text);
        c_.reset();
        return false;
    }

    // Reads a reply; true when its code is `want` (any code, when `want` is -1). A reply with another code sets
    // `error` but keeps the connection (so pipelined replies can still be read); a lost connection drops it.
    asio::awaitable<bool> expect(std::string_view step, int want) {
        int code = 0;
        std::string text;
        const bool read = co_await read_reply(*c_, code, text);
        if (!read) {
            co_return fail(fmt::format("{}: connection closed or timed out", step));
        }
        if (want != -1 && code != want) {
            error = fmt::format("{}: {}", step, text);
            co_return false;
        }
        co_return true;
    }

    asio::awaitable<bool> command(std::string_view step, std::string_view text, int want) {
        const bool written = co_await c_->write(text);
        if (!written) {
            co_return fail(fmt::format("{}: write failed", step));
        }
        const bool ok = co_await expect(step, want);
        co_return ok;
    }

    const options& o_;
    const asio::ip::tcp::endpoint& target_;
    int index_;
    bench::clock::time_point give_up_at_;
    message_text message_;
    std::string mail_;
    std::string rcpt_;
    std::string envelope_;
    std::optional<bench::connection> c_;
    std::uint64_t sent_ = 0;
};

// What the clients found, gathered as each finishes.
struct totals {
    std::atomic<long> failures{0};
    std::mutex mutex;
    std::vector<double> latencies_ms;
    std::string first_error;
};

// Client t: message after message until `until`.
asio::awaitable<void> run_client(const options& o, const asio::ip::tcp::endpoint& target, int t,
                                 const message_text& message, bench::clock::time_point until, totals& all) {
    client c(o, target, t, message, until + bench::io_timeout);
    std::vector<double> mine;
    std::string error;
    // With --rate, this client's messages are due every `interval`, the clients' schedules staggered.
    const auto interval = std::chrono::duration_cast<bench::clock::duration>(
        std::chrono::duration<double>(o.rate > 0 ? o.concurrency / o.rate : 0.0));
    auto due = bench::clock::now() + interval * t / o.concurrency;
    asio::steady_timer pace(co_await asio::this_coro::executor);
    while (bench::clock::now() < until) {
        if (o.rate > 0) {
            if (due >= until) {
                break;
            }
            pace.expires_at(due);
            co_await pace.async_wait(asio::use_awaitable);
        }
        auto begun = o.rate > 0 ? due : bench::clock::now();
        due += interval;
        bool ok = c.connected();
        if (!ok) {
            ok = co_await c.open();
        }
        if (ok) {
            if (o.reuse && o.rate <= 0) {
                begun = bench::clock::now();  // connect and EHLO are not this message's
            }
            ok = co_await c.send_message();
        }
        if (!ok) {
            ++all.failures;
            if (error.empty()) {
                error = fmt::format("client {}: {}", t, c.error);
            }
            c.drop();
            continue;
        }
        mine.push_back(bench::milliseconds_since(begun));
        if (!o.reuse) {
            co_await c.close();
        }
    }
    co_await c.close();
    std::lock_guard lock(all.mutex);
    all.latencies_ms.insert(all.latencies_ms.end(), mine.begin(), mine.end());
    if (all.first_error.empty()) {
        all.first_error = error;
    }
}

}  // namespace

int bench::smtp_main(int argc, char** argv) {
    options o;
    CLI::App app("SMTP messages per second: MAIL, RCPT, DATA, the text, the final dot", argv[0]);
    bench::add_server_options(app, o.host, o.port, o.threads);
    app.add_option("--seconds", o.seconds, "how long to run")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--concurrency", o.concurrency, "clients in flight")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--size", o.size, "octets of each message")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_flag("--tls", o.tls, "implicit TLS");
    app.add_flag("--reuse", o.reuse, "many messages per connection");
    app.add_flag("--pipeline", o.pipeline, "MAIL, RCPT and DATA in one write (RFC 2920)");
    app.add_option("--to", o.to, "the recipient")->capture_default_str();
    app.add_option("--from", o.from, "the sender")->capture_default_str();
    app.add_option("--pid", o.pid, "the server's process, for its CPU time per message")->check(CLI::PositiveNumber);
    app.add_option("--rate", o.rate, "messages per second from all clients together, paced (default: no pacing)")
        ->check(CLI::PositiveNumber);
    if (const auto code = bench::parse_command_line(app, argc, argv)) {
        return *code;
    }
    const auto target = bench::server_endpoint(o.host, o.port);
    if (!target) {
        fmt::print(stderr, "{}: cannot find the server {}\n", argv[0], o.host);
        return 2;
    }
    const auto message = make_message(o);
    if (!message) {
        fmt::print(stderr, "smtp: --size {} cannot hold the message's header\n", o.size);
        return 2;
    }
    if (o.tls) {
        bench::client_context();
    }
    totals all;
    asio::io_context io(o.threads);
    const double cpu_before = o.pid > 0 ? bench::process_cpu_seconds(o.pid) : -1;
    const double wait_before = o.pid > 0 ? bench::process_runqueue_wait_seconds(o.pid) : -1;
    const auto start = bench::clock::now();
    const auto until = start + std::chrono::seconds(o.seconds);
    for (int t = 0; t < o.concurrency; ++t) {
        bench::spawn(io, run_client(o, *target, t, *message, until, all));
    }
    bench::run(io, o.threads);
    const double elapsed = std::chrono::duration<double>(bench::clock::now() - start).count();
    const double cpu_after = o.pid > 0 ? bench::process_cpu_seconds(o.pid) : -1;
    const double wait_after = o.pid > 0 ? bench::process_runqueue_wait_seconds(o.pid) : -1;
    const long failed = all.failures.load();
    auto& latencies_ms = all.latencies_ms;
    const auto messages = static_cast<long>(latencies_ms.size());
    if (!all.first_error.empty()) {
        fmt::print(stderr, "smtp: {} failed messages; the first: {}\n", failed, all.first_error);
    }
    if (failed > messages) {
        fmt::print(stderr, "smtp: more than half the messages failed ({} of {}); no figures\n", failed,
                   failed + messages);
        return 1;
    }
    std::sort(latencies_ms.begin(), latencies_ms.end());
    auto pct = [&](double p) { return bench::percentile(latencies_ms, p); };
    const double rate = static_cast<double>(messages) / elapsed;
    // Microseconds of the server's CPU per accepted message (0: not measured). The clock ticks of
    // /proc/PID/stat are 10 ms, so a run should give the server a few seconds of CPU.
    const double cpu_us = cpu_before >= 0 && cpu_after >= cpu_before && messages > 0
                              ? (cpu_after - cpu_before) * 1e6 / static_cast<double>(messages)
                              : 0.0;
    // Microseconds the server's threads waited for a core, per message (left out when not measured).
    const double wait_us = wait_before >= 0 && wait_after >= wait_before && messages > 0
                               ? (wait_after - wait_before) * 1e6 / static_cast<double>(messages)
                               : -1;
    std::string server_text = cpu_us > 0 ? fmt::format("; {:.1f} us of server CPU per message", cpu_us) : "";
    std::string server_json;
    if (wait_us >= 0) {
        server_text += fmt::format(", {:.1f} us waiting for a core", wait_us);
        server_json = fmt::format(R"(,"server_runqueue_wait_us_per_message":{:.1f})", wait_us);
    }
    fmt::print(
        "smtp {} {} B {}{}{}: {:.0f} msg/s over {:.1f} s, {} clients, p50 {:.1f} ms, p99 {:.1f} ms, p99.9 {:.1f} ms, "
        "max {:.1f} ms, {} failed{}\n",
        o.tls ? "tls" : "plain", o.size, o.reuse ? "reuse" : "new-connection", o.pipeline ? " pipelined" : "",
        o.rate > 0 ? fmt::format(" paced at {:g}/s", o.rate) : "", rate, elapsed, o.concurrency, pct(0.5), pct(0.99),
        pct(0.999), pct(1.0), failed, server_text);
    fmt::print(
        R"({{"bench":"smtp","tls":{},"size":{},"reuse":{},"pipeline":{},"rate":{:g},"messages_per_second":{:.0f},)"
        R"("messages":{},"seconds":{:.3f},"concurrency":{},"p50_ms":{:.3f},"p99_ms":{:.3f},"p999_ms":{:.3f},)"
        R"("max_ms":{:.3f},"failed":{},"server_cpu_us_per_message":{:.1f}{}}})"
        "\n",
        o.tls, o.size, o.reuse, o.pipeline, o.rate, rate, messages, elapsed, o.concurrency, pct(0.5), pct(0.99),
        pct(0.999), pct(1.0), failed, cpu_us, server_json);
    return 0;
}
