// The Maildir mailstore plugin's shared pieces: the maildrop type and the start of a delivery.
#pragma once

#include <filesystem>
#include <mailwright/plugin/mailstore.hpp>
#include <string>
#include <vector>

#include "files.hpp"

namespace mailwright::maildir {

struct message_file {
    std::string name;  // in cur/
    plugin::message_info info;
};

// One POP3 session's exclusive view, holding the lock for its lifetime (see drop.cpp).
class drop final : public plugin::maildrop {
  public:
    drop(std::filesystem::path dir, fd lock, std::vector<message_file> files);

    const std::vector<plugin::message_info>& messages() const override { return info_; }
    asio::awaitable<plugin::open_message_result> open_message(std::size_t index,
                                                              std::optional<std::size_t> body_lines) override;
    void mark_deleted(std::size_t index) override;
    bool is_deleted(std::size_t index) const override;
    void undelete_all() override;
    asio::awaitable<plugin::store_status> commit() override;

  private:
    std::filesystem::path dir_;
    fd lock_;
    std::vector<message_file> files_;
    std::vector<plugin::message_info> info_;
    std::vector<bool> deleted_;
};

// Starts a delivery into these Maildirs, one per recipient of `users` (fewer: a user name was no mailbox
// name, and every recipient is refused). See delivery.cpp.
asio::awaitable<std::unique_ptr<plugin::delivery>> start_delivery(std::vector<std::filesystem::path> dirs,
                                                                  std::size_t users);

// Lists a locked Maildir for a session: moves new/ to cur/, removes stale tmp/ files, sizes every message.
std::vector<message_file> scan(const std::filesystem::path& dir);

}  // namespace mailwright::maildir
