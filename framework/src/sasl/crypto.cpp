// wolfCrypt behind mailwright::sasl's small crypto interface.
#include "mailwright/sasl/crypto.hpp"

#include <mutex>
#include <stdexcept>

#include "../tls/wolfssl.hpp"
// clang-format off
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/md5.h>
#include <wolfssl/wolfcrypt/pwdbased.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha512.h>
// clang-format on

namespace mailwright::sasl {

namespace {

int wc_type(digest d) {
    switch (d) {
        case digest::md5:
            return WC_MD5;
        case digest::sha1:
            return WC_SHA;
        case digest::sha256:
            return WC_SHA256;
        case digest::sha512:
            return WC_SHA512;
    }
    return WC_SHA256;
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

void check(int rc, const char* what) {
    if (rc != 0) {
        throw std::runtime_error(std::string("wolfCrypt ") + what + " failed: " + std::to_string(rc));
    }
}

int value_of(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

}  // namespace

std::size_t digest_size(digest d) noexcept {
    switch (d) {
        case digest::md5:
            return WC_MD5_DIGEST_SIZE;
        case digest::sha1:
            return WC_SHA_DIGEST_SIZE;
        case digest::sha256:
            return WC_SHA256_DIGEST_SIZE;
        case digest::sha512:
            return WC_SHA512_DIGEST_SIZE;
    }
    return 0;
}

std::string hash(digest d, std::string_view data) {
    std::string out(digest_size(d), '\0');
    switch (d) {
        case digest::md5:
            check(wc_Md5Hash(bytes(data), static_cast<word32>(data.size()), bytes(out)), "MD5");
            break;
        case digest::sha1:
            check(wc_ShaHash(bytes(data), static_cast<word32>(data.size()), bytes(out)), "SHA-1");
            break;
        case digest::sha256:
            check(wc_Sha256Hash(bytes(data), static_cast<word32>(data.size()), bytes(out)), "SHA-256");
            break;
        case digest::sha512:
            check(wc_Sha512Hash(bytes(data), static_cast<word32>(data.size()), bytes(out)), "SHA-512");
            break;
    }
    return out;
}

std::string hmac(digest d, std::string_view key, std::string_view data) {
    Hmac h;
    check(wc_HmacInit(&h, nullptr, INVALID_DEVID), "HMAC init");
    std::string out(digest_size(d), '\0');
    int rc = wc_HmacSetKey(&h, wc_type(d), bytes(key), static_cast<word32>(key.size()));
    if (rc == 0) {
        rc = wc_HmacUpdate(&h, bytes(data), static_cast<word32>(data.size()));
    }
    if (rc == 0) {
        rc = wc_HmacFinal(&h, bytes(out));
    }
    wc_HmacFree(&h);
    check(rc, "HMAC");
    return out;
}

std::string pbkdf2(digest d, std::string_view password, std::string_view salt, unsigned iterations) {
    std::string out(digest_size(d), '\0');
    check(wc_PBKDF2(bytes(out), bytes(password), static_cast<int>(password.size()), bytes(salt),
                    static_cast<int>(salt.size()), static_cast<int>(iterations), static_cast<int>(out.size()),
                    wc_type(d)),
          "PBKDF2");
    return out;
}

std::string base64_encode(std::string_view data) {
    word32 size = static_cast<word32>((data.size() + 2) / 3 * 4 + 1);
    std::string out(size, '\0');
    check(Base64_Encode_NoNl(bytes(data), static_cast<word32>(data.size()), bytes(out), &size), "base64");
    out.resize(size);
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t padding = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '=') {
            ++padding;
            if (i < text.size() - 2) {
                return std::nullopt;  // '=' only in the last two places
            }
        } else if (padding != 0 || value_of(text[i]) < 0) {
            return std::nullopt;
        }
    }
    if (padding > 2) {
        return std::nullopt;
    }
    // The bits after the last encoded octet must be zero (canonical encoding).
    if (padding == 1 && (value_of(text[text.size() - 2]) & 0x03) != 0) {
        return std::nullopt;
    }
    if (padding == 2 && (value_of(text[text.size() - 3]) & 0x0f) != 0) {
        return std::nullopt;
    }
    std::string out(text.size() / 4 * 3, '\0');
    word32 size = static_cast<word32>(out.size());
    if (text.empty()) {
        return std::string();
    }
    if (Base64_Decode(bytes(text), static_cast<word32>(text.size()), bytes(out), &size) != 0) {
        return std::nullopt;
    }
    out.resize(size);
    return out;
}

std::string hex(std::string_view data) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(data.size() * 2);
    for (unsigned char c : data) {
        out += digits[c >> 4];
        out += digits[c & 0x0f];
    }
    return out;
}

std::string random_bytes(std::size_t count) {
    tls::ensure_initialised();
    thread_local struct rng_holder {
        WC_RNG rng;
        bool ready = wc_InitRng(&rng) == 0;
        ~rng_holder() {
            if (ready) {
                wc_FreeRng(&rng);
            }
        }
    } holder;
    if (!holder.ready) {
        throw std::runtime_error("wolfCrypt random number generator unavailable");
    }
    std::string out(count, '\0');
    check(wc_RNG_GenerateBlock(&holder.rng, bytes(out), static_cast<word32>(count)), "RNG");
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return diff == 0;
}

void wipe(std::string& secret) noexcept {
    volatile char* p = secret.data();
    for (std::size_t i = 0; i < secret.size(); ++i) {
        p[i] = 0;
    }
    secret.clear();
}

}  // namespace mailwright::sasl
