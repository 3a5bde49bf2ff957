// For the test stores: the whole message a delivery hands them, or nothing when the session gave the message
// up (its read failed), in which case a store keeps nothing of it.
#pragma once

#include <mailwright/plugin/mailstore.hpp>
#include <optional>
#include <string>

namespace test_plugins {

inline asio::awaitable<std::optional<std::string>> read_message(mailwright::plugin::message_source& message) {
    std::string text;
    char buffer[4096];
    for (;;) {
        const auto chunk = co_await message.read_some(buffer);
        if (chunk.ec) {
            co_return std::nullopt;
        }
        if (chunk.bytes == 0) {
            co_return text;
        }
        text.append(buffer, chunk.bytes);
    }
}

}  // namespace test_plugins
