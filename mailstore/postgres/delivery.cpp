// The postgres-store's delivery: one transaction on a pooled connection from begin() to commit(). The message's
// octets go in as they arrive, in chunks of at most 64 KiB (mailwright_chunks), so the store never holds more
// than one chunk of it; commit() gives it a UID in each wanted mailbox, and every recipient hears success only
// once COMMIT has returned it (synchronous_commit, PostgreSQL's default: the WAL is flushed). A delivery
// destroyed without commit() returns its connection inside the transaction, and the pool closes such a
// connection, so PostgreSQL rolls it back: nothing of the message stays.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <mailwright/plugin/message_text.hpp>
#include <set>

#include "statements.hpp"
#include "store.hpp"

namespace mailwright::pgstore {

using plugin::reply;

namespace {

constexpr std::size_t chunk_size = 64 * 1024;

class transaction_delivery final : public plugin::delivery {
  public:
    transaction_delivery(pgclient::lease db, std::string content, std::vector<std::string> users)
        : db_(std::move(db)), content_(std::move(content)), users_(std::move(users)) {}

    asio::awaitable<bool> write(std::span<const char> piece) override {
        if (failed_) {
            co_return false;
        }
        const std::string_view octets(piece.data(), piece.size());
        size_.add(octets);
        stored_ += octets.size();
        buffer_.append(octets);
        while (buffer_.size() >= chunk_size && !failed_) {
            failed_ = !(co_await store_chunk(std::string_view(buffer_).substr(0, chunk_size)));
            buffer_.erase(0, chunk_size);
        }
        co_return !failed_;
    }

    asio::awaitable<plugin::delivery_result> commit(const std::vector<bool>& wanted) override {
        // Each mailbox once, in name order: two deliveries lock their mailboxes' rows in one order, so neither
        // waits for the other in a cycle.
        std::set<std::string> mailboxes;
        for (std::size_t i = 0; i < users_.size(); ++i) {
            if (i < wanted.size() && wanted[i]) {
                mailboxes.insert(users_[i]);
            }
        }
        if (!failed_ && !buffer_.empty()) {
            failed_ = !(co_await store_chunk(buffer_));
            buffer_.clear();
        }
        if (!failed_) {
            failed_ = !(co_await finish(mailboxes));
        }
        if (failed_) {
            co_await give_up();
            co_return plugin::delivery_result::all(users_.size(), reply::tempfail());
        }
        co_return plugin::delivery_result::all(users_.size(), reply::accept());
    }

  private:
    asio::awaitable<bool> store_chunk(std::string_view data) {
        const std::string seq = std::to_string(seq_++);
        const pgclient::param params[] = {pgclient::param::text(content_), pgclient::param::text(seq),
                                          pgclient::param::bytes(data)};
        auto r = co_await db_->execute(sql::add_chunk.name, params);
        co_return checked(r, "store a chunk");
    }

    // The size, a row in each mailbox, COMMIT. With no mailbox wanted, nothing is kept (ROLLBACK).
    asio::awaitable<bool> finish(const std::set<std::string>& mailboxes) {
        if (mailboxes.empty()) {
            auto r = co_await db_->run("ROLLBACK");
            co_return checked(r, "roll back");
        }
        const std::string size = std::to_string(size_.total());
        const std::string stored = std::to_string(stored_);
        const pgclient::param sizes[] = {pgclient::param::text(content_), pgclient::param::text(size),
                                         pgclient::param::text(stored)};
        auto r = co_await db_->execute(sql::finish_content.name, sizes);
        if (!checked(r, "record the size")) {
            co_return false;
        }
        for (const auto& name : mailboxes) {
            const pgclient::param params[] = {pgclient::param::text(name), pgclient::param::text(content_)};
            auto added = co_await db_->execute(sql::add_message.name, params);
            if (!checked(added, "add the message to a mailbox")) {
                co_return false;
            }
        }
        // Whatever COMMIT's answer, it is the only one that counts: an error, or a connection lost before the
        // answer came, is a temporary failure (the client sends the message again; if the COMMIT did happen,
        // the message is then stored twice, never lost).
        auto committed = co_await db_->run("COMMIT");
        co_return checked(committed, "commit");
    }

    asio::awaitable<void> give_up() {
        if (db_ && db_->usable() && db_->in_transaction()) {
            co_await db_->run("ROLLBACK");
        }
    }

    bool checked(const pgclient::result& r, std::string_view doing) {
        if (!r.ok()) {
            spdlog::error("{} delivery: cannot {}: {}", log_name, doing, r.error());
        }
        return r.ok();
    }

    pgclient::lease db_;
    std::string content_;  // its id
    std::vector<std::string> users_;
    plugin::crlf_size_counter size_;  // what POP3 will send (drop.cpp reads through crlf_converter)
    std::uint64_t stored_ = 0;
    std::string buffer_;  // less than a chunk, waiting for the rest of it (pieces may be small: BDAT)
    std::int64_t seq_ = 0;
    bool failed_ = false;
};

// A pooled connection inside BEGIN. An idle connection the server closed meanwhile (a restart) may look open
// until it is used, so one found lost at BEGIN, which has changed nothing, is replaced once by a new one.
asio::awaitable<pgclient::lease> begin_transaction(pgclient::pool& pool) {
    for (int attempt = 0;; ++attempt) {
        auto db = co_await pool.acquire();
        if (!db) {
            spdlog::warn("{} cannot take a message now: {}", log_name, db.error());
            co_return db;
        }
        auto begun = co_await db->run("BEGIN");
        if (begun.ok()) {
            co_return db;
        }
        if (db->usable() || attempt > 0) {
            spdlog::warn("{} cannot begin a delivery: {}", log_name, begun.error());
            co_return pgclient::lease(begun.error());
        }
        spdlog::info("{} an idle connection was lost ({}); trying another", log_name, begun.error());
    }
}

}  // namespace

asio::awaitable<std::unique_ptr<plugin::delivery>> start_delivery(pgclient::pool& pool,
                                                                  std::span<const std::string> users) {
    for (const auto& user : users) {
        if (user.empty() || user.find('\0') != std::string::npos) {
            co_return nullptr;  // no mailbox has that name (libpq would cut it at the NUL)
        }
    }
    auto db = co_await begin_transaction(pool);
    if (!db) {
        co_return nullptr;
    }
    auto made = co_await db->execute(sql::new_content.name, {});
    if (!made.ok() || made.rows() != 1) {
        spdlog::error("{} cannot begin a delivery: {}", log_name, made.ok() ? "no id" : made.error());
        co_return nullptr;  // the lease ends inside the transaction: the pool closes the connection
    }
    std::string content(made.value(0, 0));
    co_return std::make_unique<transaction_delivery>(std::move(db), std::move(content),
                                                     std::vector<std::string>(users.begin(), users.end()));
}

}  // namespace mailwright::pgstore
