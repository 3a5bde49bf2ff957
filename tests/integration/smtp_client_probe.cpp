// A command-line driver of smtp::client::session for test_smtp_client.py: opens a session as the options say,
// sends one small message, and prints what happened, one line each:
//   "failed <reply>"                            open() failed
//   "opened encrypted=<0|1>"                    then, for each recipient, "rcpt <reply>" and "final <reply>"
// Exit status 0 when every recipient got a positive final reply.
// Usage: smtp_client_probe HOST PORT [--starttls|--implicit] [--ca FILE] [--name NAME] [--pin sha256:HEX]
//        [--no-verify] [--user USER --password PASSWORD] [--lmtp] --from ADDRESS --to ADDRESS... --subject TEXT
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "mailwright/log/log.hpp"
#include "mailwright/smtp/client.hpp"

using namespace mailwright;
namespace client = smtp::client;

namespace {

struct request {
    net::endpoint where;
    client::options options;
    client::transaction transaction;
    std::string subject;
};

request parse(int argc, char** argv) {
    request r;
    r.where.host = argv[1];
    r.where.port = static_cast<std::uint16_t>(std::stoi(argv[2]));
    r.options.helo_name = "probe.test";
    r.options.command_timeout = std::chrono::seconds(10);
    r.options.tls.handshake_timeout = std::chrono::seconds(10);
    for (int i = 3; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (arg == "--starttls") {
            r.options.tls.use = client::tls_options::mode::starttls;
        } else if (arg == "--implicit") {
            r.options.tls.use = client::tls_options::mode::implicit;
        } else if (arg == "--ca") {
            r.options.tls.ca_file = value();
        } else if (arg == "--name") {
            r.options.tls.server_name = value();
        } else if (arg == "--pin") {
            r.options.tls.fingerprint = value();
        } else if (arg == "--no-verify") {
            r.options.tls.verify = false;
        } else if (arg == "--user") {
            r.options.user = value();
        } else if (arg == "--password") {
            r.options.password = value();
        } else if (arg == "--lmtp") {
            r.options.kind = client::protocol::lmtp;
        } else if (arg == "--from") {
            r.transaction.sender = value();
        } else if (arg == "--to") {
            r.transaction.recipients.push_back({value(), {}, {}});
        } else if (arg == "--subject") {
            r.subject = value();
        } else {
            throw std::invalid_argument("unknown argument " + arg);
        }
    }
    return r;
}

asio::awaitable<int> probe(const request& r) {
    auto opened = co_await client::session::open(r.where, r.options);
    if (!opened.session) {
        std::printf("failed %s\n", opened.failure.to_string().c_str());
        co_return 1;
    }
    auto& s = *opened.session;
    std::printf("opened encrypted=%d\n", s.encrypted() ? 1 : 0);
    const auto started = co_await s.start(r.transaction);
    for (const auto& rcpt : started.recipients) {
        std::printf("rcpt %s\n", rcpt.to_string().c_str());
    }
    int status = started.accepted() ? 0 : 1;
    if (started.accepted()) {
        const std::string message = "From: <" + r.transaction.sender + ">\r\nSubject: " + r.subject +
                                    "\r\n\r\n.a line with a dot\r\nthe end\r\n";
        co_await s.write(message);
        const auto answers = co_await s.finish();
        for (const auto& answer : answers) {
            std::printf("final %s\n", answer.to_string().c_str());
            status = answer.code / 100 == 2 ? status : 1;
        }
    }
    co_await s.quit();
    co_return status;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: smtp_client_probe HOST PORT [options]\n");
        return 2;
    }
    log::init(log::level::debug);
    const auto r = parse(argc, argv);
    asio::io_context io;
    int status = 2;
    asio::co_spawn(io, probe(r), [&](std::exception_ptr e, int result) { status = e ? 3 : result; });
    io.run();
    std::fflush(stdout);
    return status;
}
