// The ratelimit hook plugin (mailwright-ratelimit.so): token buckets per client address, per /24 or /64
// network, per authenticated user and per sender, for connections, messages and recipients
// (docs/configuration.md, [plugin.ratelimit]). The engine is limiter.hpp; this file maps SMTP phases onto it
// and says the verdict in SMTP's words.
//
// What is counted where:
//   connections  smtp_phase::connect; refused with 421 4.7.0, and the connection closes (RFC 5321 3.8)
//   messages     smtp_phase::mail, one per MAIL FROM that reaches the hooks, as Postfix's
//                smtpd_client_message_rate_limit counts delivery requests: the refusal comes before the
//                client sends the text, and a transaction that fails later still cost its token (the strict
//                side)
//   recipients   smtp_phase::rcpt, one per recipient that reaches the hooks
// A refusal is 450 4.7.1 (RFC 3463: delivery not authorized now), with the time to retry; the client's
// queue tries again, nothing is lost.
#include <fmt/format.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <chrono>
#include <mailwright/plugin/hook.hpp>
#include <random>
#include <vector>

#include "limiter.hpp"
#include "rules.hpp"

namespace {

using namespace mailwright;
using ratelimit::counted;
using ratelimit::scope;

std::string_view whose(scope by) {
    switch (by) {
        case scope::client:
            return "from this address";
        case scope::network:
            return "from this network";
        case scope::user:
            return "of this user";
        case scope::sender:
            return "from this sender";
    }
    return "";
}

// Whole seconds, rounded up: a client that waits exactly that long finds a token.
long long seconds(std::chrono::nanoseconds wait) {
    return std::max<long long>(1, (wait.count() + 999999999) / 1000000000);
}

ratelimit::hash_key random_key() {
    std::random_device device;
    const auto word = [&device] { return (std::uint64_t{device()} << 32) | device(); };
    return {word(), word()};
}

class ratelimit_hook final : public plugin::hook {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        const ratelimit::rules rules = ratelimit::read_rules(config);
        // LMTP's client is the local MTA, which has done its own limiting: spared unless listed.
        services_ = config.strings("services").value_or(std::vector<std::string>{"smtp", "submission"});
        for (const auto& s : services_) {
            if (s != "smtp" && s != "submission" && s != "lmtp") {
                config.invalid("services", "a list of \"smtp\", \"submission\" and \"lmtp\"");
            }
        }
        if (!rules.any()) {
            spdlog::warn("plugin=ratelimit no rule configured: nothing is limited");
        }
        limiter_.emplace(rules, random_key());
    }

    asio::awaitable<plugin::reply> on_smtp(plugin::smtp_phase phase, const plugin::event_context& c) override {
        const auto what = counted_at(phase);
        if (!what || std::find(services_.begin(), services_.end(), c.service) == services_.end()) {
            co_return plugin::reply::accept();
        }
        ratelimit::subject who{c.peer_address, c.user, {}};
        if (phase == plugin::smtp_phase::mail) {
            who.sender = c.argument;
        } else if (c.envelope != nullptr) {
            who.sender = c.envelope->sender;
        }
        const auto v = limiter_->take(*what, who, std::chrono::steady_clock::now() - start_);
        if (v.allowed) {
            co_return plugin::reply::accept();
        }
        const std::string text = fmt::format("rate limit for {} {} exceeded, try again in {} s",
                                             ratelimit::to_string(*what), whose(v.by), seconds(v.retry_after));
        co_return *what == counted::connections ? plugin::reply::smtp(421, "4.7.0", text)
                                                : plugin::reply::smtp(450, "4.7.1", text);
    }

  private:
    static std::optional<counted> counted_at(plugin::smtp_phase phase) {
        switch (phase) {
            case plugin::smtp_phase::connect:
                return counted::connections;
            case plugin::smtp_phase::mail:
                return counted::messages;
            case plugin::smtp_phase::rcpt:
                return counted::recipients;
            default:
                return std::nullopt;
        }
    }

    std::optional<ratelimit::limiter> limiter_;
    std::vector<std::string> services_;
    const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

MAILWRIGHT_PLUGIN("ratelimit", "hook", "1.0", ratelimit_hook)
