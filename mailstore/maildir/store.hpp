// The Maildir mailstore plugin's shared pieces: the maildrop type and the start of a delivery.
#pragma once

#include <filesystem>
#include <mailwright/plugin/listed_maildrop.hpp>
#include <mailwright/plugin/maildrop_lock.hpp>
#include <mailwright/plugin/mailstore.hpp>
#include <string>
#include <vector>

#include "files.hpp"

namespace mailwright::maildir {

struct message_file {
    std::string name;  // in cur/
    plugin::message_info info;
};

// One POP3 session's exclusive view, holding the lock for its lifetime (see drop.cpp). The SDK's
// listed_maildrop keeps the list and the deletion marks.
class drop final : public plugin::listed_maildrop {
  public:
    drop(std::filesystem::path dir, plugin::maildrop_lock lock, std::vector<message_file> files);

    asio::awaitable<plugin::open_message_result> open_message(std::size_t index,
                                                              std::optional<std::size_t> body_lines) override;

  protected:
    asio::awaitable<plugin::store_status> remove(std::vector<std::size_t> indexes) override;

  private:
    std::filesystem::path dir_;
    plugin::maildrop_lock lock_;
    std::vector<std::string> names_;  // in cur/, by index
};

// Starts a delivery into these Maildirs, one per recipient of `users` (fewer: a user name was no mailbox
// name, and every recipient is refused). See delivery.cpp.
asio::awaitable<std::unique_ptr<plugin::delivery>> start_delivery(std::vector<std::filesystem::path> dirs,
                                                                  std::size_t users);

// Lists a locked Maildir for a session: moves new/ to cur/, removes stale tmp/ files, sizes every message.
std::vector<message_file> scan(const std::filesystem::path& dir);

}  // namespace mailwright::maildir
