// Test mailstore plugin that fails on schedule (fault_schedule.hpp): mailboxes in memory, each starting with
// two messages, except that the K-th store call concerning a user named "NAME~K~MODE~store" fails: an error
// status (MODE error; for the calls that return nothing, the call does nothing) or an exception (MODE throw; an
// int with MODE throwint). The calls counted: open, messages, open_message, each read_some, mark_deleted,
// undelete_all, commit, and deliver (once per recipient, when the message is committed).
#include <mailwright/plugin/collect.hpp>
#include <mailwright/plugin/listed_maildrop.hpp>
#include <mailwright/plugin/maildrop_lock.hpp>
#include <mailwright/plugin/message_text.hpp>
#include <map>
#include <mutex>

#include "fault_schedule.hpp"

namespace mw = mailwright::plugin;

namespace {

class faulty_store;

// The SDK's string_reader in small pieces (64 octets), so a message takes several reads and each can fail.
class faulty_reader final : public mw::string_reader {
  public:
    faulty_reader(faulty::schedule& s, std::string user, std::string text)
        : string_reader(std::move(text), 64), schedule_(s), user_(std::move(user)) {}
    asio::awaitable<mw::chunk_result> read_some(std::span<char> buffer) override {
        if (const auto f = schedule_.next(user_, "read_some"); faulty::throws(f)) {
            schedule_.raise(user_, "read_some", f);
        } else if (f == faulty::fault::error) {
            co_return mw::chunk_result{0, std::make_error_code(std::errc::io_error)};
        }
        const auto read = co_await string_reader::read_some(buffer);
        co_return read;
    }

  private:
    faulty::schedule& schedule_;
    std::string user_;
};

// The SDK's listed_maildrop, with every call it implements counted (and failed on schedule) first.
class faulty_drop final : public mw::listed_maildrop {
  public:
    faulty_drop(faulty_store& store, std::string user, mw::maildrop_lock lock, std::vector<std::string> texts);
    const std::vector<mw::message_info>& messages() const override;
    asio::awaitable<mw::open_message_result> open_message(std::size_t index, std::optional<std::size_t>) override;
    void mark_deleted(std::size_t index) override;
    void undelete_all() override;
    asio::awaitable<mw::store_status> commit() override;

  protected:
    asio::awaitable<mw::store_status> remove(std::vector<std::size_t> indexes) override;

  private:
    static std::vector<mw::message_info> list(const std::string& user, const std::vector<std::string>& texts);

    faulty_store& store_;
    std::string user_;
    mw::maildrop_lock lock_;
    std::vector<std::string> texts_;
};

class faulty_store final : public mw::mailstore {
  public:
    void init(mw::settings&, mw::host_view&) override {}

    asio::awaitable<mw::open_result> open(std::string_view user) override {
        if (const auto f = schedule.next(user, "open"); faulty::throws(f)) {
            schedule.raise(user, "open", f);
        } else if (f == faulty::fault::error) {
            co_return mw::open_result{mw::store_status::tempfail, nullptr};
        }
        auto lock = mw::maildrop_lock::in_process("faulty-store:" + std::string(user));
        if (!lock.held()) {
            co_return mw::open_result{lock.status(), nullptr};
        }
        std::vector<std::string> texts;
        {
            const std::lock_guard guard(mutex);
            texts = box_of(std::string(user));
        }
        co_return mw::open_result{
            mw::store_status::ok,
            std::make_unique<faulty_drop>(*this, std::string(user), std::move(lock), std::move(texts))};
    }

    asio::awaitable<std::unique_ptr<mw::delivery>> begin(std::span<const std::string> users,
                                                         const mw::envelope*) override {
        co_return mw::collect([this, users = std::vector<std::string>(users.begin(), users.end())](
                                  std::string text, const std::vector<bool>& wanted) {
            mw::delivery_result result;
            for (std::size_t i = 0; i < users.size(); ++i) {
                const std::string& user = users[i];
                auto answer = mw::reply::accept();
                if (!wanted.at(i)) {
                    result.recipients.push_back(answer);
                    continue;
                }
                if (const auto f = schedule.next(user, "deliver"); faulty::throws(f)) {
                    schedule.raise(user, "deliver", f);
                } else if (f == faulty::fault::error) {
                    answer = mw::reply::tempfail();
                }
                if (answer.ok()) {
                    const std::lock_guard lock(mutex);
                    box_of(user).push_back(text);
                }
                result.recipients.push_back(answer);
            }
            return result;
        });
    }

    // Under `mutex`.
    std::vector<std::string>& box_of(const std::string& user) {
        auto [it, added] = boxes.try_emplace(user);
        if (added) {
            for (int n = 1; n <= 2; ++n) {
                it->second.push_back("Subject: message " + std::to_string(n) + " for " + user +
                                     "\r\n\r\nThe body, in a few lines\r\nso that TOP has some to count.\r\n" +
                                     std::string(200, 'x') + "\r\n");
            }
        }
        return it->second;
    }

    faulty::schedule schedule{"faulty-store", "store"};
    std::mutex mutex;
    std::map<std::string, std::vector<std::string>> boxes;
};

faulty_drop::faulty_drop(faulty_store& store, std::string user, mw::maildrop_lock lock, std::vector<std::string> texts)
    : listed_maildrop(list(user, texts)),
      store_(store),
      user_(std::move(user)),
      lock_(std::move(lock)),
      texts_(std::move(texts)) {}

std::vector<mw::message_info> faulty_drop::list(const std::string& user, const std::vector<std::string>& texts) {
    std::vector<mw::message_info> info;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        info.push_back({user + "-" + std::to_string(i) + "-" + std::to_string(texts[i].size()), texts[i].size()});
    }
    return info;
}

const std::vector<mw::message_info>& faulty_drop::messages() const {
    if (const auto f = store_.schedule.next(user_, "messages"); f != faulty::fault::none) {
        store_.schedule.raise(user_, "messages", f);  // it returns a reference: it can only fail by throwing
    }
    return listed_maildrop::messages();
}

asio::awaitable<mw::open_message_result> faulty_drop::open_message(std::size_t index, std::optional<std::size_t>) {
    if (const auto f = store_.schedule.next(user_, "open_message"); faulty::throws(f)) {
        store_.schedule.raise(user_, "open_message", f);
    } else if (f == faulty::fault::error) {
        co_return mw::open_message_result{mw::store_status::tempfail, nullptr};
    }
    if (index >= texts_.size()) {
        co_return mw::open_message_result{mw::store_status::not_found, nullptr};
    }
    // TOP gets the whole message: what matters here is that every read can fail.
    co_return mw::open_message_result{mw::store_status::ok,
                                      std::make_unique<faulty_reader>(store_.schedule, user_, texts_[index])};
}

void faulty_drop::mark_deleted(std::size_t index) {
    if (const auto f = store_.schedule.next(user_, "mark_deleted"); faulty::throws(f)) {
        store_.schedule.raise(user_, "mark_deleted", f);
    } else if (f == faulty::fault::error) {
        return;  // the mark is lost
    }
    listed_maildrop::mark_deleted(index);
}

void faulty_drop::undelete_all() {
    if (const auto f = store_.schedule.next(user_, "undelete_all"); faulty::throws(f)) {
        store_.schedule.raise(user_, "undelete_all", f);
    } else if (f == faulty::fault::error) {
        return;
    }
    listed_maildrop::undelete_all();
}

asio::awaitable<mw::store_status> faulty_drop::commit() {
    if (const auto f = store_.schedule.next(user_, "commit"); faulty::throws(f)) {
        store_.schedule.raise(user_, "commit", f);
    } else if (f == faulty::fault::error) {
        co_return mw::store_status::tempfail;
    }
    const auto status = co_await listed_maildrop::commit();
    co_return status;
}

asio::awaitable<mw::store_status> faulty_drop::remove(std::vector<std::size_t> indexes) {
    const std::lock_guard lock(store_.mutex);
    auto& box = store_.box_of(user_);
    for (auto it = indexes.rbegin(); it != indexes.rend(); ++it) {
        if (*it < box.size()) {
            box.erase(box.begin() + static_cast<std::ptrdiff_t>(*it));
        }
    }
    co_return mw::store_status::ok;
}

}  // namespace

MAILWRIGHT_PLUGIN("faulty-store", "mailstore", "1.0", faulty_store)
