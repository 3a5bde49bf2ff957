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
//
// acquire_guarded() is for a user whose connection takes state that outlives a statement (a session-level
// advisory lock): it never waits (an idle connection, or a new one while the worker has fewer than pool_size;
// else an empty lease with no error: the caller may open a connection of its own), and its lease closes the
// connection at its end unless mark_clean() said that state is gone. Closing is the default, so no path that
// forgets (an error, a coroutine that never ran) can give a connection still holding a lock to anyone else.
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
    lease(std::unique_ptr<connection> c, std::shared_ptr<worker_pool> owner, bool guarded = false) noexcept;
    lease(lease&&) noexcept = default;
    lease& operator=(lease&& other) noexcept;
    ~lease();

    explicit operator bool() const noexcept { return connection_ != nullptr; }
    connection& operator*() const noexcept { return *connection_; }
    connection* operator->() const noexcept { return connection_.get(); }
    // Why there is no connection (a tempfail): for the log.
    const std::string& error() const noexcept { return error_; }
    // For a lease of acquire_guarded(): its connection holds nothing of its user's any more (its locks were
    // released), so its end may return it to the pool (if still usable and outside a transaction).
    void mark_clean() noexcept { guarded_ = false; }

  private:
    void give_back() noexcept;
    std::unique_ptr<connection> connection_;
    std::shared_ptr<worker_pool> owner_;
    std::string error_;
    bool guarded_ = false;  // closed at its end, never pooled, until mark_clean()
};

class pool {
  public:
    explicit pool(setup s);
    ~pool();
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    // A connection of the calling worker thread (see above). Call it from a coroutine on the worker's loop.
    asio::awaitable<lease> acquire();
    // A connection now, or none (see above): its lease closes it at its end unless marked clean.
    asio::awaitable<lease> acquire_guarded();
    const pgclient::setup& shared() const noexcept { return *setup_; }

  private:
    std::shared_ptr<worker_pool> here();  // the calling thread's
    std::shared_ptr<const pgclient::setup> setup_;
    std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);  // expired: this pool is gone
    std::uint64_t id_;
};

}  // namespace mailwright::pgclient
