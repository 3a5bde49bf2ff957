// Test mailstore plugin that fails on schedule (fault_schedule.hpp): mailboxes in memory, each starting with
// two messages, except that the K-th store call concerning a user named "NAME~K~MODE~store" fails: an error
// status (MODE error; for the calls that return nothing, the call does nothing) or an exception (MODE throw; an
// int with MODE throwint). The calls counted: open, messages, open_message, each read_some, mark_deleted,
// undelete_all, commit, and deliver (once per recipient, when the message is committed).
#include <algorithm>
#include <cstring>
#include <mailwright/plugin/mailstore.hpp>
#include <map>
#include <mutex>
#include <set>

#include "collect.hpp"
#include "fault_schedule.hpp"

namespace mw = mailwright::plugin;

namespace {

class faulty_store;

class faulty_reader final : public mw::message_reader {
  public:
    faulty_reader(faulty::schedule& s, std::string user, std::string text)
        : schedule_(s), user_(std::move(user)), text_(std::move(text)) {}
    asio::awaitable<mw::chunk_result> read_some(std::span<char> buffer) override {
        if (const auto f = schedule_.next(user_, "read_some"); faulty::throws(f)) {
            schedule_.raise(user_, "read_some", f);
        } else if (f == faulty::fault::error) {
            co_return mw::chunk_result{0, std::make_error_code(std::errc::io_error)};
        }
        // Small pieces, so a message takes several reads and each can fail.
        const std::size_t n = std::min({buffer.size(), text_.size() - at_, std::size_t{64}});
        std::memcpy(buffer.data(), text_.data() + at_, n);
        at_ += n;
        co_return mw::chunk_result{n, {}};
    }

  private:
    faulty::schedule& schedule_;
    std::string user_;
    std::string text_;
    std::size_t at_ = 0;
};

class faulty_drop final : public mw::maildrop {
  public:
    faulty_drop(faulty_store& store, std::string user);
    ~faulty_drop() override;
    const std::vector<mw::message_info>& messages() const override;
    asio::awaitable<mw::open_message_result> open_message(std::size_t index, std::optional<std::size_t>) override;
    void mark_deleted(std::size_t index) override;
    bool is_deleted(std::size_t index) const override { return deleted_.count(index) != 0; }
    void undelete_all() override;
    asio::awaitable<mw::store_status> commit() override;

  private:
    faulty_store& store_;
    std::string user_;
    std::vector<std::string> texts_;
    std::vector<mw::message_info> info_;
    std::set<std::size_t> deleted_;
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
        {
            const std::lock_guard lock(mutex);
            if (!in_use.insert(std::string(user)).second) {
                co_return mw::open_result{mw::store_status::in_use, nullptr};
            }
        }
        co_return mw::open_result{mw::store_status::ok, std::make_unique<faulty_drop>(*this, std::string(user))};
    }

    asio::awaitable<std::unique_ptr<mw::delivery>> begin(std::span<const std::string> users,
                                                         const mw::envelope*) override {
        co_return test_plugins::collect([this, users = std::vector<std::string>(users.begin(), users.end())](
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
    std::set<std::string> in_use;
};

faulty_drop::faulty_drop(faulty_store& store, std::string user) : store_(store), user_(std::move(user)) {
    const std::lock_guard lock(store_.mutex);
    texts_ = store_.box_of(user_);
    for (std::size_t i = 0; i < texts_.size(); ++i) {
        info_.push_back({user_ + "-" + std::to_string(i) + "-" + std::to_string(texts_[i].size()), texts_[i].size()});
    }
}

faulty_drop::~faulty_drop() {
    const std::lock_guard lock(store_.mutex);
    store_.in_use.erase(user_);
}

const std::vector<mw::message_info>& faulty_drop::messages() const {
    if (const auto f = store_.schedule.next(user_, "messages"); f != faulty::fault::none) {
        store_.schedule.raise(user_, "messages", f);  // it returns a reference: it can only fail by throwing
    }
    return info_;
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
    deleted_.insert(index);
}

void faulty_drop::undelete_all() {
    if (const auto f = store_.schedule.next(user_, "undelete_all"); faulty::throws(f)) {
        store_.schedule.raise(user_, "undelete_all", f);
    } else if (f == faulty::fault::error) {
        return;
    }
    deleted_.clear();
}

asio::awaitable<mw::store_status> faulty_drop::commit() {
    if (const auto f = store_.schedule.next(user_, "commit"); faulty::throws(f)) {
        store_.schedule.raise(user_, "commit", f);
    } else if (f == faulty::fault::error) {
        co_return mw::store_status::tempfail;
    }
    const std::lock_guard lock(store_.mutex);
    auto& box = store_.box_of(user_);
    for (auto it = deleted_.rbegin(); it != deleted_.rend(); ++it) {
        if (*it < box.size()) {
            box.erase(box.begin() + static_cast<std::ptrdiff_t>(*it));
        }
    }
    co_return mw::store_status::ok;
}

}  // namespace

MAILWRIGHT_PLUGIN("faulty-store", "mailstore", "1.0", faulty_store)
