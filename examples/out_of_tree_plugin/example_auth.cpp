// example-auth: users and passwords from the plugin's table, [plugin.example-auth] users = ["alice:secret"].
// A complete auth plugin in one file; the same source also builds linked into a program (examples/appliance).
#include <mailwright/plugin/auth.hpp>
#include <map>
#include <string>

namespace {

// Compares in time that depends only on the lengths, never on where the first difference is.
bool same_secret(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
    }
    return diff == 0 && !b.empty();
}

class example_auth final : public mailwright::plugin::auth_backend {
  public:
    void init(mailwright::plugin::settings& config, mailwright::plugin::host_view&) override {
        for (const auto& entry : config.strings("users").value_or(std::vector<std::string>{})) {
            const auto colon = entry.find(':');
            if (colon == std::string::npos) {
                config.invalid("users", "each entry must read \"user:password\"");
            } else {
                users_[entry.substr(0, colon)] = entry.substr(colon + 1);
            }
        }
    }

    asio::awaitable<mailwright::plugin::auth_result> verify_password(std::string_view user,
                                                                     std::string_view password) override {
        using mailwright::plugin::auth_status;
        const auto it = users_.find(std::string(user));
        // An unknown user costs the same comparison as a known one: no user enumeration by timing.
        const bool ok = same_secret(password, it != users_.end() ? it->second : unknown_) && it != users_.end();
        co_return mailwright::plugin::auth_result{
            ok ? auth_status::ok : auth_status::rejected, ok ? it->first : std::string(), {}};
    }

    // Whether a user exists: SMTP asks before it accepts a recipient.
    asio::awaitable<mailwright::plugin::auth_result> lookup(std::string_view user) override {
        using mailwright::plugin::auth_status;
        const auto it = users_.find(std::string(user));
        co_return mailwright::plugin::auth_result{
            it != users_.end() ? auth_status::ok : auth_status::rejected, it != users_.end() ? it->first : "", {}};
    }

  private:
    std::map<std::string, std::string> users_;
    const std::string unknown_ = "an unknown user's password";
};

}  // namespace

MAILWRIGHT_PLUGIN("example-auth", "auth", "1.0", example_auth)
