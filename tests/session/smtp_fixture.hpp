// What the SMTP session tests share: an auth backend and a mailstore in memory, with failures on demand, and
// helpers that serve one dialogue over a memory_stream (as pop3_fixture.hpp does for POP3).
//
// The store keeps every delivered message as a string per user, exactly as the session pushed it: the trace
// header fields the session writes first, then the client's octets with CRLF line ends and the stuffing dots
// removed. A message the session gives up (the delivery destroyed without commit()) is never kept.
#pragma once

#include <asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "dialogue.hpp"
#include "mailwright/plugin/auth.hpp"
#include "mailwright/plugin/hook.hpp"
#include "mailwright/plugin/mailstore.hpp"
#include "mailwright/server/session.hpp"
#include "mailwright/smtp/service.hpp"
#include "mailwright/testing/memory_stream.hpp"
#include "support.hpp"

namespace smtp_test {

using namespace mailwright;

inline constexpr const char* hostname = "mx.example.org";

// Passwords: alice/secret (bob/hunter2 too). Recipients: lookup() knows alice, bob, carol, postmaster and jörg;
// "broken" makes either call tempfail, "maintenance" too with maintenance_reply; "liar" is rejected with it. alice may
// also send as <alias@example.org> (the authorizer).
class test_auth final : public plugin::auth_backend, public plugin::authorizer {
  public:
    void init(plugin::settings&, plugin::host_view&) override {}
    asio::awaitable<plugin::auth_result> verify_password(std::string_view user, std::string_view password) override {
        ++password_calls;
        if (user == "broken") {
            co_return plugin::auth_result{plugin::auth_status::tempfail, {}, "down"};
        }
        if (user == "maintenance") {
            co_return plugin::auth_result{plugin::auth_status::tempfail, {}, "down", maintenance_reply};
        }
        if (user == "liar") {  // a rejection with words attached, which must never be heard
            co_return plugin::auth_result{plugin::auth_status::rejected, {}, {}, maintenance_reply};
        }
        const auto it = passwords.find(std::string(user));
        if (it != passwords.end() && it->second == password) {
            co_return plugin::auth_result{plugin::auth_status::ok, it->first, {}};
        }
        co_return plugin::auth_result{plugin::auth_status::rejected, {}, {}};
    }
    asio::awaitable<plugin::auth_result> lookup(std::string_view user) override {
        lookups.emplace_back(user);
        if (user == "broken") {
            co_return plugin::auth_result{plugin::auth_status::tempfail, {}, "down"};
        }
        if (user == "maintenance") {
            co_return plugin::auth_result{plugin::auth_status::tempfail, {}, "down", maintenance_reply};
        }
        if (known.count(std::string(user)) != 0) {
            co_return plugin::auth_result{plugin::auth_status::ok, std::string(user), {}};
        }
        co_return plugin::auth_result{plugin::auth_status::rejected, {}, {}};
    }
    plugin::authorizer* authorization() noexcept override { return this; }
    asio::awaitable<bool> may_act_as(std::string_view authenticated, std::string_view requested) override {
        co_return authenticated == "alice" && requested == "alias@example.org";
    }

    std::map<std::string, std::string> passwords{{"alice", "secret"}, {"bob", "hunter2"}};
    std::set<std::string> known{"alice", "bob", "carol", "postmaster", "j\xc3\xb6rg"};
    std::vector<std::string> lookups;
    int password_calls = 0;
    plugin::reply maintenance_reply;  // what "maintenance" (tempfail) and "liar" (rejected) ask to be heard
};

class test_store;

// One message into test_store: kept in a string, and in the boxes at commit().
class test_delivery final : public plugin::delivery {
  public:
    test_delivery(test_store& store, std::vector<std::string> users) : store_(store), users_(std::move(users)) {}
    ~test_delivery() override;
    asio::awaitable<bool> write(std::span<const char> piece) override;
    asio::awaitable<plugin::delivery_result> commit(const std::vector<bool>& wanted) override;

  private:
    test_store& store_;
    std::vector<std::string> users_;
    std::string text_;
    bool failed_ = false;
    bool committed_ = false;
};

class test_store final : public plugin::mailstore {
  public:
    void init(plugin::settings&, plugin::host_view&) override {}
    asio::awaitable<plugin::open_result> open(std::string_view) override {
        co_return plugin::open_result{plugin::store_status::not_found, nullptr};
    }

    asio::awaitable<std::unique_ptr<plugin::delivery>> begin(std::span<const std::string> users,
                                                             const plugin::envelope* envelope) override {
        ++calls;
        log.emplace_back("begin");
        last_users.assign(users.begin(), users.end());
        if (envelope != nullptr) {
            last_envelope = *envelope;
        }
        if (on_begin) {
            on_begin();
        }
        if (tempfail_before_reading) {
            co_return nullptr;
        }
        co_return std::make_unique<test_delivery>(*this, last_users);
    }

    std::size_t messages() const {
        std::size_t n = 0;
        for (const auto& [user, box] : boxes) {
            n += box.size();
        }
        return n;
    }

    std::map<std::string, std::vector<std::string>> boxes;
    bool keeps_binary() const noexcept override { return binary; }

    std::vector<std::string> last_users;
    std::optional<plugin::envelope> last_envelope;           // what the message said of itself at the last delivery
    bool binary = false;                                     // keeps_binary(): BINARYMIME offered
    int calls = 0;                                           // begin()
    int given_up = 0;                                        // deliveries destroyed without commit()
    std::vector<std::size_t> writes;                         // the size of every piece written, over all deliveries
    std::vector<std::string> log;                            // every call into the store: "begin", "write", "commit"
    bool tempfail_before_reading = false;                    // begin() gives no delivery
    std::size_t tempfail_after_reading = std::string::npos;  // write() fails past this many octets (trace included)
    std::optional<plugin::delivery_result> answer;           // what commit() reports (LMTP per recipient)
    std::function<void()> on_begin;                          // e.g. to stop the session while it reads the message
};

inline test_delivery::~test_delivery() {
    if (!committed_) {
        ++store_.given_up;  // the session gave the message up: keep nothing of it
    }
}

inline asio::awaitable<bool> test_delivery::write(std::span<const char> piece) {
    store_.log.emplace_back("write");
    store_.writes.push_back(piece.size());
    text_.append(piece.data(), piece.size());
    failed_ = failed_ || text_.size() >= store_.tempfail_after_reading;  // "disk full"
    co_return !failed_;
}

inline asio::awaitable<plugin::delivery_result> test_delivery::commit(const std::vector<bool>& wanted) {
    committed_ = true;
    store_.log.emplace_back("commit");
    if (failed_) {
        co_return plugin::delivery_result::all(users_.size(), plugin::reply::tempfail());
    }
    auto result = store_.answer.value_or(plugin::delivery_result::all(users_.size(), plugin::reply::accept()));
    for (std::size_t i = 0; i < users_.size() && i < result.recipients.size(); ++i) {
        if (result.recipients[i].ok() && wanted.at(i)) {
            store_.boxes[users_[i]].push_back(text_);
        }
    }
    co_return result;
}

struct world {
    test_auth auth;
    std::shared_ptr<test_store> store = std::make_shared<test_store>();
    std::shared_ptr<sasl::failure_penalty> penalty;
    std::vector<std::string> hook_log;
    std::optional<plugin::envelope> hooked_envelope;  // what the last hook given an envelope saw
    // What a hook call answers (accept unless set); `on_hook` runs first, e.g. to stop the session.
    std::map<plugin::smtp_phase, plugin::reply> hook_answers;
    std::function<void(plugin::smtp_phase)> on_hook;
    std::function<pipeline::filter_list(const plugin::event_context&)> filters;  // none unless set
    // Who receives mail for a local address (aliases); unset: the local part names the user.
    std::function<asio::awaitable<plugin::resolution>(std::string_view, std::string_view, const plugin::event_context&)>
        resolve;

    static smtp::options default_options(smtp::role kind = smtp::role::mx) {
        smtp::options o;
        o.kind = kind;
        o.hostname = hostname;
        o.local_domains = {"example.org"};
        return o;
    }

    std::shared_ptr<smtp::service> make(smtp::options o = default_options()) {
        smtp::environment env;
        env.auth = &auth;
        env.store = store;
        env.penalty = penalty;
        env.filters = filters;
        env.resolve = resolve;
        env.hooks = [this](plugin::smtp_phase p, const plugin::event_context& c) -> asio::awaitable<plugin::reply> {
            hook_log.push_back(std::to_string(static_cast<int>(p)) + ":" + std::string(c.user) + ":" +
                               std::string(c.argument) + (c.envelope ? ":envelope" : ""));
            if (c.envelope) {
                hooked_envelope = *c.envelope;
            }
            if (on_hook) {
                on_hook(p);
            }
            const auto it = hook_answers.find(p);
            co_return it == hook_answers.end() ? plugin::reply::accept() : it->second;
        };
        return std::make_shared<smtp::service>(std::move(o), std::move(env));
    }
};

using mailwright::test::dialogue;
using mailwright::test::lines;
using mailwright::test::serve;

// The session as the server makes it for an SMTP listener: the service's line limit, no TLS context.
inline dialogue connect(std::vector<std::string> chunks, std::size_t max_line = 2048) {
    return mailwright::test::open_dialogue(std::move(chunks), max_line, "smtp");
}

inline std::string serve(smtp::service& svc, std::vector<std::string> chunks) {
    auto d = connect(std::move(chunks));
    return serve(svc, d);
}

// "A\r\nB\r\n" as one segment per line, the way a client that waits for every reply sends it.
inline std::vector<std::string> each(const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const auto eol = text.find("\r\n", at);
        const auto end = eol == std::string::npos ? text.size() : eol + 2;
        out.push_back(text.substr(at, end - at));
        at = end;
    }
    return out;
}

inline std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Whether a reply line carries an enhanced status code (RFC 2034, 3463), and which lines may go without one:
// the greeting (checked by the caller), 354, 334 challenges, the lines of an EHLO reply and HELO's one line.
inline const std::regex& enhanced_code() {
    static const std::regex re(R"(^\d{3}[ -]\d\.\d{1,3}\.\d{1,3})");
    return re;
}

}  // namespace smtp_test
