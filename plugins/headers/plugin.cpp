// headers: Authentication-Results (RFC 8601) for what the session knew, forged ones of ours removed, and
// optionally the client's Received fields of authenticated submissions removed (headers_filter.hpp):
//
//   [plugin.headers]
//   authserv_id = "mail.example.org"   # default: the listener's host name
//   add_authentication_results = true
//   strip_received = false
//   services = ["smtp", "submission"]  # "lmtp" too when the LMTP client is not trusted to write ours
//
// LMTP is left out by default: its client is the site's own MTA, whose Authentication-Results for our
// authserv-id are genuine (RFC 8601 5: only fields that did not come from a trusted MTA are forged).
#include <algorithm>
#include <array>
#include <mailwright/plugin/hook.hpp>
#include <memory>
#include <string>
#include <vector>

#include "headers_filter.hpp"

namespace {

using namespace mailwright;

constexpr std::array<std::string_view, 3> known_services = {"smtp", "submission", "lmtp"};

class headers_hook final : public plugin::hook {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        const auto id = config.string("authserv_id");
        authserv_id_ = id.value_or("");
        if (id && !headers::is_token(*id)) {
            config.invalid("authserv_id", "a host name (an RFC 2045 token), e.g. authserv_id = \"mail.example.org\"");
        }
        add_ = config.boolean("add_authentication_results").value_or(true);
        strip_received_ = config.boolean("strip_received").value_or(false);
        services_ = config.strings("services").value_or(std::vector<std::string>{"smtp", "submission"});
        for (const auto& s : services_) {
            if (std::find(known_services.begin(), known_services.end(), s) == known_services.end()) {
                config.invalid("services", "some of \"smtp\", \"submission\" and \"lmtp\"");
            }
        }
    }

    std::unique_ptr<plugin::message_filter> filter(const plugin::event_context& context) override {
        if (std::find(services_.begin(), services_.end(), context.service) == services_.end()) {
            return nullptr;
        }
        headers::filter_options options;
        options.authserv_id = authserv_id_.empty() ? std::string(context.server_name) : authserv_id_;
        options.add_authentication_results = add_;
        options.strip_received = strip_received_;
        options.session = context.session;
        return std::make_unique<headers::headers_filter>(std::move(options), headers::facts_of(context));
    }

  private:
    std::string authserv_id_;  // empty: each listener's host name
    bool add_ = true;
    bool strip_received_ = false;
    std::vector<std::string> services_;
};

}  // namespace

MAILWRIGHT_PLUGIN("headers", "hook", "1.0", headers_hook)
