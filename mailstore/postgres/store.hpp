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

// One POP3 session's exclusive view of a mailbox. Its connection (a guarded lease of the store's lock pool, or
// one of its own when that pool is full) holds the mailbox's advisory lock for the maildrop's life. At commit()
// (POP3 UPDATE) the lock is released before QUIT is answered; a maildrop destroyed otherwise releases it in a
// coroutine of its own. Only a connection whose unlock succeeded goes back to the pool: any other is closed,
// and PostgreSQL releases the lock with it (as it does when the node dies). See drop.cpp.
class drop final : public plugin::listed_maildrop {
  public:
    drop(std::shared_ptr<pgclient::lease> db, std::int64_t mailbox, std::vector<stored_message> list,
         std::vector<plugin::message_info> info);
    drop(const drop&) = delete;
    drop& operator=(const drop&) = delete;

    asio::awaitable<plugin::open_message_result> open_message(std::size_t index,
                                                              std::optional<std::size_t> body_lines) override;
    asio::awaitable<plugin::store_status> commit() override;

  protected:
    asio::awaitable<plugin::store_status> remove(std::vector<std::size_t> indexes) override;

  private:
    asio::awaitable<bool> apply_deletions(const std::string& uids, const std::string& contents);
    bool holds_lock() const noexcept { return !released_ && (*db_)->usable(); }

    std::shared_ptr<pgclient::lease> db_;
    std::int64_t mailbox_;
    std::vector<stored_message> list_;
    bool released_ = false;  // the unlock was tried at commit(): no statement runs here any more
};

// Opens `user`'s maildrop on a connection of `locks` (acquire_guarded), or on one of its own (made with
// `setup`) when the worker's lock connections are all in use (drop.cpp).
asio::awaitable<plugin::open_result> open_drop(pgclient::pool& locks, std::shared_ptr<const pgclient::setup> setup,
                                               std::string user);

// Starts a delivery to `users` in one transaction on a connection of `pool` (delivery.cpp); null when the
// database cannot take one now.
asio::awaitable<std::unique_ptr<plugin::delivery>> start_delivery(pgclient::pool& pool,
                                                                  std::span<const std::string> users);

}  // namespace mailwright::pgstore
