// tls_stream with a wolfSSL client on the other end of a loopback connection: over a transport that moves one
// octet per read and per write, the handshake and the data that follows must still complete; over one that
// counts writes, the handshake's last output shares the first write and never waits on a read.
#include "tls/tls_stream.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "mailwright/tls/certificate.hpp"
#include "net/socket_stream.hpp"
#include "temp_dir.hpp"
// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
// clang-format on

using namespace mailwright;
using asio::ip::tcp;

namespace {

// A transport over another: forwards everything; a test's stream overrides what it changes.
class forwarding_stream : public net::stream {
  public:
    explicit forwarding_stream(std::unique_ptr<net::stream> inner) : inner_(std::move(inner)) {}
    asio::awaitable<net::io_result> read_some(std::span<char> buffer) override {
        co_return co_await inner_->read_some(buffer);
    }
    asio::awaitable<net::io_result> write_all(std::span<const char> data) override {
        co_return co_await inner_->write_all(data);
    }
    void set_timeout(std::chrono::milliseconds t) override { inner_->set_timeout(t); }
    void interrupt() override { inner_->interrupt(); }
    void close() override { inner_->close(); }

  protected:
    std::unique_ptr<net::stream> inner_;
};

// Passes at most one octet per call through to the real transport.
class one_octet_stream final : public forwarding_stream {
  public:
    using forwarding_stream::forwarding_stream;
    asio::awaitable<net::io_result> read_some(std::span<char> buffer) override {
        auto r = co_await inner_->read_some(buffer.first(1));
        received += r.bytes;
        largest_read = std::max(largest_read, r.bytes);
        co_return r;
    }
    asio::awaitable<net::io_result> write_all(std::span<const char> data) override {
        for (std::size_t i = 0; i < data.size(); ++i) {
            auto r = co_await inner_->write_all(data.subspan(i, 1));
            if (r.ec) {
                co_return net::io_result{r.ec, i};
            }
        }
        co_return net::io_result{{}, data.size()};
    }

    std::size_t received = 0;
    std::size_t largest_read = 0;
};

// Counts the transport's writes, each one packet's worth of ciphertext or more.
class counting_stream final : public forwarding_stream {
  public:
    using forwarding_stream::forwarding_stream;
    asio::awaitable<net::io_result> write_all(std::span<const char> data) override {
        ++writes;
        co_return co_await inner_->write_all(data);
    }

    int writes = 0;
};

// In a directory of its own: CTest runs the cases of this file as parallel processes, and a shared one was
// removed by one case while another read its certificate.
struct temp_certificate {
    test::temp_dir dir{"mailwright-tls-stream"};
    std::string cert = (dir.path() / "cert.pem").string();
    std::string key = (dir.path() / "key.pem").string();
    temp_certificate() {
        const auto generated = tls::make_self_signed({"localhost"});
        std::ofstream(cert) << generated.certificate_pem;
        std::ofstream(key) << generated.key_pem;
    }
};

// A blocking wolfSSL client: handshake; read the greeting when `greeting` is given (a server that speaks
// first), else speak first; send a line and read the answer.
std::string run_client(std::uint16_t port, std::string* greeting, WOLFSSL_METHOD* method = wolfTLS_client_method()) {
    WOLFSSL_CTX* ctx = wolfSSL_CTX_new(method);
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, nullptr);
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    WOLFSSL* ssl = wolfSSL_new(ctx);
    wolfSSL_set_fd(ssl, socket.native_handle());
    std::string answer;
    if (wolfSSL_connect(ssl) == WOLFSSL_SUCCESS) {
        char buffer[256];
        int n = 0;
        if (greeting != nullptr) {
            n = wolfSSL_read(ssl, buffer, sizeof buffer);
            greeting->assign(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
        }
        if (wolfSSL_write(ssl, "ping\r\n", 6) == 6) {
            while (answer.find('\n') == std::string::npos && (n = wolfSSL_read(ssl, buffer, sizeof buffer)) > 0) {
                answer.append(buffer, static_cast<std::size_t>(n));
            }
        }
    }
    wolfSSL_free(ssl);
    wolfSSL_CTX_free(ctx);
    return answer;
}

}  // namespace

TEST_CASE("tls_stream: handshake and data over a transport that moves one octet at a time", "[tls]") {
    temp_certificate files;
    const auto ctx = tls::context::create({.certificate = files.cert, .key = files.key});

    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    std::string greeting;
    std::thread client([&] {
        CHECK(run_client(port, &greeting) == "pong: ping\r\n");
        tls::release_thread_state();
    });

    std::error_code handshake_error;
    std::size_t received = 0;
    std::size_t largest_read = 0;
    std::string version;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto socket = co_await acceptor.async_accept(asio::use_awaitable);
            auto trickle = std::make_unique<one_octet_stream>(std::make_unique<net::tcp_stream>(std::move(socket)));
            auto* counter = trickle.get();
            tls::tls_stream stream(std::move(trickle), ctx);
            handshake_error = co_await stream.handshake(std::chrono::seconds(10));
            if (handshake_error) {
                co_return;
            }
            version = stream.channel().version;
            co_await stream.write_all(std::string_view("hello\r\n"));
            std::string line;
            char buffer[64];
            while (line.find('\n') == std::string::npos) {
                auto r = co_await stream.read_some(buffer);
                if (r.ec) {
                    break;
                }
                line.append(buffer, r.bytes);
            }
            co_await stream.write_all("pong: " + line);
            co_await stream.shutdown();
            received = counter->received;
            largest_read = counter->largest_read;
        },
        asio::detached);
    io.run();
    client.join();
    tls::release_thread_state();

    CHECK_FALSE(handshake_error);
    CHECK(version == "TLSv1.3");
    CHECK(greeting == "hello\r\n");
    CHECK(largest_read == 1);
    CHECK(received > 250);  // the ClientHello alone is hundreds of octets, each read on its own
}

TEST_CASE("tls_stream: the handshake's last output shares the first write, and never waits on a read", "[tls]") {
    temp_certificate files;
    const auto ctx = tls::context::create({.certificate = files.cert, .key = files.key});
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();

    SECTION("TLS 1.3, the server speaks first: the session ticket goes out with the greeting") {
        std::string greeting;
        std::thread client([&] {
            run_client(port, &greeting);
            tls::release_thread_state();
        });
        int writes_after_handshake = -1;
        int writes_after_greeting = -1;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                auto socket = co_await acceptor.async_accept(asio::use_awaitable);
                auto counting = std::make_unique<counting_stream>(std::make_unique<net::tcp_stream>(std::move(socket)));
                auto* counter = counting.get();
                tls::tls_stream stream(std::move(counting), ctx);
                const auto ec = co_await stream.handshake(std::chrono::seconds(10));
                if (ec) {
                    co_return;
                }
                writes_after_handshake = counter->writes;
                co_await stream.write_all(std::string_view("hello\r\n"));
                writes_after_greeting = counter->writes;
                char buffer[64];
                co_await stream.read_some(buffer);
                co_await stream.write_all(std::string_view("pong\r\n"));
                co_await stream.shutdown();
            },
            asio::detached);
        io.run();
        client.join();
        CHECK(greeting == "hello\r\n");
        CHECK(writes_after_handshake == 1);  // the server's flight, ServerHello to Finished
        CHECK(writes_after_greeting == 2);   // the tickets and the greeting together
    }

    SECTION("TLS 1.2, the client speaks first: our Finished goes out before the server waits to read") {
        // The client cannot send before it has our Finished, which the handshake left unwritten: a read that
        // waited without writing it first would wait for ever (the test's deadline would end it).
        std::string answer;
        std::thread client([&] {
            answer = run_client(port, nullptr, wolfTLSv1_2_client_method());
            tls::release_thread_state();
        });
        std::string version;
        std::string line;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                auto socket = co_await acceptor.async_accept(asio::use_awaitable);
                tls::tls_stream stream(std::make_unique<net::tcp_stream>(std::move(socket)), ctx);
                const auto ec = co_await stream.handshake(std::chrono::seconds(10));
                if (ec) {
                    co_return;
                }
                version = stream.channel().version;
                char buffer[64];
                while (line.find('\n') == std::string::npos) {
                    auto r = co_await stream.read_some(buffer);
                    if (r.ec) {
                        break;
                    }
                    line.append(buffer, r.bytes);
                }
                co_await stream.write_all("pong: " + line);
                co_await stream.shutdown();
            },
            asio::detached);
        io.run();
        client.join();
        CHECK(version == "TLSv1.2");
        CHECK(line == "ping\r\n");
        CHECK(answer == "pong: ping\r\n");
    }
    tls::release_thread_state();
}
