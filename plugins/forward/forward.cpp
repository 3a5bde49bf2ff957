// forward: a mailstore that keeps nothing and hands each message to the next hop its recipients' route names,
// over SMTP or LMTP, while the client waits: the client hears each next hop's answer, so nothing is
// acknowledged that a next hop did not accept (routes.hpp has the settings, delivery.hpp the transaction).
// It is the store that lets a listener relay ([listener.smtp] relay = "authenticated": submission through a
// smarthost), and the one to put in front of Dovecot's LMTP.
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <mailwright/plugin/mailstore.hpp>
#include <memory>
#include <string>
#include <vector>

#include "delivery.hpp"
#include "pool.hpp"
#include "routes.hpp"

namespace {

using namespace mailwright;

std::string host_name() {
    char name[256] = {};
    return ::gethostname(name, sizeof name - 1) == 0 && name[0] != '\0' ? std::string(name) : "localhost";
}

class forward_store final : public plugin::mailstore {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        routes_ = forward::read_table(config, config.string("helo_name").value_or(host_name()));
        for (const auto& h : routes_.hops) {
            pools_.push_back(std::make_unique<forward::pool>(h));
            if (h.client.tls.use != smtp::client::tls_options::mode::none && !h.client.tls.verify) {
                spdlog::warn(
                    "forward: next hop {} is not verified (verify = false): anyone on the way can read "
                    "and change the mail",
                    h.name);
            }
        }
    }

    asio::awaitable<plugin::open_result> open(std::string_view user) override {
        spdlog::warn("forward keeps no mailboxes: no mailbox to open for {} (POP3 needs a store that keeps mail)",
                     user);
        co_return plugin::open_result{plugin::store_status::permfail, nullptr};
    }

    asio::awaitable<std::unique_ptr<plugin::delivery>> begin(std::span<const std::string> users,
                                                             const plugin::envelope* message) override {
        auto d = std::make_unique<forward::forward_delivery>(routes_, pools_, users, message);
        co_await d->start();
        co_return d;
    }

    bool delivers_remote() const noexcept override { return true; }

  private:
    forward::table routes_;
    std::vector<std::unique_ptr<forward::pool>> pools_;
};

}  // namespace

MAILWRIGHT_PLUGIN("forward", "mailstore", "1.0", forward_store)
