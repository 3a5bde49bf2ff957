// mailwright-bench: the load generator. One program, a subcommand per measurement; the client code is its
// own (client.hpp: C++20 coroutines on standalone Asio, one io_context run by --threads threads, every
// simulated client a coroutine, TLS by non-blocking wolfSSL), not the server's, so it measures any POP3 or SMTP
// server alike.
//   mailwright-bench pop3 ...   sessions/s: connect, AUTH PLAIN, STAT, RETR, QUIT; latency p50/p99
//   mailwright-bench smtp ...   messages/s: pipelined transactions, body size, concurrency, TLS
//   mailwright-bench tls ...    TLS handshakes/s
//   mailwright-bench idle ...   N open sessions, plain or TLS, and the server's RSS per session
// `mailwright-bench COMMAND --help` lists a command's options.
#include <fmt/core.h>

#include <csignal>
#include <string>
#include <string_view>

#include "commands.hpp"

int main(int argc, char** argv) {
    struct command {
        std::string_view name;
        int (*run)(int, char**);
    };
    constexpr command commands[] = {
        {"pop3", bench::pop3_main}, {"smtp", bench::smtp_main}, {"tls", bench::tls_main}, {"idle", bench::idle_main}};
    std::signal(SIGPIPE, SIG_IGN);  // a server that closes early is a failed session, not a dead benchmark
    if (argc >= 2) {
        for (const auto& c : commands) {
            if (c.name == argv[1]) {
                std::string name = fmt::format("mailwright-bench {}", c.name);  // for the command's usage line
                argv[1] = name.data();
                return c.run(argc - 1, argv + 1);
            }
        }
    }
    fmt::print(stderr, "usage: {} pop3|smtp|tls|idle [options]   ({} COMMAND --help for a command's options)\n",
               argv[0], argv[0]);
    return 2;
}
