// OAUTHBEARER (RFC 7628) and XOAUTH2: a client logs in with an OAuth 2.0 bearer token (RFC 6750), which the auth
// chain's tokens() ability checks. Both are offered only inside TLS (mechanisms.cpp): a token is as good as a
// password while it lives.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "mailwright/sasl/mechanism.hpp"
#include "oauth_message.hpp"
#include "sasl_internal.hpp"

namespace mailwright::sasl {

namespace oauth {

namespace {

constexpr char kvsep = '\x01';
constexpr std::size_t max_identity = 255;

// The elements of `text` between kvsep, each one followed by a kvsep: "a\x01b\x01" is {"a", "b"}. None when
// `text` does not end with kvsep (and is not empty).
std::optional<std::vector<std::string_view>> split_pairs(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        const auto end = text.find(kvsep);
        if (end == std::string_view::npos) {
            return std::nullopt;
        }
        out.push_back(text.substr(0, end));
        text.remove_prefix(end + 1);
    }
    return out;
}

// RFC 7628 3.1: key = 1*(ALPHA), value = *(VCHAR / SP / HTAB / CR / LF).
bool split_pair(std::string_view pair, std::string_view& key, std::string_view& value) {
    const auto equals = pair.find('=');
    if (equals == 0 || equals == std::string_view::npos) {
        return false;
    }
    key = pair.substr(0, equals);
    value = pair.substr(equals + 1);
    const bool key_ok = std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::isalpha(c); });
    const bool value_ok = std::all_of(value.begin(), value.end(), [](unsigned char c) {
        return (c >= 0x21 && c <= 0x7e) || c == ' ' || c == '\t' || c == '\r' || c == '\n';
    });
    return key_ok && value_ok;
}

// "Bearer" 1*SP b64token (RFC 6750 2.1; the scheme's case does not matter): the token, or none.
std::optional<std::string> bearer_token(std::string_view credentials) {
    constexpr std::string_view scheme = "bearer";
    if (credentials.size() <= scheme.size() ||
        !std::equal(scheme.begin(), scheme.end(), credentials.begin(),
                    [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
        return std::nullopt;
    }
    credentials.remove_prefix(scheme.size());
    const auto start = credentials.find_first_not_of(' ');
    if (start == 0 || start == std::string_view::npos) {
        return std::nullopt;
    }
    const auto token = credentials.substr(start);
    const auto padding = token.find_last_not_of('=') + 1;
    const bool ok = padding > 0 && std::all_of(token.begin(), token.begin() + padding, [](unsigned char c) {
                        return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
                    });
    return ok ? std::optional<std::string>(token) : std::nullopt;
}

// The authzid of a gs2-header ("n," or "y," then [ "a=" saslname ] ","), empty when none; nothing when malformed
// or when it asks for channel binding ("p=...").
std::optional<std::string> gs2_authzid(std::string_view header) {
    if (header.size() < 3 || (header[0] != 'n' && header[0] != 'y') || header[1] != ',' || header.back() != ',') {
        return std::nullopt;
    }
    const auto authzid = header.substr(2, header.size() - 3);
    if (authzid.empty()) {
        return std::string();
    }
    if (!authzid.starts_with("a=") || authzid.size() == 2) {
        return std::nullopt;
    }
    return detail::unescape_saslname(authzid.substr(2));
}

void escape_json(std::string& out, std::string_view text) {
    for (const unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            out += fmt::format("\\u{:04x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
}

}  // namespace

std::optional<client_message> parse_oauthbearer(std::string_view message) {
    const auto end_of_header = message.find(kvsep);
    if (end_of_header == std::string_view::npos || message.back() != kvsep || message.size() == end_of_header + 1) {
        return std::nullopt;  // a lone kvsep is the answer to an error, never a first message
    }
    auto authzid = gs2_authzid(message.substr(0, end_of_header));
    // Between the header's kvsep and the final one: kvpairs, each ending in its own kvsep.
    const auto pairs = split_pairs(message.substr(end_of_header + 1, message.size() - end_of_header - 2));
    if (!authzid || !pairs || authzid->size() > max_identity) {
        return std::nullopt;
    }
    std::optional<std::string> token;
    for (const auto pair : *pairs) {
        std::string_view key;
        std::string_view value;
        if (!split_pair(pair, key, value)) {
            return std::nullopt;
        }
        if (key == "auth") {
            if (token) {
                return std::nullopt;  // two credentials: which one would be meant?
            }
            token = bearer_token(value);
            if (!token) {
                return std::nullopt;
            }
        }
    }
    if (!token) {
        return std::nullopt;
    }
    return client_message{std::move(*authzid), std::move(*token)};
}

std::optional<client_message> parse_xoauth2(std::string_view message) {
    if (!message.ends_with("\x01\x01")) {
        return std::nullopt;
    }
    const auto pairs = split_pairs(message.substr(0, message.size() - 1));
    if (!pairs || pairs->size() != 2 || !(*pairs)[0].starts_with("user=") || !(*pairs)[1].starts_with("auth=")) {
        return std::nullopt;
    }
    const auto user = (*pairs)[0].substr(5);
    auto token = bearer_token((*pairs)[1].substr(5));
    const bool user_ok = !user.empty() && user.size() <= max_identity &&
                         std::all_of(user.begin(), user.end(), [](unsigned char c) { return c > 0x20 && c != 0x7f; });
    if (!token || !user_ok) {
        return std::nullopt;
    }
    return client_message{std::string(user), std::move(*token)};
}

std::string error_document(bool xoauth2, std::string_view scope, std::string_view openid_configuration) {
    std::string out =
        xoauth2 ? R"({"status":"401","schemes":"Bearer")" : R"({"status":"invalid_token","schemes":"bearer")";
    if (!scope.empty()) {
        out += R"(,"scope":")";
        escape_json(out, scope);
        out += '"';
    }
    if (!openid_configuration.empty()) {
        out += R"(,"openid-configuration":")";
        escape_json(out, openid_configuration);
        out += '"';
    }
    out += '}';
    return out;
}

}  // namespace oauth

namespace {

using plugin::auth_status;

// Both mechanisms: one message with the user and the token; a refusal is an error document sent as a
// challenge, whose answer (a kvsep for OAUTHBEARER, an empty one for XOAUTH2) is then failed whatever it is.
class bearer final : public mechanism {
  public:
    bearer(const context& ctx, bool xoauth2)
        : ctx_(ctx), xoauth2_(xoauth2), name_(xoauth2 ? "XOAUTH2" : "OAUTHBEARER") {}

    asio::awaitable<step> start(std::optional<std::string_view> initial) override {
        if (!initial) {
            co_return step{step::kind::challenge, {}, {}, {}, {}};  // an empty challenge: the client speaks
        }
        co_return co_await next(*initial);
    }

    asio::awaitable<step> next(std::string_view response) override {
        if (refused_) {
            co_return std::move(*refused_);  // RFC 7628 3.2.3: the client has read the error; now it fails
        }
        const auto message = xoauth2_ ? oauth::parse_xoauth2(response) : oauth::parse_oauthbearer(response);
        if (!message) {
            co_return detail::fail(fmt::format("{}: malformed message", name_));
        }
        plugin::token_verifier* verifier = ctx_.auth.tokens();
        if (verifier == nullptr) {
            co_return detail::fail(fmt::format("{}: no backend verifies tokens", name_));
        }
        const auto r = co_await verifier->verify_token(message->token, message->user);
        if (r.status == auth_status::tempfail) {
            co_return detail::from_backend(r, name_);
        }
        if (r.status != auth_status::ok) {
            const std::string why = r.message.empty() ? std::string("token rejected") : r.message;
            co_return refuse(*verifier, fmt::format("{}: {}", name_, why), message->user);
        }
        auto decided = co_await detail::authorize(ctx_.auth, r.user, message->user);
        if (decided.outcome != step::kind::success) {
            co_return refuse(*verifier, fmt::format("{}: {}", name_, decided.log_reason), r.user);
        }
        co_return decided;
    }

  private:
    // The error document as a challenge; the failure is kept for the client's answer.
    step refuse(const plugin::token_verifier& verifier, std::string reason, const std::string& attempted) {
        refused_ = detail::fail(std::move(reason));
        refused_->attempted = attempted;
        step challenge = *refused_;
        challenge.outcome = step::kind::challenge;
        challenge.data = oauth::error_document(xoauth2_, verifier.token_scope(), verifier.openid_configuration());
        challenge.refused = true;
        return challenge;
    }

    const context& ctx_;
    bool xoauth2_;
    const char* name_;
    std::optional<step> refused_;
};

}  // namespace

std::unique_ptr<mechanism> make_oauth(std::string_view name, const context& ctx) {
    if (name == "OAUTHBEARER") return std::make_unique<bearer>(ctx, false);
    if (name == "XOAUTH2") return std::make_unique<bearer>(ctx, true);
    return nullptr;
}

}  // namespace mailwright::sasl
