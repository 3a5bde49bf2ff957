// One libpq connection driven on the calling worker's event loop, never blocking it: PQconnectStart and
// PQconnectPoll to open, non-blocking mode, PQsendQueryPrepared/PQsendPrepare/PQsendQueryParams to send,
// PQflush, PQconsumeInput/PQisBusy/PQgetResult to read, and the connection's socket awaited through an
// asio::posix::stream_descriptor. Every wait has a deadline (connect_timeout to open, query_timeout for a
// statement); a statement that misses it leaves the connection broken (the pool closes it, which makes the
// server end the statement too).
//
// The socket is libpq's: a descriptor watches it only for the length of one wait (assigned, awaited, released;
// never closed by Asio), so the socket libpq opens anew while connecting (the next host of a list, a retry
// without TLS) is the one watched, and an idle connection holds nothing of an event loop: it may be closed at
// any time, also after its loop is gone (a thread's table of connections is destroyed at the thread's end).
//
// Asio registers the socket with epoll edge-triggered, and libpq may leave octets in the socket when it reads,
// so before waiting a zero-timeout poll() asks whether it is ready already: an edge that passed is never
// waited for.
//
// A connection belongs to one worker thread; nothing here is synchronized.
#pragma once

#include <asio/awaitable.hpp>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/pgclient/result.hpp"
#include "mailwright/pgclient/settings.hpp"

struct pg_conn;

namespace mailwright::pgclient {

// A statement prepared on each connection the first time it is used there (PQsendPrepare), then run by name.
// Parameters are $1...$n. Their types are `types` (PostgreSQL type OIDs, e.g. 25 for text, 17 for bytea), or,
// where that is empty or holds 0, left to the server to infer from the SQL (which fails for a parameter the SQL
// does not use: give a type to those).
struct statement {
    std::string name;
    std::string sql;
    int params = 0;
    std::vector<unsigned> types = {};
};
using statement_set = std::vector<statement>;

// What every connection of a pool shares.
struct setup {
    pgclient::settings settings;
    statement_set statements;
    std::string log_name;  // how the log names the user of the database, e.g. "plugin=postgres-auth"
};

class connection {
  public:
    explicit connection(std::shared_ptr<const setup> shared);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Connects, within connect_timeout. A failure is a tempfail with libpq's message.
    asio::awaitable<result> open();

    // Runs the statement of the set named `name` with `params`, within query_timeout (preparing it first on
    // this connection if it is its first use here).
    asio::awaitable<result> execute(std::string_view name, std::span<const param> params,
                                    result_format format = result_format::text);
    // Runs one SQL statement as it is (BEGIN, COMMIT, ROLLBACK, or a statement used once), within query_timeout.
    asio::awaitable<result> run(std::string_view sql, std::span<const param> params = {},
                                result_format format = result_format::text);

    // Open, and no statement has failed in a way that leaves it unusable (lost, timed out).
    bool usable() const noexcept;
    // Inside a transaction block (also an aborted one): such a connection is not given to anyone else.
    bool in_transaction() const noexcept;
    // For an idle connection: reads whatever arrived meanwhile, without waiting, and says whether the
    // connection is still open (a restarted server has closed it, after a FATAL message).
    bool still_open() noexcept;

  private:
    enum class direction { read, write };
    asio::awaitable<bool> wait(direction d, clock::time_point deadline);
    asio::awaitable<result> collect(clock::time_point deadline);
    asio::awaitable<result> prepare(std::size_t index, clock::time_point deadline);
    bool ready_now(direction d) const noexcept;
    void close() noexcept;
    result lost(std::string_view doing);

    pg_conn* conn_ = nullptr;
    std::shared_ptr<const setup> setup_;
    std::vector<bool> prepared_;
    bool broken_ = false;
};

}  // namespace mailwright::pgclient
