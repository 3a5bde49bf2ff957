// Test hook plugin: refuses POP3 logins of the users in `deny`, tempfails SMTP MAIL from `busy`, and
// throws for the user "crash" (fault barrier), an int for "crash-int". It depends on static-users to test dependency
// order.
#include <algorithm>
#include <mailwright/plugin/hook.hpp>
#include <stdexcept>

namespace {
class deny_hook final : public mailwright::plugin::hook {
  public:
    void init(mailwright::plugin::settings& config, mailwright::plugin::host_view&) override {
        deny_ = config.strings("deny").value_or(std::vector<std::string>{});
        busy_ = config.string("busy").value_or("");
    }
    asio::awaitable<mailwright::plugin::reply> on_pop3(mailwright::plugin::pop3_event event,
                                                       const mailwright::plugin::event_context& context) override {
        using mailwright::plugin::reply;
        if (context.user == "crash") {
            throw std::runtime_error("hook bug");
        }
        if (context.user == "crash-int") {
            throw 1;
        }
        if (event == mailwright::plugin::pop3_event::login &&
            std::find(deny_.begin(), deny_.end(), context.user) != deny_.end()) {
            co_return reply::reject("not today");
        }
        co_return reply::accept();
    }
    asio::awaitable<mailwright::plugin::reply> on_smtp(mailwright::plugin::smtp_phase phase,
                                                       const mailwright::plugin::event_context& context) override {
        using mailwright::plugin::reply;
        if (phase == mailwright::plugin::smtp_phase::mail && !busy_.empty() && context.argument == busy_) {
            co_return reply::tempfail("busy");
        }
        co_return reply::accept();
    }

  private:
    std::vector<std::string> deny_;
    std::string busy_;
};
}  // namespace

MAILWRIGHT_PLUGIN("deny-hook", "hook", "1.0", deny_hook, "static-users")
