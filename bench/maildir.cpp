// Maildir store benchmarks, through the plugin as the daemon uses it.
//   mailwright-bench-maildir rate [--writers 16] [--seconds 10] [--size 1024] [--dir DIR] [--blocking-threads 8]
//       deliveries per second with N concurrent writers, each delivery fsynced; latency p50/p99; the
//       blocking pool (where the fsyncs wait) as large as the daemon's [server] blocking_threads would make it
//   mailwright-bench-maildir big [--size-mb 100] [--dir DIR]
//       delivers one large generated message and reads it back; peak RSS of this process (the message is
//       never held in memory by the benchmark itself)
#include <sys/resource.h>

#include <fmt/format.h>
#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mailwright/io/offload.hpp>
#include <mailwright/log/log.hpp>
#include <mailwright/plugin/fixed_settings.hpp>
#include <mailwright/plugin/host.hpp>
#include <string>
#include <vector>

using namespace mailwright;
using clock_type = std::chrono::steady_clock;

namespace {

// A generated message: headers, then body lines of 78 octets, never held whole.
class generated_message {
  public:
    explicit generated_message(std::uint64_t size) : remaining_(size) {}
    std::size_t fill(std::span<char> buffer) {
        std::size_t n = 0;
        while (n < buffer.size() && remaining_ > 0) {
            const std::string_view source = sent_header_ ? line_ : header_;
            const std::size_t take = std::min<std::size_t>({buffer.size() - n, source.size() - at_, remaining_});
            std::copy_n(source.data() + at_, take, buffer.data() + n);
            n += take;
            at_ += take;
            remaining_ -= take;
            if (at_ == source.size()) {
                at_ = 0;
                sent_header_ = true;
            }
        }
        return n;
    }

  private:
    const std::string header_ = "From: bench@example.org\r\nSubject: benchmark\r\n\r\n";
    const std::string line_ = std::string(76, 'x') + "\r\n";
    std::uint64_t remaining_;
    std::size_t at_ = 0;
    bool sent_header_ = false;
};

// Pushes a generated message into the store in pieces of 64 KiB, as the SMTP dialogue does; whether every
// recipient has it.
asio::awaitable<bool> deliver(plugin::mailstore& store, std::span<const std::string> users, std::uint64_t size) {
    auto delivery = co_await store.begin(users, nullptr);
    if (!delivery) {
        co_return false;
    }
    generated_message message(size);
    std::vector<char> buffer(64 * 1024);
    for (std::size_t n; (n = message.fill(buffer)) > 0;) {
        const bool taken = co_await delivery->write(std::span<const char>(buffer.data(), n));
        if (!taken) {
            break;
        }
    }
    const std::vector<bool> everyone(users.size(), true);
    const auto result = co_await delivery->commit(everyone);
    co_return std::all_of(result.recipients.begin(), result.recipients.end(), [](const auto& r) { return r.ok(); });
}

long peak_rss_kib() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

std::string option(int argc, char** argv, std::string_view name, std::string fallback) {
    for (int i = 2; i + 1 < argc; ++i) {
        if (name == argv[i]) {
            return argv[i + 1];
        }
    }
    return fallback;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode != "rate" && mode != "big") {
        fmt::print(stderr, "usage: {} rate|big [options]; see the source's header\n", argv[0]);
        return 2;
    }
    log::init(log::level::warn);
    io::set_blocking_threads(static_cast<unsigned>(std::stoul(option(argc, argv, "--blocking-threads", "8"))));
    const std::filesystem::path dir =
        option(argc, argv, "--dir", (std::filesystem::temp_directory_path() / "mailwright-bench-maildir").string());
    std::filesystem::remove_all(dir);
    plugin::fixed_settings settings{{"path", (dir / "%u" / "Maildir").string()}};
    plugin::host host({.search_path = plugin::default_search_path()});
    host.load({{"maildir", &settings}});
    auto& store = *host.store();
    asio::io_context io;

    if (mode == "rate") {
        const int writers = std::stoi(option(argc, argv, "--writers", "16"));
        const int seconds = std::stoi(option(argc, argv, "--seconds", "10"));
        const std::uint64_t size = std::stoull(option(argc, argv, "--size", "1024"));
        const auto until = clock_type::now() + std::chrono::seconds(seconds);
        std::vector<double> latencies_ms;
        long failed = 0;
        for (int w = 0; w < writers; ++w) {
            asio::co_spawn(
                io,
                [&, w]() -> asio::awaitable<void> {
                    const std::string users[] = {"user" + std::to_string(w % 4)};
                    while (clock_type::now() < until) {
                        const auto start = clock_type::now();
                        const bool stored = co_await deliver(store, users, size);
                        if (!stored) {
                            ++failed;
                            continue;
                        }
                        latencies_ms.push_back(
                            std::chrono::duration<double, std::milli>(clock_type::now() - start).count());
                    }
                },
                asio::detached);
        }
        io.run();
        std::sort(latencies_ms.begin(), latencies_ms.end());
        auto pct = [&](double p) {
            return latencies_ms.empty() ? 0.0 : latencies_ms[static_cast<std::size_t>(p * (latencies_ms.size() - 1))];
        };
        const double rate = static_cast<double>(latencies_ms.size()) / seconds;
        fmt::print(
            "maildir: {:.0f} deliveries/s ({} in {} s, {} writers, {} B each, fsync on, {} failed); latency "
            "p50 {:.2f} ms p99 {:.2f} ms\n",
            rate, latencies_ms.size(), seconds, writers, size, failed, pct(0.5), pct(0.99));
        fmt::print(R"({{"bench":"maildir_rate","deliveries_per_s":{:.0f},"writers":{},"size":{},"failed":{},)"
                   R"("p50_ms":{:.3f},"p99_ms":{:.3f}}})"
                   "\n",
                   rate, writers, size, failed, pct(0.5), pct(0.99));
    } else {
        const std::uint64_t size = std::stoull(option(argc, argv, "--size-mb", "100")) * 1024 * 1024;
        const long before = peak_rss_kib();
        std::uint64_t read_back = 0;
        bool delivered = false;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                const std::string users[] = {"big"};
                delivered = co_await deliver(store, users, size);
                auto opened = co_await store.open("big");
                if (opened.status != plugin::store_status::ok || opened.drop->messages().empty()) {
                    co_return;
                }
                auto reader = co_await opened.drop->open_message(0, std::nullopt);
                std::vector<char> buffer(64 * 1024);
                for (;;) {
                    auto chunk = co_await reader.reader->read_some(buffer);
                    if (chunk.ec || chunk.bytes == 0) {
                        break;
                    }
                    read_back += chunk.bytes;
                }
            },
            asio::detached);
        io.run();
        const long after = peak_rss_kib();
        fmt::print(
            "maildir: {} MiB message delivered ({}) and read back ({} octets, {}); peak RSS {} KiB before, "
            "{} KiB after\n",
            size >> 20, delivered ? "ok" : "failed", read_back, read_back == size ? "identical size" : "SIZE DIFFERS",
            before, after);
        fmt::print(
            R"({{"bench":"maildir_big","size":{},"read_back":{},"peak_rss_before_kib":{},"peak_rss_after_kib":{}}})"
            "\n",
            size, read_back, before, after);
    }
    std::filesystem::remove_all(dir);
    return 0;
}
