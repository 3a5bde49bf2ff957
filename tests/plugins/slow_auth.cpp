// Test auth plugin whose every password check holds a thread of the compute pool for `hold` (it sleeps inside
// io::compute, as a hash would compute), so that a test can fill the pool ([server] hashing_threads and
// hashing_queue) and see the logins beyond it answered as temporary failures while deliveries go on:
// tests/integration/test_hashing.py. users = ["alice:secret"]; every user is a known recipient at once.
#include <spdlog/spdlog.h>

#include <chrono>
#include <mailwright/io/compute.hpp>
#include <mailwright/plugin/auth.hpp>
#include <map>
#include <string>
#include <thread>

#include "user_list.hpp"

namespace {

using mailwright::plugin::auth_result;
using mailwright::plugin::auth_status;

class slow_auth final : public mailwright::plugin::auth_backend {
  public:
    void init(mailwright::plugin::settings& config, mailwright::plugin::host_view&) override {
        users_ = mailwright::test::read_users(config);
        hold_ = config.duration("hold").value_or(std::chrono::milliseconds(0));
    }

    asio::awaitable<auth_result> verify_password(std::string_view user, std::string_view password) override {
        const auto it = users_.find(std::string(user));
        const bool ok = it != users_.end() && it->second == password;  // a test plugin: no constant-time compare
        spdlog::info("plugin=slow-auth checking {} on the compute pool", user);
        auto work = [hold = hold_, ok] {
            std::this_thread::sleep_for(hold);
            return ok;
        };
        auto done = co_await mailwright::io::compute(std::move(work));
        if (done.busy()) {
            co_return auth_result{auth_status::tempfail, {}, "the compute pool is busy"};
        }
        co_return *done ? auth_result{auth_status::ok, std::string(user), {}} : auth_result{};
    }

    asio::awaitable<auth_result> lookup(std::string_view user) override {
        const bool known = users_.count(std::string(user)) != 0;
        co_return auth_result{known ? auth_status::ok : auth_status::rejected, std::string(user), {}};
    }

  private:
    std::map<std::string, std::string> users_;
    std::chrono::milliseconds hold_{0};
};

}  // namespace

MAILWRIGHT_PLUGIN("slow-auth", "auth", "1.0", slow_auth)
