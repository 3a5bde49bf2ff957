// What a session and its plugins may learn about the TLS channel and the client's certificate.
#pragma once

#include <string>
#include <vector>

namespace mailwright::tls {

struct peer_certificate {
    bool present = false;
    bool verified = false;  // chained to the configured client CA; only then may it authenticate (EXTERNAL)
    std::string subject;    // one-line distinguished name, e.g. "/C=DE/O=Example/CN=alice"
    std::string common_name;
    std::vector<std::string> san_emails;
    std::vector<std::string> san_dns;
    std::string sha256_fingerprint;  // lowercase hex of the DER certificate's SHA-256, 64 characters
};

struct channel_info {
    std::string version;      // "TLSv1.3"
    std::string cipher;       // "TLS_AES_128_GCM_SHA256"
    std::string server_name;  // SNI the client sent, if any
    peer_certificate peer;
    // Channel binding for SCRAM-PLUS: "tls-exporter" (RFC 9266) on TLS 1.3, "tls-unique" (RFC 5929) on 1.2
    // with Extended Master Secret (RFC 7627); empty on TLS 1.2 without it, where tls-unique proves nothing.
    std::string channel_binding_type;
    std::vector<unsigned char> channel_binding;
};

}  // namespace mailwright::tls
