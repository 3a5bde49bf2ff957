// Password schemes over libxcrypt, libargon2 and wolfCrypt.
#include "mailwright/sasl/password.hpp"

#include <argon2.h>
#include <crypt.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "mailwright/sasl/crypto.hpp"
#include "mailwright/sasl/mechanism.hpp"

namespace mailwright::sasl {

namespace {

struct scheme_entry {
    scheme value;
    std::string_view name;
};
constexpr scheme_entry schemes[] = {
    {scheme::sha512_crypt, "SHA512-CRYPT"},
    {scheme::blf_crypt, "BLF-CRYPT"},
    {scheme::yescrypt, "YESCRYPT"},
    {scheme::argon2id, "ARGON2ID"},
    {scheme::scram_sha_256, "SCRAM-SHA-256"},
    {scheme::plain_equivalent, "PLAIN-EQUIVALENT"},
    {scheme::plain, "PLAIN"},
};

// Argon2id cost: 19 MiB, 2 passes, 1 lane (the OWASP recommendation for interactive logins).
constexpr std::uint32_t argon2_memory_kib = 19 * 1024;
constexpr std::uint32_t argon2_passes = 2;
constexpr unsigned scram_iterations = 4096;

std::optional<std::pair<scheme, std::string_view>> split(std::string_view stored) {
    if (stored.size() < 2 || stored.front() != '{') {
        return std::nullopt;
    }
    const auto close = stored.find('}');
    if (close == std::string_view::npos) {
        return std::nullopt;
    }
    const auto s = parse_scheme(stored.substr(1, close - 1));
    if (!s) {
        return std::nullopt;
    }
    return std::pair{*s, stored.substr(close + 1)};
}

// crypt(3) takes the password as a C string and would stop at a NUL octet: "pw\0junk" would be hashed, and
// match, as "pw". PBKDF2 (SCRAM) keys HMAC with the password, and HMAC pads keys with NULs, so "pw\0" would
// match "pw"; SASLprep forbids NUL in a SCRAM password anyway (RFC 4013 2.3, table C.2.1). So these schemes
// refuse to hash such a password, and none ever matches their hashes.
bool has_nul(std::string_view password) { return password.find('\0') != std::string_view::npos; }

std::string crypt_hash(const char* prefix, unsigned long cost, std::string_view password) {
    if (has_nul(password)) {
        throw std::invalid_argument(std::string("a password for ") + prefix +
                                    " crypt(3) hashing cannot contain a NUL octet");
    }
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    if (crypt_gensalt_rn(prefix, cost, nullptr, 0, setting, sizeof setting) == nullptr) {
        throw std::runtime_error(std::string("crypt_gensalt failed for ") + prefix);
    }
    crypt_data data{};
    const std::string pw(password);
    const char* out = crypt_rn(pw.c_str(), setting, &data, sizeof data);
    if (out == nullptr || out[0] == '*') {
        throw std::runtime_error(std::string("crypt failed for ") + prefix);
    }
    return out;
}

std::optional<bool> crypt_verify(std::string_view hashed, std::string_view password) {
    if (has_nul(password)) {
        return false;
    }
    crypt_data data{};
    const std::string pw(password);
    const std::string setting(hashed);
    const char* out = crypt_rn(pw.c_str(), setting.c_str(), &data, sizeof data);
    if (out == nullptr || out[0] == '*') {
        return std::nullopt;
    }
    return constant_time_equal(out, hashed);
}

std::string plain_of(scheme s, std::string_view data) {
    if (s == scheme::plain) {
        return std::string(data);
    }
    return base64_decode(data).value_or(std::string());
}

std::string derived_salt(std::string_view user) {
    // Stable per user, so SCRAM derived from a plaintext equivalent shows the same salt every time.
    return hash(digest::sha256, std::string("mailwright scram salt\0", 22) + std::string(user)).substr(0, 16);
}

}  // namespace

std::optional<scheme> parse_scheme(std::string_view name) {
    for (const auto& e : schemes) {
        if (e.name == name) {
            return e.value;
        }
    }
    return std::nullopt;
}

std::string_view scheme_name(scheme s) noexcept {
    for (const auto& e : schemes) {
        if (e.value == s) {
            return e.name;
        }
    }
    return "?";
}

std::string hash_password(scheme s, std::string_view password) {
    std::string data;
    switch (s) {
        case scheme::sha512_crypt:
            data = crypt_hash("$6$", 0, password);
            break;
        case scheme::blf_crypt:
            data = crypt_hash("$2b$", 12, password);  // cost 12: libxcrypt's default of 5 is too cheap
            break;
        case scheme::yescrypt:
            data = crypt_hash("$y$", 0, password);
            break;
        case scheme::argon2id: {
            const std::string salt = random_bytes(16);
            char encoded[256];
            if (argon2id_hash_encoded(argon2_passes, argon2_memory_kib, 1, password.data(), password.size(),
                                      salt.data(), salt.size(), 32, encoded, sizeof encoded) != ARGON2_OK) {
                throw std::runtime_error("argon2id hashing failed");
            }
            data = encoded;
            break;
        }
        case scheme::scram_sha_256:
            if (has_nul(password)) {
                throw std::invalid_argument("a password for SCRAM-SHA-256 cannot contain a NUL octet");
            }
            data = scram_secret(digest::sha256, password, random_bytes(16), scram_iterations);
            break;
        case scheme::plain_equivalent:
            data = base64_encode(password);
            break;
        case scheme::plain:
            data = std::string(password);
            break;
    }
    return "{" + std::string(scheme_name(s)) + "}" + data;
}

std::optional<bool> verify_password(std::string_view stored, std::string_view password) {
    const auto parts = split(stored);
    if (!parts) {
        return std::nullopt;
    }
    const auto [s, data] = *parts;
    switch (s) {
        case scheme::sha512_crypt:
        case scheme::blf_crypt:
        case scheme::yescrypt:
            return crypt_verify(data, password);
        case scheme::argon2id: {
            const std::string encoded(data);
            const int rc = argon2id_verify(encoded.c_str(), password.data(), password.size());
            if (rc == ARGON2_OK) {
                return true;
            }
            return rc == ARGON2_VERIFY_MISMATCH ? std::optional<bool>(false) : std::nullopt;
        }
        case scheme::scram_sha_256: {
            // iterations:salt:storedkey:serverkey; recompute StoredKey from the password and compare.
            const auto a = data.find(':');
            const auto b = a == std::string_view::npos ? a : data.find(':', a + 1);
            const auto c = b == std::string_view::npos ? b : data.find(':', b + 1);
            if (c == std::string_view::npos) {
                return std::nullopt;
            }
            if (has_nul(password)) {
                return false;
            }
            const auto salt = base64_decode(data.substr(a + 1, b - a - 1));
            const unsigned long iterations = std::strtoul(std::string(data.substr(0, a)).c_str(), nullptr, 10);
            if (!salt || iterations == 0 || iterations > 10'000'000) {
                return std::nullopt;
            }
            const std::string mine = scram_secret(digest::sha256, password, *salt, static_cast<unsigned>(iterations));
            return constant_time_equal(mine, data);
        }
        case scheme::plain_equivalent:
        case scheme::plain: {
            std::string clear = plain_of(s, data);
            const bool ok = !clear.empty() && constant_time_equal(clear, password);
            wipe(clear);
            return ok;
        }
    }
    return std::nullopt;
}

bool well_formed(std::string_view stored) {
    const auto parts = split(stored);
    if (!parts) {
        return false;
    }
    const auto [s, data] = *parts;
    switch (s) {
        case scheme::sha512_crypt:
            return data.starts_with("$6$");
        case scheme::blf_crypt:
            return data.starts_with("$2b$") || data.starts_with("$2y$") || data.starts_with("$2a$");
        case scheme::yescrypt:
            return data.starts_with("$y$");
        case scheme::argon2id:
            return data.starts_with("$argon2id$");
        case scheme::scram_sha_256:
            return std::count(data.begin(), data.end(), ':') == 3;
        case scheme::plain_equivalent:
            return base64_decode(data).has_value() && !data.empty();
        case scheme::plain:
            return !data.empty();
    }
    return false;
}

std::optional<std::string> secret_from(std::string_view stored, plugin::secret_kind kind, std::string_view user) {
    const auto parts = split(stored);
    if (!parts) {
        return std::nullopt;
    }
    const auto [s, data] = *parts;
    const bool clear = s == scheme::plain_equivalent || s == scheme::plain;
    switch (kind) {
        case plugin::secret_kind::plaintext_equivalent:
            if (clear) {
                return plain_of(s, data);
            }
            return std::nullopt;
        case plugin::secret_kind::scram_sha_256:
            if (s == scheme::scram_sha_256) {
                return std::string(data);
            }
            [[fallthrough]];
        case plugin::secret_kind::scram_sha_1:
            if (clear) {
                std::string password = plain_of(s, data);
                auto secret = scram_secret(kind == plugin::secret_kind::scram_sha_1 ? digest::sha1 : digest::sha256,
                                           password, derived_salt(user), scram_iterations);
                wipe(password);
                return secret;
            }
            return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace mailwright::sasl
