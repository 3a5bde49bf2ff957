// A small pool of PostgreSQL connections per worker thread, for a plugin object that every worker shares.
//
// A session never leaves its worker, and a connection's socket is bound to its worker's event loop, so each
// worker thread has its own connections (at most settings::pool_size), kept in a thread_local table by pool:
// the only lookup on the way to a connection, and no lock. They are closed when the thread ends, or, for a
// pool that is gone (a reload made a new one), when that thread next acquires from a pool of this library (an
// idle connection holds nothing of the event loop, so either is safe whenever it comes).
//
//     auto db = co_await pool.acquire();        // a lease: the connection, or why none (db.error())
//     if (!db) { ... tempfail ... }
//     auto r = co_await db->execute("user", params);
//     // transactions: db->run("BEGIN"), statements, db->run("COMMIT"); the lease's connection is one session
//
// acquire() gives an idle connection that is still open (one a restarted server closed is dropped), or opens
// a new one while the worker has fewer than pool_size, or waits (queued, up to query_timeout) for one in use
// to come back. A failed connection starts the back-off (settings.hpp): until it has passed, acquire() fails at
// once instead of trying again. A lease returns its connection when it ends; a broken one, or one left inside
// a transaction, is closed instead.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "mailwright/pgclient/connection.hpp"

namespace mailwright::pgclient {

class worker_pool;

class lease {
  public:
    lease() = default;
    explicit lease(std::string error) : error_(std::move(error)) {}
    lease(std::unique_ptr<connection> c, std::shared_ptr<worker_pool> owner) noexcept;
    lease(lease&&) noexcept = default;
    lease& operator=(lease&& other) noexcept;
    ~lease();

    explicit operator bool() const noexcept { return connection_ != nullptr; }
    connection& operator*() const noexcept { return *connection_; }
    connection* operator->() const noexcept { return connection_.get(); }
    // Why there is no connection (a tempfail): for the log.
    const std::string& error() const noexcept { return error_; }

  private:
    void give_back() noexcept;
    std::unique_ptr<connection> connection_;
    std::shared_ptr<worker_pool> owner_;
    std::string error_;
};

class pool {
  public:
    explicit pool(setup s);
    ~pool();
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    // A connection of the calling worker thread (see above). Call it from a coroutine on the worker's loop.
    asio::awaitable<lease> acquire();
    const pgclient::setup& shared() const noexcept { return *setup_; }

  private:
    std::shared_ptr<const pgclient::setup> setup_;
    std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);  // expired: this pool is gone
    std::uint64_t id_;
};

}  // namespace mailwright::pgclient
