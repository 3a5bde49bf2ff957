// Test mailstore plugin: mailboxes in memory, for exercising the mailstore interface through the host.
// Not durable, by design; the Maildir plugin is the real store.
#include <algorithm>
#include <cstring>
#include <mailwright/plugin/mailstore.hpp>
#include <map>
#include <set>

#include "collect.hpp"

namespace mw = mailwright::plugin;

namespace {

class string_reader final : public mw::message_reader {
  public:
    explicit string_reader(std::string text) : text_(std::move(text)) {}
    asio::awaitable<mw::chunk_result> read_some(std::span<char> buffer) override {
        const std::size_t n = std::min(buffer.size(), text_.size() - at_);
        std::memcpy(buffer.data(), text_.data() + at_, n);
        at_ += n;
        co_return mw::chunk_result{n, {}};
    }

  private:
    std::string text_;
    std::size_t at_ = 0;
};

class memory_store;

class memory_drop final : public mw::maildrop {
  public:
    memory_drop(memory_store& store, std::string user);
    ~memory_drop() override;
    const std::vector<mw::message_info>& messages() const override { return info_; }
    asio::awaitable<mw::open_message_result> open_message(std::size_t index,
                                                          std::optional<std::size_t> body_lines) override {
        if (index >= texts_.size()) {
            co_return mw::open_message_result{mw::store_status::not_found, nullptr};
        }
        std::string text = texts_[index];
        if (body_lines) {
            std::size_t at = text.find("\r\n\r\n");
            at = at == std::string::npos ? text.size() : at + 4;
            for (std::size_t n = 0; n < *body_lines && at < text.size(); ++n) {
                const auto eol = text.find("\r\n", at);
                at = eol == std::string::npos ? text.size() : eol + 2;
            }
            text.resize(at);
        }
        co_return mw::open_message_result{mw::store_status::ok, std::make_unique<string_reader>(std::move(text))};
    }
    void mark_deleted(std::size_t index) override { deleted_.insert(index); }
    bool is_deleted(std::size_t index) const override { return deleted_.count(index) != 0; }
    void undelete_all() override { deleted_.clear(); }
    asio::awaitable<mw::store_status> commit() override;

  private:
    memory_store& store_;
    std::string user_;
    std::vector<std::string> texts_;
    std::vector<mw::message_info> info_;
    std::set<std::size_t> deleted_;
};

class memory_store final : public mw::mailstore {
  public:
    void init(mw::settings&, mw::host_view&) override {}

    asio::awaitable<mw::open_result> open(std::string_view user) override {
        if (!in_use.insert(std::string(user)).second) {
            co_return mw::open_result{mw::store_status::in_use, nullptr};
        }
        co_return mw::open_result{mw::store_status::ok, std::make_unique<memory_drop>(*this, std::string(user))};
    }

    asio::awaitable<std::unique_ptr<mw::delivery>> begin(std::span<const std::string> users,
                                                         const mw::envelope*) override {
        co_return test_plugins::collect([this, users = std::vector<std::string>(users.begin(), users.end())](
                                            std::string text, const std::vector<bool>& wanted) {
            for (std::size_t i = 0; i < users.size(); ++i) {
                if (wanted.at(i)) {
                    boxes[users[i]].push_back(text);
                }
            }
            return mw::delivery_result::all(users.size(), mw::reply::accept());
        });
    }

    std::map<std::string, std::vector<std::string>> boxes;
    std::set<std::string> in_use;
};

memory_drop::memory_drop(memory_store& store, std::string user)
    : store_(store), user_(std::move(user)), texts_(store.boxes[user_]) {
    for (std::size_t i = 0; i < texts_.size(); ++i) {
        info_.push_back({user_ + "-" + std::to_string(i), texts_[i].size()});
    }
}

memory_drop::~memory_drop() { store_.in_use.erase(user_); }

asio::awaitable<mw::store_status> memory_drop::commit() {
    auto& box = store_.boxes[user_];
    for (auto it = deleted_.rbegin(); it != deleted_.rend(); ++it) {
        box.erase(box.begin() + static_cast<std::ptrdiff_t>(*it));
    }
    deleted_.clear();
    co_return mw::store_status::ok;
}

}  // namespace

#ifndef TEST_PLUGIN_NAME
#define TEST_PLUGIN_NAME "memory-store"
#endif
MAILWRIGHT_PLUGIN(TEST_PLUGIN_NAME, "mailstore", "1.0", memory_store)
