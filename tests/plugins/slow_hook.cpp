// Test hook plugin that keeps a session waiting inside a plugin call: at SMTP MAIL from `wait_sender` it waits
// on a timer for `mail_wait` (an asynchronous call in progress), at SMTP RCPT to `block_recipient` it blocks a
// thread of the blocking pool for `rcpt_block` (a blocking job in progress). tests/integration/test_shutdown.py
// stops the daemon while sessions wait in each; everything else is accepted at once.
#include <spdlog/spdlog.h>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <mailwright/io/offload.hpp>
#include <mailwright/plugin/hook.hpp>
#include <string>
#include <thread>

namespace {
class slow_hook final : public mailwright::plugin::hook {
  public:
    void init(mailwright::plugin::settings& config, mailwright::plugin::host_view&) override {
        mail_wait_ = config.duration("mail_wait").value_or(std::chrono::milliseconds{0});
        rcpt_block_ = config.duration("rcpt_block").value_or(std::chrono::milliseconds{0});
        wait_sender_ = config.string("wait_sender").value_or("");
        block_recipient_ = config.string("block_recipient").value_or("");
    }
    asio::awaitable<mailwright::plugin::reply> on_pop3(mailwright::plugin::pop3_event,
                                                       const mailwright::plugin::event_context&) override {
        co_return mailwright::plugin::reply::accept();
    }
    asio::awaitable<mailwright::plugin::reply> on_smtp(mailwright::plugin::smtp_phase phase,
                                                       const mailwright::plugin::event_context& context) override {
        if (phase == mailwright::plugin::smtp_phase::mail && context.argument == wait_sender_) {
            spdlog::info("plugin=slow-hook waiting at MAIL for {} ms", mail_wait_.count());
            asio::steady_timer timer(co_await asio::this_coro::executor, mail_wait_);
            co_await timer.async_wait(asio::use_awaitable);
        }
        if (phase == mailwright::plugin::smtp_phase::rcpt && context.argument == block_recipient_) {
            spdlog::info("plugin=slow-hook blocking a pool thread at RCPT for {} ms", rcpt_block_.count());
            co_await mailwright::io::offload([block = rcpt_block_] {
                std::this_thread::sleep_for(block);
                return 0;
            });
        }
        co_return mailwright::plugin::reply::accept();
    }

  private:
    std::chrono::milliseconds mail_wait_{0};
    std::chrono::milliseconds rcpt_block_{0};
    std::string wait_sender_;
    std::string block_recipient_;
};
}  // namespace

MAILWRIGHT_PLUGIN("slow-hook", "hook", "1.0", slow_hook)
