// Password schemes over libxcrypt, libargon2 and wolfCrypt: the table of names, hashing, and verifying; the
// schemes read from Dovecot's files are in password_dovecot.cpp.
#include "mailwright/sasl/password.hpp"

#include <argon2.h>
#include <crypt.h>
#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <stdexcept>

#include "mailwright/sasl/crypto.hpp"
#include "mailwright/sasl/mechanism.hpp"
#include "password_internal.hpp"

namespace mailwright::sasl {

using namespace detail;

namespace {

struct scheme_entry {
    scheme value;
    std::string_view name;
};
// The first entry of a scheme gives its name; later ones are other names Dovecot reads for it.
constexpr scheme_entry schemes[] = {
    {scheme::sha512_crypt, "SHA512-CRYPT"},
    {scheme::blf_crypt, "BLF-CRYPT"},
    {scheme::yescrypt, "YESCRYPT"},
    {scheme::argon2id, "ARGON2ID"},
    {scheme::scram_sha_256, "SCRAM-SHA-256"},
    {scheme::plain_equivalent, "PLAIN-EQUIVALENT"},
    {scheme::plain, "PLAIN"},
    {scheme::plain, "CLEAR"},
    {scheme::plain, "CLEARTEXT"},
    {scheme::crypt, "CRYPT"},
    {scheme::sha256_crypt, "SHA256-CRYPT"},
    {scheme::md5_crypt, "MD5-CRYPT"},
    {scheme::ssha, "SSHA"},
    {scheme::ssha256, "SSHA256"},
    {scheme::ssha512, "SSHA512"},
    {scheme::pbkdf2, "PBKDF2"},
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

// The name a new hash is written with: Dovecot 2.3 knows yescrypt only as {CRYPT}.
std::string_view written_name(scheme s) { return s == scheme::yescrypt ? "CRYPT" : scheme_name(s); }

std::optional<bool> scram_verify(std::string_view data, std::string_view password) {
    const auto keys = parse_scram(data);
    if (!keys) {
        return std::nullopt;
    }
    if (has_nul(password)) {
        return false;
    }
    // Recompute the keys from the password and the stored salt and count, and compare them all.
    const std::string mine = scram_secret(digest::sha256, password, keys->salt, keys->iterations);
    return constant_time_equal(
        mine, fmt::format("{}:{}:{}:{}", keys->iterations, keys->salt_b64, keys->stored_b64, keys->server_b64));
}

}  // namespace

std::optional<scheme> parse_scheme(std::string_view name) {
    for (const auto& e : schemes) {
        if (e.name.size() == name.size() && ::strncasecmp(e.name.data(), name.data(), name.size()) == 0) {
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

bool can_hash(scheme s) noexcept {
    switch (s) {
        case scheme::sha512_crypt:
        case scheme::blf_crypt:
        case scheme::yescrypt:
        case scheme::argon2id:
        case scheme::scram_sha_256:
        case scheme::plain_equivalent:
        case scheme::plain:
            return true;
        default:
            return false;
    }
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
            std::replace(data.begin(), data.end(), ':', ',');  // Dovecot's form
            break;
        case scheme::plain_equivalent:
            data = base64_encode(password);
            break;
        case scheme::plain:
            data = std::string(password);
            break;
        default:
            throw std::invalid_argument(
                fmt::format("{{{}}} is read from existing files, never written; choose "
                            "CRYPT (yescrypt), SHA512-CRYPT, BLF-CRYPT, ARGON2ID or "
                            "SCRAM-SHA-256",
                            scheme_name(s)));
    }
    return "{" + std::string(written_name(s)) + "}" + data;
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
        case scheme::crypt:
        case scheme::sha256_crypt:
        case scheme::md5_crypt:
            return crypt_verify(data, password);
        case scheme::argon2id: {
            const std::string encoded(data);
            const int rc = argon2id_verify(encoded.c_str(), password.data(), password.size());
            if (rc == ARGON2_OK) {
                return true;
            }
            return rc == ARGON2_VERIFY_MISMATCH ? std::optional<bool>(false) : std::nullopt;
        }
        case scheme::scram_sha_256:
            return scram_verify(data, password);
        case scheme::plain_equivalent:
        case scheme::plain: {
            std::string clear = plain_of(s, data);
            const bool ok = !clear.empty() && constant_time_equal(clear, password);
            wipe(clear);
            return ok;
        }
        case scheme::ssha:
            return salted_verify(digest::sha1, data, password);
        case scheme::ssha256:
            return salted_verify(digest::sha256, data, password);
        case scheme::ssha512:
            return salted_verify(digest::sha512, data, password);
        case scheme::pbkdf2:
            return pbkdf2_verify(data, password);
    }
    return std::nullopt;
}

std::string stored_problem(std::string_view stored) {
    if (stored.empty()) {
        return "the password field is empty, so no password can match it";
    }
    const auto close = stored.find('}');
    if (stored.front() != '{' || close == std::string_view::npos) {
        return "expected {SCHEME}data";
    }
    const auto parts = split(stored);
    if (!parts) {
        return fmt::format("unknown password scheme {{{}}}", stored.substr(1, close - 1));
    }
    const auto [s, data] = *parts;
    switch (s) {
        case scheme::sha512_crypt:
        case scheme::blf_crypt:
        case scheme::yescrypt:
        case scheme::crypt:
        case scheme::sha256_crypt:
        case scheme::md5_crypt:
            return crypt_problem(s, data);
        case scheme::argon2id:
            return data.starts_with("$argon2id$") ? "" : "an {ARGON2ID} hash starts with $argon2id$";
        case scheme::scram_sha_256:
            return scram_problem(data);
        case scheme::plain_equivalent:
            return base64_decode(data).has_value() && !data.empty() ? "" : "expected the password in base64";
        case scheme::plain:
            return data.empty() ? "the password is empty, so no password can match it" : "";
        case scheme::ssha:
            return salted_problem(digest::sha1, data);
        case scheme::ssha256:
            return salted_problem(digest::sha256, data);
        case scheme::ssha512:
            return salted_problem(digest::sha512, data);
        case scheme::pbkdf2:
            return pbkdf2_problem(data);
    }
    return "unknown password scheme";
}

bool well_formed(std::string_view stored) { return stored_problem(stored).empty(); }

std::string canonical(std::string_view stored) {
    const auto parts = split(stored);
    if (!parts) {
        return std::string(stored);
    }
    std::string data(parts->second);
    if (parts->first == scheme::scram_sha_256) {
        std::replace(data.begin(), data.end(), ':', ',');
    }
    return "{" + std::string(scheme_name(parts->first)) + "}" + data;
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
                const auto keys = parse_scram(data);
                if (!keys) {
                    return std::nullopt;
                }
                return fmt::format("{}:{}:{}:{}", keys->iterations, keys->salt_b64, keys->stored_b64, keys->server_b64);
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
