// discard: a mailstore that reads every message to its end, counts it, and keeps nothing; every maildrop is
// empty. For benchmarks that measure what the protocol costs without the disk (Postfix's smtp-sink plays
// the same part), and for appliances that only relay a message to a hook. Never a real store: a message
// acknowledged here is gone.
//
//   [plugin.discard]
//   (no keys)
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <mailwright/plugin/mailstore.hpp>

namespace {

using namespace mailwright;

class empty_drop final : public plugin::maildrop {
  public:
    const std::vector<plugin::message_info>& messages() const override { return none_; }
    asio::awaitable<plugin::open_message_result> open_message(std::size_t, std::optional<std::size_t>) override {
        co_return plugin::open_message_result{plugin::store_status::not_found, nullptr};
    }
    void mark_deleted(std::size_t) override {}
    bool is_deleted(std::size_t) const override { return false; }
    void undelete_all() override {}
    asio::awaitable<plugin::store_status> commit() override { co_return plugin::store_status::ok; }

  private:
    std::vector<plugin::message_info> none_;
};

class discard final : public plugin::mailstore {
  public:
    void init(plugin::settings&, plugin::host_view&) override {
        spdlog::warn("plugin=discard messages are accepted and thrown away: for benchmarks only");
    }

    asio::awaitable<plugin::open_result> open(std::string_view) override {
        co_return plugin::open_result{plugin::store_status::ok, std::make_unique<empty_drop>()};
    }

    asio::awaitable<plugin::delivery_result> deliver(std::span<const std::string> users,
                                                     plugin::message_source& message) override {
        std::array<char, 64 * 1024> buffer;
        for (;;) {
            const auto chunk = co_await message.read_some(buffer);
            if (chunk.ec) {
                co_return plugin::delivery_result{plugin::store_status::tempfail, {}};
            }
            if (chunk.bytes == 0) {
                break;
            }
        }
        delivered_.fetch_add(1, std::memory_order_relaxed);
        co_return plugin::delivery_result{plugin::store_status::ok,
                                          std::vector<plugin::store_status>(users.size(), plugin::store_status::ok)};
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
