// A delivery that gathers the message in a string and, at commit(), hands it whole to the store: for a store
// that keeps each message as one value (a database row, a test's map). The message is held in memory, so it
// is as large as the listener lets a message be ([listener.smtp] max_message_size); a store of files
// streams instead (mailstore/maildir).
//
// `keep(text, wanted)` is called once, at commit(), with the whole text and the `wanted` flags of the users
// given to begin() (capture those). It answers the delivery_result, or an asio::awaitable of it when it
// must wait (storage work goes to io::offload()). Given up (destroyed without commit()), nothing is kept.
//
//   co_return plugin::collect([this, users = std::vector<std::string>(users.begin(), users.end())](
//                                 std::string text, const std::vector<bool>& wanted) { ... });
#pragma once

#include <asio/awaitable.hpp>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mailwright/plugin/mailstore.hpp"

namespace mailwright::plugin {

template <class Keep>
class collecting_delivery final : public delivery {
  public:
    explicit collecting_delivery(Keep keep) : keep_(std::move(keep)) {}

    asio::awaitable<bool> write(std::span<const char> piece) override {
        text_.append(piece.data(), piece.size());
        co_return true;
    }

    asio::awaitable<delivery_result> commit(const std::vector<bool>& wanted) override {
        using answer = std::invoke_result_t<Keep&, std::string, const std::vector<bool>&>;
        if constexpr (std::is_same_v<answer, asio::awaitable<delivery_result>>) {
            auto result = co_await keep_(std::move(text_), wanted);
            co_return result;
        } else {
            co_return keep_(std::move(text_), wanted);
        }
    }

  private:
    Keep keep_;
    std::string text_;
};

template <class Keep>
std::unique_ptr<delivery> collect(Keep keep) {
    return std::make_unique<collecting_delivery<Keep>>(std::move(keep));
}

}  // namespace mailwright::plugin
