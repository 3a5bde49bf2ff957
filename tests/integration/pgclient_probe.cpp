// A command-line driver of lib/pgclient for test_pgclient.py: runs one scenario against the database `conninfo`
// names, on one event loop, and prints "ok" or "failed: why" (exit status 0 or 1).
// Usage: pgclient_probe CONNINFO SCENARIO
//   bytes     64 KiB bytea chunks with every octet value, inserted as binary params in one transaction and read
//             back in binary result format
//   big       a 4 MiB text value read back (many socket reads for one result)
//   queue     pool_size 1 and five leases wanted at once: they queue and each gets the connection in turn
//   timeout   query_timeout 500ms and pg_sleep(5): a tempfail, then the next lease works on a new connection
//   aborted   a lease given back inside a failed transaction is closed, not handed on; a refused statement is
//             status failed with its SQLSTATE
//   down      a server that refuses connections: tempfail, then fail-fast during the back-off
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "mailwright/pgclient/pool.hpp"

using namespace mailwright;
using pgclient::param;

namespace {

std::string failed;  // the first failure, empty while all is well

void expect(bool ok, const std::string& what) {
    if (!ok && failed.empty()) {
        failed = what;
    }
}

pgclient::setup setup_of(const std::string& conninfo, std::size_t pool_size = 4,
                         std::chrono::milliseconds query_timeout = std::chrono::seconds(10)) {
    pgclient::setup s;
    s.settings.conninfo = conninfo;
    s.settings.pool_size = pool_size;
    s.settings.query_timeout = query_timeout;
    s.settings.connect_timeout = std::chrono::seconds(5);
    s.statements = {{"put", "INSERT INTO chunks (n, data) VALUES ($1::int, $2::bytea)", 2},
                    {"get", "SELECT data FROM chunks WHERE n = $1::int", 1}};
    s.log_name = "probe";
    return s;
}

asio::awaitable<void> bytes(pgclient::pool& pool) {
    auto db = co_await pool.acquire();
    expect(static_cast<bool>(db), "no connection: " + db.error());
    if (!db) {
        co_return;
    }
    auto made = co_await db->run("CREATE TEMPORARY TABLE chunks (n int PRIMARY KEY, data bytea NOT NULL)");
    expect(made.ok(), "create: " + made.error());
    std::vector<std::string> chunks;
    auto begun = co_await db->run("BEGIN");
    expect(begun.ok() && db->in_transaction(), "begin: " + begun.error());
    for (int n = 0; n < 3; ++n) {
        std::string chunk(65536, '\0');
        for (std::size_t i = 0; i < chunk.size(); ++i) {
            chunk[i] = static_cast<char>((i * 7 + static_cast<std::size_t>(n)) & 0xff);
        }
        chunks.push_back(chunk);
        const std::string number = std::to_string(n);
        const param params[] = {param::text(number), param::bytes(chunks.back())};
        auto put = co_await db->execute("put", params);
        expect(put.ok() && put.affected() == 1, "insert: " + put.error());
    }
    auto committed = co_await db->run("COMMIT");
    expect(committed.ok() && !db->in_transaction(), "commit: " + committed.error());
    for (int n = 0; n < 3; ++n) {
        const std::string number = std::to_string(n);
        const param params[] = {param::text(number)};
        auto got = co_await db->execute("get", params, pgclient::result_format::binary);
        expect(got.ok() && got.rows() == 1 && got.value(0, 0) == chunks[static_cast<std::size_t>(n)],
               "select chunk " + number + ": " + got.error());
    }
}

asio::awaitable<void> big(pgclient::pool& pool) {
    auto db = co_await pool.acquire();
    expect(static_cast<bool>(db), "no connection: " + db.error());
    if (db) {
        auto r = co_await db->run("SELECT repeat('x', 4194304)");
        expect(r.ok() && r.value(0, 0).size() == 4194304, "big: " + r.error());
    }
}

asio::awaitable<void> one_in_queue(pgclient::pool& pool, int& done) {
    auto db = co_await pool.acquire();
    expect(static_cast<bool>(db), "queued lease: " + db.error());
    if (db) {
        auto r = co_await db->run("SELECT pg_sleep(0.1)");
        expect(r.ok(), "sleep: " + r.error());
        ++done;
    }
}

asio::awaitable<void> timeout(pgclient::pool& pool) {
    {
        auto db = co_await pool.acquire();
        expect(static_cast<bool>(db), "no connection: " + db.error());
        if (!db) {
            co_return;
        }
        auto r = co_await db->run("SELECT pg_sleep(5)");
        expect(r.status() == pgclient::status::tempfail && r.error().find("query_timeout") != std::string::npos,
               "a statement over query_timeout: " + r.error());
        expect(!db->usable(), "the connection is still usable after a timeout");
    }
    auto again = co_await pool.acquire();
    expect(static_cast<bool>(again), "no connection after a timeout: " + again.error());
    if (again) {
        auto r = co_await again->run("SELECT 1");
        expect(r.ok() && r.value(0, 0) == "1", "select after a timeout: " + r.error());
    }
}

asio::awaitable<void> aborted(pgclient::pool& pool) {
    {
        auto db = co_await pool.acquire();
        expect(static_cast<bool>(db), "no connection: " + db.error());
        if (!db) {
            co_return;
        }
        auto begun = co_await db->run("BEGIN");
        auto refused = co_await db->run("SELECT * FROM no_such_table");
        expect(begun.ok() && refused.status() == pgclient::status::failed && refused.sqlstate() == "42P01",
               "a refused statement: " + refused.error() + " " + refused.sqlstate());
    }  // given back inside the aborted transaction: closed
    auto next = co_await pool.acquire();
    expect(static_cast<bool>(next) && !next->in_transaction(), "the next lease is inside a transaction");
    if (next) {
        auto r = co_await next->run("SELECT 2");
        expect(r.ok() && r.value(0, 0) == "2", "select on the next lease: " + r.error());
    }
}

asio::awaitable<void> down(pgclient::pool& pool) {
    auto first = co_await pool.acquire();
    expect(!first && !first.error().empty(), "a lease from a server that is not there");
    auto second = co_await pool.acquire();
    expect(!second && second.error().find("next try in") != std::string::npos,
           "no fail-fast during the back-off: " + second.error());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: pgclient_probe CONNINFO SCENARIO\n");
        return 2;
    }
    const std::string conninfo = argv[1], scenario = argv[2];
    asio::io_context io;
    auto s = setup_of(conninfo, scenario == "queue" ? 1 : 4,
                      scenario == "timeout" ? std::chrono::milliseconds(500) : std::chrono::seconds(10));
    s.settings.reconnect_min = std::chrono::seconds(5);
    pgclient::pool pool(std::move(s));
    int done = 0;
    if (scenario == "queue") {
        for (int i = 0; i < 5; ++i) {
            asio::co_spawn(io, one_in_queue(pool, done), asio::detached);
        }
    } else {
        auto run = scenario == "bytes"     ? bytes(pool)
                   : scenario == "big"     ? big(pool)
                   : scenario == "timeout" ? timeout(pool)
                   : scenario == "aborted" ? aborted(pool)
                                           : down(pool);
        asio::co_spawn(io, std::move(run), asio::detached);
    }
    io.run();
    expect(scenario != "queue" || done == 5, "queued leases done: " + std::to_string(done));
    std::printf("%s\n", failed.empty() ? "ok" : ("failed: " + failed).c_str());
    return failed.empty() ? 0 : 1;
}
