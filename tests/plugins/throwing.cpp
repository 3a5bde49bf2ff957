// Test auth plugin that misbehaves: throws from verify_password (fault barrier) for "mallory", and throws an
// int (no std::exception) for "mallory-int"; or throws from init when `fail_init = true` (start-up error), an
// int when `fail_init_int = true`. `touch = "FILE"` makes it create FILE in init(), as a store creates its
// database, unless the host says it is only checking the configuration (host_view::checking()).
#include <fstream>
#include <mailwright/plugin/auth.hpp>
#include <stdexcept>

namespace {

class throwing final : public mailwright::plugin::auth_backend {
  public:
    void init(mailwright::plugin::settings& config, mailwright::plugin::host_view& host) override {
        if (const auto touch = config.string("touch"); touch && !host.checking()) {
            std::ofstream(*touch) << "made by init()\n";
        }
        if (config.boolean("fail_init").value_or(false)) {
            throw std::runtime_error("the database is unreachable");
        }
        if (config.boolean("fail_init_int").value_or(false)) {
            throw 1;
        }
    }
    asio::awaitable<mailwright::plugin::auth_result> verify_password(std::string_view user, std::string_view) override {
        if (user == "mallory") {
            throw std::runtime_error("plugin bug triggered by " + std::string(user));
        }
        if (user == "mallory-int") {
            throw 1;
        }
        co_return mailwright::plugin::auth_result{};
    }
};

}  // namespace

MAILWRIGHT_PLUGIN("throwing", "auth", "1.0", throwing)
