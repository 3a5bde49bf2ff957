// plugin::listed_maildrop: the list and the deletion marks every maildrop keeps (plugin/listed_maildrop.hpp).
#include "mailwright/plugin/listed_maildrop.hpp"

#include <algorithm>

namespace mailwright::plugin {

listed_maildrop::listed_maildrop(std::vector<message_info> messages)
    : messages_(std::move(messages)), deleted_(messages_.size(), false) {}

void listed_maildrop::mark_deleted(std::size_t index) {
    if (index < deleted_.size()) {
        deleted_[index] = true;
    }
}

bool listed_maildrop::is_deleted(std::size_t index) const { return index < deleted_.size() && deleted_[index]; }

void listed_maildrop::undelete_all() { std::fill(deleted_.begin(), deleted_.end(), false); }

asio::awaitable<store_status> listed_maildrop::commit() {
    std::vector<std::size_t> doomed;
    for (std::size_t i = 0; i < deleted_.size(); ++i) {
        if (deleted_[i]) {
            doomed.push_back(i);
        }
    }
    if (doomed.empty()) {
        co_return store_status::ok;
    }
    const auto status = co_await remove(std::move(doomed));
    if (status == store_status::ok) {
        std::fill(deleted_.begin(), deleted_.end(), false);  // not undelete_all(): a store may count its calls
    }
    co_return status;
}

}  // namespace mailwright::plugin
