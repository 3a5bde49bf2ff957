// What every session test does: make a session over an in-memory stream as the server would for a listener,
// serve one whole dialogue (serve(), then the last flush), and read the replies back line by line.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mailwright/server/service.hpp"
#include "mailwright/server/session.hpp"
#include "mailwright/testing/memory_stream.hpp"
#include "support.hpp"

namespace mailwright::test {

struct dialogue {
    testing::memory_stream* stream;  // owned by the session
    std::unique_ptr<server::session> session;
};

// A session from 192.0.2.7 on `listener`, with the line limit given, no TLS context; `chunks` arrive as
// separate TCP segments would.
inline dialogue open_dialogue(std::vector<std::string> chunks, std::size_t max_line, std::string listener) {
    auto stream = std::make_unique<testing::memory_stream>(std::move(chunks));
    auto* raw = stream.get();
    return {raw, std::make_unique<server::session>(
                     std::move(stream),
                     server::session_info{
                         .id = 1, .peer = {"192.0.2.7", 40000}, .local = {}, .listener = std::move(listener)},
                     server::session_options{.limits = {.max_line = max_line}})};
}

// Serves the whole dialogue as the server does (serve, then a last flush) and returns what the client read.
inline std::string serve(server::service& svc, dialogue& d) {
    run([&]() -> asio::awaitable<void> {
        co_await svc.serve(*d.session);
        co_await d.session->flush();
    }());
    return d.stream->output();
}

// The replies, one string per line (CRLF removed).
inline std::vector<std::string> lines(const std::string& output) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < output.size()) {
        const auto eol = output.find("\r\n", at);
        if (eol == std::string::npos) {
            out.push_back(output.substr(at));
            break;
        }
        out.push_back(output.substr(at, eol - at));
        at = eol + 2;
    }
    return out;
}

}  // namespace mailwright::test
