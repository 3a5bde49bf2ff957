// The server side of SASL (RFC 4422), independent of POP3 and SMTP: a mechanism is a short dialogue of
// challenges and responses that ends in success, failure or a temporary failure. The protocol engine moves
// the (base64) lines; the mechanism decides. Credentials are checked through the auth plugin chain.
//
// Mechanisms: PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), SCRAM-SHA-1 and SCRAM-SHA-256 with their -PLUS
// variants (RFC 5802, 7677; channel binding tls-exporter RFC 9266 or tls-unique RFC 5929), EXTERNAL (RFC 4422
// appendix A, from a verified client certificate), OAUTHBEARER (RFC 7628) and XOAUTH2 (Google's and
// Microsoft's), with OAuth 2.0 bearer tokens. And APOP (RFC 1939 7), which is not SASL but shares the
// secret handling.
#pragma once

#include <asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/plugin/auth.hpp"
#include "mailwright/sasl/crypto.hpp"
#include "mailwright/tls/peer.hpp"

namespace mailwright::sasl {

struct step {
    enum class kind {
        challenge,  // send `data` to the client and wait for its response
        success,    // authenticated: act as `user`
        failure,    // wrong credentials, malformed input, not allowed: the same answer to the client
        tempfail,   // the auth backend could not decide now
    };
    kind outcome = kind::failure;
    std::string data;              // the challenge, raw (the protocol base64-encodes it)
    std::string user;              // success: the identity the session acts as (an authorised authzid, or authcid)
    std::string authenticated;     // success: the identity whose credentials were proven
    std::string log_reason;        // for the log only: never sent, never contains a secret
    std::string attempted;         // failure: the identity whose credentials were tried, when the client named
                                   // one (failed-login penalties count it; logs show it)
    plugin::reply tempfail_reply;  // tempfail: what the backend wants the client to hear (auth_result's)
    // challenge: the attempt has already failed (log_reason and attempted say how); the challenge only tells the
    // client why (RFC 7628 3.2.2). A client that cancels or leaves instead of answering has failed all the same.
    bool refused = false;
};

struct context {
    plugin::auth_backend& auth;               // the configured chain
    const tls::channel_info* tls = nullptr;   // the session's TLS channel, null when there is none
    std::string hostname = "localhost";       // for CRAM-MD5 challenges
    std::function<std::string()> make_nonce;  // server nonces; random when empty (tests fix it)
};

class mechanism {
  public:
    virtual ~mechanism() = default;
    // The first step, with the client's initial response if it sent one (absent is not the same as empty).
    virtual asio::awaitable<step> start(std::optional<std::string_view> initial_response) = 0;
    // Each later step.
    virtual asio::awaitable<step> next(std::string_view response) = 0;
};

struct mechanism_info {
    std::string_view name;
    bool plaintext;             // the password crosses the wire: PLAIN, LOGIN
    bool needs_client_cert;     // EXTERNAL
    bool channel_binding;       // the -PLUS mechanisms
    bool needs_secrets;         // CRAM-MD5 and SCRAM: a stored secret, not a password check
    bool bearer_token = false;  // OAUTHBEARER, XOAUTH2: a bearer token crosses the wire; only inside TLS
};

// Every mechanism implemented, strongest first.
std::span<const mechanism_info> mechanisms();

// Which of `configured` may be offered now: plaintext ones only over TLS unless `allow_plaintext`, bearer-token
// ones only over TLS whatever `allow_plaintext` says, EXTERNAL only with a verified client certificate, -PLUS
// only with channel-binding data. With `auth`, also only what the backend can serve: CRAM-MD5 and SCRAM need
// its secrets(), EXTERNAL its certificates(), OAUTHBEARER and XOAUTH2 its tokens().
std::vector<std::string> offered(std::span<const std::string> configured, const tls::channel_info* tls,
                                 bool allow_plaintext, plugin::auth_backend* auth = nullptr);

// A mechanism by name, or null when there is no such mechanism.
std::unique_ptr<mechanism> make_mechanism(std::string_view name, const context& ctx);

// The stored form of a SCRAM secret: "iterations:salt-b64:storedkey-b64:serverkey-b64".
std::string scram_secret(digest d, std::string_view password, std::string_view salt, unsigned iterations);

// APOP (RFC 1939 7): the timestamp for the greeting, unique to this connection, and the check of a client's
// digest, MD5(timestamp + secret) in lowercase hex, against the plaintext-equivalent secret.
std::string apop_timestamp(std::string_view hostname);
asio::awaitable<plugin::auth_result> verify_apop(plugin::auth_backend& auth, std::string_view user,
                                                 std::string_view timestamp, std::string_view digest_hex);

}  // namespace mailwright::sasl
