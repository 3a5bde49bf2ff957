// Test auth plugin: users and passwords from its settings (users = ["alice:secret"]). With `delay` set it
// awaits an Asio timer before answering, and says in the result's message whether it resumed on the
// io_context's own thread as Asio sees it (running_in_this_thread), to test plugins that await.
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <mailwright/plugin/auth.hpp>
#include <map>
#include <stdexcept>
#include <thread>

#include "user_list.hpp"

#ifndef TEST_PLUGIN_NAME
#define TEST_PLUGIN_NAME "static-users"
#endif

namespace {

class static_users final : public mailwright::plugin::auth_backend {
  public:
    void init(mailwright::plugin::settings& config, mailwright::plugin::host_view&) override {
        users_ = mailwright::test::read_users(config);
        delay_ = config.duration("delay").value_or(std::chrono::milliseconds(0));
    }

    asio::awaitable<mailwright::plugin::auth_result> verify_password(std::string_view user,
                                                                     std::string_view password) override {
        std::string note = "no-await";
        if (delay_.count() > 0) {
            const auto before = std::this_thread::get_id();
            auto executor = co_await asio::this_coro::executor;
            asio::steady_timer timer(executor, delay_);
            co_await timer.async_wait(asio::use_awaitable);
            const auto* io = executor.target<asio::io_context::executor_type>();
            note = std::string(before == std::this_thread::get_id() ? "thread-kept=yes" : "thread-kept=no") +
                   (io != nullptr && io->running_in_this_thread() ? " asio-sees-thread=yes" : " asio-sees-thread=no");
        }
        const auto it = users_.find(std::string(user));
        if (it != users_.end() && it->second == password) {  // a test plugin: no constant-time compare needed
            co_return mailwright::plugin::auth_result{mailwright::plugin::auth_status::ok, it->first, note};
        }
        co_return mailwright::plugin::auth_result{mailwright::plugin::auth_status::rejected, {}, note};
    }

    asio::awaitable<mailwright::plugin::auth_result> lookup(std::string_view user) override {
        const bool known = users_.count(std::string(user)) != 0;
        co_return mailwright::plugin::auth_result{
            known ? mailwright::plugin::auth_status::ok : mailwright::plugin::auth_status::rejected,
            std::string(user),
            {}};
    }

  private:
    std::map<std::string, std::string> users_;
    std::chrono::milliseconds delay_{0};
};

}  // namespace

MAILWRIGHT_PLUGIN(TEST_PLUGIN_NAME, "auth", "1.0", static_users)
