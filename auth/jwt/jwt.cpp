// jwt: OAuth 2.0 access tokens that are signed JWTs (RFC 7519, RFC 9068), for SASL OAUTHBEARER and XOAUTH2. The
// provider's public keys come from a JWKS file, read at start (a bad file stops the daemon) and again when it
// changes (a bad new version is logged and the previous one kept). It checks no passwords (verify_password
// always says no, so the chain asks the next plugin).
//
//   [plugin.jwt]
//   jwks = "/etc/mailwright/jwks.json"      # the provider's keys (RS256 RSA, ES256 P-256)
//   issuer = "https://id.example.com/realms/mail"   # "iss" must be this
//   audience = "mail.example.com"           # "aud" must hold this
//   user_claim = "email"                    # the claim naming the user
//   strip_domain = false                    # the part of the user claim before its '@'
//   clock_skew = "60s"                      # leeway for "exp" and "nbf"
//   scope = "openid email"                  # told to a refused client (RFC 7628 3.2.2), not checked
//   openid_configuration = "https://id.example.com/realms/mail/.well-known/openid-configuration"  # likewise
#include <spdlog/spdlog.h>

#include <chrono>
#include <mailwright/io/compute.hpp>
#include <mailwright/io/offload.hpp>
#include <mailwright/io/watched_file.hpp>
#include <mailwright/plugin/auth.hpp>

#include "jwks.hpp"
#include "token.hpp"

namespace {

using namespace mailwright;

constexpr std::size_t max_jwks = 1024 * 1024;

std::shared_ptr<const jwt::key_set> read_jwks(const std::string& path) {
    return std::make_shared<const jwt::key_set>(jwt::parse_jwks(io::read_bounded(path, max_jwks, "the JWKS"), path));
}

class jwt_plugin final : public plugin::auth_backend, plugin::token_verifier {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        // Every key is read before any is judged: one returned from early would be reported as unknown.
        const auto jwks = config.string("jwks");
        rules_.issuer = config.string("issuer").value_or("");
        rules_.audience = config.string("audience").value_or("");
        rules_.user_claim = config.string("user_claim").value_or("email");
        rules_.strip_domain = config.boolean("strip_domain").value_or(false);
        const auto skew = config.duration("clock_skew");
        scope_ = config.string("scope").value_or("");
        openid_configuration_ = config.string("openid_configuration").value_or("");
        if (skew) {
            if (*skew > std::chrono::minutes(10)) {
                config.invalid("clock_skew", "at most \"10m\"");
            }
            rules_.clock_skew = std::chrono::duration_cast<std::chrono::seconds>(*skew);
        }
        if (rules_.issuer.empty()) {
            config.invalid("issuer", "the provider's issuer (\"iss\"), e.g. issuer = \"https://id.example.com\"");
        }
        if (rules_.audience.empty()) {
            config.invalid("audience", "what the tokens' \"aud\" must hold, e.g. audience = \"mail.example.com\"");
        }
        if (rules_.user_claim.empty()) {
            config.invalid("user_claim", "a claim name, e.g. \"email\" or \"sub\"");
        }
        if (!jwks || jwks->empty()) {
            config.invalid("jwks", "the provider's JWKS file, e.g. jwks = \"/etc/mailwright/jwks.json\"");
            return;
        }
        auto describe = [](const jwt::key_set& k) { return describe_keys(k); };
        keys_ = std::make_shared<io::watched_file<jwt::key_set>>(*jwks, "jwt", read_jwks, std::chrono::seconds(1),
                                                                 describe);
        spdlog::info("plugin=jwt {} from {}", describe_keys(*keys_->current()), *jwks);
    }

    asio::awaitable<plugin::auth_result> verify_password(std::string_view, std::string_view) override {
        co_return plugin::auth_result{plugin::auth_status::rejected, {}, "jwt checks no passwords"};
    }

    plugin::token_verifier* tokens() noexcept override { return keys_ ? this : nullptr; }

    // A changed JWKS is read from disk, on the blocking pool; signature checks cost tens of microseconds to a
    // millisecond, on the compute pool (busy: a temporary failure).
    asio::awaitable<plugin::auth_result> verify_token(std::string_view token, std::string_view) override {
        if (keys_->due(std::chrono::steady_clock::now())) {
            auto refresh = [keys = keys_] {
                keys->refresh();
                return 0;
            };
            co_await io::offload(std::move(refresh));
        }
        auto work = [keys = keys_, rules = rules_, token = std::string(token)] {
            const auto now =
                std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
            auto v = jwt::check(token, *keys->current(), rules, now.count());
            return v.ok ? plugin::auth_result{plugin::auth_status::ok, std::move(v.user), {}}
                        : plugin::auth_result{plugin::auth_status::rejected, {}, std::move(v.reason)};
        };
        auto checked = co_await io::compute(std::move(work));
        if (checked.busy()) {
            co_return plugin::auth_result{plugin::auth_status::tempfail, {}, "the compute pool is busy"};
        }
        co_return std::move(*checked);
    }

    std::string token_scope() const override { return scope_; }
    std::string openid_configuration() const override { return openid_configuration_; }

  private:
    static std::string describe_keys(const jwt::key_set& k) {
        return std::to_string(k.keys.size()) + " signing keys" +
               (k.skipped != 0 ? " (" + std::to_string(k.skipped) + " other keys skipped)" : "");
    }

    jwt::rules rules_;
    std::string scope_;
    std::string openid_configuration_;
    std::shared_ptr<io::watched_file<jwt::key_set>> keys_;
};

}  // namespace

MAILWRIGHT_PLUGIN("jwt", "auth", "1.0", jwt_plugin)
