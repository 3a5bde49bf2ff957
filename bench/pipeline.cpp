// What the headers filter (plugins/headers) costs a message in the message pipeline
// (pipeline/message_pipeline.hpp), without sockets, the SMTP dialogue or other threads: one thread pushes
// message after message through the pipeline into a store that drops every piece, once with no filter and
// once with a headers filter made for each message as the plugin makes it (its defaults: an MX session without
// AUTH or TLS, so it writes "Authentication-Results: <id>; none" and looks at each field for a forged one).
// The messages are the load generator's (bench/smtp_messages.cpp: seven header fields, lines of 70
// characters), appended 16 KiB at a time as the dialogue reads them and flushed when the pipeline is full.
// A third kind has a filter that does nothing, for what any filter costs the pipeline (the header block held
// and parsed field by field). Each round times `--messages` 1 KiB messages (and as many octets, at least 1000
// messages, of 100 KiB) of each kind in turn; the figure is the fastest round of each, in nanoseconds per
// message, and the differences: steadier than the daemon's CPU per message in bench/filters.sh on a shared
// machine.
//   mailwright-bench-pipeline [--messages 20000] [--rounds 5]
#include <fmt/format.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "headers_filter.hpp"
#include "mailwright/pipeline/message_pipeline.hpp"

namespace {

using namespace mailwright;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t read_size = 16 * 1024;  // what one read of the dialogue appends, at most

// A filter that looks at nothing and changes nothing: what the pipeline's filter machinery costs by itself
// (the header block held and parsed field by field, the filter's calls).
class idle_filter final : public plugin::message_filter {};

class dropping_delivery final : public plugin::delivery {
  public:
    asio::awaitable<bool> write(std::span<const char>) override { co_return true; }
    asio::awaitable<plugin::delivery_result> commit(const std::vector<bool>& wanted) override {
        co_return plugin::delivery_result::all(wanted.size(), plugin::reply::accept());
    }
};

class dropping_store final : public plugin::mailstore {
  public:
    void init(plugin::settings&, plugin::host_view&) override {}
    asio::awaitable<plugin::open_result> open(std::string_view) override { co_return plugin::open_result{}; }
    asio::awaitable<std::unique_ptr<plugin::delivery>> begin(std::span<const std::string>,
                                                             const plugin::envelope*) override {
        co_return std::make_unique<dropping_delivery>();
    }
};

// The load generator's message of `size` octets (CRLF line ends, no final dot).
std::string make_message(std::size_t size) {
    std::string text =
        "From: SMTP Bench <sender@remote.example>\r\n"
        "To: <bench@example.org>\r\n"
        "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        "Message-ID: <0000000000000001@remote.example>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "Subject: SMTP benchmark message\r\n"
        "\r\n";
    static constexpr std::string_view filler =
        "The quick brown fox jumps over the lazy dog, and the dog does not mind. "
        "The quick brown fox jumps over the lazy dog, and the dog does not mind. ";
    for (std::size_t n = 1; text.size() + 72 <= size; ++n) {
        std::string line = fmt::format("{:05} {}", n % 100000, filler.substr((n - 1) % 72));
        line.resize(70);
        text += line;
        text += "\r\n";
    }
    if (text.size() + 3 <= size) {  // the rest in one shorter line
        text += std::string(size - text.size() - 2, 'x');
        text += "\r\n";
    }
    return text;
}

constexpr std::string_view trace =
    "Return-Path: <sender@remote.example>\r\n"
    "Received: from bench.remote.example ([127.0.0.1]) by bench.example.org with ESMTP id 0123456789abcdef\r\n"
    "\tfor <bench@example.org>; Tue, 14 Nov 2023 22:13:20 +0000\r\n";

enum class filtering { none, idle, headers };

// `count` messages through a fresh pipeline each, with a new filter of that kind for each.
asio::awaitable<void> push(std::string_view message, int count, filtering kind, bool& all_accepted) {
    dropping_store store;
    const std::vector<std::string> users{"bench"};
    plugin::envelope envelope;
    envelope.sender = "sender@remote.example";
    envelope.recipients.push_back({"bench@example.org", {"bench"}, {}, {}});
    for (int i = 0; i < count; ++i) {
        pipeline::filter_list filters;
        if (kind == filtering::idle) {
            filters.push_back({"idle", std::make_unique<idle_filter>()});
        } else if (kind == filtering::headers) {
            headers::filter_options options;
            options.authserv_id = "bench.example.org";
            filters.push_back(
                {"headers", std::make_unique<headers::headers_filter>(std::move(options), headers::session_facts{})});
        }
        pipeline::message_pipeline p(store, users, &envelope, std::move(filters));
        co_await p.begin(trace);
        for (std::size_t at = 0; at < message.size(); at += read_size) {
            p.buffer().append(message.substr(at, read_size));
            if (p.full()) {
                co_await p.flush();
            }
        }
        const auto answers = co_await p.finish();
        all_accepted = all_accepted && answers.size() == 1 && answers[0].ok();
    }
}

// Nanoseconds per message of one timed batch.
double time_batch(std::string_view message, int count, filtering kind, bool& all_accepted) {
    asio::io_context io;
    const auto start = clock_type::now();
    asio::co_spawn(io, push(message, count, kind, all_accepted), asio::detached);
    io.run();
    return std::chrono::duration<double, std::nano>(clock_type::now() - start).count() / count;
}

}  // namespace

int main(int argc, char** argv) {
    int messages = 20000;
    int rounds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view option = argv[i];
        if (option == "--messages") {
            messages = std::max(1, std::atoi(argv[i + 1]));
        } else if (option == "--rounds") {
            rounds = std::max(1, std::atoi(argv[i + 1]));
        } else {
            fmt::print(stderr, "usage: {} [--messages N] [--rounds N]\n", argv[0]);
            return 2;
        }
    }
    bool all_accepted = true;
    for (const std::size_t size : {std::size_t{1024}, std::size_t{100 * 1024}}) {
        const std::string message = make_message(size);
        // Fewer of the large ones: the same octets in all.
        const int count =
            std::max(1000, static_cast<int>(static_cast<long>(messages) * 1024 / static_cast<long>(size)));
        double best[3] = {1e300, 1e300, 1e300};                        // by filtering
        time_batch(message, count, filtering::headers, all_accepted);  // warm-up: caches, allocator
        for (int r = 0; r < rounds; ++r) {
            for (const auto kind : {filtering::none, filtering::idle, filtering::headers}) {
                auto& b = best[static_cast<int>(kind)];
                b = std::min(b, time_batch(message, count, kind, all_accepted));
            }
        }
        const double none = best[0];
        const double idle = best[1];
        const double with_headers = best[2];
        fmt::print(
            "pipeline {} B: no filter {:.0f} ns/message, a filter doing nothing {:.0f} (+{:.0f}), the headers "
            "filter {:.0f} (+{:.0f}); fastest of {} rounds of {} messages\n",
            message.size(), none, idle, idle - none, with_headers, with_headers - none, rounds, count);
        fmt::print(
            R"({{"bench":"pipeline","size":{},"messages":{},"rounds":{},"none_ns":{:.0f},"idle_filter_ns":{:.0f},)"
            R"("headers_ns":{:.0f},"headers_cost_ns":{:.0f}}})"
            "\n",
            message.size(), count, rounds, none, idle, with_headers, with_headers - none);
    }
    if (!all_accepted) {
        fmt::print(stderr, "pipeline: a message was not accepted\n");
        return 1;
    }
    return 0;
}
