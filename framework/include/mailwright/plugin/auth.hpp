// The auth plugin kind: who may log in. The core call is verify_password(); everything else is an optional
// ability, reached through an accessor that returns null when the backend lacks it (after go-smtp's
// optional interfaces), so a simple backend implements one function.
//
// Rules every backend follows (the SASL engine relies on them):
//  - an unknown user and a wrong password give the same answer (status::rejected) and, as far as the
//    backend can manage, take the same time: no user enumeration;
//  - tempfail is for "cannot tell now" (a database is down), never for "no";
//  - secrets are compared in constant time and never logged.
#pragma once

#include <asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/plugin/plugin.hpp"
#include "mailwright/plugin/reply.hpp"
#include "mailwright/tls/peer.hpp"

namespace mailwright::plugin {

enum class auth_status {
    ok,        // authenticated; `user` is the canonical name
    rejected,  // unknown user or wrong credentials: deliberately indistinguishable
    tempfail,  // the backend could not decide now; the client may retry
};

struct auth_result {
    auth_status status = auth_status::rejected;
    std::string user;     // canonical user name when ok
    std::string message;  // for the log only, never sent to the client
    // tempfail: what the client hears (e.g. reply::smtp(454, "4.7.0", "directory down, try in 5 minutes"));
    // parts left empty are the protocol's. A rejection always gets the protocol's own words, the same for an
    // unknown user and a wrong password, so this is never heard for one.
    reply tempfail_reply;
};

// Secrets that challenge-response mechanisms need instead of a password.
enum class secret_kind {
    plaintext_equivalent,  // for APOP and CRAM-MD5 (both need the password itself, or its equivalent)
    scram_sha_1,           // RFC 5802 StoredKey/ServerKey/salt/iterations
    scram_sha_256,         // RFC 7677
};

struct secret_result {
    auth_status status = auth_status::rejected;
    std::string user;
    std::string secret;  // plaintext_equivalent: the secret; scram_*: "iterations:salt-b64:storedkey-b64:serverkey-b64"
    reply tempfail_reply;  // as auth_result's
};

class secret_provider {
  public:
    virtual ~secret_provider() = default;
    virtual asio::awaitable<secret_result> stored_secret(std::string_view user, secret_kind kind) = 0;
};

class certificate_mapper {
  public:
    virtual ~certificate_mapper() = default;
    // The user a verified client certificate stands for (SASL EXTERNAL); rejected when none.
    virtual asio::awaitable<auth_result> map_certificate(const tls::peer_certificate& certificate) = 0;
};

class authorizer {
  public:
    virtual ~authorizer() = default;
    // Whether `authenticated` may act as `requested` (a SASL authzid). Without this ability only
    // requested == authenticated is allowed.
    virtual asio::awaitable<bool> may_act_as(std::string_view authenticated, std::string_view requested) = 0;
};

// OAuth 2.0 bearer tokens (RFC 6750), for SASL OAUTHBEARER (RFC 7628) and XOAUTH2.
class token_verifier {
  public:
    virtual ~token_verifier() = default;
    // The user a bearer token stands for: ok with the token's own user (canonical) when the token is valid here
    // (signature, issuer, audience, lifetime...); rejected when it is not, whatever the reason (the client
    // learns only that the token was refused). `requested_user` is the identity the client named (OAUTHBEARER's
    // a=, XOAUTH2's user=), empty when it named none: a hint a verifier may use (e.g. to pick a tenant); the
    // engine itself compares it with the user answered, and anyone else must be allowed by authorization().
    virtual asio::awaitable<auth_result> verify_token(std::string_view token, std::string_view requested_user) = 0;
    // What RFC 7628 3.2.2's error reply tells a refused client, each left out when empty: the scope a token
    // needs, and the URL of the provider's OpenID Connect discovery document.
    virtual std::string token_scope() const { return {}; }
    virtual std::string openid_configuration() const { return {}; }
};

class auth_backend : public plugin_base {
  public:
    plugin_kind kind() const noexcept final { return plugin_kind::auth; }

    virtual asio::awaitable<auth_result> verify_password(std::string_view user, std::string_view password) = 0;
    // Whether the user exists (SMTP recipient validation). Default: no backend knowledge, rejected.
    virtual asio::awaitable<auth_result> lookup(std::string_view /*user*/) {
        co_return auth_result{auth_status::rejected, {}, "lookup not supported"};
    }

    virtual secret_provider* secrets() noexcept { return nullptr; }
    virtual certificate_mapper* certificates() noexcept { return nullptr; }
    virtual class authorizer* authorization() noexcept { return nullptr; }
    virtual token_verifier* tokens() noexcept { return nullptr; }
};

}  // namespace mailwright::plugin
