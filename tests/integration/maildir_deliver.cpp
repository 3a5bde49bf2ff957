// Test helper: delivers the message on standard input to USER through the Maildir plugin and prints "ACK"
// once the store reports success. Built twice (CMakeLists.txt): maildir_deliver loads mailwright-maildir.so;
// maildir_deliver_crash_points has a test-only build of the store linked in (the host prefers a linked-in
// plugin), in which MAILWRIGHT_CRASH_AT ends the process at that step.
//   maildir_deliver PATH_PATTERN USER < message
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <iterator>

#include "mailwright/log/log.hpp"
#include "mailwright/plugin/fixed_settings.hpp"
#include "mailwright/plugin/host.hpp"

using namespace mailwright;

namespace {
class stdin_source final : public plugin::message_source {
  public:
    asio::awaitable<plugin::chunk_result> read_some(std::span<char> buffer) override {
        const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), stdin);
        co_return plugin::chunk_result{n, {}};
    }
};
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
    stdin_source source;
    const std::string users[] = {argv[2]};
    plugin::store_status status = plugin::store_status::tempfail;
    asio::io_context io;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { status = (co_await host.store()->deliver(users, source)).status; },
        asio::detached);
    io.run();
    if (status != plugin::store_status::ok) {
        return 1;
    }
    std::printf("ACK\n");
    std::fflush(stdout);
    return 0;
}
