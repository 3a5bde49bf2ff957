// Self-signed development certificates with wolfCrypt's certificate generation (no openssl command).
#include "mailwright/tls/certificate.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "wolfssl.hpp"
// clang-format off
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
// clang-format on

namespace mailwright::tls {

namespace {

void check(int rc, const char* what) {
    if (rc < 0) {
        throw std::runtime_error(std::string("generating a certificate: ") + what + " failed: " + error_text(rc));
    }
}

// DER length octets.
std::string der_length(std::size_t n) {
    if (n < 0x80) {
        return std::string(1, static_cast<char>(n));
    }
    std::string octets;
    for (; n != 0; n >>= 8) {
        octets.insert(octets.begin(), static_cast<char>(n & 0xff));
    }
    return std::string(1, static_cast<char>(0x80 | octets.size())) + octets;
}

// GeneralNames ::= SEQUENCE OF GeneralName, each a dNSName ([2] IA5String), as wolfSSL's altNames wants it.
std::string dns_alt_names(const std::vector<std::string>& names) {
    std::string body;
    for (const auto& name : names) {
        body += '\x82' + der_length(name.size()) + name;
    }
    return '\x30' + der_length(body.size()) + body;
}

std::string to_pem(const unsigned char* der, int size, int type) {
    std::string pem(static_cast<std::size_t>(size) * 2 + 128, '\0');
    const int n = wc_DerToPem(der, static_cast<word32>(size), reinterpret_cast<byte*>(pem.data()),
                              static_cast<word32>(pem.size()), type);
    check(n, "PEM encoding");
    pem.resize(static_cast<std::size_t>(n));
    return pem;
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
        std::filesystem::create_directories(parent);
    }
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        throw std::runtime_error("cannot create " + tmp);
    }
    const bool ok =
        ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot write " + path);
    }
}

}  // namespace

generated_certificate make_self_signed(const std::vector<std::string>& names, int days) {
    if (names.empty()) {
        throw std::invalid_argument("a certificate needs at least one name");
    }
    ensure_initialised();
    WC_RNG rng;
    check(wc_InitRng(&rng), "random number generator");
    ecc_key key;
    wc_ecc_init(&key);
    generated_certificate out;
    try {
        check(wc_ecc_make_key_ex(&rng, 32, &key, ECC_SECP256R1), "P-256 key generation");

        Cert cert;
        check(wc_InitCert(&cert), "certificate initialisation");
        std::snprintf(cert.subject.commonName, CTC_NAME_SIZE, "%s", names.front().c_str());
        std::snprintf(cert.subject.org, CTC_NAME_SIZE, "%s", "Mailwright development certificate");
        cert.daysValid = days;
        cert.sigType = CTC_SHA256wECDSA;
        cert.isCA = 0;
        const std::string san = dns_alt_names(names);
        if (san.size() > sizeof cert.altNames) {
            throw std::invalid_argument("too many names for one certificate");
        }
        std::memcpy(cert.altNames, san.data(), san.size());
        cert.altNamesSz = static_cast<int>(san.size());

        std::vector<unsigned char> der(4096);
        check(wc_MakeCert(&cert, der.data(), static_cast<word32>(der.size()), nullptr, &key, &rng), "encoding");
        const int size =
            wc_SignCert(cert.bodySz, cert.sigType, der.data(), static_cast<word32>(der.size()), nullptr, &key, &rng);
        check(size, "signing");
        out.certificate_pem = to_pem(der.data(), size, CERT_TYPE);

        std::vector<unsigned char> key_der(512);
        const int key_size = wc_EccKeyToDer(&key, key_der.data(), static_cast<word32>(key_der.size()));
        check(key_size, "key encoding");
        out.key_pem = to_pem(key_der.data(), key_size, ECC_PRIVATEKEY_TYPE);
    } catch (...) {
        wc_ecc_free(&key);
        wc_FreeRng(&rng);
        throw;
    }
    wc_ecc_free(&key);
    wc_FreeRng(&rng);
    release_thread_state();
    return out;
}

bool ensure_self_signed(const std::string& cert_path, const std::string& key_path,
                        const std::vector<std::string>& names) {
    if (std::filesystem::exists(cert_path) && std::filesystem::exists(key_path)) {
        return false;
    }
    const auto generated = make_self_signed(names);
    write_file(key_path, generated.key_pem, 0600);
    write_file(cert_path, generated.certificate_pem, 0644);
    return true;
}

}  // namespace mailwright::tls
