// One message handed to its next hops while the client waits ("ack after downstream ack"): the recipients are
// grouped by the hop their route names, each group is one transaction on a pooled connection (MAIL, RCPTs and
// DATA when the message begins, the pieces as they arrive, the end at commit), and each recipient hears what
// its next hop answered. Nothing is kept here, so nothing is acknowledged that a next hop did not accept.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mailwright/plugin/mailstore.hpp"
#include "pool.hpp"
#include "routes.hpp"

namespace mailwright::forward {

class forward_delivery final : public plugin::delivery {
  public:
    // `pools` has one pool per hop of `routes`; both outlive the delivery, as do `users` and `envelope`.
    forward_delivery(const table& routes, std::vector<std::unique_ptr<pool>>& pools, std::span<const std::string> users,
                     const plugin::envelope* envelope);
    ~forward_delivery() override;

    // Opens a transaction with each next hop; what they refuse now is answered at commit().
    asio::awaitable<void> start();
    asio::awaitable<bool> write(std::span<const char> piece) override;
    asio::awaitable<plugin::delivery_result> commit(const std::vector<bool>& wanted) override;

  private:
    struct leg;
    asio::awaitable<void> start_leg(leg& l);
    asio::awaitable<void> end_leg(leg& l, const std::vector<bool>& wanted);
    std::optional<plugin::reply> refused_before_data(const std::vector<bool>& wanted) const;
    // The address a user stands for at the next hop: the user when it is an address, else user@domain of the
    // recipient that named it.
    std::string address_of(const std::string& user) const;

    const table& routes_;
    std::vector<std::unique_ptr<pool>>& pools_;
    std::span<const std::string> users_;
    const plugin::envelope* envelope_;
    std::vector<leg> legs_;
    std::vector<plugin::reply> answers_;  // one per user
    std::vector<bool> accepted_;          // per user: its next hop accepted it at RCPT, and the data goes on
};

}  // namespace mailwright::forward
