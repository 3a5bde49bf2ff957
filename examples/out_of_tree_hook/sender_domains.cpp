// sender-domains: a hook that refuses mail from senders of listed domains at MAIL FROM, built against the
// installed SDK (docs/plugins.md, "Writing a hook"). List it in [plugins] hooks and configure it:
//   [plugin.sender-domains]
//   domains = ["spam.example"]
#include <algorithm>
#include <cctype>
#include <mailwright/plugin/hook.hpp>
#include <string>
#include <vector>

namespace {

using namespace mailwright;

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

class sender_domains final : public plugin::hook {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        const auto domains = config.strings("domains");
        if (!domains) {  // missing, or not a list of strings: one error, with file:line:column
            config.invalid("domains", "the sender domains to refuse, e.g. domains = [\"spam.example\"]");
            return;
        }
        for (const auto& domain : *domains) {
            domains_.push_back(lower(domain));
        }
    }

    // Called at every SMTP phase; this hook has a say only at MAIL, where `argument` is the sender's address
    // (empty for the null sender <>). Everything in `context` is valid for this call only.
    asio::awaitable<plugin::reply> on_smtp(plugin::smtp_phase phase, const plugin::event_context& context) override {
        const auto at = context.argument.rfind('@');
        if (phase != plugin::smtp_phase::mail || at == std::string_view::npos) {
            co_return plugin::reply::accept();
        }
        const std::string domain = lower(context.argument.substr(at + 1));
        if (std::find(domains_.begin(), domains_.end(), domain) != domains_.end()) {
            co_return plugin::reply::smtp(550, "5.7.1", "mail from " + domain + " is not accepted here");
        }
        co_return plugin::reply::accept();
    }

  private:
    std::vector<std::string> domains_;  // read in init(), only read afterwards: safe from every worker thread
};

}  // namespace

MAILWRIGHT_PLUGIN("sender-domains", "hook", "1.0", sender_domains)
