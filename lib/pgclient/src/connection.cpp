// connection.hpp: libpq's asynchronous API on an Asio event loop.
#include "mailwright/pgclient/connection.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <fmt/format.h>
#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace mailwright::pgclient {

namespace {

std::string message_of(const pg_conn* conn) {
    std::string s = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.pop_back();
    }
    for (auto& c : s) {
        c = c == '\n' ? ' ' : c;
    }
    return s.empty() ? "connection failed" : s;
}

// The arrays PQsendQueryPrepared and PQsendQueryParams take.
struct param_arrays {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;

    explicit param_arrays(std::span<const param> params) {
        for (const auto& p : params) {
            values.push_back(p.null ? nullptr : p.value.data());
            lengths.push_back(static_cast<int>(p.value.size()));
            formats.push_back(p.binary ? 1 : 0);
        }
    }
};

// A text parameter must be NUL-terminated for libpq (it ignores the length of text values): copies them so.
std::vector<std::string> terminated_texts(std::span<const param> params, std::vector<param>& out) {
    std::vector<std::string> copies;
    copies.reserve(params.size());
    for (const auto& p : params) {
        if (!p.binary && !p.null) {
            copies.emplace_back(p.value);
            out.push_back(param::text(copies.back()));
        } else {
            copies.emplace_back();
            out.push_back(p);
        }
    }
    return copies;
}

}  // namespace

connection::connection(std::shared_ptr<const setup> shared) : setup_(std::move(shared)) {}

connection::~connection() { close(); }

void connection::close() noexcept {
    if (conn_ != nullptr) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
}

bool connection::ready_now(direction d) const noexcept {
    pollfd p{PQsocket(conn_), static_cast<short>(d == direction::read ? POLLIN : POLLOUT), 0};
    return p.fd >= 0 && ::poll(&p, 1, 0) > 0;
}

// Waits until the socket is ready in direction `d`, or `deadline` passes (false).
asio::awaitable<bool> connection::wait(direction d, clock::time_point deadline) {
    if (ready_now(d)) {
        co_return true;
    }
    if (PQsocket(conn_) < 0 || clock::now() >= deadline) {
        co_return false;
    }
    const auto executor = co_await asio::this_coro::executor;
    asio::posix::stream_descriptor socket(executor);
    std::error_code failed;
    socket.assign(PQsocket(conn_), failed);
    if (failed) {
        co_return false;
    }
    // libpq's socket is given back, never closed, however this wait ends (also when its coroutine is destroyed).
    struct give_back {
        asio::posix::stream_descriptor& socket;
        ~give_back() {
            if (socket.is_open()) {
                socket.release();
            }
        }
    } guard{socket};
    // The timer's handler may run after this wait has ended (both became ready in the same turn of the loop):
    // it cancels the socket only while this wait is still on.
    struct state {
        bool waiting = true;
        bool expired = false;
    };
    auto s = std::make_shared<state>();
    asio::steady_timer timer(executor, deadline);
    timer.async_wait([s, watched = &socket](std::error_code ec) {
        if (!ec && s->waiting) {
            s->expired = true;
            std::error_code ignored;
            watched->cancel(ignored);
        }
    });
    const auto type =
        d == direction::read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write;
    auto [ec] = co_await socket.async_wait(type, asio::experimental::as_tuple(asio::use_awaitable));
    s->waiting = false;
    timer.cancel();
    co_return !ec && !s->expired;
}

asio::awaitable<result> connection::open() {
    const auto deadline = clock::now() + setup_->settings.connect_timeout;
    close();
    broken_ = false;
    conn_ = PQconnectStart(setup_->settings.conninfo.c_str());
    if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
        co_return lost("connecting");
    }
    // Before the first PQconnectPoll, libpq's documentation says to act as if it had returned WRITING.
    auto step = PGRES_POLLING_WRITING;
    while (step != PGRES_POLLING_OK) {
        if (step == PGRES_POLLING_FAILED) {
            co_return lost("connecting");
        }
        const bool ready = co_await wait(step == PGRES_POLLING_READING ? direction::read : direction::write, deadline);
        if (!ready) {
            broken_ = true;
            close();
            co_return result::failure(status::tempfail, fmt::format("no connection within connect_timeout ({} ms)",
                                                                    setup_->settings.connect_timeout.count()));
        }
        step = PQconnectPoll(conn_);
    }
    if (PQsetnonblocking(conn_, 1) != 0) {
        co_return lost("connecting");
    }
    prepared_.assign(setup_->statements.size(), false);
    co_return result::failure(status::ok, {});
}

bool connection::usable() const noexcept { return conn_ != nullptr && !broken_ && PQstatus(conn_) == CONNECTION_OK; }

bool connection::in_transaction() const noexcept {
    return conn_ != nullptr && PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

bool connection::still_open() noexcept {
    if (!usable()) {
        return false;
    }
    // A server that ends the session (a restart) sends a FATAL message, then closes the socket: two reads, and
    // only the second sees the close. Read while something is waiting (bounded: an idle session gets little).
    for (int reads = 0; reads < 4 && usable() && ready_now(direction::read); ++reads) {
        if (PQconsumeInput(conn_) == 0) {
            broken_ = true;
        }
    }
    // A notice or a FATAL message read here has no statement to go with: whatever came, the status says it.
    return usable() && !PQisBusy(conn_);
}

result connection::lost(std::string_view doing) {
    auto r = result::failure(status::tempfail, fmt::format("{}: {}", doing, message_of(conn_)));
    broken_ = true;
    close();
    return r;
}

// Sends what libpq has buffered, then reads every result of the statement sent; the first error is the
// answer (a statement gives one result; an error ends it).
asio::awaitable<result> connection::collect(clock::time_point deadline) {
    for (int flushed = PQflush(conn_); flushed != 0; flushed = PQflush(conn_)) {
        if (flushed < 0) {
            co_return lost("sending");
        }
        const bool ready = co_await wait(direction::write, deadline);
        if (!ready) {
            broken_ = true;
            co_return result::failure(status::tempfail, "timed out sending");
        }
    }
    result answer;
    bool answered = false;
    for (;;) {
        if (PQconsumeInput(conn_) == 0) {
            co_return lost("receiving");
        }
        while (PQisBusy(conn_) == 0) {
            PGresult* r = PQgetResult(conn_);
            if (r == nullptr) {
                co_return answered ? std::move(answer) : result::failure(status::tempfail, "no result");
            }
            result next(r);
            if (!answered || answer.ok()) {
                answer = std::move(next);
            }
            answered = true;
        }
        const bool ready = co_await wait(direction::read, deadline);
        if (!ready) {
            broken_ = true;
            co_return result::failure(status::tempfail, fmt::format("no answer within query_timeout ({} ms)",
                                                                    setup_->settings.query_timeout.count()));
        }
    }
}

asio::awaitable<result> connection::prepare(std::size_t index, clock::time_point deadline) {
    const auto& s = setup_->statements[index];
    std::vector<Oid> types(static_cast<std::size_t>(s.params), 0);
    std::copy_n(s.types.begin(), std::min(s.types.size(), types.size()), types.begin());
    if (PQsendPrepare(conn_, s.name.c_str(), s.sql.c_str(), s.params, types.data()) == 0) {
        co_return lost("preparing " + s.name);
    }
    auto r = co_await collect(deadline);
    if (r.ok()) {
        prepared_[index] = true;
    } else {
        r = result::failure(r.status(), fmt::format("preparing {}: {}", s.name, r.error()), r.sqlstate());
    }
    co_return r;
}

asio::awaitable<result> connection::execute(std::string_view name, std::span<const param> params,
                                            result_format format) {
    const auto& set = setup_->statements;
    std::size_t index = 0;
    while (index < set.size() && set[index].name != name) {
        ++index;
    }
    if (index == set.size() || static_cast<int>(params.size()) != set[index].params) {
        co_return result::failure(status::failed,
                                  fmt::format("no statement {} with {} parameters", name, params.size()));
    }
    if (!usable()) {
        co_return result::failure(status::tempfail, "not connected");
    }
    const auto deadline = clock::now() + setup_->settings.query_timeout;
    if (!prepared_[index]) {
        auto prepared = co_await prepare(index, deadline);
        if (!prepared.ok()) {
            co_return prepared;
        }
    }
    std::vector<param> terminated;
    const auto copies = terminated_texts(params, terminated);
    const param_arrays a(terminated);
    if (PQsendQueryPrepared(conn_, set[index].name.c_str(), static_cast<int>(params.size()), a.values.data(),
                            a.lengths.data(), a.formats.data(), static_cast<int>(format)) == 0) {
        co_return lost("sending " + set[index].name);
    }
    co_return co_await collect(deadline);
}

asio::awaitable<result> connection::run(std::string_view sql, std::span<const param> params, result_format format) {
    if (!usable()) {
        co_return result::failure(status::tempfail, "not connected");
    }
    const auto deadline = clock::now() + setup_->settings.query_timeout;
    const std::string text(sql);
    std::vector<param> terminated;
    const auto copies = terminated_texts(params, terminated);
    const param_arrays a(terminated);
    if (PQsendQueryParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr, a.values.data(),
                          a.lengths.data(), a.formats.data(), static_cast<int>(format)) == 0) {
        co_return lost("sending");
    }
    co_return co_await collect(deadline);
}

}  // namespace mailwright::pgclient
