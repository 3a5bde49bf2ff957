// What the POP3 session tests share: an auth backend and a mailstore in memory, with failures on demand, and
// a helper that serves one dialogue over a memory_stream.
#pragma once

#include <asio/awaitable.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "dialogue.hpp"
#include "mailwright/plugin/auth.hpp"
#include "mailwright/plugin/listed_maildrop.hpp"
#include "mailwright/plugin/mailstore.hpp"
#include "mailwright/plugin/message_text.hpp"
#include "mailwright/pop3/service.hpp"
#include "mailwright/server/session.hpp"
#include "mailwright/testing/memory_stream.hpp"
#include "support.hpp"

namespace pop3_test {

using namespace mailwright;

// alice/secret and bob/hunter2; "broken" makes the backend tempfail. Secrets for APOP come from the same table.
class test_auth final : public plugin::auth_backend, public plugin::secret_provider {
  public:
    void init(plugin::settings&, plugin::host_view&) override {}
    asio::awaitable<plugin::auth_result> verify_password(std::string_view user, std::string_view password) override {
        ++calls;
        if (user == "broken") {
            co_return plugin::auth_result{plugin::auth_status::tempfail, {}, "down"};
        }
        if (user == "maintenance") {
            co_return plugin::auth_result{plugin::auth_status::tempfail, {}, "down", maintenance_reply};
        }
        const auto it = users.find(std::string(user));
        if (it != users.end() && it->second == password) {
            co_return plugin::auth_result{plugin::auth_status::ok, it->first, {}};
        }
        co_return plugin::auth_result{plugin::auth_status::rejected, {}, {}};
    }
    plugin::secret_provider* secrets() noexcept override { return this; }
    asio::awaitable<plugin::secret_result> stored_secret(std::string_view user, plugin::secret_kind kind) override {
        const auto it = users.find(std::string(user));
        if (it == users.end() || kind != plugin::secret_kind::plaintext_equivalent) {
            co_return plugin::secret_result{};
        }
        co_return plugin::secret_result{plugin::auth_status::ok, it->first, it->second};
    }

    std::map<std::string, std::string> users{{"alice", "secret"}, {"bob", "hunter2"}, {"jörg", "passwort"}};
    int calls = 0;
    plugin::reply maintenance_reply;  // what "maintenance" asks to be heard when it tempfails
};

class test_store;

// The SDK's string_reader in small pieces (7 octets), failing once `fail_after` octets have been read.
class failing_reader final : public plugin::string_reader {
  public:
    failing_reader(std::string text, std::size_t fail_after)
        : string_reader(std::move(text), 7), fail_after_(fail_after) {}
    asio::awaitable<plugin::chunk_result> read_some(std::span<char> buffer) override {
        if (read_ >= fail_after_) {
            co_return plugin::chunk_result{0, std::make_error_code(std::errc::io_error)};
        }
        const auto r = co_await string_reader::read_some(buffer);
        read_ += r.bytes;
        co_return r;
    }

  private:
    std::size_t fail_after_;
    std::size_t read_ = 0;
};

// The SDK's listed_maildrop over the store's texts as they were at open().
class test_drop final : public plugin::listed_maildrop {
  public:
    test_drop(test_store& store, std::string user);
    ~test_drop() override;
    asio::awaitable<plugin::open_message_result> open_message(std::size_t index,
                                                              std::optional<std::size_t> body_lines) override;
    asio::awaitable<plugin::store_status> commit() override;

  protected:
    asio::awaitable<plugin::store_status> remove(std::vector<std::size_t> indexes) override;

  private:
    static std::vector<plugin::message_info> list(const std::string& user, const std::vector<std::string>& texts) {
        std::vector<plugin::message_info> info;
        for (std::size_t i = 0; i < texts.size(); ++i) {
            info.push_back({"uid-" + user + "-" + std::to_string(i + 1), texts[i].size()});
        }
        return info;
    }

    test_store& store_;
    std::string user_;
    std::vector<std::string> texts_;
};

class test_store final : public plugin::mailstore {
  public:
    void init(plugin::settings&, plugin::host_view&) override {}
    asio::awaitable<plugin::open_result> open(std::string_view user) override {
        if (open_status != plugin::store_status::ok) {
            co_return plugin::open_result{open_status, nullptr};
        }
        if (!locked.insert(std::string(user)).second) {
            co_return plugin::open_result{plugin::store_status::in_use, nullptr};
        }
        co_return plugin::open_result{plugin::store_status::ok, std::make_unique<test_drop>(*this, std::string(user))};
    }
    asio::awaitable<std::unique_ptr<plugin::delivery>> begin(std::span<const std::string>,
                                                             const plugin::envelope*) override {
        co_return nullptr;  // POP3 never delivers
    }

    std::map<std::string, std::vector<std::string>> boxes;
    std::set<std::string> locked;
    plugin::store_status open_status = plugin::store_status::ok;
    plugin::store_status commit_status = plugin::store_status::ok;
    std::size_t fail_read_after = std::string::npos;  // octets of a message read before the reader fails
};

inline test_drop::test_drop(test_store& store, std::string user)
    : listed_maildrop(list(user, store.boxes[user])),
      store_(store),
      user_(std::move(user)),
      texts_(store.boxes[user_]) {}

inline test_drop::~test_drop() { store_.locked.erase(user_); }

inline asio::awaitable<plugin::open_message_result> test_drop::open_message(std::size_t index,
                                                                            std::optional<std::size_t> body_lines) {
    std::string text = texts_.at(index);
    if (body_lines) {
        text = plugin::top_of(text, *body_lines);
    }
    co_return plugin::open_message_result{plugin::store_status::ok,
                                          std::make_unique<failing_reader>(std::move(text), store_.fail_read_after)};
}

inline asio::awaitable<plugin::store_status> test_drop::commit() {
    if (store_.commit_status != plugin::store_status::ok) {
        co_return store_.commit_status;
    }
    const auto status = co_await listed_maildrop::commit();
    co_return status;
}

inline asio::awaitable<plugin::store_status> test_drop::remove(std::vector<std::size_t> indexes) {
    auto& box = store_.boxes[user_];
    for (auto it = indexes.rbegin(); it != indexes.rend(); ++it) {
        box.erase(box.begin() + static_cast<std::ptrdiff_t>(*it));
    }
    co_return plugin::store_status::ok;
}

struct world {
    test_auth auth;
    std::shared_ptr<test_store> store = std::make_shared<test_store>();
    std::shared_ptr<sasl::failure_penalty> penalty;
    std::vector<std::string> hook_log;
    plugin::reply hook_answer;  // what every hook call answers

    world() {
        store->boxes["alice"] = {
            "From: a@example.org\r\nSubject: one\r\n\r\nfirst line\r\n.leading dot\r\nlast\r\n",
            "Subject: two\r\n\r\nbody\r\n",
            "Subject: three\r\n\r\nl1\r\nl2\r\nl3\r\n",
        };
    }

    std::shared_ptr<pop3::service> make(pop3::options o = default_options()) {
        pop3::environment env;
        env.auth = &auth;
        env.store = store;
        env.penalty = penalty;
        env.hooks = [this](plugin::pop3_event e, const plugin::event_context& c) -> asio::awaitable<plugin::reply> {
            hook_log.push_back(std::to_string(static_cast<int>(e)) + ":" + std::string(c.user) + ":" +
                               std::string(c.argument));
            co_return hook_answer;
        };
        return std::make_shared<pop3::service>(std::move(o), std::move(env));
    }

    static pop3::options default_options() {
        pop3::options o;
        o.plaintext_auth = true;  // an in-memory stream has no TLS
        o.mechanisms = {"PLAIN", "LOGIN", "CRAM-MD5"};
        return o;
    }
};

using mailwright::test::dialogue;
using mailwright::test::lines;
using mailwright::test::serve;

// The session as the server makes it for a POP3 listener: the service's line limit, no TLS context.
inline dialogue connect(std::vector<std::string> chunks, std::size_t max_line = 1024) {
    return mailwright::test::open_dialogue(std::move(chunks), max_line, "pop3");
}

inline std::string serve(pop3::service& svc, std::vector<std::string> chunks) {
    auto d = connect(std::move(chunks));
    return serve(svc, d);
}

}  // namespace pop3_test
