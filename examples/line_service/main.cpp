// Embedding Mailwright: a custom line protocol in one file. "ADD n" adds n to a per-session total,
// "TOTAL" prints it, "BYE" ends. Try it: ./line_service 7070 & printf 'ADD 2\r\nADD 40\r\nTOTAL\r\nBYE\r\n' | nc
// 127.0.0.1 7070
#include <fmt/format.h>
#include <charconv>
#include <cstdlib>
#include <mailwright/server/server.hpp>
#include <mailwright/server/service.hpp>
#include <mailwright/server/session.hpp>

namespace mw = mailwright::server;

class adder final : public mw::service {
  public:
    std::string_view name() const override { return "adder"; }
    std::string refusal_line(mw::refusal) const override { return "BUSY\r\n"; }

    asio::awaitable<void> serve(mw::session& s) override {
        long long total = 0;
        s.reply("READY\r\n");
        for (;;) {
            auto r = co_await s.read_line();
            if (r.status != mw::read_status::line) {
                co_return;  // timeout, shutdown, closed, or an over-long line: we just hang up
            }
            long long n = 0;
            if (r.line.starts_with("ADD ") &&
                std::from_chars(r.line.data() + 4, r.line.data() + r.line.size(), n).ec == std::errc{}) {
                total += n;
                s.reply("OK\r\n");
            } else if (r.line == "TOTAL") {
                s.reply(fmt::format("TOTAL {}\r\n", total));
            } else if (r.line == "BYE") {
                s.reply("BYE\r\n");
                co_return;
            } else {
                s.reply("ERR unknown command\r\n");
            }
        }
    }
};

int main(int argc, char** argv) {
    mw::server server({.workers = 1});
    server.add_listener({.name = "adder",
                         .addresses = {"127.0.0.1"},
                         .port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7070),
                         .handler = std::make_shared<adder>()});
    server.run();  // until SIGINT/SIGTERM
}
