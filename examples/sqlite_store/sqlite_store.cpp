// sqlite-store: a mailstore that keeps each message as a row of one SQLite database, built against the
// installed SDK (docs/plugins.md, "Writing a mailstore"). The SDK's store helpers do what every store does
// (plugin::listed_maildrop: the list and the deletion marks; maildrop_lock: one session per maildrop;
// collect(): the message gathered for one INSERT; text_message(): RETR and TOP), so this file is storage only.
//   [plugin.sqlite-store]
//   database = "/var/lib/mailwright/mail.sqlite"   # default: mail.sqlite in [server] state_dir
#include <sqlite3.h>

#include <algorithm>
#include <mailwright/io/offload.hpp>
#include <mailwright/plugin/collect.hpp>
#include <mailwright/plugin/listed_maildrop.hpp>
#include <mailwright/plugin/maildrop_lock.hpp>
#include <mailwright/plugin/message_text.hpp>
#include <stdexcept>

namespace {

using namespace mailwright;

// A connection for one job on the blocking pool (none is shared between threads); another writer is waited for
// up to 5 s. An error throws: an open transaction is rolled back when the connection closes, and the framework
// turns the exception into "try again later" for the client and a log line naming the plugin.
class database {
  public:
    explicit database(const std::string& path) {
        sqlite3* raw = nullptr;
        const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
        db_.reset(raw);  // closed however this ends, even when the open failed
        if (rc != SQLITE_OK) {
            fail();
        }
        sqlite3_busy_timeout(raw, 5000);
    }

    // Runs `sql` with `args` bound to its ?s, calling row(statement) for each row it yields.
    template <class Row = void (*)(sqlite3_stmt*)>
    void run(
        const char* sql, std::initializer_list<std::string_view> args = {}, Row row = [](sqlite3_stmt*) {}) {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr) != SQLITE_OK) {
            fail();
        }
        const std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> statement(raw, sqlite3_finalize);
        int at = 0;
        for (const auto arg : args) {
            sqlite3_bind_text(raw, ++at, arg.data(), static_cast<int>(arg.size()), SQLITE_TRANSIENT);
        }
        int rc = SQLITE_ROW;
        while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
            row(raw);
        }
        if (rc != SQLITE_DONE) {
            fail();
        }
    }

  private:
    [[noreturn]] void fail() { throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_.get())); }
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> db_{nullptr, sqlite3_close};
};

std::string column(sqlite3_stmt* row, int index) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(row, index));
    return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(row, index))) : std::string();
}

// One POP3 session's maildrop: the rows listed at open(), numbered from 1 in id order. A message's id is its
// UIDL (AUTOINCREMENT never hands out an id twice).
class sqlite_drop final : public plugin::listed_maildrop {
  public:
    sqlite_drop(std::string path, plugin::maildrop_lock lock, std::vector<plugin::message_info> list)
        : listed_maildrop(std::move(list)), path_(std::move(path)), lock_(std::move(lock)) {}

    asio::awaitable<plugin::open_message_result> open_message(std::size_t index,
                                                              std::optional<std::size_t> body_lines) override {
        auto work = [path = path_, id = messages().at(index).uid] {
            std::optional<std::string> text;
            database(path).run("SELECT text FROM messages WHERE id = ?", {id},
                               [&](sqlite3_stmt* row) { text = column(row, 0); });
            return text;
        };
        auto text = co_await io::offload(std::move(work));
        if (!text) {
            co_return plugin::open_message_result{plugin::store_status::not_found, nullptr};
        }
        co_return plugin::text_message(std::move(*text), body_lines);  // the whole text, or TOP's part
    }

  protected:
    // POP3 UPDATE: the marked messages go, in one transaction.
    asio::awaitable<plugin::store_status> remove(std::vector<std::size_t> indexes) override {
        std::vector<std::string> ids;
        for (const auto index : indexes) {
            ids.push_back(messages()[index].uid);
        }
        auto work = [path = path_, ids = std::move(ids)] {
            database db(path);
            db.run("BEGIN IMMEDIATE");
            for (const auto& id : ids) {
                db.run("DELETE FROM messages WHERE id = ?", {id});
            }
            db.run("COMMIT");
            return plugin::store_status::ok;
        };
        const auto status = co_await io::offload(std::move(work));
        co_return status;
    }

  private:
    std::string path_;
    plugin::maildrop_lock lock_;  // held until the session ends
};

class sqlite_store final : public plugin::mailstore {
  public:
    void init(plugin::settings& config, plugin::host_view& host) override {
        path_ = config.string("database").value_or(host.state_dir() + "/mail.sqlite");
        if (host.checking()) {
            return;  // --check-config makes nothing; a start makes the database
        }
        database(path_).run(
            "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL,"
            " size INTEGER NOT NULL, text TEXT NOT NULL)");
    }

    asio::awaitable<plugin::open_result> open(std::string_view user) override {
        if (user.empty() || user.find('/') != std::string_view::npos) {
            co_return plugin::open_result{plugin::store_status::not_found, nullptr};  // no lock file for it
        }
        auto work = [path = path_, user = std::string(user)]() -> plugin::open_result {
            plugin::maildrop_lock lock(path + ".lock-" + user);  // another session, here or elsewhere: in_use
            if (!lock.held()) {
                return {lock.status(), nullptr};
            }
            std::vector<plugin::message_info> list;
            database(path).run("SELECT id, size FROM messages WHERE user = ? ORDER BY id", {user},
                               [&](sqlite3_stmt* row) {
                                   list.push_back({column(row, 0), std::uint64_t(sqlite3_column_int64(row, 1))});
                               });
            return {plugin::store_status::ok, std::make_unique<sqlite_drop>(path, std::move(lock), std::move(list))};
        };
        auto result = co_await io::offload(std::move(work));
        co_return result;
    }

    // The message arrives whole in `text`; one transaction stores it for every mailbox wanted (a user named twice
    // gets one copy), and COMMIT returns once it is on disk (synchronous=FULL, SQLite's default): only then do
    // the recipients hear that it was accepted.
    asio::awaitable<std::unique_ptr<plugin::delivery>> begin(std::span<const std::string> users,
                                                             const plugin::envelope*) override {
        co_return plugin::collect([path = path_, users = std::vector<std::string>(users.begin(), users.end())](
                                      std::string text,
                                      const std::vector<bool>& wanted) -> asio::awaitable<plugin::delivery_result> {
            auto work = [&] {
                const auto size = std::to_string(plugin::pop3_size(text));  // with the CRLF POP3 adds if it lacks one
                database db(path);
                db.run("BEGIN IMMEDIATE");
                for (std::size_t i = 0; i < users.size(); ++i) {
                    if (wanted[i] && std::find(users.begin(), users.begin() + i, users[i]) == users.begin() + i) {
                        db.run("INSERT INTO messages (user, size, text) VALUES (?, ?, ?)", {users[i], size, text});
                    }
                }
                db.run("COMMIT");  // nothing stored before this, everything after it
                return plugin::delivery_result::all(users.size(), plugin::reply::accept());
            };
            auto result = co_await io::offload(std::move(work));
            co_return result;
        });
    }

  private:
    std::string path_;
};

}  // namespace

MAILWRIGHT_PLUGIN("sqlite-store", "mailstore", "1.0", sqlite_store)
