// TLS settings of a listener, as the configuration gives them. Plain data: no wolfSSL here.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace mailwright::tls {

enum class mode {
    none,      // plaintext only
    starttls,  // plaintext first; the protocol's STARTTLS/STLS upgrades in place
    implicit,  // the handshake comes first (ports 465, 995: RFC 8314)
};

enum class client_certificates {
    none,      // not asked for
    optional,  // asked for; verified against client_ca when sent
    required,  // the handshake fails without a certificate that verifies
};

enum class version { tls1_2, tls1_3 };

// One more certificate, chosen when the client's SNI names one of `names`.
struct sni_certificate {
    std::vector<std::string> names;
    std::string certificate;  // PEM chain, leaf first
    std::string key;          // PEM private key
};

struct settings {
    std::string certificate;  // PEM chain, leaf first
    std::string key;          // PEM private key
    std::vector<sni_certificate> sni;
    version min_version = version::tls1_2;  // TLS 1.0 and 1.1 are never offered (RFC 8996)
    // TLS 1.2 cipher suites (OpenSSL syntax). The default keeps forward secrecy and AEAD only; TLS 1.3
    // suites are all AEAD and are left as wolfSSL orders them.
    std::string ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
    bool session_tickets = true;
    client_certificates client_certs = client_certificates::none;
    std::string client_ca;  // PEM file of CAs that client certificates must chain to
    std::chrono::milliseconds handshake_timeout{std::chrono::seconds(30)};
};

}  // namespace mailwright::tls
