// SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), with channel binding for the -PLUS variants
// (tls-exporter, RFC 9266; tls-unique, RFC 5929).
//
//   client-first  gs2-header client-first-bare        gs2-header = cbind-flag "," [ "a=" authzid ] ","
//   server-first  r=<client nonce + server nonce>,s=<salt>,i=<iterations>
//   client-final  c=<base64(gs2-header + cbind-data)>,r=<nonce>,p=<proof>
//   server-final  v=<server signature>                 sent as a last challenge; the client answers empty
//
// The server keeps StoredKey and ServerKey, never the password; the password was normalised with SASLprep
// (RFC 5802 2.2) when they were made, and the client normalises its own, so the two meet. An unknown user gets
// a salt derived from the stand-in key (stand_in_key.hpp, kept across restarts by the daemon) and its name, so
// the dialogue looks the same as for a known one until the proof fails.
#include <fmt/format.h>
#include <charconv>

#include "mailwright/sasl/saslprep.hpp"
#include "mailwright/sasl/stand_in_key.hpp"
#include "sasl_internal.hpp"

namespace mailwright::sasl {

using namespace detail;
using plugin::auth_status;

// RFC 5802 2.2: SaltedPassword := Hi(Normalize(password), salt, i), Normalize being SASLprep with the password
// as a stored string. A password SASLprep refuses is used as it is: a conforming client aborts before it
// would send a proof from it (RFC 5802 5.1), so it only locks SCRAM out. Throwing here instead would reach
// callers that cannot take it (a backend's secret_from()); `mailwrightd passwd` refuses such a password first.
std::string scram_secret(digest d, std::string_view password, std::string_view salt, unsigned iterations) {
    prepared normal = saslprep(password, prep_kind::stored);
    std::string salted = pbkdf2(d, normal.ok() ? std::string_view(normal.text) : password, salt, iterations);
    wipe(normal.text);
    const std::string client_key = hmac(d, salted, "Client Key");
    const std::string server_key = hmac(d, salted, "Server Key");
    wipe(salted);
    return fmt::format("{}:{}:{}:{}", iterations, base64_encode(salt), base64_encode(hash(d, client_key)),
                       base64_encode(server_key));
}

namespace {

constexpr unsigned default_iterations = 4096;  // RFC 7677's minimum; what an unknown user is shown
constexpr std::size_t max_message = 2048;      // a client message larger than this is not SCRAM

struct stored {
    unsigned iterations = 0;
    std::string salt, stored_key, server_key;
};

std::optional<stored> parse_secret(std::string_view text, digest d) {
    stored s;
    const auto a = text.find(':');
    const auto b = a == std::string_view::npos ? a : text.find(':', a + 1);
    const auto c = b == std::string_view::npos ? b : text.find(':', b + 1);
    if (c == std::string_view::npos ||
        std::from_chars(text.data(), text.data() + a, s.iterations).ptr != text.data() + a || s.iterations == 0) {
        return std::nullopt;
    }
    auto salt = base64_decode(text.substr(a + 1, b - a - 1));
    auto stored_key = base64_decode(text.substr(b + 1, c - b - 1));
    auto server_key = base64_decode(text.substr(c + 1));
    if (!salt || !stored_key || !server_key || stored_key->size() != digest_size(d) ||
        server_key->size() != digest_size(d)) {
        return std::nullopt;
    }
    s.salt = std::move(*salt);
    s.stored_key = std::move(*stored_key);
    s.server_key = std::move(*server_key);
    return s;
}

// An "n=" or "a=" value made ready for lookup: "=2C" and "=3D" unescaped, then prepared with SASLprep as a
// query. RFC 5802 5.1: the client SHOULD have prepared it; preparing it again changes nothing then, and finds
// the user PLAIN finds (RFC 4616 2) when it did not. `why` is the log's reason when the name is refused; then
// `value` is the unescaped name, or empty when the name is malformed.
struct prepared_name {
    std::string value, why;
};
prepared_name saslname(std::optional<std::string_view> field, std::string_view what) {
    const auto unescaped = field ? unescape_saslname(*field) : std::nullopt;
    if (!unescaped || unescaped->empty() || unescaped->size() > 255) {
        return {{}, fmt::format("SCRAM: malformed {}", what)};
    }
    auto p = saslprep(*unescaped, prep_kind::query);
    if (!p.ok()) {
        return {*unescaped, fmt::format("SCRAM: the {} fails SASLprep: it {}", what, p.error)};
    }
    return {std::move(p.text), {}};
}

// The value of "k=" at the start of `field`, or nullopt.
std::optional<std::string_view> attribute(std::string_view field, char key) {
    if (field.size() < 2 || field[0] != key || field[1] != '=') {
        return std::nullopt;
    }
    return field.substr(2);
}

class scram final : public mechanism {
  public:
    scram(const context& ctx, digest d, bool plus) : ctx_(ctx), digest_(d), plus_(plus) {}

    asio::awaitable<step> start(std::optional<std::string_view> initial) override {
        if (!initial) {
            co_return step{step::kind::challenge, {}, {}, {}, {}};
        }
        co_return co_await next(*initial);
    }

    asio::awaitable<step> next(std::string_view message) override {
        if (message.size() > max_message) {
            co_return fail("SCRAM: message too long");
        }
        switch (state_) {
            case state::first:
                co_return co_await client_first(message);
            case state::final:
                co_return co_await client_final(message);
            case state::acknowledge:
                state_ = state::done;
                if (!message.empty()) {
                    co_return fail("SCRAM: unexpected data after the server's final message");
                }
                co_return step{step::kind::success, {}, user_, authenticated_, {}};
            case state::done:
                break;
        }
        co_return fail("SCRAM: the exchange is over");
    }

  private:
    enum class state { first, final, acknowledge, done };

    asio::awaitable<step> client_first(std::string_view message) {
        // gs2-header
        const auto comma1 = message.find(',');
        const auto comma2 = comma1 == std::string_view::npos ? comma1 : message.find(',', comma1 + 1);
        if (comma2 == std::string_view::npos) {
            co_return fail("SCRAM: malformed client-first-message");
        }
        const std::string_view flag = message.substr(0, comma1);
        const std::string_view authz_field = message.substr(comma1 + 1, comma2 - comma1 - 1);
        gs2_header_ = std::string(message.substr(0, comma2 + 1));
        client_first_bare_ = std::string(message.substr(comma2 + 1));

        const bool binding_available = ctx_.tls != nullptr && !ctx_.tls->channel_binding.empty();
        if (plus_) {
            if (!binding_available || flag != "p=" + ctx_.tls->channel_binding_type) {
                co_return fail("SCRAM-PLUS: missing or unsupported channel binding type");
            }
        } else if (flag == "y") {
            // The client could bind but believes we cannot. If we offer -PLUS here, someone stripped it.
            if (binding_available) {
                co_return fail("SCRAM: channel binding downgrade detected");
            }
        } else if (flag != "n") {
            co_return fail("SCRAM: channel binding requested with a non-PLUS mechanism");
        }
        if (!authz_field.empty()) {
            auto authz = saslname(attribute(authz_field, 'a'), "authorization identity");
            if (!authz.why.empty()) {
                co_return fail(std::move(authz.why));
            }
            authzid_ = std::move(authz.value);
        }

        // client-first-bare: n=user,r=nonce[,extensions]; a mandatory extension (m=) is not supported
        const auto bare = std::string_view(client_first_bare_);
        const auto c1 = bare.find(',');
        const auto name = c1 == std::string_view::npos ? std::nullopt : attribute(bare.substr(0, c1), 'n');
        const auto c2 = c1 == std::string_view::npos ? c1 : bare.find(',', c1 + 1);
        const auto nonce = c1 == std::string_view::npos
                               ? std::nullopt
                               : attribute(bare.substr(c1 + 1, c2 == std::string_view::npos ? c2 : c2 - c1 - 1), 'r');
        if (!name || !nonce || nonce->empty() || nonce->find(',') != std::string_view::npos || bare.starts_with("m=")) {
            co_return fail("SCRAM: malformed client-first-message-bare");
        }
        // A name SASLprep refuses goes on as an unknown user does, and fails at the proof with the answer a
        // wrong password gets; the log says why.
        auto user = saslname(name, "user name");
        if (user.value.empty()) {
            co_return fail(std::move(user.why));
        }
        username_ = std::move(user.value);
        refused_ = std::move(user.why);
        nonce_ = std::string(*nonce) + (ctx_.make_nonce ? ctx_.make_nonce() : default_nonce());

        plugin::secret_provider* secrets = ctx_.auth.secrets();
        plugin::secret_result r;
        if (secrets != nullptr && refused_.empty()) {
            r = co_await secrets->stored_secret(username_, digest_ == digest::sha1
                                                               ? plugin::secret_kind::scram_sha_1
                                                               : plugin::secret_kind::scram_sha_256);
        }
        if (r.status == auth_status::tempfail) {
            step undecided{step::kind::tempfail, {}, {}, {}, "SCRAM: backend could not decide"};
            undecided.tempfail_reply = r.tempfail_reply;
            co_return undecided;
        }
        auto parsed = r.status == auth_status::ok ? parse_secret(r.secret, digest_) : std::nullopt;
        known_ = parsed.has_value();
        if (known_) {
            secret_ = std::move(*parsed);
            authenticated_ = r.user.empty() ? username_ : r.user;
        } else {
            secret_ = stand_in(username_);
        }
        wipe(r.secret);
        server_first_ = fmt::format("r={},s={},i={}", nonce_, base64_encode(secret_.salt), secret_.iterations);
        state_ = state::final;
        co_return step{step::kind::challenge, server_first_, {}, {}, {}};
    }

    asio::awaitable<step> client_final(std::string_view message) {
        state_ = state::done;
        const auto proof_at = message.rfind(",p=");
        if (proof_at == std::string_view::npos) {
            co_return fail("SCRAM: client-final-message without proof");
        }
        const std::string_view without_proof = message.substr(0, proof_at);
        const auto proof = base64_decode(message.substr(proof_at + 3));
        const auto c1 = without_proof.find(',');
        const auto c2 = c1 == std::string_view::npos ? c1 : without_proof.find(',', c1 + 1);
        const auto binding = c1 == std::string_view::npos ? std::nullopt : attribute(without_proof.substr(0, c1), 'c');
        const auto nonce =
            c1 == std::string_view::npos
                ? std::nullopt
                : attribute(without_proof.substr(c1 + 1, c2 == std::string_view::npos ? c2 : c2 - c1 - 1), 'r');
        if (!proof || !binding || !nonce || proof->size() != digest_size(digest_)) {
            co_return fail("SCRAM: malformed client-final-message");
        }
        std::string expected_binding = gs2_header_;
        if (plus_) {
            expected_binding.append(ctx_.tls->channel_binding.begin(), ctx_.tls->channel_binding.end());
        }
        const auto decoded_binding = base64_decode(*binding);
        if (!decoded_binding || !constant_time_equal(*decoded_binding, expected_binding)) {
            co_return fail("SCRAM: channel binding data do not match");
        }
        if (*nonce != nonce_) {
            co_return fail("SCRAM: nonce mismatch");
        }
        const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
        const std::string client_signature = hmac(digest_, secret_.stored_key, auth_message);
        std::string client_key(proof->size(), '\0');
        for (std::size_t i = 0; i < client_key.size(); ++i) {
            client_key[i] = static_cast<char>((*proof)[i] ^ client_signature[i]);
        }
        const bool proven = constant_time_equal(hash(digest_, client_key), secret_.stored_key);
        wipe(client_key);
        if (!proven || !known_) {
            auto failed = fail(refused_.empty() ? "SCRAM: credentials rejected" : refused_);
            failed.attempted = username_;
            co_return failed;
        }
        auto authorized = co_await authorize(ctx_.auth, authenticated_, authzid_);
        if (authorized.outcome != step::kind::success) {
            co_return authorized;
        }
        user_ = std::move(authorized.user);
        state_ = state::acknowledge;
        server_final_ = "v=" + base64_encode(hmac(digest_, secret_.server_key, auth_message));
        co_return step{step::kind::challenge, server_final_, {}, {}, {}};
    }

    stored stand_in(std::string_view user) const {
        std::string key = stand_in_key();
        stored s;
        s.iterations = default_iterations;
        s.salt = hmac(digest::sha256, key, user).substr(0, 16);
        wipe(key);
        s.stored_key = random_bytes(digest_size(digest_));
        s.server_key = random_bytes(digest_size(digest_));
        return s;
    }

    const context& ctx_;
    digest digest_;
    bool plus_;
    state state_ = state::first;
    std::string gs2_header_, client_first_bare_, server_first_, server_final_;
    std::string username_, authzid_, authenticated_, user_;
    std::string nonce_;
    stored secret_;
    bool known_ = false;
    std::string refused_;  // why SASLprep refused the user name, when it did
};

}  // namespace

std::unique_ptr<mechanism> make_scram(std::string_view name, const context& ctx) {
    if (name == "SCRAM-SHA-1") return std::make_unique<scram>(ctx, digest::sha1, false);
    if (name == "SCRAM-SHA-1-PLUS") return std::make_unique<scram>(ctx, digest::sha1, true);
    if (name == "SCRAM-SHA-256") return std::make_unique<scram>(ctx, digest::sha256, false);
    if (name == "SCRAM-SHA-256-PLUS") return std::make_unique<scram>(ctx, digest::sha256, true);
    return nullptr;
}

}  // namespace mailwright::sasl
