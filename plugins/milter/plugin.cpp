// milter: asks milters (Sendmail's mail filter protocol: OpenDKIM, rspamd, SpamAssassin's spamass-milter,
// ClamAV's clamav-milter) about each message, as Sendmail and Postfix do (milter_filter.hpp):
//
//   [plugin.milter]
//   [[plugin.milter.milters]]
//   name = "opendkim"
//   address = "inet:127.0.0.1:8891"      # "unix:/run/opendkim/opendkim.sock", Postfix's "inet:8891@host"
//   connect_timeout = "5s"
//   command_timeout = "10s"
//   end_timeout = "60s"
//   default_action = "tempfail"          # or "accept": when the milter is down or breaks the protocol
//   replace_body = false                 # true: the milter may replace the body
//   services = ["submission"]            # default: smtp, submission and lmtp
//
// One connection per message and milter: a milter is asked about a message on a connection of its own, so
// no state is shared between the sessions of the worker threads.
#include <algorithm>
#include <mailwright/plugin/hook.hpp>
#include <memory>
#include <vector>

#include "config.hpp"
#include "milter_filter.hpp"

namespace {

using namespace mailwright;

class milter_hook final : public plugin::hook {
  public:
    void init(plugin::settings& config, plugin::host_view&) override { milters_ = milter::read_settings(config); }

    std::unique_ptr<plugin::message_filter> filter(const plugin::event_context& context) override {
        std::vector<const milter::milter_settings*> chosen;
        for (const auto& m : milters_) {
            const bool here = m.services.empty() ? context.service != "pop3"
                                                 : std::find(m.services.begin(), m.services.end(), context.service) !=
                                                       m.services.end();
            if (here) {
                chosen.push_back(&m);
            }
        }
        if (chosen.empty()) {
            return nullptr;
        }
        return std::make_unique<milter::milter_filter>(std::move(chosen), milter::facts_of(context));
    }

  private:
    std::vector<milter::milter_settings> milters_;  // never changes after init(): read by every worker
};

}  // namespace

MAILWRIGHT_PLUGIN("milter", "hook", "1.0", milter_hook)
