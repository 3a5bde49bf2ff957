// forward_delivery: see the header.
#include "delivery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/this_coro.hpp>

namespace mailwright::forward {

struct forward_delivery::leg {
    std::size_t hop = 0;
    std::vector<std::size_t> users;  // indexes into users_, in the order of the transaction's recipients
    smtp::client::transaction transaction;
    lease connection;  // while the transaction goes on
};

forward_delivery::forward_delivery(const table& routes, std::vector<std::unique_ptr<pool>>& pools,
                                   std::span<const std::string> users, const plugin::envelope* envelope)
    : routes_(routes), pools_(pools), users_(users), envelope_(envelope), answers_(users.size()) {}

// A connection in the middle of a message cannot take another: its lease closes it.
forward_delivery::~forward_delivery() = default;

std::string forward_delivery::address_of(const std::string& user) const {
    if (user.find('@') != std::string::npos || envelope_ == nullptr) {
        return user;
    }
    for (const auto& r : envelope_->recipients) {
        if (std::find(r.users.begin(), r.users.end(), user) != r.users.end()) {
            return user + r.address.substr(std::min(r.address.rfind('@'), r.address.size()));
        }
    }
    return user;
}

asio::awaitable<void> forward_delivery::start() {
    for (std::size_t u = 0; u < users_.size(); ++u) {
        const std::string address = address_of(users_[u]);
        const auto hop = routes_.route_of(address);
        if (!hop) {
            answers_[u] = plugin::reply::smtp(550, "5.4.4", "no route to <" + address + "> here");
            continue;
        }
        auto l = std::find_if(legs_.begin(), legs_.end(), [&](const leg& x) { return x.hop == *hop; });
        if (l == legs_.end()) {
            l = legs_.insert(legs_.end(), leg{});
            l->hop = *hop;
            if (envelope_ != nullptr) {
                l->transaction.sender = envelope_->sender;
                l->transaction.body = envelope_->body;
                l->transaction.smtputf8 = envelope_->smtputf8;
                l->transaction.ret = envelope_->ret;
                l->transaction.envid = envelope_->envid;
            }
        }
        smtp::client::transaction::recipient r{address, {}, {}};
        if (envelope_ != nullptr) {
            for (const auto& given : envelope_->recipients) {
                if (std::find(given.users.begin(), given.users.end(), users_[u]) != given.users.end()) {
                    r.notify = given.notify;
                    r.orcpt = given.orcpt;
                    break;
                }
            }
        }
        l->users.push_back(u);
        l->transaction.recipients.push_back(std::move(r));
    }
    for (auto& l : legs_) {
        co_await start_leg(l);
    }
}

asio::awaitable<void> forward_delivery::start_leg(leg& l) {
    auto got = co_await pools_[l.hop]->acquire();
    if (!got.connection) {
        for (const std::size_t u : l.users) {
            answers_[u] = got.failure.to_plugin();
        }
        co_return;
    }
    const auto began = co_await got.connection->start(l.transaction);
    for (std::size_t i = 0; i < l.users.size(); ++i) {
        // What MAIL or this RCPT said, until the end of the data says more.
        const auto& said = !began.sender.positive() ? began.sender : began.recipients.at(i);
        answers_[l.users[i]] = said.positive() ? plugin::reply::tempfail() : said.to_plugin();
    }
    if (began.accepted()) {
        l.connection = std::move(got.connection);
    } else {
        if (began.sender.positive() && !began.data.positive() && began.data.code != 0) {
            for (const std::size_t u : l.users) {
                answers_[u] = began.data.to_plugin();  // DATA refused: every recipient hears it
            }
        }
        auto executor = co_await asio::this_coro::executor;
        pools_[l.hop]->release(std::move(got.connection), executor);
    }
}

asio::awaitable<bool> forward_delivery::write(std::span<const char> piece) {
    bool any = false;
    for (auto& l : legs_) {
        if (!l.connection) {
            continue;
        }
        const bool sent = co_await l.connection->write(piece);
        any = any || sent;
    }
    co_return any;
}

asio::awaitable<void> forward_delivery::end_leg(leg& l, const std::vector<bool>& wanted) {
    const auto count = std::count_if(l.users.begin(), l.users.end(), [&](std::size_t u) { return wanted[u]; });
    if (count != static_cast<long>(l.users.size())) {
        // A recipient a filter refused cannot be taken back from the next hop: the message is given up there
        // (the connection closes mid-data) and the others are asked to send it again.
        co_await l.connection->reset();
        for (const std::size_t u : l.users) {
            answers_[u] = plugin::reply::smtp(451, "4.3.0", "some recipients were refused; send it again");
        }
        l.connection = lease();
        co_return;
    }
    const auto ended = co_await l.connection->finish();
    for (std::size_t i = 0; i < l.users.size() && i < ended.size(); ++i) {
        answers_[l.users[i]] = ended[i].to_plugin();
    }
    auto executor = co_await asio::this_coro::executor;
    pools_[l.hop]->release(std::move(l.connection), executor);
}

asio::awaitable<plugin::delivery_result> forward_delivery::commit(const std::vector<bool>& wanted) {
    for (auto& l : legs_) {
        if (l.connection) {
            co_await end_leg(l, wanted);
        }
    }
    for (std::size_t u = 0; u < users_.size(); ++u) {
        if (wanted[u]) {
            spdlog::info("forward: <{}> {}", address_of(users_[u]),
                         answers_[u].ok() ? "accepted by the next hop" : "refused: " + answers_[u].text);
        }
    }
    co_return plugin::delivery_result{answers_};
}

}  // namespace mailwright::forward
