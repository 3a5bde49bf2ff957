// tls_stream: wolfSSL driven through memory callbacks, with every transport step awaited.
#include "tls_stream.hpp"

#include <asio/error.hpp>
#include <asio/ip/address.hpp>
#include <climits>
#include <cstring>

#include "wolfssl.hpp"
// clang-format off
#include <wolfssl/openssl/x509v3.h>  // GEN_EMAIL, GEN_DNS
#include <wolfssl/wolfcrypt/sha256.h>
// clang-format on

namespace mailwright::tls {

namespace {

class tls_category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "mailwright.tls"; }
    std::string message(int value) const override {
        switch (static_cast<client_errc>(value)) {
            case client_errc::pin_mismatch:
                return "the certificate is not the pinned one";
            case client_errc::no_name:
                return "no server name to verify the certificate for";
        }
        return error_text(-value);
    }
};

std::error_code tls_error(int code) { return {code < 0 ? -code : code, category()}; }

// Ciphertext is read from the transport in pieces of this size; wolfSSL copies it into its own record
// buffer, so this bounds our share of a TLS session's memory.
constexpr std::size_t input_chunk = 4096;
// wolfSSL_write is given at most one full TLS record of plaintext at a time.
constexpr std::size_t max_record = 16384;

std::string hex(const unsigned char* data, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 0x0f];
    }
    return out;
}

std::string asn1_text(WOLFSSL_ASN1_STRING* s) {
    if (s == nullptr) {
        return {};
    }
    const auto* data = reinterpret_cast<const char*>(wolfSSL_ASN1_STRING_data(s));
    const int size = wolfSSL_ASN1_STRING_length(s);
    return data != nullptr && size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

peer_certificate describe(WOLFSSL* ssl) {
    peer_certificate peer;
    WOLFSSL_X509* cert = wolfSSL_get_peer_certificate(ssl);
    if (cert == nullptr) {
        return peer;
    }
    peer.present = true;
    peer.verified = wolfSSL_get_verify_result(ssl) == X509_V_OK;
    if (WOLFSSL_X509_NAME* subject = wolfSSL_X509_get_subject_name(cert)) {
        char text[1024] = {};
        if (wolfSSL_X509_NAME_oneline(subject, text, sizeof text) != nullptr) {
            peer.subject = text;
        }
        char cn[256] = {};
        if (wolfSSL_X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof cn) > 0) {
            peer.common_name = cn;
        }
    }
    auto* names = static_cast<WOLF_STACK_OF(WOLFSSL_GENERAL_NAME)*>(
        wolfSSL_X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (names != nullptr) {
        for (int i = 0; i < wolfSSL_sk_GENERAL_NAME_num(names); ++i) {
            WOLFSSL_GENERAL_NAME* name = wolfSSL_sk_GENERAL_NAME_value(names, i);
            if (name == nullptr) {
                continue;
            }
            if (name->type == GEN_EMAIL) {
                peer.san_emails.push_back(asn1_text(name->d.rfc822Name));
            } else if (name->type == GEN_DNS) {
                peer.san_dns.push_back(asn1_text(name->d.dNSName));
            }
        }
        wolfSSL_sk_GENERAL_NAME_pop_free(names, wolfSSL_GENERAL_NAME_free);
    }
    int der_size = 0;
    if (const unsigned char* der = wolfSSL_X509_get_der(cert, &der_size); der != nullptr && der_size > 0) {
        unsigned char digest[WC_SHA256_DIGEST_SIZE];
        if (wc_Sha256Hash(der, static_cast<word32>(der_size), digest) == 0) {
            peer.sha256_fingerprint = hex(digest, sizeof digest);
        }
    }
    wolfSSL_X509_free(cert);
    return peer;
}

// RFC 7627 5.1: whether a ServerHello (the handshake message, from its type octet) carries the
// extended_master_secret extension. Anything malformed counts as "no".
bool server_hello_has_ems(const unsigned char* p, std::size_t size) {
    constexpr unsigned char server_hello = 2;
    constexpr unsigned extended_master_secret = 0x0017;
    auto u16 = [&](std::size_t at) { return static_cast<unsigned>(p[at] << 8 | p[at + 1]); };
    // type(1) length(3) version(2) random(32), then session_id<0..32>
    std::size_t at = 4 + 2 + 32;
    if (size <= at || p[0] != server_hello) {
        return false;
    }
    at += 1 + p[at];  // session_id
    at += 2 + 1;      // cipher_suite, compression_method
    if (size < at + 2) {
        return false;  // no extensions at all
    }
    const std::size_t end = std::min(size, at + 2 + u16(at));
    for (at += 2; at + 4 <= end; at += 4 + u16(at + 2)) {
        if (u16(at) == extended_master_secret) {
            return true;
        }
    }
    return false;
}

}  // namespace

const std::error_category& category() noexcept {
    static const tls_category instance;
    return instance;
}

std::error_code make_error_code(client_errc e) noexcept { return {static_cast<int>(e), category()}; }

tls_stream::tls_stream(std::unique_ptr<net::stream> transport, std::shared_ptr<const context> ctx)
    : tls_stream(std::move(transport), ctx->internals().main.get(), ctx, ctx->settings().handshake_timeout) {}

tls_stream::tls_stream(std::unique_ptr<net::stream> transport, std::shared_ptr<const client_context> ctx)
    : tls_stream(std::move(transport), ctx->internals().ctx.get(), ctx, ctx->settings().handshake_timeout) {
    client_ = static_cast<const client_context*>(owner_.get());
}

tls_stream::tls_stream(std::unique_ptr<net::stream> transport, WOLFSSL_CTX* ctx, std::shared_ptr<const void> owner,
                       std::chrono::milliseconds handshake_timeout)
    : transport_(std::move(transport)), owner_(std::move(owner)), handshake_timeout_(handshake_timeout) {
    ssl_ = wolfSSL_new(ctx);
    if (ssl_ == nullptr) {
        throw std::bad_alloc();
    }
    wolfSSL_SSLSetIORecv(ssl_, &tls_stream::on_receive);
    wolfSSL_SSLSetIOSend(ssl_, &tls_stream::on_send);
    wolfSSL_SetIOReadCtx(ssl_, this);
    wolfSSL_SetIOWriteCtx(ssl_, this);
    wolfSSL_set_msg_callback(ssl_, &tls_stream::on_message);
    wolfSSL_set_msg_callback_arg(ssl_, this);
}

tls_stream::~tls_stream() { wolfSSL_free(ssl_); }

int tls_stream::on_receive(WOLFSSL*, char* buffer, int size, void* self_ptr) {
    auto& self = *static_cast<tls_stream*>(self_ptr);
    const std::size_t available = self.in_end_ - self.in_begin_;
    if (available == 0) {
        return WOLFSSL_CBIO_ERR_WANT_READ;  // the caller awaits the transport, then asks wolfSSL again
    }
    const std::size_t n = std::min(available, static_cast<std::size_t>(size));
    std::memcpy(buffer, self.in_.data() + self.in_begin_, n);
    self.in_begin_ += n;
    return static_cast<int>(n);
}

int tls_stream::on_send(WOLFSSL*, char* buffer, int size, void* self_ptr) {
    // Never WANT_WRITE: output is collected and written by flush_output() under the transport's deadline.
    static_cast<tls_stream*>(self_ptr)->out_.append(buffer, static_cast<std::size_t>(size));
    return size;
}

void tls_stream::on_message(int write_p, int, int content_type, const void* buf, std::size_t len, WOLFSSL*,
                            void* self_ptr) {
    // wolfSSL 5.5 has no call that says whether Extended Master Secret was negotiated (its haveEMS is
    // internal), so we read it off the ServerHello we send: the extension is in it exactly when both sides
    // use EMS (RFC 7627 5.1), on a full handshake and on a resumed one (5.3). wolfSSL shows the messages it
    // writes with their record header.
    constexpr int handshake = 22;
    constexpr std::size_t record_header = 5;
    const auto* p = static_cast<const unsigned char*>(buf);
    if (write_p != 1 || content_type != handshake || len <= record_header || p[0] != handshake) {
        return;
    }
    constexpr unsigned char server_hello = 2;
    if (p[record_header] == server_hello) {
        static_cast<tls_stream*>(self_ptr)->extended_master_secret_ =
            server_hello_has_ems(p + record_header, len - record_header);
    }
}

asio::awaitable<std::error_code> tls_stream::flush_output() {
    if (out_.empty()) {
        co_return std::error_code{};
    }
    const auto result = co_await transport_->write_all(out_);
    out_.clear();
    co_return result.ec;
}

asio::awaitable<std::error_code> tls_stream::fill_input() {
    if (in_begin_ == in_end_) {
        in_begin_ = in_end_ = 0;
    }
    if (in_.empty()) {
        in_ = io::pooled_buffer(input_chunk);
    } else if (in_end_ == input_chunk) {
        std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
    }
    const auto result = co_await transport_->read_some({in_.data() + in_end_, input_chunk - in_end_});
    in_end_ += result.bytes;
    co_return result.ec;
}

asio::awaitable<std::error_code> tls_stream::handshake(std::chrono::milliseconds restore_timeout) {
    co_return co_await run_handshake(&wolfSSL_accept, restore_timeout);
}

asio::awaitable<std::error_code> tls_stream::connect(const std::string& server_name,
                                                     std::chrono::milliseconds restore_timeout) {
    std::error_code not_an_address;
    asio::ip::make_address(server_name, not_an_address);
    // RFC 6066 3: SNI carries host names only, never an address literal.
    if (!server_name.empty() && not_an_address) {
        wolfSSL_UseSNI(ssl_, WOLFSSL_SNI_HOST_NAME, server_name.data(),
                       static_cast<unsigned short>(server_name.size()));
    }
    if (client_->verifies_chain()) {
        if (server_name.empty()) {
            failed_ = client_errc::no_name;
            co_return failed_;
        }
        // The chain alone proves nothing about whom we talk to: the name must be in the certificate too.
        wolfSSL_check_domain_name(ssl_, server_name.c_str());
    }
    if (auto ec = co_await run_handshake(&wolfSSL_connect, restore_timeout)) {
        co_return ec;
    }
    if (!client_->pin().empty() && describe(ssl_).sha256_fingerprint != client_->pin()) {
        failed_ = client_errc::pin_mismatch;
        co_return failed_;
    }
    co_return std::error_code{};
}

asio::awaitable<std::error_code> tls_stream::run_handshake(int (*step)(WOLFSSL*),
                                                           std::chrono::milliseconds restore_timeout) {
    transport_->set_timeout(handshake_timeout_);
    for (;;) {
        const int rc = step(ssl_);
        if (rc == WOLFSSL_SUCCESS) {
            // What the handshake wrote last (TLS 1.3's session tickets, TLS 1.2's Finished) waits in out_ for
            // our first write, the greeting, and goes out with it: one packet fewer. Nothing can wait on it:
            // read_some() flushes before it waits for the client.
            transport_->set_timeout(restore_timeout);
            co_return std::error_code{};
        }
        const int err = wolfSSL_get_error(ssl_, rc);
        // Whatever wolfSSL produced goes out first: the next flight, or the alert that explains a failure.
        if (auto ec = co_await flush_output(); ec && !failed_) {
            failed_ = ec;
            co_return failed_;
        }
        if (err != WOLFSSL_ERROR_WANT_READ) {
            failed_ = tls_error(err);
            co_return failed_;
        }
        if (auto ec = co_await fill_input()) {
            failed_ = ec;
            co_return failed_;
        }
    }
}

channel_info tls_stream::channel() const {
    channel_info info;
    info.version = wolfSSL_get_version(ssl_);
    if (const char* cipher = wolfSSL_get_cipher_name(ssl_)) {
        info.cipher = cipher;
    }
    if (const char* name = wolfSSL_get_servername(ssl_, WOLFSSL_SNI_HOST_NAME)) {
        info.server_name = name;
    }
    info.peer = describe(ssl_);
    if (wolfSSL_version(ssl_) == TLS1_3_VERSION) {
        static constexpr char label[] = "EXPORTER-Channel-Binding";  // RFC 9266
        std::vector<unsigned char> binding(32);
        if (wolfSSL_export_keying_material(ssl_, binding.data(), binding.size(), label, sizeof label - 1, nullptr, 0,
                                           0) == WOLFSSL_SUCCESS) {
            info.channel_binding_type = "tls-exporter";
            info.channel_binding = std::move(binding);
        }
    } else if (extended_master_secret_) {
        // RFC 5929: the first Finished message of the handshake: the client's on a full handshake, ours on
        // a resumed one. Only with Extended Master Secret: without it a man in the middle can run two
        // handshakes with the same Finished messages (the triple handshake attack), so RFC 7627 5.4 and
        // RFC 9266 3 forbid tls-unique there. No binding means no -PLUS mechanism is offered.
        unsigned char finished[64];
        const std::size_t size = wolfSSL_session_reused(ssl_)
                                     ? wolfSSL_get_finished(ssl_, finished, sizeof finished)
                                     : wolfSSL_get_peer_finished(ssl_, finished, sizeof finished);
        if (size > 0 && size <= sizeof finished) {
            info.channel_binding_type = "tls-unique";
            info.channel_binding.assign(finished, finished + size);
        }
    }
    return info;
}

asio::awaitable<net::io_result> tls_stream::read_some(std::span<char> buffer) {
    for (;;) {
        if (failed_) {
            co_return net::io_result{failed_, 0};
        }
        const int rc =
            wolfSSL_read(ssl_, buffer.data(), static_cast<int>(std::min<std::size_t>(buffer.size(), INT_MAX)));
        const int err = rc > 0 ? 0 : wolfSSL_get_error(ssl_, rc);
        // Reading can produce output: an alert, a reply to a key update.
        if (auto ec = co_await flush_output()) {
            failed_ = ec;
            continue;
        }
        if (rc > 0) {
            co_return net::io_result{{}, static_cast<std::size_t>(rc)};
        }
        if (err == WOLFSSL_ERROR_ZERO_RETURN) {
            co_return net::io_result{asio::error::eof, 0};  // the client's close_notify
        }
        if (err != WOLFSSL_ERROR_WANT_READ) {
            failed_ = tls_error(err);
            continue;
        }
        if (auto ec = co_await fill_input()) {
            co_return net::io_result{ec, 0};  // timeout, stopping, eof: the session decides
        }
    }
}

asio::awaitable<std::error_code> tls_stream::wait_readable() {
    if (failed_ || wolfSSL_pending(ssl_) > 0 || wolfSSL_has_pending(ssl_) == 1 || in_end_ > in_begin_) {
        co_return std::error_code{};  // read_some() answers at once (or reports the failure)
    }
    if (auto ec = co_await flush_output()) {
        failed_ = ec;
        co_return std::error_code{};
    }
    in_begin_ = in_end_ = 0;
    in_.release();
    std::string().swap(out_);
    co_return co_await transport_->wait_readable();
}

asio::awaitable<net::io_result> tls_stream::write_all(std::span<const char> data) {
    if (failed_) {
        co_return net::io_result{failed_, 0};
    }
    for (std::size_t done = 0; done < data.size();) {
        const int chunk = static_cast<int>(std::min(max_record, data.size() - done));
        const int rc = wolfSSL_write(ssl_, data.data() + done, chunk);
        if (rc <= 0) {
            failed_ = tls_error(wolfSSL_get_error(ssl_, rc));
            co_return net::io_result{failed_, done};
        }
        done += static_cast<std::size_t>(rc);
    }
    if (auto ec = co_await flush_output()) {
        failed_ = ec;
        co_return net::io_result{ec, 0};
    }
    co_return net::io_result{{}, data.size()};
}

asio::awaitable<void> tls_stream::shutdown() {
    if (!failed_) {
        wolfSSL_shutdown(ssl_);  // queues our close_notify; we do not wait for the client's
        co_await flush_output();
    }
    co_await transport_->shutdown();
}

}  // namespace mailwright::tls
