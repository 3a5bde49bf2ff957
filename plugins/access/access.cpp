// access: accept, reject or tempfail SMTP clients by their address (CIDR, IPv4 and IPv6), their HELO name,
// the sender and each recipient, by the first matching rule of a rules file (rules.hpp has the format):
//
//   [plugin.access]
//   rules = "/etc/mailwright/access"
//
// Client rules are looked up at connect (a refusal closes the connection), helo rules at HELO/EHLO/LHLO,
// sender rules at MAIL and recipient rules at RCPT, so a refused sender hears it before DATA. The file is read
// at start and whenever it changes (rules_file.hpp); POP3 is not affected.
#include <spdlog/spdlog.h>

#include <chrono>
#include <mailwright/io/offload.hpp>
#include <mailwright/plugin/hook.hpp>
#include <memory>
#include <optional>

#include "rules_file.hpp"

namespace {

using namespace mailwright;

std::optional<access::subject> subject_of(plugin::smtp_phase phase) {
    switch (phase) {
        case plugin::smtp_phase::connect:
            return access::subject::client;
        case plugin::smtp_phase::helo:
            return access::subject::helo;
        case plugin::smtp_phase::mail:
            return access::subject::sender;
        case plugin::smtp_phase::rcpt:
            return access::subject::recipient;
        default:
            return std::nullopt;
    }
}

class access_hook final : public plugin::hook {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        const auto path = config.string("rules");
        if (!path || path->empty()) {
            config.invalid("rules", "the rules file to read, e.g. rules = \"/etc/mailwright/access\"");
            return;
        }
        // A bad rule throws "file:line: what": the daemon (and --check-config) stops with it.
        source_ = std::make_shared<access::rules_source>(*path);
        spdlog::info("plugin=access {} rules from {}", source_->rules()->size(), *path);
    }

    asio::awaitable<plugin::reply> on_smtp(plugin::smtp_phase phase, const plugin::event_context& context) override {
        const auto what = subject_of(phase);
        if (!what || !source_) {
            co_return plugin::reply::accept();
        }
        if (source_->due(std::chrono::steady_clock::now())) {
            auto look = [source = source_] { return source->refresh(); };
            co_await io::offload(std::move(look));
        }
        const auto value = phase == plugin::smtp_phase::connect ? context.peer_address : context.argument;
        co_return decide(*what, value, context.session);
    }

  private:
    plugin::reply decide(access::subject what, std::string_view value, std::uint64_t session) const noexcept {
        try {
            const auto rules = source_->rules();
            const access::rule* r = access::first_match(*rules, what, value);
            if (r == nullptr) {
                return plugin::reply::accept();
            }
            spdlog::debug("session={} plugin=access {}:{} matches {} {}", session, source_->path(), r->line,
                          access::to_string(what), value);
            return access::reply_for(*r, value);
        } catch (const std::exception& e) {
            // Only an allocation can fail here. Refuse for now rather than let mail through unchecked.
            spdlog::error("session={} plugin=access cannot decide: {}", session, e.what());
            return plugin::reply::tempfail();
        }
    }

    std::shared_ptr<access::rules_source> source_;
};

}  // namespace

MAILWRIGHT_PLUGIN("access", "hook", "1.0", access_hook)
