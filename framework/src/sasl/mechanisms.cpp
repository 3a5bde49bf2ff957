// PLAIN, LOGIN, CRAM-MD5, EXTERNAL and APOP. SCRAM is in scram.cpp, OAUTHBEARER and XOAUTH2 in oauth.cpp.
//
// PLAIN and LOGIN prepare what they are given with SASLprep (saslprep.hpp) before the backend sees it.
// CRAM-MD5 and APOP do not: they compare digests of the stored secret, which the client computed from
// whatever octets it has, so there is nothing of the client's to prepare.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "mailwright/sasl/mechanism.hpp"
#include "mailwright/sasl/saslprep.hpp"
#include "sasl_internal.hpp"

namespace mailwright::sasl {

using plugin::auth_status;

namespace detail {

// Limits on what a client may send: RFC 4616 bounds identities at 255 octets; passwords get room for
// passphrases. Anything longer is refused before any backend sees it.
constexpr std::size_t max_identity = 255;
constexpr std::size_t max_password = 1024;

step fail(std::string reason) { return step{step::kind::failure, {}, {}, {}, std::move(reason)}; }

step from_backend(const plugin::auth_result& r, const char* what) {
    if (r.status == auth_status::tempfail) {
        step s{step::kind::tempfail, {}, {}, {}, std::string(what) + ": backend could not decide"};
        s.tempfail_reply = r.tempfail_reply;
        return s;
    }
    return fail(std::string(what) + ": credentials rejected");
}

asio::awaitable<step> authorize(plugin::auth_backend& auth, std::string authenticated, std::string_view authzid) {
    if (authzid.empty() || authzid == authenticated) {
        co_return step{step::kind::success, {}, authenticated, authenticated, {}};
    }
    if (plugin::authorizer* a = auth.authorization(); a != nullptr) {
        const bool may = co_await a->may_act_as(authenticated, authzid);  // named first: see docs/architecture.md
        if (may) {
            co_return step{step::kind::success, {}, std::string(authzid), std::move(authenticated), {}};
        }
    }
    co_return fail(fmt::format("{} may not act as {}", authenticated, authzid));
}

std::string default_nonce() { return base64_encode(random_bytes(18)); }

std::optional<std::string> unescape_saslname(std::string_view name) {
    std::string out;
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (name[i] == ',') {
            return std::nullopt;
        }
        if (name[i] != '=') {
            out += name[i];
            continue;
        }
        const auto escape = name.substr(i + 1, 2);
        if (escape != "2C" && escape != "3D") {
            return std::nullopt;
        }
        out += escape == "2C" ? ',' : '=';
        i += 2;
    }
    return out;
}

}  // namespace detail

using namespace detail;

namespace {

class plain final : public mechanism {
  public:
    explicit plain(const context& ctx) : ctx_(ctx) {}
    asio::awaitable<step> start(std::optional<std::string_view> initial) override {
        if (!initial) {
            co_return step{step::kind::challenge, {}, {}, {}, {}};  // RFC 4616: an empty challenge
        }
        co_return co_await next(*initial);
    }
    asio::awaitable<step> next(std::string_view message) override {
        // [authzid] NUL authcid NUL passwd, and nothing else
        const auto first = message.find('\0');
        const auto second = first == std::string_view::npos ? first : message.find('\0', first + 1);
        if (second == std::string_view::npos || message.find('\0', second + 1) != std::string_view::npos) {
            co_return fail("PLAIN: malformed message");
        }
        const auto authzid = message.substr(0, first);
        const auto authcid = message.substr(first + 1, second - first - 1);
        const auto password = message.substr(second + 1);
        if (authcid.empty() || password.empty() || authcid.size() > max_identity || authzid.size() > max_identity ||
            password.size() > max_password) {
            co_return fail("PLAIN: empty or over-long field");
        }
        // RFC 4616 2: the presented authcid and password are prepared (SASLprep) before they are verified, and
        // the authzid with them, so "IX" and U+2168 (ROMAN NUMERAL NINE) name one user; a refusal is a failure.
        const credentials given = prepare_credentials(authcid, password);
        const prepared authz = authzid.empty() ? prepared{} : saslprep(authzid, prep_kind::query);
        if (!given.refused.empty() || !authz.ok()) {
            auto failed = fail(given.refused.empty()
                                   ? "PLAIN: the authorization identity fails SASLprep: it " + std::string(authz.error)
                                   : "PLAIN: " + given.refused);
            failed.attempted = given.user.empty() ? std::string(authcid) : given.user;
            co_return failed;
        }
        const auto r = co_await ctx_.auth.verify_password(given.user, given.password);
        if (r.status != auth_status::ok) {
            auto failed = from_backend(r, "PLAIN");
            failed.attempted = given.user;
            co_return failed;
        }
        co_return co_await authorize(ctx_.auth, r.user, authz.text);
    }

  private:
    const context& ctx_;
};

class login final : public mechanism {
  public:
    explicit login(const context& ctx) : ctx_(ctx) {}
    asio::awaitable<step> start(std::optional<std::string_view> initial) override {
        if (initial) {
            co_return co_await next(*initial);  // some clients send the user name as the initial response
        }
        co_return step{step::kind::challenge, "Username:", {}, {}, {}};
    }
    asio::awaitable<step> next(std::string_view response) override {
        if (!user_) {
            if (response.empty() || response.size() > max_identity) {
                co_return fail("LOGIN: empty or over-long user name");
            }
            user_ = std::string(response);
            co_return step{step::kind::challenge, "Password:", {}, {}, {}};
        }
        if (response.empty() || response.size() > max_password) {
            co_return fail("LOGIN: empty or over-long password");
        }
        // Prepared as PLAIN prepares them (RFC 4616 2): LOGIN has no standard, and a password must work through
        // both.
        const credentials given = prepare_credentials(*user_, response);
        if (!given.refused.empty()) {
            auto failed = fail("LOGIN: " + given.refused);
            failed.attempted = given.user.empty() ? *user_ : given.user;
            co_return failed;
        }
        const auto r = co_await ctx_.auth.verify_password(given.user, given.password);
        if (r.status != auth_status::ok) {
            auto failed = from_backend(r, "LOGIN");
            failed.attempted = given.user;
            co_return failed;
        }
        co_return step{step::kind::success, {}, r.user, r.user, {}};
    }

  private:
    const context& ctx_;
    std::optional<std::string> user_;
};

class cram_md5 final : public mechanism {
  public:
    explicit cram_md5(const context& ctx) : ctx_(ctx) {}
    asio::awaitable<step> start(std::optional<std::string_view> initial) override {
        if (initial) {
            co_return fail("CRAM-MD5: the client may not speak first");
        }
        challenge_ = ctx_.make_nonce ? ctx_.make_nonce() : apop_timestamp(ctx_.hostname);
        co_return step{step::kind::challenge, challenge_, {}, {}, {}};
    }
    asio::awaitable<step> next(std::string_view response) override {
        // "user digest", the digest 32 lowercase hex digits of HMAC-MD5(secret, challenge)
        const auto space = response.rfind(' ');
        if (space == std::string_view::npos || space == 0 || space > max_identity ||
            response.size() - space - 1 != 32) {
            co_return fail("CRAM-MD5: malformed response");
        }
        const auto user = response.substr(0, space);
        const auto digest_hex = response.substr(space + 1);
        plugin::secret_provider* secrets = ctx_.auth.secrets();
        if (secrets == nullptr) {
            co_return fail("CRAM-MD5: no backend provides secrets");
        }
        auto r = co_await secrets->stored_secret(user, plugin::secret_kind::plaintext_equivalent);
        // An unknown user is checked against a secret nobody has: the same work, the same answer.
        std::string secret = r.status == auth_status::ok ? std::move(r.secret) : random_bytes(16);
        const std::string expected = hex(hmac(digest::md5, secret, challenge_));
        wipe(secret);
        std::string given(digest_hex);
        std::transform(given.begin(), given.end(), given.begin(), [](unsigned char c) { return std::tolower(c); });
        if (!constant_time_equal(expected, given) || r.status != auth_status::ok) {
            auto failed = r.status == auth_status::tempfail
                              ? step{step::kind::tempfail, {}, {}, {}, "CRAM-MD5: backend"}
                              : fail("CRAM-MD5: credentials rejected");
            failed.attempted = std::string(user);
            failed.tempfail_reply = r.tempfail_reply;
            co_return failed;
        }
        co_return step{step::kind::success,
                       {},
                       r.user.empty() ? std::string(user) : r.user,
                       r.user.empty() ? std::string(user) : r.user,
                       {}};
    }

  private:
    const context& ctx_;
    std::string challenge_;
};

class external final : public mechanism {
  public:
    explicit external(const context& ctx) : ctx_(ctx) {}
    asio::awaitable<step> start(std::optional<std::string_view> initial) override {
        if (!initial) {
            co_return step{step::kind::challenge, {}, {}, {}, {}};
        }
        co_return co_await next(*initial);
    }
    asio::awaitable<step> next(std::string_view authzid) override {
        // A certificate alone never logs anyone in: TLS must have verified it, a mapping must name the user,
        // and the client must still ask (this very dialogue).
        if (ctx_.tls == nullptr || !ctx_.tls->peer.present || !ctx_.tls->peer.verified) {
            co_return fail("EXTERNAL: no verified client certificate");
        }
        if (authzid.size() > max_identity) {
            co_return fail("EXTERNAL: over-long authorization identity");
        }
        plugin::certificate_mapper* mapper = ctx_.auth.certificates();
        if (mapper == nullptr) {
            co_return fail("EXTERNAL: no certificate mapping configured");
        }
        const auto r = co_await mapper->map_certificate(ctx_.tls->peer);
        if (r.status != auth_status::ok) {
            co_return from_backend(r, "EXTERNAL");
        }
        co_return co_await authorize(ctx_.auth, r.user, authzid);
    }

  private:
    const context& ctx_;
};

}  // namespace

std::span<const mechanism_info> mechanisms() {
    static const mechanism_info all[] = {
        {"SCRAM-SHA-256-PLUS", false, false, true, true},
        {"SCRAM-SHA-256", false, false, false, true},
        {"SCRAM-SHA-1-PLUS", false, false, true, true},
        {"SCRAM-SHA-1", false, false, false, true},
        {"EXTERNAL", false, true, false, false},
        {"CRAM-MD5", false, false, false, true},
        {"PLAIN", true, false, false, false},
        {"LOGIN", true, false, false, false},
        {"OAUTHBEARER", false, false, false, false, true},
        {"XOAUTH2", false, false, false, false, true},
    };
    return all;
}

std::vector<std::string> offered(std::span<const std::string> configured, const tls::channel_info* tls,
                                 bool allow_plaintext, plugin::auth_backend* auth) {
    std::vector<std::string> out;
    for (const auto& m : mechanisms()) {
        if (std::find(configured.begin(), configured.end(), m.name) == configured.end()) {
            continue;
        }
        if (m.plaintext && tls == nullptr && !allow_plaintext) {
            continue;
        }
        if (m.bearer_token && tls == nullptr) {
            continue;
        }
        if (m.needs_client_cert && (tls == nullptr || !tls->peer.verified)) {
            continue;
        }
        if (m.channel_binding && (tls == nullptr || tls->channel_binding.empty())) {
            continue;
        }
        if (auth != nullptr && ((m.needs_secrets && auth->secrets() == nullptr) ||
                                (m.needs_client_cert && auth->certificates() == nullptr) ||
                                (m.bearer_token && auth->tokens() == nullptr))) {
            continue;
        }
        out.emplace_back(m.name);
    }
    return out;
}

std::unique_ptr<mechanism> make_mechanism(std::string_view name, const context& ctx) {
    if (name == "PLAIN") return std::make_unique<plain>(ctx);
    if (name == "LOGIN") return std::make_unique<login>(ctx);
    if (name == "CRAM-MD5") return std::make_unique<cram_md5>(ctx);
    if (name == "EXTERNAL") return std::make_unique<external>(ctx);
    if (auto oauth = make_oauth(name, ctx)) return oauth;
    return make_scram(name, ctx);
}

std::string apop_timestamp(std::string_view hostname) {
    // RFC 1939 7: "<process-ID.clock@hostname>"; random digits make it unique per connection too.
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const std::string random = hex(random_bytes(8));
    return fmt::format("<{}.{}.{}@{}>", random, std::chrono::duration_cast<std::chrono::seconds>(now).count(),
                       std::chrono::duration_cast<std::chrono::microseconds>(now).count() % 1'000'000, hostname);
}

asio::awaitable<plugin::auth_result> verify_apop(plugin::auth_backend& auth, std::string_view user,
                                                 std::string_view timestamp, std::string_view digest_hex) {
    plugin::secret_provider* secrets = auth.secrets();
    if (secrets == nullptr || user.empty() || user.size() > max_identity || digest_hex.size() != 32) {
        co_return plugin::auth_result{auth_status::rejected, {}, "APOP: not possible"};
    }
    auto r = co_await secrets->stored_secret(user, plugin::secret_kind::plaintext_equivalent);
    std::string secret = r.status == auth_status::ok ? std::move(r.secret) : random_bytes(16);
    std::string text = std::string(timestamp) + secret;
    const std::string expected = hex(hash(digest::md5, text));
    wipe(secret);
    wipe(text);
    std::string given(digest_hex);
    std::transform(given.begin(), given.end(), given.begin(), [](unsigned char c) { return std::tolower(c); });
    if (r.status == auth_status::ok && constant_time_equal(expected, given)) {
        co_return plugin::auth_result{auth_status::ok, r.user.empty() ? std::string(user) : r.user, {}};
    }
    if (r.status == auth_status::tempfail) {
        co_return plugin::auth_result{
            auth_status::tempfail, {}, "APOP: backend could not decide", std::move(r.tempfail_reply)};
    }
    co_return plugin::auth_result{auth_status::rejected, {}, "APOP: rejected"};
}

}  // namespace mailwright::sasl
