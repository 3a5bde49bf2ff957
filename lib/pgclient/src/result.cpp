// result.hpp: libpq's PGresult as a value, its failures sorted into temporary and not.
#include "mailwright/pgclient/result.hpp"

#include <libpq-fe.h>

#include <charconv>

namespace mailwright::pgclient {

namespace {

std::string one_line(const char* text) {
    std::string s = text != nullptr ? text : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.pop_back();
    }
    for (auto& c : s) {
        c = c == '\n' ? ' ' : c;
    }
    return s;
}

// Whether a server error says "not now" rather than "never": connection exceptions (08), insufficient
// resources (53), operator intervention (57: shutting down, cancelled), system errors (58), and serialization
// failures and deadlocks (40), which a retry resolves.
bool temporary(std::string_view sqlstate) {
    for (const auto* cls : {"08", "53", "57", "58", "40"}) {
        if (sqlstate.starts_with(cls)) {
            return true;
        }
    }
    return sqlstate.empty();
}

}  // namespace

void result::clear::operator()(pg_result* r) const noexcept { PQclear(r); }

result::result(pg_result* r, std::string message) : result_(r) {
    if (r == nullptr) {
        message_ = message.empty() ? "no result" : one_line(message.c_str());
        return;
    }
    switch (PQresultStatus(r)) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_SINGLE_TUPLE:
            status_ = status::ok;
            message_.clear();
            return;
        default:
            break;
    }
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    sqlstate_ = state != nullptr ? state : "";
    message_ = one_line(PQresultErrorMessage(r));
    if (message_.empty()) {
        message_ = one_line(PQresStatus(PQresultStatus(r)));
    }
    status_ = temporary(sqlstate_) ? status::tempfail : status::failed;
}

result result::failure(pgclient::status s, std::string message, std::string sqlstate) {
    result r;
    r.status_ = s;
    r.message_ = one_line(message.c_str());
    r.sqlstate_ = std::move(sqlstate);
    return r;
}

int result::rows() const noexcept { return result_ ? PQntuples(result_.get()) : 0; }

int result::columns() const noexcept { return result_ ? PQnfields(result_.get()) : 0; }

bool result::is_null(int row, int column) const noexcept {
    return !result_ || row >= rows() || column >= columns() || PQgetisnull(result_.get(), row, column) != 0;
}

std::string_view result::value(int row, int column) const noexcept {
    if (is_null(row, column)) {
        return {};
    }
    return {PQgetvalue(result_.get(), row, column), static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

std::optional<std::string_view> result::get(int row, int column) const noexcept {
    if (is_null(row, column)) {
        return std::nullopt;
    }
    return value(row, column);
}

std::int64_t result::affected() const noexcept {
    if (!result_) {
        return 0;
    }
    const std::string_view text = PQcmdTuples(result_.get());
    std::int64_t n = 0;
    std::from_chars(text.data(), text.data() + text.size(), n);
    return n;
}

}  // namespace mailwright::pgclient
