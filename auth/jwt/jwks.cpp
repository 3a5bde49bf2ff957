// JWKS to PEM: GnuTLS builds the public key from its raw numbers and writes it out; no crypto is done here.
#include "jwks.hpp"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <stdexcept>

namespace mailwright::jwt {

namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string string_member(const boost::json::object& o, std::string_view name) {
    const auto* v = o.if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

struct pubkey {
    gnutls_pubkey_t key = nullptr;
    pubkey() {
        if (gnutls_pubkey_init(&key) < 0) {
            throw std::runtime_error("gnutls_pubkey_init failed");
        }
    }
    ~pubkey() { gnutls_pubkey_deinit(key); }
    pubkey(const pubkey&) = delete;
    pubkey& operator=(const pubkey&) = delete;
};

gnutls_datum_t datum(const std::string& s) {
    return {reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())), static_cast<unsigned>(s.size())};
}

std::string export_pem(const pubkey& k) {
    gnutls_datum_t out{};
    if (gnutls_pubkey_export2(k.key, GNUTLS_X509_FMT_PEM, &out) < 0) {
        throw std::runtime_error("cannot write the key as PEM");
    }
    std::string pem(reinterpret_cast<const char*>(out.data), out.size);
    gnutls_free(out.data);
    return pem;
}

// The member `name` of a JWK, base64url-decoded; throws when absent or malformed.
std::string number(const boost::json::object& jwk, std::string_view name, const std::string& where) {
    const auto decoded = base64url_decode(string_member(jwk, name));
    if (!decoded || decoded->empty()) {
        throw std::runtime_error(where + ": \"" + std::string(name) + "\" is missing or not base64url");
    }
    return *decoded;
}

std::string rsa_pem(const boost::json::object& jwk, const std::string& where) {
    const std::string n = number(jwk, "n", where);
    const std::string e = number(jwk, "e", where);
    if (n.size() < 256) {
        throw std::runtime_error(where + ": an RSA key under 2048 bits");  // RFC 7518 3.3
    }
    pubkey k;
    const gnutls_datum_t m = datum(n);
    const gnutls_datum_t exponent = datum(e);
    if (gnutls_pubkey_import_rsa_raw(k.key, &m, &exponent) < 0) {
        throw std::runtime_error(where + ": not a usable RSA key");
    }
    return export_pem(k);
}

std::string ec_pem(const boost::json::object& jwk, const std::string& where) {
    const std::string x = number(jwk, "x", where);
    const std::string y = number(jwk, "y", where);
    pubkey k;
    const gnutls_datum_t dx = datum(x);
    const gnutls_datum_t dy = datum(y);
    if (x.size() != 32 || y.size() != 32 ||
        gnutls_pubkey_import_ecc_raw(k.key, GNUTLS_ECC_CURVE_SECP256R1, &dx, &dy) < 0) {
        throw std::runtime_error(where + ": not a usable P-256 point");
    }
    return export_pem(k);
}

}  // namespace

std::optional<std::string> base64url_decode(std::string_view text) {
    while (!text.empty() && text.back() == '=') {
        text.remove_suffix(1);
    }
    if (text.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (const char c : text) {
        const auto index = alphabet.find(c);
        if (index == std::string_view::npos) {
            return std::nullopt;
        }
        buffer = (buffer << 6) | static_cast<unsigned>(index);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xff);
        }
    }
    return out;
}

key_set parse_jwks(std::string_view json, std::string_view origin) {
    boost::json::error_code ec;
    const boost::json::value document = boost::json::parse(json, ec);
    const auto* keys = document.is_object() ? document.as_object().if_contains("keys") : nullptr;
    if (ec || keys == nullptr || !keys->is_array()) {
        throw std::runtime_error(std::string(origin) + ": not a JWKS document (a JSON object with a \"keys\" array)");
    }
    key_set out;
    std::size_t index = 0;
    for (const auto& entry : keys->as_array()) {
        const std::string where = std::string(origin) + ": key " + std::to_string(index++);
        if (!entry.is_object()) {
            throw std::runtime_error(where + " is not a JSON object");
        }
        const auto& jwk = entry.as_object();
        const std::string kty = string_member(jwk, "kty");
        const std::string use = string_member(jwk, "use");
        const std::string alg = string_member(jwk, "alg");
        const std::string expected = kty == "RSA"                                          ? "RS256"
                                     : kty == "EC" && string_member(jwk, "crv") == "P-256" ? "ES256"
                                                                                           : "";
        if (expected.empty() || (!use.empty() && use != "sig") || (!alg.empty() && alg != expected)) {
            ++out.skipped;
            continue;
        }
        out.keys.push_back(
            {string_member(jwk, "kid"), expected, kty == "RSA" ? rsa_pem(jwk, where) : ec_pem(jwk, where)});
    }
    if (out.keys.empty()) {
        throw std::runtime_error(std::string(origin) + ": no RS256 (RSA) or ES256 (P-256) signing key");
    }
    return out;
}

}  // namespace mailwright::jwt
