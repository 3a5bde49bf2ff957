// The postgres-store's maildrop: opened under the mailbox's advisory lock on a connection it holds alone, read
// chunk by chunk, its deletions applied in one transaction at POP3 UPDATE.
//
// The lock is session-level (pg_try_advisory_lock), so it lives at most as long as the connection: a node that
// dies (SIGKILL, power) has its connections closed by the kernel, so PostgreSQL ends their backends and
// releases their locks. The connection comes from the store's lock pool (per worker, apart from the
// deliveries' pool) so that a login does not pay for a new backend each time; when the worker's lock
// connections are all in use, the session opens one of its own, closed at its end. The lease is guarded
// (pgclient::pool::acquire_guarded): its connection goes back to the pool only once pg_advisory_unlock_all()
// has succeeded on it (at commit(), before QUIT is answered, or right after a login that did not open it); on
// any other path (a failed unlock, a broken connection, one inside a transaction, a session that ended without
// QUIT) it is closed, which releases the lock. A connection lost mid-session is never replaced: its lock is
// gone, so the session's reads and its UPDATE fail (temporarily) rather than act without it.
#include <spdlog/spdlog.h>

#include <fmt/format.h>
#include <algorithm>
#include <charconv>
#include <mailwright/plugin/message_text.hpp>

#include "statements.hpp"
#include "store.hpp"

namespace mailwright::pgstore {

using plugin::store_status;

namespace {

std::optional<std::int64_t> number(std::optional<std::string_view> text) {
    std::int64_t n = 0;
    if (!text || std::from_chars(text->data(), text->data() + text->size(), n).ec != std::errc()) {
        return std::nullopt;
    }
    return n;
}

// A PostgreSQL array literal of numbers, "{1,2,3}".
std::string array_of(const std::vector<std::int64_t>& numbers) {
    return fmt::format("{{{}}}", fmt::join(numbers, ","));
}

// The message's octets, one chunk (at most 64 KiB) per statement, turned into POP3's lines as they come.
class chunk_reader final : public plugin::message_reader {
  public:
    chunk_reader(std::shared_ptr<pgclient::lease> db, stored_message message, std::optional<std::size_t> body_lines)
        : db_(std::move(db)), message_(message), lines_(body_lines) {}

    asio::awaitable<plugin::chunk_result> read_some(std::span<char> buffer) override {
        while (pending_.size() == taken_ && !lines_.finished() && read_ < message_.stored) {
            pending_.clear();
            taken_ = 0;
            const std::string content = std::to_string(message_.content);
            const std::string seq = std::to_string(seq_);
            const pgclient::param params[] = {pgclient::param::text(content), pgclient::param::text(seq)};
            auto r = co_await (*db_)->execute(sql::read_chunk.name, params, pgclient::result_format::binary);
            if (!r.ok() || r.rows() != 1) {
                spdlog::error("{} cannot read chunk {} of message {}: {}", log_name, seq_, message_.content,
                              r.ok() ? std::string("missing") : r.error());
                co_return plugin::chunk_result{0, std::make_error_code(std::errc::io_error)};
            }
            const auto data = r.value(0, 0);
            read_ += data.size();
            ++seq_;
            lines_.convert(data, pending_);
        }
        const std::size_t n = std::min(buffer.size(), pending_.size() - taken_);
        std::copy_n(pending_.data() + taken_, n, buffer.data());
        taken_ += n;
        co_return plugin::chunk_result{n, {}};
    }

  private:
    std::shared_ptr<pgclient::lease> db_;  // the maildrop's: kept open while this reads
    stored_message message_;
    plugin::crlf_converter lines_;
    std::string pending_;  // POP3's form of the last chunk read, at most a chunk and its added CRs
    std::size_t taken_ = 0;
    std::uint64_t read_ = 0;
    std::int64_t seq_ = 0;
};

// The mailbox's id and whether this connection now holds its lock (made on first use: a user who never
// received a message has an empty maildrop).
struct lock_outcome {
    store_status status = store_status::tempfail;
    std::int64_t mailbox = 0;
};

asio::awaitable<lock_outcome> lock_mailbox(pgclient::connection& db, const std::string& user) {
    const pgclient::param name[] = {pgclient::param::text(user)};
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto r = co_await db.execute(sql::lock_mailbox.name, name);
        if (!r.ok()) {
            spdlog::error("{} cannot lock the maildrop of {}: {}", log_name, user, r.error());
            co_return lock_outcome{};
        }
        if (r.rows() == 1) {
            const auto id = number(r.get(0, 0));
            if (!id) {
                co_return lock_outcome{};
            }
            co_return lock_outcome{r.value(0, 1) == "t" ? store_status::ok : store_status::in_use, *id};
        }
        auto made = co_await db.execute(sql::create_mailbox.name, name);
        if (!made.ok()) {
            spdlog::error("{} cannot make the mailbox of {}: {}", log_name, user, made.error());
            co_return lock_outcome{};
        }
    }
    co_return lock_outcome{};
}

// Releases every session-level advisory lock of the lease's connection; once PostgreSQL has said so, the
// connection is clean and the lease may give it back to the pool. Otherwise the lease closes it.
asio::awaitable<void> release(pgclient::lease& db) {
    if (!db || !db->usable() || db->in_transaction()) {
        co_return;
    }
    auto r = co_await db->run("SELECT pg_advisory_unlock_all()");
    if (r.ok()) {
        db.mark_clean();
    } else {
        spdlog::warn("{} cannot release the maildrop lock: {}; closing its connection", log_name, r.error());
    }
}

// A connection from the lock pool, or, when the worker's lock connections are all in use, one of the
// session's own (an unowned lease: closed at its end). An error: the database cannot be reached now.
asio::awaitable<pgclient::lease> lock_connection(pgclient::pool& locks, std::shared_ptr<const pgclient::setup> setup) {
    auto pooled = co_await locks.acquire_guarded();
    if (pooled || !pooled.error().empty()) {
        co_return pooled;
    }
    auto own = std::make_unique<pgclient::connection>(std::move(setup));
    auto opened = co_await own->open();
    if (!opened.ok()) {
        co_return pgclient::lease(opened.error());
    }
    co_return pgclient::lease(std::move(own), nullptr, true);
}

// Locks and lists `user`'s maildrop on `db`.
asio::awaitable<plugin::open_result> open_on(std::shared_ptr<pgclient::lease> db, std::string user) {
    const auto locked = co_await lock_mailbox(**db, user);
    if (locked.status != store_status::ok) {
        co_return plugin::open_result{locked.status, nullptr};
    }
    const std::string mailbox = std::to_string(locked.mailbox);
    const pgclient::param params[] = {pgclient::param::text(mailbox)};
    auto r = co_await (*db)->execute(sql::list_messages.name, params);
    if (!r.ok()) {
        spdlog::error("{} cannot list the maildrop of {}: {}", log_name, user, r.error());
        co_return plugin::open_result{store_status::tempfail, nullptr};
    }
    std::vector<stored_message> list;
    std::vector<plugin::message_info> info;
    for (int row = 0; row < r.rows(); ++row) {
        const auto uid = number(r.get(row, 0));
        const auto size = number(r.get(row, 1));
        const auto content = number(r.get(row, 2));
        const auto stored = number(r.get(row, 3));
        if (!uid || !size || !content || !stored) {
            co_return plugin::open_result{store_status::permfail, nullptr};
        }
        list.push_back({*uid, *content, static_cast<std::uint64_t>(*stored)});
        // Stable across sessions and nodes, and never given again: a mailbox made anew has a new id.
        info.push_back({fmt::format("{}.{}", locked.mailbox, *uid), static_cast<std::uint64_t>(*size)});
    }
    co_return plugin::open_result{
        store_status::ok, std::make_unique<drop>(std::move(db), locked.mailbox, std::move(list), std::move(info))};
}

}  // namespace

asio::awaitable<plugin::open_result> open_drop(pgclient::pool& locks, std::shared_ptr<const pgclient::setup> setup,
                                               std::string user) {
    if (user.empty() || user.find('\0') != std::string::npos) {
        co_return plugin::open_result{store_status::not_found, nullptr};
    }
    auto leased = co_await lock_connection(locks, std::move(setup));
    if (!leased) {
        spdlog::warn("{} cannot connect to the database: {}", log_name, leased.error());
        co_return plugin::open_result{store_status::tempfail, nullptr};
    }
    auto db = std::make_shared<pgclient::lease>(std::move(leased));
    auto opened = co_await open_on(db, std::move(user));
    if (opened.status != store_status::ok) {
        co_await release(*db);  // in use, or a failure after the lock was taken: the connection may be kept
    }
    co_return opened;
}

// A maildrop destroyed without commit() (the client left without QUIT) runs nothing more: its lease, still
// guarded, closes the connection, and PostgreSQL releases the lock with it. An unlock there would need a
// coroutine outliving the session, whose code could be unloaded under it after a reload.
drop::drop(std::shared_ptr<pgclient::lease> db, std::int64_t mailbox, std::vector<stored_message> list,
           std::vector<plugin::message_info> info)
    : listed_maildrop(std::move(info)), db_(std::move(db)), mailbox_(mailbox), list_(std::move(list)) {}

asio::awaitable<store_status> drop::commit() {
    if (released_) {
        co_return store_status::tempfail;
    }
    const auto status = co_await listed_maildrop::commit();
    // UPDATE ends the session: the lock is released before QUIT is answered, so that the user may log in
    // again at once, on any node.
    released_ = true;
    co_await release(*db_);
    co_return status;
}

asio::awaitable<plugin::open_message_result> drop::open_message(std::size_t index,
                                                                std::optional<std::size_t> body_lines) {
    if (index >= list_.size()) {
        co_return plugin::open_message_result{store_status::not_found, nullptr};
    }
    if (!holds_lock()) {
        co_return plugin::open_message_result{store_status::tempfail, nullptr};  // and the lock is gone with it
    }
    co_return plugin::open_message_result{store_status::ok,
                                          std::make_unique<chunk_reader>(db_, list_[index], body_lines)};
}

asio::awaitable<store_status> drop::remove(std::vector<std::size_t> indexes) {
    if (!holds_lock()) {
        co_return store_status::tempfail;  // the connection, and the lock with it, is gone: change nothing
    }
    std::vector<std::int64_t> uids;
    std::vector<std::int64_t> contents;
    for (const std::size_t i : indexes) {
        uids.push_back(list_.at(i).uid);
        contents.push_back(list_.at(i).content);
    }
    const std::string uid_array = array_of(uids);
    const std::string content_array = array_of(contents);
    const bool done = co_await apply_deletions(uid_array, content_array);
    if (!done && (*db_)->usable() && (*db_)->in_transaction()) {
        co_await (*db_)->run("ROLLBACK");
    }
    co_return done ? store_status::ok : store_status::tempfail;
}

// BEGIN, lock the contents, delete the mailbox's rows and the contents nobody holds any more, COMMIT.
asio::awaitable<bool> drop::apply_deletions(const std::string& uids, const std::string& contents) {
    const std::string mailbox = std::to_string(mailbox_);
    const pgclient::param by_contents[] = {pgclient::param::text(contents)};
    const pgclient::param by_uids[] = {pgclient::param::text(mailbox), pgclient::param::text(uids)};
    auto step = co_await (*db_)->run("BEGIN");
    if (step.ok()) {
        step = co_await (*db_)->execute(sql::lock_contents.name, by_contents);
    }
    if (step.ok()) {
        step = co_await (*db_)->execute(sql::delete_messages.name, by_uids);
    }
    if (step.ok()) {
        step = co_await (*db_)->execute(sql::delete_unheld.name, by_contents);
    }
    if (step.ok()) {
        step = co_await (*db_)->run("COMMIT");
    }
    if (!step.ok()) {
        spdlog::error("{} cannot apply the deletions of mailbox {}: {}", log_name, mailbox_, step.error());
    }
    co_return step.ok();
}

}  // namespace mailwright::pgstore
