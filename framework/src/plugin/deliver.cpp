// plugin::deliver(): a message a program holds whole, pushed into the store (plugin/mailstore.hpp).
#include <algorithm>

#include "mailwright/plugin/mailstore.hpp"

namespace mailwright::plugin {

asio::awaitable<delivery_result> deliver(mailstore& store, std::span<const std::string> users, std::string_view text,
                                         std::size_t piece) {
    auto delivery = co_await store.begin(users, nullptr);
    if (!delivery) {
        co_return delivery_result::all(users.size(), reply::tempfail());
    }
    piece = std::max<std::size_t>(piece, 1);
    for (std::size_t at = 0; at < text.size(); at += piece) {
        const std::size_t n = std::min(piece, text.size() - at);
        const bool taken = co_await delivery->write(std::span<const char>(text.data() + at, n));
        if (!taken) {
            break;  // commit() says what became of it
        }
    }
    co_return co_await delivery->commit(std::vector<bool>(users.size(), true));
}

}  // namespace mailwright::plugin
