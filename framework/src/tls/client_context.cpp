// tls::client_context: a client WOLFSSL_CTX whose verification follows client_settings.
#include "client_context.hpp"

#include <cctype>
#include <fstream>
#include <stdexcept>

#include "wolfssl.hpp"

namespace mailwright::tls {

namespace {

// Where Debian and its derivatives keep the system's CAs, for a wolfSSL that cannot find them itself.
constexpr const char* debian_ca_bundle = "/etc/ssl/certs/ca-certificates.crt";

// "sha256:AB:CD..." or "sha256:abcd...": 64 hex digits, colons allowed between them.
std::string parse_pin(const std::string& text) {
    std::string hex;
    const bool prefixed = text.size() > 7 && (text.compare(0, 7, "sha256:") == 0 || text.compare(0, 7, "SHA256:") == 0);
    for (std::size_t i = prefixed ? 7 : 0; prefixed && i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (std::isxdigit(c)) {
            hex += static_cast<char>(std::tolower(c));
        } else if (c != ':') {
            hex.clear();
            break;
        }
    }
    if (hex.size() != 64) {
        throw std::runtime_error(
            "a certificate pin is \"sha256:\" and the 64 hex digits of the certificate's "
            "SHA-256, not \"" +
            text + "\"");
    }
    return hex;
}

void load_trust(WOLFSSL_CTX* ctx, const std::string& ca_file) {
    if (!ca_file.empty()) {
        if (!std::ifstream(ca_file)) {
            throw std::runtime_error("cannot read the TLS CA file " + ca_file);
        }
        if (int rc = wolfSSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr); rc != WOLFSSL_SUCCESS) {
            throw std::runtime_error("TLS CA file " + ca_file + " holds no usable certificate: " + error_text(rc));
        }
        return;
    }
    if (wolfSSL_CTX_load_system_CA_certs(ctx) == WOLFSSL_SUCCESS) {
        return;
    }
    if (wolfSSL_CTX_load_verify_locations(ctx, debian_ca_bundle, nullptr) != WOLFSSL_SUCCESS) {
        throw std::runtime_error(std::string("cannot load the system's CA certificates (nor ") + debian_ca_bundle +
                                 "): set a CA file, or pin the certificate");
    }
}

}  // namespace

std::shared_ptr<const client_context> client_context::create(const client_settings& s) {
    ensure_initialised();
    auto i = std::make_unique<impl>();
    i->settings = s;
    if (!s.fingerprint.empty()) {
        i->pin = parse_pin(s.fingerprint);
    }
    i->ctx.reset(wolfSSL_CTX_new(wolfSSLv23_client_method()));
    if (!i->ctx) {
        throw std::runtime_error("wolfSSL_CTX_new failed");
    }
    // As the server side: never below TLS 1.2 (RFC 8996).
    if (wolfSSL_CTX_SetMinVersion(i->ctx.get(), WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS) {
        throw std::runtime_error("cannot set the minimum TLS version");
    }
    if (s.verify && i->pin.empty()) {
        load_trust(i->ctx.get(), s.ca_file);
        wolfSSL_CTX_set_verify(i->ctx.get(), WOLFSSL_VERIFY_PEER, nullptr);
    } else {
        // A pin is checked after the handshake against the certificate itself (tls_stream::connect), so the
        // chain does not matter: a self-signed next hop can be pinned.
        wolfSSL_CTX_set_verify(i->ctx.get(), WOLFSSL_VERIFY_NONE, nullptr);
    }
    return std::shared_ptr<const client_context>(new client_context(std::move(i)));
}

client_context::client_context(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
client_context::~client_context() = default;
const client_settings& client_context::settings() const noexcept { return impl_->settings; }
bool client_context::verifies_chain() const noexcept { return impl_->settings.verify && impl_->pin.empty(); }
const std::string& client_context::pin() const noexcept { return impl_->pin; }
const client_context::impl& client_context::internals() const noexcept { return *impl_; }

}  // namespace mailwright::tls
