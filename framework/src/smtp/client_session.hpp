// The state of one client connection and the I/O steps every part of the client shares (private).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "client_protocol.hpp"
#include "mailwright/io/dot_stuffing.hpp"
#include "mailwright/io/line_buffer.hpp"
#include "mailwright/net/stream.hpp"
#include "mailwright/smtp/client.hpp"

namespace mailwright::smtp::client {

struct session::impl {
    // Where a transaction is.
    enum class phase {
        idle,    // no transaction, or the last one ended
        data,    // after DATA's 354: message octets are dot-stuffed
        chunks,  // CHUNKING: each write() is one BDAT
    };

    options opts;
    net::endpoint where;
    std::string peer;  // the endpoint as text, for the log and our own replies
    std::unique_ptr<net::stream> stream;
    io::line_buffer input{{detail::max_reply_line, io::bare_lf_policy::accept}};
    detail::capabilities caps;
    bool encrypted = false;
    std::optional<reply> failure;  // set once the connection is unusable: what every later step answers

    phase state = phase::idle;
    std::vector<reply> answers;     // the transaction's recipients: their RCPT replies, then the final ones
    std::size_t accepted = 0;       // how many RCPTs were positive
    io::dot_stuffer stuffer;        // DATA's dot-stuffing, across write()s
    std::string out;                // the next write, reused
    std::uint64_t data_octets = 0;  // what the message had, for the log

    impl(const options& o, const net::endpoint& w);

    // Writes `text` under `timeout`; false when the connection failed (failure is then set). Logs nothing:
    // callers note() each command line, never a secret.
    asio::awaitable<bool> send(std::string_view text, std::chrono::milliseconds timeout);
    // The next reply under `timeout`, or our own 4xx when the connection failed (failure is then set).
    asio::awaitable<reply> read_reply(std::chrono::milliseconds timeout);
    // A command (without CRLF) and its reply, under command_timeout. `shown` is what the log says instead of
    // the line (AUTH's secrets); empty: the line itself.
    asio::awaitable<reply> command(std::string_view line, std::string_view shown = {});

    // Marks the connection failed with our own reply for `ec` and closes it; returns that reply.
    reply fail(std::error_code ec, std::string_view doing);
    reply fail(reply why);
    // A refusal from the server that ends the session: QUIT (best effort), then fail(why).
    asio::awaitable<reply> refuse(reply why);
    // The log line for what we say ("> MAIL FROM:<...>").
    void note(std::string_view said) const;
    bool usable() const noexcept { return !failure.has_value(); }

    // open()'s steps: each returns nullopt when it worked, else why the session cannot be used.
    asio::awaitable<std::optional<reply>> handshake();  // TLS on the stream as it is (implicit, or after STARTTLS)
    asio::awaitable<std::optional<reply>> greet();
    asio::awaitable<std::optional<reply>> hello();
    asio::awaitable<std::optional<reply>> starttls();
    asio::awaitable<std::optional<reply>> authenticate();
    asio::awaitable<reply> scram();
    asio::awaitable<reply> plain();
    asio::awaitable<reply> login();

    // start()'s two ways.
    asio::awaitable<void> envelope_pipelined(const transaction& t, started& result);
    asio::awaitable<void> envelope_in_turn(const transaction& t, started& result);
    asio::awaitable<std::vector<reply>> final_replies();
    asio::awaitable<void> abandon_empty_data();
};

}  // namespace mailwright::smtp::client
