// forward_delivery: see the header.
#include "delivery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace mailwright::forward {

struct forward_delivery::leg {
    std::size_t hop = 0;
    std::vector<std::size_t> users;  // indexes into users_, in the order of the transaction's recipients
    smtp::client::transaction transaction;
    lease connection;  // while the transaction goes on
};

forward_delivery::forward_delivery(const table& routes, std::vector<std::unique_ptr<pool>>& pools,
                                   std::span<const std::string> users, const plugin::envelope* envelope)
    : routes_(routes),
      pools_(pools),
      users_(users),
      envelope_(envelope),
      answers_(users.size()),
      accepted_(users.size(), false) {}

// A connection in the middle of a message cannot take another: its lease closes it.
forward_delivery::~forward_delivery() = default;

std::string forward_delivery::address_of(const std::string& user) const {
    if (user.find('@') != std::string::npos || envelope_ == nullptr) {
        return user;
    }
    for (const auto& r : envelope_->recipients) {
        const auto at = r.address.rfind('@');
        if (at != std::string::npos && std::find(r.users.begin(), r.users.end(), user) != r.users.end()) {
            return user + r.address.substr(at);
        }
    }
    // <Postmaster> names no domain (RFC 5321 4.5.1): the first domain the routes name is this site's.
    const auto home = routes_.first_domain();
    return home.empty() ? user : user + "@" + home;
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
        for (std::size_t i = 0; i < l.users.size(); ++i) {
            accepted_[l.users[i]] = began.recipients.at(i).positive();
        }
    } else {
        if (began.sender.positive() && !began.data.positive() && began.data.code != 0) {
            for (const std::size_t u : l.users) {
                answers_[u] = began.data.to_plugin();  // DATA refused: every recipient hears it
            }
        }
        pools_[l.hop]->release(std::move(got.connection));
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
    pools_[l.hop]->release(std::move(l.connection));
}

// With one reply for all (SMTP), a recipient a next hop refused before the data refuses the message for every
// one: the next hops that accepted theirs are given the message up (no final dot), so a retry by the client
// brings no second copy to anyone. Refusals that come only after the data cannot be taken back this way.
std::optional<plugin::reply> forward_delivery::refused_before_data(const std::vector<bool>& wanted) const {
    std::optional<plugin::reply> first;
    for (std::size_t u = 0; u < users_.size(); ++u) {
        if (wanted[u] && !accepted_[u] && (!first || (answers_[u].temporary() && !first->temporary()))) {
            first = answers_[u];
        }
    }
    return first;
}

asio::awaitable<plugin::delivery_result> forward_delivery::commit(const std::vector<bool>& wanted) {
    const auto refusal = envelope_ != nullptr && envelope_->one_reply ? refused_before_data(wanted) : std::nullopt;
    for (auto& l : legs_) {
        if (refusal && l.connection) {
            co_await l.connection->reset();
            l.connection = lease();
            for (const std::size_t u : l.users) {
                answers_[u] = accepted_[u] ? *refusal : answers_[u];
            }
        }
    }
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
