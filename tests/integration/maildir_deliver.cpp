// Test helper: delivers the message on standard input to USER through the Maildir plugin and prints "ACK"
// once the store reports success. Built twice (CMakeLists.txt): maildir_deliver loads mailwright-maildir.so;
// maildir_deliver_crash_points has a test-only build of the store linked in (the host prefers a linked-in
// plugin), in which MAILWRIGHT_CRASH_AT ends the process at that step.
//   maildir_deliver PATH_PATTERN USER < message
#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <vector>

#include "mailwright/log/log.hpp"
#include "mailwright/plugin/fixed_settings.hpp"
#include "mailwright/plugin/host.hpp"

using namespace mailwright;

namespace {
// Pushes standard input into the store in pieces of up to 64 KiB, as the SMTP dialogue does.
asio::awaitable<bool> deliver_stdin(plugin::mailstore& store, std::span<const std::string> users) {
    auto delivery = co_await store.begin(users, nullptr);
    if (!delivery) {
        co_return false;
    }
    std::vector<char> buffer(64 * 1024);
    for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), stdin)) > 0;) {
        const bool taken = co_await delivery->write(std::span<const char>(buffer.data(), n));
        if (!taken) {
            break;
        }
    }
    const std::vector<bool> everyone(users.size(), true);
    const auto result = co_await delivery->commit(everyone);
    co_return std::all_of(result.recipients.begin(), result.recipients.end(), [](const auto& r) { return r.ok(); });
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s PATH_PATTERN USER < message\n", argv[0]);
        return 2;
    }
    log::init(log::level::warn);  // standard output carries only the acknowledgement
    plugin::fixed_settings settings{{"path", std::string(argv[1])}};
    plugin::host host({.search_path = plugin::default_search_path()});
    host.load({{"maildir", &settings}});
    const std::string users[] = {argv[2]};
    bool stored = false;
    asio::io_context io;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { stored = co_await deliver_stdin(*host.store(), users); }, asio::detached);
    io.run();
    if (!stored) {
        return 1;
    }
    std::printf("ACK\n");
    std::fflush(stdout);
    return 0;
}
