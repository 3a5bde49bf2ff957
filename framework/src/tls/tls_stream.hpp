// TLS over any net::stream, through wolfSSL's I/O callbacks.
//
// Why an adapter of our own and not asio::ssl over wolfSSL's OpenSSL compatibility layer: asio::ssl needs
// wolfSSL's include directory to shadow OpenSSL's for every file that includes it, and it can only run over
// an Asio socket. Over our own callbacks wolfSSL never does I/O itself: it reads ciphertext from in_ and
// writes into out_, and this class moves bytes between those buffers and the transport with awaits. So
// wolfSSL never blocks an event loop, every handshake, read, write and shutdown step has the transport's
// deadline, WANT_READ/WANT_WRITE are handled in one place, and the transport can be anything: TCP, or a
// test stream that delivers one byte at a time.
//
// The transport handed in must have nothing buffered above it: session::start_tls() discards the plaintext
// line buffer before it builds this, so no octet the client sent before the handshake reaches TLS.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "mailwright/net/stream.hpp"
#include "mailwright/tls/context.hpp"
#include "mailwright/tls/peer.hpp"

struct WOLFSSL;

namespace mailwright::tls {

const std::error_category& category() noexcept;

class tls_stream final : public net::stream {
  public:
    tls_stream(std::unique_ptr<net::stream> transport, std::shared_ptr<const context> ctx);
    ~tls_stream() override;

    // The server side of the handshake, under the settings' handshake_timeout.
    asio::awaitable<std::error_code> handshake(std::chrono::milliseconds restore_timeout);

    // Valid after a successful handshake.
    channel_info channel() const;

    asio::awaitable<net::io_result> read_some(std::span<char> buffer) override;
    asio::awaitable<net::io_result> write_all(std::span<const char> data) override;
    void set_timeout(std::chrono::milliseconds timeout) override { transport_->set_timeout(timeout); }
    void interrupt() override { transport_->interrupt(); }
    asio::awaitable<void> shutdown() override;
    void close() override { transport_->close(); }

  private:
    static int on_receive(WOLFSSL* ssl, char* buffer, int size, void* self);
    static int on_send(WOLFSSL* ssl, char* buffer, int size, void* self);
    static void on_message(int write_p, int version, int content_type, const void* buf, std::size_t len, WOLFSSL* ssl,
                           void* self);

    asio::awaitable<std::error_code> flush_output();
    asio::awaitable<std::error_code> fill_input();

    std::unique_ptr<net::stream> transport_;
    std::shared_ptr<const context> ctx_;  // keeps the WOLFSSL_CTX (and the SNI ones) alive
    WOLFSSL* ssl_ = nullptr;
    std::vector<char> in_;  // ciphertext from the transport, not yet taken by wolfSSL
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;
    std::string out_;  // ciphertext from wolfSSL, not yet written to the transport
    std::error_code failed_;
    bool extended_master_secret_ = false;  // RFC 7627, seen in the ServerHello we sent
};

}  // namespace mailwright::tls
