// A development certificate made by wolfSSL itself: self-signed, ECDSA P-256, for the README's run command
// and for tests. Never for production: nothing trusts it.
#pragma once

#include <string>
#include <vector>

namespace mailwright::tls {

struct generated_certificate {
    std::string certificate_pem;
    std::string key_pem;
};

// Subject CN is the first name; every name becomes a DNS SAN. Valid from now for `days` days.
generated_certificate make_self_signed(const std::vector<std::string>& names, int days = 825);

// Writes a new certificate to cert_path and its key (mode 0600) to key_path unless both exist. Returns true
// when it wrote them. Throws std::runtime_error on failure.
bool ensure_self_signed(const std::string& cert_path, const std::string& key_path,
                        const std::vector<std::string>& names);

}  // namespace mailwright::tls
