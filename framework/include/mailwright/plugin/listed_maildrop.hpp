// A base for a store's maildrop: it keeps the list of messages the store read when the maildrop was opened,
// and the session's deletion marks, so a store implements only what touches its storage: open_message() and
// remove(), which receives the messages to delete when the session commits (POP3 UPDATE).
//
//   class my_drop final : public plugin::listed_maildrop {
//     public:
//       my_drop(std::vector<plugin::message_info> list, ...) : listed_maildrop(std::move(list)) {}
//       asio::awaitable<plugin::open_message_result> open_message(std::size_t index,
//                                                                 std::optional<std::size_t> body_lines) override;
//     protected:
//       asio::awaitable<plugin::store_status> remove(std::vector<std::size_t> indexes) override;
//   };
#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <vector>

#include "mailwright/plugin/mailstore.hpp"

namespace mailwright::plugin {

class listed_maildrop : public maildrop {
  public:
    explicit listed_maildrop(std::vector<message_info> messages);

    const std::vector<message_info>& messages() const override { return messages_; }
    // An index outside the list is ignored (POP3 checks message numbers before it asks).
    void mark_deleted(std::size_t index) override;
    bool is_deleted(std::size_t index) const override;
    void undelete_all() override;
    // Calls remove() with the marked indexes, ascending, when there are any; once it answers ok the marks are
    // cleared. A store that must count or fail commit() itself may override it and call this one.
    asio::awaitable<store_status> commit() override;

  protected:
    // Deletes these messages (indexes into messages(), ascending, at least one) from the storage, durably, and
    // answers ok; or tempfail, having deleted none or some (a message already gone counts as deleted).
    virtual asio::awaitable<store_status> remove(std::vector<std::size_t> indexes) = 0;

  private:
    std::vector<message_info> messages_;
    std::vector<bool> deleted_;
};

}  // namespace mailwright::plugin
