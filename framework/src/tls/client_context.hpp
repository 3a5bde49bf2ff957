// The client side of TLS, for the connections the framework makes (the SMTP/LMTP client): how the server's
// certificate is judged. Plain data and an immutable context, like the server's tls::context; no wolfSSL here.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace mailwright::tls {

struct client_settings {
    bool verify = true;       // the chain (to ca_file or the system store) and the name; false: any certificate
    std::string ca_file;      // PEM bundle of trusted CAs; empty: the system store
    std::string fingerprint;  // "sha256:<hex>" of the server's certificate (DER): when set, the pin decides alone
    std::chrono::milliseconds handshake_timeout{std::chrono::seconds(60)};
};

class client_context {
  public:
    // Throws std::runtime_error when the CA file (or the system store) cannot be read or the pin is malformed.
    static std::shared_ptr<const client_context> create(const client_settings& s);

    ~client_context();
    client_context(const client_context&) = delete;
    client_context& operator=(const client_context&) = delete;

    const client_settings& settings() const noexcept;
    // Whether the chain and the name are checked: verify is on and no pin replaces them.
    bool verifies_chain() const noexcept;
    // The pinned SHA-256 in lowercase hex without separators; empty when nothing is pinned.
    const std::string& pin() const noexcept;

    struct impl;
    const impl& internals() const noexcept;

  private:
    explicit client_context(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

}  // namespace mailwright::tls
