// What a statement gets and gives: parameters (text or binary, or NULL) and a result wrapping libpq's
// PGresult. Errors are values: a result is ok, or failed with a message (and the SQLSTATE when the server
// sent one), and a failure is temporary unless the server rejected the statement itself (status()).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct pg_result;

namespace mailwright::pgclient {

// One statement parameter. The octets are passed as they are: text ones must hold no NUL (libpq reads them up
// to one), binary ones (a bytea, in PostgreSQL's binary format: the octets themselves) may hold anything.
struct param {
    std::string_view value;
    bool binary = false;
    bool null = false;

    static param text(std::string_view v) noexcept { return {v, false, false}; }
    static param bytes(std::string_view v) noexcept { return {v, true, false}; }
    static param null_value() noexcept { return {{}, false, true}; }
};

// How result columns come back: text (the default), or binary (every column in PostgreSQL's binary format: a
// bytea is then its octets, with no hex to decode; other types are their network-order binary forms).
enum class result_format { text = 0, binary = 1 };

enum class status {
    ok,
    tempfail,  // the connection, the server or a deadline failed: the same statement may work later
    failed,    // the server refused the statement (a syntax error, a constraint): it would fail again
};

class result {
  public:
    result() = default;  // failed with tempfail, "no result"
    // Takes ownership of `r` (PQclear()ed with the result); a null `r` is a tempfail with `message`.
    explicit result(pg_result* r, std::string message = {});
    static result failure(status s, std::string message, std::string sqlstate = {});

    bool ok() const noexcept { return status_ == status::ok; }
    pgclient::status status() const noexcept { return status_; }
    // Why not ok (libpq's or the server's message, one line); empty when ok.
    const std::string& error() const noexcept { return message_; }
    const std::string& sqlstate() const noexcept { return sqlstate_; }

    int rows() const noexcept;
    int columns() const noexcept;
    bool is_null(int row, int column) const noexcept;
    // The value's octets (text or binary, as the result format); empty for NULL. Valid as long as the result.
    std::string_view value(int row, int column) const noexcept;
    // The value, or nothing when it is NULL or the cell does not exist.
    std::optional<std::string_view> get(int row, int column) const noexcept;
    // Rows an INSERT, UPDATE or DELETE touched (PQcmdTuples); 0 for others.
    std::int64_t affected() const noexcept;

  private:
    struct clear {
        void operator()(pg_result* r) const noexcept;
    };
    std::unique_ptr<pg_result, clear> result_;
    pgclient::status status_ = status::tempfail;
    std::string message_ = "no result";
    std::string sqlstate_;
};

}  // namespace mailwright::pgclient
