// The token checks: see the header.
#include "token.hpp"

#include <jwt.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>

namespace mailwright::jwt {

namespace {

constexpr std::size_t max_token = 16384;

verdict no(std::string reason) { return verdict{false, {}, std::move(reason)}; }

std::optional<boost::json::object> json_object(std::string_view text) {
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    return std::move(v.as_object());
}

std::string string_member(const boost::json::object& o, std::string_view name) {
    const auto* v = o.if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// A NumericDate (RFC 7519 2): seconds since the epoch, possibly with a fraction (cut off).
std::optional<std::int64_t> numeric_date(const boost::json::object& o, std::string_view name) {
    const auto* v = o.if_contains(name);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_int64()) {
        return v->as_int64();
    }
    if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        return static_cast<std::int64_t>(v->as_uint64());
    }
    if (v->is_double() && std::isfinite(v->as_double()) && std::abs(v->as_double()) < 1e15) {
        return static_cast<std::int64_t>(std::floor(v->as_double()));
    }
    return std::nullopt;
}

bool audience_holds(const boost::json::object& claims, std::string_view audience) {
    const auto* aud = claims.if_contains("aud");
    if (aud == nullptr) {
        return false;
    }
    if (aud->is_string()) {
        return aud->as_string() == audience;
    }
    if (aud->is_array()) {
        const auto& all = aud->as_array();
        return std::any_of(all.begin(), all.end(),
                           [&](const auto& a) { return a.is_string() && a.as_string() == audience; });
    }
    return false;
}

struct jwt_deleter {
    void operator()(jwt_t* j) const noexcept { jwt_free(j); }
};
using jwt_ptr = std::unique_ptr<jwt_t, jwt_deleter>;

// The token decoded by the first candidate key whose signature check passes; null when none does.
jwt_ptr verified(std::string_view token, const key_set& keys, std::string_view alg, std::string_view kid) {
    const std::string text(token);
    for (const auto& k : keys.keys) {
        if (k.alg != alg || (!kid.empty() && k.kid != kid)) {
            continue;
        }
        jwt_t* decoded = nullptr;
        if (jwt_decode(&decoded, text.c_str(), reinterpret_cast<const unsigned char*>(k.pem.data()),
                       static_cast<int>(k.pem.size())) == 0) {
            jwt_ptr out(decoded);
            // libjwt read the algorithm from the same header: it must still be the key's.
            if (jwt_alg_str(jwt_get_alg(out.get())) == std::string_view(k.alg)) {
                return out;
            }
        } else if (decoded != nullptr) {
            jwt_free(decoded);
        }
    }
    return nullptr;
}

verdict check_claims(const boost::json::object& claims, const rules& r, std::int64_t now) {
    const std::int64_t skew = r.clock_skew.count();
    const auto exp = numeric_date(claims, "exp");
    if (!exp) {
        return no("token has no expiry (\"exp\")");
    }
    if (now >= *exp + skew) {
        return no("token expired");
    }
    if (const auto nbf = numeric_date(claims, "nbf"); claims.contains("nbf") && (!nbf || now + skew < *nbf)) {
        return no("token not yet valid (\"nbf\")");
    }
    if (string_member(claims, "iss") != r.issuer) {
        return no("token from another issuer");
    }
    if (!audience_holds(claims, r.audience)) {
        return no("token for another audience");
    }
    std::string user = string_member(claims, r.user_claim);
    if (r.strip_domain) {
        user = user.substr(0, user.rfind('@'));
    }
    if (user.empty() || user.size() > 255 ||
        std::any_of(user.begin(), user.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f || c == '/'; })) {
        return no("token names no usable user in \"" + r.user_claim + "\"");
    }
    return verdict{true, std::move(user), {}};
}

}  // namespace

verdict check(std::string_view token, const key_set& keys, const rules& r, std::int64_t now) {
    // JWS compact serialization: header.payload.signature (a JWE has five parts, and is not accepted).
    const auto first = token.find('.');
    const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (token.size() > max_token || second == std::string_view::npos ||
        token.find('.', second + 1) != std::string_view::npos) {
        return no("not a signed JWT");
    }
    const auto header_json = base64url_decode(token.substr(0, first));
    const auto header = header_json ? json_object(*header_json) : std::nullopt;
    if (!header) {
        return no("not a signed JWT (unreadable header)");
    }
    const std::string alg = string_member(*header, "alg");
    if (alg != "RS256" && alg != "ES256") {
        return no("algorithm \"" + alg + "\" not accepted (RS256 or ES256 only)");
    }
    const std::string kid = string_member(*header, "kid");
    const jwt_ptr decoded = verified(token, keys, alg, kid);
    if (!decoded) {
        return no(kid.empty() ? "signature not verified by any " + alg + " key"
                              : "signature not verified by key \"" + kid + "\"");
    }
    char* grants = jwt_get_grants_json(decoded.get(), nullptr);
    const auto claims = grants != nullptr ? json_object(grants) : std::nullopt;
    std::free(grants);
    if (!claims) {
        return no("token has no readable claims");
    }
    return check_claims(*claims, r, now);
}

}  // namespace mailwright::jwt
