// Test auth plugin that misbehaves: throws from verify_password (fault barrier), or from init when
// `fail_init = true` (start-up error).
#include <mailwright/plugin/auth.hpp>
#include <stdexcept>

namespace {

class throwing final : public mailwright::plugin::auth_backend {
  public:
    void init(mailwright::plugin::settings& config, mailwright::plugin::host_view&) override {
        if (config.boolean("fail_init").value_or(false)) {
            throw std::runtime_error("the database is unreachable");
        }
    }
    asio::awaitable<mailwright::plugin::auth_result> verify_password(std::string_view user, std::string_view) override {
        if (user == "mallory") {
            throw std::runtime_error("plugin bug triggered by " + std::string(user));
        }
        co_return mailwright::plugin::auth_result{};
    }
};

}  // namespace

MAILWRIGHT_PLUGIN("throwing", "auth", "1.0", throwing)
