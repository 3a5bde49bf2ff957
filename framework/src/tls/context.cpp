// tls::context: WOLFSSL_CTX set-up from settings, SNI selection, error texts.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "wolfssl.hpp"
// clang-format off
#include <wolfssl/wolfcrypt/ecc.h>
// clang-format on

namespace mailwright::tls {

std::string error_text(int code) {
    char text[WOLFSSL_MAX_ERROR_SZ] = {};
    wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code < 0 ? -code : code), text, sizeof text);
    return std::string(text) + " (" + std::to_string(code) + ")";
}

void ensure_initialised() {
    static std::once_flag once;
    std::call_once(once, [] { wolfSSL_Init(); });
}

void release_thread_state() noexcept { wc_ecc_fp_free(); }

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

bool name_matches(std::string_view pattern, std::string_view name) {
    if (pattern.starts_with("*.")) {
        const auto dot = name.find('.');
        return dot != std::string_view::npos && dot > 0 && name.substr(dot) == pattern.substr(1);
    }
    return pattern == name;
}

void require_readable(const std::string& path, const char* what) {
    if (path.empty()) {
        throw std::runtime_error(std::string("no TLS ") + what + " file is configured");
    }
    if (!std::ifstream(path)) {
        throw std::runtime_error(std::string("cannot read TLS ") + what + " file " + path);
    }
}

// Accepts any client certificate on "optional" listeners (an unverified one just cannot authenticate);
// verification's verdict stays available through wolfSSL_get_verify_result().
int accept_unverified(int, WOLFSSL_X509_STORE_CTX*) { return 1; }

int choose_certificate(WOLFSSL* ssl, int*, void* arg) {
    const auto* self = static_cast<const context::impl*>(arg);
    const char* name = wolfSSL_get_servername(ssl, WOLFSSL_SNI_HOST_NAME);
    if (name != nullptr) {
        if (WOLFSSL_CTX* chosen = self->for_name(name); chosen != nullptr) {
            wolfSSL_set_SSL_CTX(ssl, chosen);
        }
    }
    return 0;  // SSL_TLSEXT_ERR_OK: an unknown name gets the default certificate
}

ctx_ptr make_ctx(const settings& s, const std::string& cert, const std::string& key) {
    require_readable(cert, "certificate");
    require_readable(key, "key");
    ctx_ptr ctx(wolfSSL_CTX_new(wolfSSLv23_server_method()));
    if (!ctx) {
        throw std::runtime_error("wolfSSL_CTX_new failed");
    }
    // TLS 1.0 and 1.1 are never negotiated (RFC 8996); 1.2 is the floor unless 1.3 is asked for.
    if (wolfSSL_CTX_SetMinVersion(ctx.get(), s.min_version == version::tls1_3 ? WOLFSSL_TLSV1_3 : WOLFSSL_TLSV1_2) !=
        WOLFSSL_SUCCESS) {
        throw std::runtime_error("cannot set the minimum TLS version");
    }
    if (int rc = wolfSSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()); rc != WOLFSSL_SUCCESS) {
        throw std::runtime_error("TLS certificate " + cert +
                                 " is not a usable PEM certificate chain: " + error_text(rc));
    }
    if (int rc = wolfSSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), WOLFSSL_FILETYPE_PEM); rc != WOLFSSL_SUCCESS) {
        throw std::runtime_error("TLS key " + key + " is not a usable PEM private key: " + error_text(rc));
    }
    if (wolfSSL_CTX_check_private_key(ctx.get()) != WOLFSSL_SUCCESS) {
        throw std::runtime_error("TLS key " + key + " does not belong to the certificate " + cert);
    }
    // wolfSSL's cipher list covers every version: keep the TLS 1.3 suites beside the configured 1.2 ones.
    const std::string ciphers =
        "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:" + s.ciphers;
    if (wolfSSL_CTX_set_cipher_list(ctx.get(), ciphers.c_str()) != WOLFSSL_SUCCESS) {
        throw std::runtime_error("no usable cipher in the TLS cipher list \"" + s.ciphers + "\"");
    }
    const bool resumption = s.session_tickets && s.client_certs != client_certificates::required;
    if (!resumption) {
        // A resumed session skips the certificate exchange: where a certificate is required, every
        // connection must show one (SECURITY-CASES 42).
        wolfSSL_CTX_NoTicketTLSv12(ctx.get());
        wolfSSL_CTX_no_ticket_TLSv13(ctx.get());
        wolfSSL_CTX_set_session_cache_mode(ctx.get(), WOLFSSL_SESS_CACHE_OFF);
    }
    if (s.client_certs != client_certificates::none) {
        require_readable(s.client_ca, "client CA");
        if (int rc = wolfSSL_CTX_load_verify_locations(ctx.get(), s.client_ca.c_str(), nullptr);
            rc != WOLFSSL_SUCCESS) {
            throw std::runtime_error("TLS client CA file " + s.client_ca +
                                     " holds no usable certificate: " + error_text(rc));
        }
        if (s.client_certs == client_certificates::required) {
            wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
        } else {
            wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_PEER, accept_unverified);
        }
    } else {
        wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_NONE, nullptr);
    }
    return ctx;
}

}  // namespace

WOLFSSL_CTX* context::impl::for_name(std::string_view server_name) const {
    const std::string name = lower(server_name);
    for (const auto& entry : sni) {
        for (const auto& pattern : entry.names) {
            if (name_matches(pattern, name)) {
                return entry.ctx.get();
            }
        }
    }
    return nullptr;
}

std::shared_ptr<const context> context::create(const tls::settings& s) {
    ensure_initialised();
    auto i = std::make_unique<impl>();
    i->settings = s;
    i->main = make_ctx(s, s.certificate, s.key);
    for (const auto& extra : s.sni) {
        sni_entry entry;
        for (const auto& n : extra.names) {
            entry.names.push_back(lower(n));
        }
        entry.ctx = make_ctx(s, extra.certificate, extra.key);
        i->sni.push_back(std::move(entry));
    }
    if (!i->sni.empty()) {
        wolfSSL_CTX_set_servername_callback(i->main.get(), choose_certificate);
        wolfSSL_CTX_set_servername_arg(i->main.get(), i.get());
    }
    return std::shared_ptr<const context>(new context(std::move(i)));
}

context::context(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
context::~context() = default;
const settings& context::settings() const noexcept { return impl_->settings; }
const context::impl& context::internals() const noexcept { return *impl_; }

context_holder::context_holder(std::shared_ptr<const context> initial) : current_(std::move(initial)) {}

std::shared_ptr<const context> context_holder::get() const {
    std::lock_guard lock(mutex_);
    return current_;
}

void context_holder::set(std::shared_ptr<const context> next) {
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
}

}  // namespace mailwright::tls
