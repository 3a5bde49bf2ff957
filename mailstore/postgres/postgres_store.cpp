// mailstore/postgres: the PostgreSQL mailstore plugin, mailwright-postgres-store.so. Several nodes share one
// database: a message delivered on one is read on any other, and a maildrop open on one is in use on all.
//
// Delivery (delivery.cpp): one transaction per message on a pooled connection, the octets streamed in as
// chunks, acknowledged after COMMIT. Sessions (drop.cpp): a connection of the lock pool (or, when it is full,
// one of their own) holding the mailbox's advisory lock, messages streamed out chunk by chunk, deletions in one
// transaction at UPDATE. The schema is
// contrib/postgres/mailstore.sql; the statements are statements.hpp. The database down is a temporary failure
// for everyone (pgclient's back-off keeps the daemon from hammering it), never a crash.
//
//   [plugin.postgres-store]
//   conninfo = "host=192.0.2.10 dbname=mail user=mailwright"   (required; libpq's connection string, with an IP
//              address: libpq resolves a name with a blocking getaddrinfo)
//   pool_size, connect_timeout, query_timeout, reconnect_min, reconnect_max   (lib/pgclient/.../settings.hpp)
//   pop3_pool_size = 8   (0-64) lock connections per worker thread kept for POP3 sessions, in use or idle; a
//                        session beyond them opens one of its own, closed at its end
#include <spdlog/spdlog.h>

#include <mailwright/pgclient/pool.hpp>
#include <mailwright/pgclient/settings.hpp>
#include <mailwright/plugin/mailstore.hpp>
#include <memory>

#include "statements.hpp"
#include "store.hpp"

namespace mailwright::pgstore {

namespace {

class store final : public plugin::mailstore {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        const auto lock_pool_size = config.integer("pop3_pool_size", 0, 64).value_or(8);
        auto settings = pgclient::read_settings(config);
        if (!settings) {
            return;  // reported where it stands
        }
        auto setup = std::make_shared<pgclient::setup>();
        setup->settings = std::move(*settings);
        setup->statements = sql::all();
        setup->log_name = log_name;
        setup_ = setup;
        pool_ = std::make_unique<pgclient::pool>(*setup_);
        auto locks = *setup_;
        locks.settings.pool_size = static_cast<std::size_t>(lock_pool_size);
        lock_pool_ = std::make_unique<pgclient::pool>(std::move(locks));
    }

    asio::awaitable<plugin::open_result> open(std::string_view user) override {
        std::string name(user);  // named: g++ 12 mishandles temporaries with destructors in a co_await
        auto setup = setup_;
        auto opened = co_await open_drop(*lock_pool_, std::move(setup), std::move(name));
        co_return opened;
    }

    asio::awaitable<std::unique_ptr<plugin::delivery>> begin(std::span<const std::string> users,
                                                             const plugin::envelope*) override {
        co_return co_await start_delivery(*pool_, users);
    }

    // The octets go into bytea chunks as they come, NUL and bare CR or LF included: BINARYMIME is kept exactly
    // (POP3 then reads it with every line ended by CRLF, as it reads any message).
    bool keeps_binary() const noexcept override { return true; }

  private:
    std::shared_ptr<const pgclient::setup> setup_;  // for the maildrops' own connections (lock pool full)
    std::unique_ptr<pgclient::pool> pool_;          // for deliveries
    std::unique_ptr<pgclient::pool> lock_pool_;     // for the maildrops: guarded leases (drop.cpp)
};

}  // namespace

}  // namespace mailwright::pgstore

MAILWRIGHT_PLUGIN("postgres-store", "mailstore", "1.0", mailwright::pgstore::store)
