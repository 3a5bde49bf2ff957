// Test mailstore plugin: mailboxes in memory, for exercising the mailstore interface through the host.
// Not durable, by design; the Maildir plugin is the real store. Built from the SDK's store helpers
// (listed_maildrop, text_message, maildrop_lock, collect).
#include <mailwright/plugin/collect.hpp>
#include <mailwright/plugin/listed_maildrop.hpp>
#include <mailwright/plugin/maildrop_lock.hpp>
#include <mailwright/plugin/message_text.hpp>
#include <map>
#include <mutex>

#ifndef TEST_PLUGIN_NAME
#define TEST_PLUGIN_NAME "memory-store"
#endif

namespace mw = mailwright::plugin;

namespace {

class memory_store;

class memory_drop final : public mw::listed_maildrop {
  public:
    memory_drop(memory_store& store, std::string user, mw::maildrop_lock lock, std::vector<std::string> texts);
    asio::awaitable<mw::open_message_result> open_message(std::size_t index,
                                                          std::optional<std::size_t> body_lines) override {
        if (index >= texts_.size()) {
            co_return mw::open_message_result{mw::store_status::not_found, nullptr};
        }
        co_return mw::text_message(texts_[index], body_lines);
    }

  protected:
    asio::awaitable<mw::store_status> remove(std::vector<std::size_t> indexes) override;

  private:
    static std::vector<mw::message_info> list(const std::string& user, const std::vector<std::string>& texts) {
        std::vector<mw::message_info> info;
        for (std::size_t i = 0; i < texts.size(); ++i) {
            info.push_back({user + "-" + std::to_string(i), mw::pop3_size(texts[i])});
        }
        return info;
    }

    memory_store& store_;
    std::string user_;
    mw::maildrop_lock lock_;
    std::vector<std::string> texts_;
};

class memory_store final : public mw::mailstore {
  public:
    void init(mw::settings&, mw::host_view&) override {}

    asio::awaitable<mw::open_result> open(std::string_view user) override {
        auto lock = mw::maildrop_lock::in_process(TEST_PLUGIN_NAME ":" + std::string(user));
        if (!lock.held()) {
            co_return mw::open_result{lock.status(), nullptr};
        }
        std::vector<std::string> texts;
        {
            const std::lock_guard guard(mutex);
            texts = boxes[std::string(user)];
        }
        co_return mw::open_result{
            mw::store_status::ok,
            std::make_unique<memory_drop>(*this, std::string(user), std::move(lock), std::move(texts))};
    }

    asio::awaitable<std::unique_ptr<mw::delivery>> begin(std::span<const std::string> users,
                                                         const mw::envelope*) override {
        co_return mw::collect([this, users = std::vector<std::string>(users.begin(), users.end())](
                                  std::string text, const std::vector<bool>& wanted) {
            const std::lock_guard guard(mutex);
            for (std::size_t i = 0; i < users.size(); ++i) {
                if (wanted.at(i)) {
                    boxes[users[i]].push_back(text);
                }
            }
            return mw::delivery_result::all(users.size(), mw::reply::accept());
        });
    }

    std::mutex mutex;
    std::map<std::string, std::vector<std::string>> boxes;
};

memory_drop::memory_drop(memory_store& store, std::string user, mw::maildrop_lock lock, std::vector<std::string> texts)
    : listed_maildrop(list(user, texts)),
      store_(store),
      user_(std::move(user)),
      lock_(std::move(lock)),
      texts_(std::move(texts)) {}

asio::awaitable<mw::store_status> memory_drop::remove(std::vector<std::size_t> indexes) {
    const std::lock_guard guard(store_.mutex);
    auto& box = store_.boxes[user_];
    for (auto it = indexes.rbegin(); it != indexes.rend(); ++it) {
        box.erase(box.begin() + static_cast<std::ptrdiff_t>(*it));
    }
    co_return mw::store_status::ok;
}

}  // namespace

MAILWRIGHT_PLUGIN(TEST_PLUGIN_NAME, "mailstore", "1.0", memory_store)
