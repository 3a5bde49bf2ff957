// The postgres-store's shared pieces: what its connections share, the maildrop, and the start of a delivery.
#pragma once

#include <cstdint>
#include <mailwright/pgclient/connection.hpp>
#include <mailwright/pgclient/pool.hpp>
#include <mailwright/plugin/listed_maildrop.hpp>
#include <mailwright/plugin/mailstore.hpp>
#include <memory>
#include <string>
#include <vector>

namespace mailwright::pgstore {

// The log's name for the plugin.
inline constexpr const char* log_name = "plugin=postgres-store";

// A message of a maildrop, as listed when it was opened.
struct stored_message {
    std::int64_t uid = 0;
    std::int64_t content = 0;
    std::uint64_t stored = 0;  // octets in its chunks
};

// One POP3 session's exclusive view of a mailbox. It owns a connection of its own, which holds the mailbox's
// advisory lock for the maildrop's life: destroying the maildrop closes the connection, and PostgreSQL
// releases the lock with it (as it does when the node dies). See drop.cpp.
class drop final : public plugin::listed_maildrop {
  public:
    drop(std::shared_ptr<pgclient::connection> db, std::int64_t mailbox, std::vector<stored_message> list,
         std::vector<plugin::message_info> info);

    asio::awaitable<plugin::open_message_result> open_message(std::size_t index,
                                                              std::optional<std::size_t> body_lines) override;

  protected:
    asio::awaitable<plugin::store_status> remove(std::vector<std::size_t> indexes) override;

  private:
    asio::awaitable<bool> apply_deletions(const std::string& uids, const std::string& contents);

    std::shared_ptr<pgclient::connection> db_;
    std::int64_t mailbox_;
    std::vector<stored_message> list_;
};

// Opens `user`'s maildrop on a connection of its own (drop.cpp).
asio::awaitable<plugin::open_result> open_drop(std::shared_ptr<const pgclient::setup> setup, std::string user);

// Starts a delivery to `users` in one transaction on a connection of `pool` (delivery.cpp); null when the
// database cannot take one now.
asio::awaitable<std::unique_ptr<plugin::delivery>> start_delivery(pgclient::pool& pool,
                                                                  std::span<const std::string> users);

}  // namespace mailwright::pgstore
