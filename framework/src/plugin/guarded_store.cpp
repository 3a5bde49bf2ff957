// guarded_store: see the header.
#include "guarded_store.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <set>
#include <system_error>
#include <utility>

#include "barrier.hpp"

namespace mailwright::plugin {

namespace {

constexpr std::string_view tempfail_answer = "answering tempfail";

class guarded_reader final : public message_reader {
  public:
    guarded_reader(const std::string& plugin, std::unique_ptr<message_reader> inner)
        : plugin_(plugin), inner_(std::move(inner)) {}

    asio::awaitable<chunk_result> read_some(std::span<char> buffer) override {
        auto call = [&] { return inner_->read_some(buffer); };
        const auto r = co_await barrier::guard(plugin_, "read_some", "answering an I/O error", call);
        co_return r ? *r : chunk_result{0, std::make_error_code(std::errc::io_error)};
    }

  private:
    std::string plugin_;  // the plugin's name, for the log
    std::unique_ptr<message_reader> inner_;
};

class guarded_drop final : public maildrop {
  public:
    // `messages` is the list the plugin gave when the drop was opened: it may not change during a session,
    // so it is read once, inside the barrier.
    guarded_drop(const std::string& plugin, std::unique_ptr<maildrop> inner, std::vector<message_info> messages)
        : plugin_(plugin), inner_(std::move(inner)), messages_(std::move(messages)) {}

    const std::vector<message_info>& messages() const override { return messages_; }

    asio::awaitable<open_message_result> open_message(std::size_t index,
                                                      std::optional<std::size_t> body_lines) override {
        auto call = [&]() -> asio::awaitable<open_message_result> {
            auto r = co_await inner_->open_message(index, body_lines);
            if (r.reader) {
                r.reader = std::make_unique<guarded_reader>(plugin_, std::move(r.reader));
            } else if (r.status == store_status::ok) {
                r.status = store_status::tempfail;  // "ok" without a reader: nothing to send
            }
            co_return r;
        };
        auto r = co_await barrier::guard(plugin_, "open_message", tempfail_answer, call);
        if (!r) {
            co_return open_message_result{store_status::tempfail, nullptr};
        }
        co_return std::move(*r);
    }

    void mark_deleted(std::size_t index) override {
        deleted_.insert(index);
        const bool returned = barrier::guard_now(plugin_, "mark_deleted", "the maildrop will not commit", [&] {
            inner_->mark_deleted(index);
            if (!inner_->is_deleted(index)) {
                broken_ = true;  // the mark did not take: committing would keep what the client deleted
                spdlog::error("plugin={} mark_deleted({}) left the message unmarked; the maildrop will not commit",
                              plugin_, index);
            }
        });
        broken_ = broken_ || !returned;
    }
    bool is_deleted(std::size_t index) const override {
        // The barrier's own record: what the client asked, whatever the plugin's bookkeeping did.
        return deleted_.count(index) != 0;
    }
    void undelete_all() override {
        deleted_.clear();
        const bool returned = barrier::guard_now(plugin_, "undelete_all", "the maildrop will not commit", [&] {
            inner_->undelete_all();
            for (std::size_t i = 0; i < messages_.size(); ++i) {
                if (inner_->is_deleted(i)) {
                    broken_ = true;  // a mark survived: committing would delete what the client kept
                    spdlog::error("plugin={} undelete_all left message {} marked; the maildrop will not commit",
                                  plugin_, i);
                    break;
                }
            }
        });
        broken_ = broken_ || !returned;
    }

    asio::awaitable<store_status> commit() override {
        if (broken_) {
            spdlog::error("plugin={} commit skipped: the maildrop's deletion marks are unreliable", plugin_);
            co_return store_status::tempfail;
        }
        auto call = [&] { return inner_->commit(); };
        const auto r = co_await barrier::guard(plugin_, "commit", tempfail_answer, call);
        co_return r.value_or(store_status::tempfail);
    }

  private:
    std::string plugin_;  // the plugin's name, for the log
    std::unique_ptr<maildrop> inner_;
    std::vector<message_info> messages_;
    std::set<std::size_t> deleted_;
    bool broken_ = false;
};

// A delivery that throws has failed as a whole: nothing more is written, and every recipient hears tempfail
// without commit() being called, so a store that had stored for some recipients is not believed for any.
class guarded_delivery final : public delivery {
  public:
    guarded_delivery(const std::string& plugin, std::unique_ptr<delivery> inner, std::size_t recipients)
        : plugin_(plugin), inner_(std::move(inner)), recipients_(recipients) {}
    ~guarded_delivery() override {
        // Giving the message up is the plugin's destructor's work; one that throws would end the process.
        barrier::guard_now(plugin_, "~delivery", "the message may be left behind", [&] { inner_.reset(); });
    }

    asio::awaitable<bool> write(std::span<const char> piece) override {
        if (broken_) {
            co_return false;
        }
        auto call = [&] { return inner_->write(piece); };
        const auto r = co_await barrier::guard(plugin_, "write", tempfail_answer, call);
        broken_ = !r;
        co_return r.value_or(false);
    }

    asio::awaitable<delivery_result> commit(const std::vector<bool>& wanted) override {
        if (!broken_) {
            auto call = [&] { return inner_->commit(wanted); };
            auto r = co_await barrier::guard(plugin_, "commit", tempfail_answer, call);
            if (r) {
                co_return std::move(*r);
            }
        }
        co_return delivery_result::all(recipients_, reply::tempfail());
    }

  private:
    std::string plugin_;  // the plugin's name, for the log
    std::unique_ptr<delivery> inner_;
    std::size_t recipients_;
    bool broken_ = false;
};

class guarded_store final : public mailstore {
  public:
    guarded_store(std::string name, std::shared_ptr<mailstore> inner)
        : name_(std::move(name)), inner_(std::move(inner)) {}

    void init(settings&, host_view&) override {}  // the host initialises the plugin itself

    asio::awaitable<open_result> open(std::string_view user) override {
        // messages() is read inside the barrier too: the list is the plugin's, and so is what it throws.
        auto call = [&]() -> asio::awaitable<open_result> {
            auto r = co_await inner_->open(user);
            if (!r.drop) {
                co_return open_result{r.status == store_status::ok ? store_status::tempfail : r.status, nullptr};
            }
            auto messages = r.drop->messages();
            co_return open_result{r.status,
                                  std::make_unique<guarded_drop>(name_, std::move(r.drop), std::move(messages))};
        };
        auto r = co_await barrier::guard(name_, "open", tempfail_answer, call);
        if (!r) {
            co_return open_result{store_status::tempfail, nullptr};
        }
        co_return std::move(*r);
    }

    asio::awaitable<std::unique_ptr<delivery>> begin(std::span<const std::string> users,
                                                     const plugin::envelope* message) override;

    bool keeps_binary() const noexcept override { return inner_->keeps_binary(); }
    bool delivers_remote() const noexcept override { return inner_->delivers_remote(); }

  private:
    std::string name_;
    std::shared_ptr<mailstore> inner_;
};

asio::awaitable<std::unique_ptr<delivery>> guarded_store::begin(std::span<const std::string> users,
                                                                const plugin::envelope* message) {
    auto call = [&] { return inner_->begin(users, message); };
    auto r = co_await barrier::guard(name_, "begin", tempfail_answer, call);
    if (!r || !*r) {
        co_return nullptr;
    }
    co_return std::make_unique<guarded_delivery>(name_, std::move(*r), users.size());
}

}  // namespace

std::shared_ptr<mailstore> guard_store(std::string name, std::shared_ptr<mailstore> store) {
    return std::make_shared<guarded_store>(std::move(name), std::move(store));
}

}  // namespace mailwright::plugin
