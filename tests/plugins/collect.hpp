// For the test stores: a delivery that collects the message in a string and, at commit(), hands it whole to
// `keep` (a callable taking the text and the users wanted, and answering the delivery_result). Given up
// (destroyed without commit()), it keeps nothing.
#pragma once

#include <mailwright/plugin/mailstore.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace test_plugins {

template <class Keep>
class collecting_delivery final : public mailwright::plugin::delivery {
  public:
    explicit collecting_delivery(Keep keep) : keep_(std::move(keep)) {}
    asio::awaitable<bool> write(std::span<const char> piece) override {
        text_.append(piece.data(), piece.size());
        co_return true;
    }
    asio::awaitable<mailwright::plugin::delivery_result> commit(const std::vector<bool>& wanted) override {
        co_return keep_(std::move(text_), wanted);
    }

  private:
    Keep keep_;
    std::string text_;
};

template <class Keep>
std::unique_ptr<mailwright::plugin::delivery> collect(Keep keep) {
    return std::make_unique<collecting_delivery<Keep>>(std::move(keep));
}

}  // namespace test_plugins
