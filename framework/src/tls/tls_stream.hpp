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

#include "client_context.hpp"
#include "mailwright/io/buffer_pool.hpp"
#include "mailwright/net/stream.hpp"
#include "mailwright/tls/context.hpp"
#include "mailwright/tls/peer.hpp"

struct WOLFSSL;
struct WOLFSSL_CTX;

namespace mailwright::tls {

const std::error_category& category() noexcept;

// Failures of our own on the client side, in tls::category() beside wolfSSL's codes.
enum class client_errc {
    pin_mismatch = 1,  // the server's certificate is not the pinned one
    no_name,           // the chain is to be verified but there is no name to verify it for
};
std::error_code make_error_code(client_errc e) noexcept;

class tls_stream final : public net::stream {
  public:
    // The server side: wolfSSL_accept, under the context's handshake_timeout.
    tls_stream(std::unique_ptr<net::stream> transport, std::shared_ptr<const context> ctx);
    // The client side: wolfSSL_connect, under the client context's handshake_timeout.
    tls_stream(std::unique_ptr<net::stream> transport, std::shared_ptr<const client_context> ctx);
    ~tls_stream() override;

    // The server side of the handshake, under the settings' handshake_timeout.
    asio::awaitable<std::error_code> handshake(std::chrono::milliseconds restore_timeout);
    // The client side: SNI (unless server_name is an address), the chain and the name when the context verifies,
    // or the pin alone. The timeout in force afterwards is restore_timeout.
    asio::awaitable<std::error_code> connect(const std::string& server_name, std::chrono::milliseconds restore_timeout);

    // Valid after a successful handshake.
    channel_info channel() const;

    asio::awaitable<net::io_result> read_some(std::span<char> buffer) override;
    // Ready at once when wolfSSL holds plaintext or a record, or ciphertext waits in in_; otherwise gives in_
    // and out_ back and waits on the transport.
    asio::awaitable<std::error_code> wait_readable() override;
    asio::awaitable<net::io_result> write_all(std::span<const char> data) override;
    void set_timeout(std::chrono::milliseconds timeout) override { transport_->set_timeout(timeout); }
    void interrupt() override { transport_->interrupt(); }
    asio::awaitable<void> shutdown() override;
    void close() override { transport_->close(); }
    void park() noexcept override { transport_->park(); }

  private:
    tls_stream(std::unique_ptr<net::stream> transport, WOLFSSL_CTX* ctx, std::shared_ptr<const void> owner,
               std::chrono::milliseconds handshake_timeout);
    // Runs wolfSSL_accept or wolfSSL_connect to its end, flushing each flight and filling on WANT_READ.
    asio::awaitable<std::error_code> run_handshake(int (*step)(WOLFSSL*), std::chrono::milliseconds restore_timeout);

    static int on_receive(WOLFSSL* ssl, char* buffer, int size, void* self);
    static int on_send(WOLFSSL* ssl, char* buffer, int size, void* self);
    static void on_message(int write_p, int version, int content_type, const void* buf, std::size_t len, WOLFSSL* ssl,
                           void* self);

    asio::awaitable<std::error_code> flush_output();
    asio::awaitable<std::error_code> fill_input();

    std::unique_ptr<net::stream> transport_;
    std::shared_ptr<const void> owner_;  // the context that keeps the WOLFSSL_CTX (and the SNI ones) alive
    std::chrono::milliseconds handshake_timeout_;
    const client_context* client_ = nullptr;  // the client side's context (owner_ holds it); null on a server
    WOLFSSL* ssl_ = nullptr;
    io::pooled_buffer in_;  // ciphertext from the transport, not yet taken by wolfSSL; given back while idle
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;
    std::string out_;  // ciphertext from wolfSSL, not yet written to the transport; freed while idle
    std::error_code failed_;
    bool extended_master_secret_ = false;  // RFC 7627, seen in the ServerHello we sent
};

}  // namespace mailwright::tls

template <>
struct std::is_error_code_enum<mailwright::tls::client_errc> : std::true_type {};
