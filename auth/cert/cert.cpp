// cert: maps a client certificate that TLS verified to a user, for SASL EXTERNAL. It checks no passwords
// (verify_password always says no, so the chain asks the next plugin).
//
//   [plugin.cert]
//   map = "san_email"        # "san_email": the first SAN e-mail address; "cn": the subject CN;
//                            # "fingerprint": the SHA-256 fingerprint, looked up in `fingerprints`
//   strip_domain = false     # san_email only: the part before '@'
//   fingerprints = ["<64 hex digits>:user"]
#include <algorithm>
#include <mailwright/plugin/auth.hpp>
#include <map>
#include <stdexcept>

namespace {

using namespace mailwright;

class cert final : public plugin::auth_backend, plugin::certificate_mapper {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        map_ = config.string("map").value_or("san_email");
        if (map_ != "san_email" && map_ != "cn" && map_ != "fingerprint") {
            config.invalid("map", "one of \"san_email\", \"cn\", \"fingerprint\"");
        }
        strip_domain_ = config.boolean("strip_domain").value_or(false);
        for (auto entry : config.strings("fingerprints").value_or(std::vector<std::string>{})) {
            const auto colon = entry.find(':');
            std::transform(entry.begin(), entry.end(), entry.begin(), [](unsigned char c) { return std::tolower(c); });
            if (colon != 64 || entry.find_first_not_of("0123456789abcdef") < 64 || colon + 1 == entry.size()) {
                config.invalid("fingerprints", "each entry must read \"<64 hex digits>:user\"");
                continue;
            }
            fingerprints_[entry.substr(0, 64)] = entry.substr(65);
        }
    }

    asio::awaitable<plugin::auth_result> verify_password(std::string_view, std::string_view) override {
        co_return plugin::auth_result{plugin::auth_status::rejected, {}, "cert checks no passwords"};
    }

    plugin::certificate_mapper* certificates() noexcept override { return this; }

    asio::awaitable<plugin::auth_result> map_certificate(const tls::peer_certificate& c) override { co_return map(c); }

  private:
    plugin::auth_result map(const tls::peer_certificate& c) const {
        const plugin::auth_result no{plugin::auth_status::rejected, {}, "certificate maps to no user"};
        if (!c.present || !c.verified) {
            return no;  // the engine checks this too; a mapping never trusts an unverified certificate
        }
        std::string user;
        if (map_ == "san_email") {
            if (c.san_emails.empty()) {
                return no;
            }
            user = c.san_emails.front();
            if (strip_domain_) {
                user = user.substr(0, user.find('@'));
            }
        } else if (map_ == "cn") {
            user = c.common_name;
        } else {
            const auto it = fingerprints_.find(c.sha256_fingerprint);
            if (it == fingerprints_.end()) {
                return no;
            }
            user = it->second;
        }
        if (user.empty() || user.size() > 255 || user.find_first_of(std::string("/\0\r\n", 4)) != std::string::npos) {
            return no;
        }
        return plugin::auth_result{plugin::auth_status::ok, user, {}};
    }

    std::string map_;
    bool strip_domain_ = false;
    std::map<std::string, std::string> fingerprints_;
};

}  // namespace

MAILWRIGHT_PLUGIN("cert", "auth", "1.0", cert)
