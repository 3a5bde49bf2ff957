// discard: a mailstore that takes every message to its end, counts it, and keeps nothing; every maildrop is
// empty. For benchmarks that measure what the protocol costs without the disk (Postfix's smtp-sink plays
// the same part), and for appliances that only relay a message to a hook. Never a real store: a message
// acknowledged here is gone.
//
//   [plugin.discard]
//   (no keys)
#include <spdlog/spdlog.h>

#include <atomic>
#include <mailwright/plugin/listed_maildrop.hpp>
#include <mailwright/plugin/mailstore.hpp>

namespace {

using namespace mailwright;

// The SDK's listed_maildrop with an empty list: nothing to open, nothing to remove.
class empty_drop final : public plugin::listed_maildrop {
  public:
    empty_drop() : listed_maildrop({}) {}
    asio::awaitable<plugin::open_message_result> open_message(std::size_t, std::optional<std::size_t>) override {
        co_return plugin::open_message_result{plugin::store_status::not_found, nullptr};
    }

  protected:
    asio::awaitable<plugin::store_status> remove(std::vector<std::size_t>) override {
        co_return plugin::store_status::ok;
    }
};

// Takes every piece and drops it; counts the message when it is committed.
class counted final : public plugin::delivery {
  public:
    counted(std::atomic<std::uint64_t>& total, std::size_t recipients) : total_(total), recipients_(recipients) {}
    asio::awaitable<bool> write(std::span<const char>) override { co_return true; }
    asio::awaitable<plugin::delivery_result> commit(const std::vector<bool>&) override {
        total_.fetch_add(1, std::memory_order_relaxed);
        co_return plugin::delivery_result::all(recipients_, plugin::reply::accept());
    }

  private:
    std::atomic<std::uint64_t>& total_;
    std::size_t recipients_;
};

class discard final : public plugin::mailstore {
  public:
    void init(plugin::settings&, plugin::host_view&) override {
        spdlog::warn("plugin=discard messages are accepted and thrown away: for benchmarks only");
    }

    asio::awaitable<plugin::open_result> open(std::string_view) override {
        co_return plugin::open_result{plugin::store_status::ok, std::make_unique<empty_drop>()};
    }

    asio::awaitable<std::unique_ptr<plugin::delivery>> begin(std::span<const std::string> users,
                                                             const plugin::envelope*) override {
        co_return std::make_unique<counted>(delivered_, users.size());
    }

    bool keeps_binary() const noexcept override { return true; }  // it keeps nothing, so nothing is changed

    void shutdown() noexcept override {
        spdlog::info("plugin=discard {} messages read and discarded", delivered_.load());
    }

  private:
    std::atomic<std::uint64_t> delivered_{0};
};

}  // namespace

MAILWRIGHT_PLUGIN("discard", "mailstore", "1.0", discard)
