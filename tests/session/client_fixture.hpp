// A scripted SMTP/LMTP server on loopback for the client's tests: each test's server is a coroutine that says
// lines and reads what the client sends, recording every read as it arrived (so a test can tell that a
// pipelined group came in one write). The client runs as a second coroutine on the same io_context.
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <catch2/catch.hpp>
#include <exception>
#include <string>
#include <vector>

#include "mailwright/smtp/client.hpp"

namespace mailwright::test {

namespace client = smtp::client;

class script_peer {
  public:
    explicit script_peer(asio::ip::tcp::socket s) : socket_(std::move(s)) {}

    // The next line without CRLF, or "<eof>" when the client closed the connection.
    asio::awaitable<std::string> line() {
        const auto text = co_await until("\r\n");
        co_return text == eof ? text : text.substr(0, text.size() - 2);
    }
    // Everything up to and including `end`, or "<eof>".
    asio::awaitable<std::string> until(std::string_view end) {
        std::size_t at;
        while ((at = buffer_.find(end)) == std::string::npos) {
            const bool more = co_await fill();
            if (!more) {
                co_return std::string(eof);
            }
        }
        auto out = buffer_.substr(0, at + end.size());
        buffer_.erase(0, at + end.size());
        co_return out;
    }
    // Exactly n octets, or fewer at the end of the stream.
    asio::awaitable<std::string> exactly(std::size_t n) {
        while (buffer_.size() < n) {
            const bool more = co_await fill();
            if (!more) {
                break;
            }
        }
        auto out = buffer_.substr(0, std::min(n, buffer_.size()));
        buffer_.erase(0, out.size());
        co_return out;
    }
    // The next line, `until` or `exactly`, checked. (Never CHECK(co_await ...): g++ 12 mishandles the
    // temporaries Catch's macros make around a co_await.)
    asio::awaitable<void> expect(std::string_view wanted) {
        const auto got = co_await line();
        CHECK(got == wanted);
    }
    asio::awaitable<void> expect_until(std::string_view end, std::string_view wanted) {
        const auto got = co_await until(end);
        CHECK(got == wanted);
    }
    asio::awaitable<void> expect_exactly(std::size_t n, std::string_view wanted) {
        const auto got = co_await exactly(n);
        CHECK(got == wanted);
    }
    asio::awaitable<void> say(std::string_view text) {
        co_await asio::async_write(socket_, asio::buffer(text.data(), text.size()), asio::use_awaitable);
    }
    void close() {
        std::error_code ignored;
        socket_.close(ignored);
    }

    // Each read as it arrived, in order.
    std::vector<std::string> reads;
    static constexpr std::string_view eof = "<eof>";

  private:
    asio::awaitable<bool> fill() {
        char chunk[65536];
        std::error_code ec;
        const auto n =
            co_await socket_.async_read_some(asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (ec || n == 0) {
            co_return false;
        }
        reads.emplace_back(chunk, n);
        buffer_.append(chunk, n);
        co_return true;
    }

    asio::ip::tcp::socket socket_;
    std::string buffer_;
};

// Runs `server` (given the accepted connection) and `client` (given the endpoint) to their ends; rethrows what
// either threw.
template <class Server, class Client>
void play(Server server, Client client) {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    net::endpoint where;
    where.host = "127.0.0.1";
    where.port = acceptor.local_endpoint().port();
    std::exception_ptr server_error;
    std::exception_ptr client_error;
    auto serve = [&]() -> asio::awaitable<void> {
        script_peer peer(co_await acceptor.async_accept(asio::use_awaitable));
        co_await server(peer);
    };
    asio::co_spawn(io, serve, [&](std::exception_ptr e) { server_error = e; });
    asio::co_spawn(io, client(where), [&](std::exception_ptr e) { client_error = e; });
    io.run();
    if (client_error) {
        std::rethrow_exception(client_error);
    }
    if (server_error) {
        std::rethrow_exception(server_error);
    }
}

// Short deadlines: a test that waits for one waits a fraction of a second.
inline client::options quick(client::protocol kind = client::protocol::smtp) {
    client::options o;
    o.kind = kind;
    o.helo_name = "client.test";
    o.connect_timeout = std::chrono::seconds(5);
    o.command_timeout = std::chrono::seconds(5);
    o.data_timeout = std::chrono::seconds(5);
    o.final_timeout = std::chrono::seconds(5);
    return o;
}

}  // namespace mailwright::test
