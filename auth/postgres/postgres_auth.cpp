// postgres-auth: users, stored passwords, SCRAM keys, certificate mappings and sender ownership in PostgreSQL,
// through lib/pgclient (libpq on the worker's event loop: no thread waits for the database). The queries and
// their defaults are in options.hpp, the tables they fit in contrib/postgres/auth.sql, every key in
// docs/configuration.md.
//
//   [plugin.postgres-auth]
//   conninfo = "host=db.example.org dbname=mail user=mailwright password=..."
//
// A password check fetches the user's row on the event loop, then verifies the password through
// sasl::check_password() (the verified-credentials cache, else the hash on the compute pool), as passwd-file
// does; a compute pool with no place for it is a temporary failure. An unknown user, or one without a password, is
// checked against a stand-in (the stored password of the last known user seen, so the cost is that of the
// kind most users have; a yescrypt hash before any), so the answer and the time are those of a wrong password.
// A database that cannot answer (down, restarting, a statement over query_timeout, a query the server refuses)
// is a temporary failure, never a "no" for a login; the pool reconnects with back-off (lib/pgclient/pool.hpp).
// An ability with no temporary answer (may_act_as) answers no then.
#include <spdlog/spdlog.h>

#include <mailwright/io/compute.hpp>
#include <mailwright/plugin/auth.hpp>
#include <mailwright/sasl/check_password.hpp>
#include <mailwright/sasl/crypto.hpp>
#include <mailwright/sasl/password.hpp>
#include <memory>
#include <mutex>

#include "mailwright/pgclient/pool.hpp"
#include "options.hpp"

namespace {

using namespace mailwright;
using plugin::auth_status;
namespace pg = mailwright::postgres_auth;

constexpr const char* log_name = "plugin=postgres-auth";

// What the user_query said of a login name.
struct user_row {
    auth_status status = auth_status::rejected;  // ok: the user exists (stored may still be empty)
    std::string user;                            // canonical, when ok
    std::string stored;                          // "{SCHEME}data"; empty: no usable password
    std::string message;                         // for the log
};

// A database failure as an answer: a query the server refuses for its data (a name that is not valid UTF-8,
// SQLSTATE class 22) names no user; anything else is "cannot tell now".
auth_status status_of(const pgclient::result& r) {
    if (r.status() == pgclient::status::failed && r.sqlstate().starts_with("22")) {
        return auth_status::rejected;
    }
    if (r.status() == pgclient::status::failed) {
        spdlog::error("{} the database refused a query: {} (SQLSTATE {})", log_name, r.error(), r.sqlstate());
    }
    return auth_status::tempfail;
}

class postgres_auth_plugin final : public plugin::auth_backend,
                                   plugin::secret_provider,
                                   plugin::certificate_mapper,
                                   plugin::authorizer {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        auto o = pg::read_options(config);
        if (!o) {
            return;  // reported where it stands; the daemon does not start
        }
        options_ = std::move(*o);
        pool_ =
            std::make_unique<pgclient::pool>(pgclient::setup{options_.database, pg::statements(options_), log_name});
        stand_in_ = sasl::hash_password(sasl::scheme::yescrypt, sasl::base64_encode(sasl::random_bytes(12)));
        spdlog::info("{} users from PostgreSQL, {} connections per worker", log_name, options_.database.pool_size);
    }

    asio::awaitable<plugin::auth_result> verify_password(std::string_view user, std::string_view password) override {
        auto row = co_await fetch(user);
        if (row.status == auth_status::tempfail) {
            co_return plugin::auth_result{auth_status::tempfail, {}, std::move(row.message)};
        }
        const bool known = row.status == auth_status::ok && !row.stored.empty();
        if (known) {
            set_stand_in(row.stored);
        }
        auto checked = sasl::check_result::mismatch;
        if (known) {
            checked = co_await sasl::check_password(row.user, row.stored, password);
        } else {
            const auto stand_in_hash = stand_in();
            checked = co_await sasl::check_stand_in(user, stand_in_hash, password);
        }
        switch (checked) {
            case sasl::check_result::match:
                co_return plugin::auth_result{auth_status::ok, std::move(row.user), {}};
            case sasl::check_result::busy:
                co_return plugin::auth_result{auth_status::tempfail, {}, "the compute pool is busy"};
            case sasl::check_result::invalid:
                co_return plugin::auth_result{auth_status::rejected, {}, "the stored password is not usable"};
            case sasl::check_result::mismatch:
                break;
        }
        co_return plugin::auth_result{auth_status::rejected, {}, known ? "wrong password" : row.message};
    }

    asio::awaitable<plugin::auth_result> lookup(std::string_view user) override {
        auto row = co_await fetch(user);
        co_return plugin::auth_result{row.status, row.status == auth_status::ok ? row.user : "", row.message};
    }

    plugin::secret_provider* secrets() noexcept override { return this; }
    plugin::certificate_mapper* certificates() noexcept override { return this; }
    plugin::authorizer* authorization() noexcept override { return this; }

    asio::awaitable<plugin::secret_result> stored_secret(std::string_view user, plugin::secret_kind kind) override {
        auto row = co_await fetch(user);
        if (row.status != auth_status::ok || row.stored.empty()) {
            co_return plugin::secret_result{row.status == auth_status::tempfail ? auth_status::tempfail
                                                                                : auth_status::rejected};
        }
        // Deriving SCRAM keys from a plaintext equivalent is PBKDF2: CPU work, on the compute pool.
        auto derive = [stored = std::move(row.stored), kind, name = row.user] {
            return sasl::secret_from(stored, kind, name);
        };
        auto secret = co_await io::compute(std::move(derive));
        if (secret.busy()) {
            co_return plugin::secret_result{auth_status::tempfail};
        }
        if (!*secret) {
            co_return plugin::secret_result{};
        }
        co_return plugin::secret_result{auth_status::ok, std::move(row.user), std::move(**secret)};
    }

    asio::awaitable<plugin::auth_result> map_certificate(const tls::peer_certificate& certificate) override {
        if (!certificate.present || !certificate.verified) {
            co_return plugin::auth_result{auth_status::rejected, {}, "no verified certificate"};
        }
        const auto p = pg::params_of(certificate);
        const pgclient::param params[] = {pgclient::param::text(p.fingerprint), pgclient::param::text(p.common_name),
                                          pgclient::param::text(p.email), pgclient::param::text(p.subject)};
        auto r = co_await query(pg::certificate_statement, params);
        if (!r.ok()) {
            co_return plugin::auth_result{status_of(r), {}, "database: " + r.error()};
        }
        const auto user = r.get(0, 0);
        if (!user || user->empty()) {
            co_return plugin::auth_result{auth_status::rejected, {}, "certificate maps to no user"};
        }
        co_return plugin::auth_result{auth_status::ok, std::string(*user), {}};
    }

    asio::awaitable<bool> may_act_as(std::string_view authenticated, std::string_view requested) override {
        if (authenticated == requested) {
            co_return true;
        }
        const pgclient::param params[] = {pgclient::param::text(authenticated), pgclient::param::text(requested)};
        auto r = co_await query(pg::sender_statement, params);
        if (!r.ok()) {
            status_of(r);
            spdlog::warn("{} cannot tell whether {} may use {}, answering no: {}", log_name, authenticated, requested,
                         r.error());
            co_return false;
        }
        co_return r.rows() > 0;
    }

    void shutdown() noexcept override { pool_.reset(); }

  private:
    // One statement on a connection of this worker; a tempfail result when there is none.
    asio::awaitable<pgclient::result> query(std::string_view statement, std::span<const pgclient::param> params) {
        if (!pool_) {
            co_return pgclient::result::failure(pgclient::status::tempfail, "not configured");
        }
        for (const auto& p : params) {
            if (p.value.find('\0') != std::string_view::npos) {  // libpq would cut a text value there
                co_return pgclient::result::failure(pgclient::status::failed, "a NUL in a parameter", "22021");
            }
        }
        auto db = co_await pool_->acquire();
        auto r = pgclient::result::failure(pgclient::status::tempfail, db.error());
        if (db) {
            auto executed = co_await db->execute(statement, params);
            r = std::move(executed);
        }
        if (r.status() == pgclient::status::tempfail) {
            // The chain keeps only the verdict: the reason is said here.
            spdlog::warn("{} cannot decide now: {}", log_name, r.error());
        }
        co_return r;
    }

    asio::awaitable<user_row> fetch(std::string_view login) {
        const pgclient::param params[] = {pgclient::param::text(login)};
        auto r = co_await query(pg::user_statement, params);
        if (!r.ok()) {
            co_return user_row{status_of(r), {}, {}, "database: " + r.error()};
        }
        if (r.rows() == 0) {
            co_return user_row{auth_status::rejected, {}, {}, "no such user"};
        }
        user_row row{auth_status::ok, std::string(r.get(0, 0).value_or(login)), {}, {}};
        if (r.columns() < 2 || r.is_null(0, 1)) {
            row.message = "the user has no password";
            co_return row;
        }
        auto stored = pg::read_stored(r.value(0, 1), options_.default_scheme);
        if (!stored.problem.empty()) {
            spdlog::error("{} user {}: the stored password cannot be used: {}", log_name, row.user, stored.problem);
            row.message = "the stored password cannot be used";
            co_return row;
        }
        row.stored = std::move(stored.stored);
        co_return row;
    }

    std::string stand_in() {
        std::lock_guard lock(stand_in_mutex_);
        return stand_in_;
    }
    void set_stand_in(const std::string& stored) {
        std::lock_guard lock(stand_in_mutex_);
        if (stand_in_ != stored) {
            stand_in_ = stored;
        }
    }

    pg::options options_;
    std::unique_ptr<pgclient::pool> pool_;
    std::mutex stand_in_mutex_;  // workers share the plugin
    std::string stand_in_;
};

}  // namespace

MAILWRIGHT_PLUGIN("postgres-auth", "auth", "1.0", postgres_auth_plugin)
