// pool.hpp: connections per worker thread, the queue of those waiting for one, and the back-off.
#include "mailwright/pgclient/pool.hpp"

#include <spdlog/spdlog.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <deque>
#include <map>
#include <vector>

namespace mailwright::pgclient {

namespace {
std::atomic<std::uint64_t> next_pool_id{1};
}  // namespace

// One worker thread's connections of one pool. Used only on that thread.
class worker_pool : public std::enable_shared_from_this<worker_pool> {
  public:
    worker_pool(std::shared_ptr<const setup> s, std::weak_ptr<const bool> alive)
        : setup_(std::move(s)),
          alive_(std::move(alive)),
          backoff_(setup_->settings.reconnect_min, setup_->settings.reconnect_max) {}

    bool orphaned() const noexcept { return alive_.expired(); }
    asio::awaitable<lease> acquire(bool guarded);
    void give_back(std::unique_ptr<connection> c, bool close) noexcept;

  private:
    // An acquire() waiting for a connection to come back; lives in its coroutine's frame.
    struct waiter {
        waiter(const asio::any_io_executor& e, std::deque<waiter*>& q) : timer(e), queue(q) {}
        ~waiter() { std::erase(queue, this); }  // also when its coroutine is destroyed while it waits
        waiter(const waiter&) = delete;
        waiter& operator=(const waiter&) = delete;
        asio::steady_timer timer;
        std::deque<waiter*>& queue;
        std::unique_ptr<connection> handed;  // a connection given to it
        bool woken = false;                  // woken without one: a place became free
    };
    asio::awaitable<lease> open_one(bool guarded);
    asio::awaitable<bool> wait_turn(waiter& w, clock::time_point deadline);
    void wake_first(std::unique_ptr<connection> c) noexcept;

    std::shared_ptr<const setup> setup_;
    std::weak_ptr<const bool> alive_;
    std::vector<std::unique_ptr<connection>> idle_;
    std::size_t open_ = 0;  // idle, leased and connecting
    std::deque<waiter*> waiters_;
    backoff backoff_;
    clock::time_point last_failure_{};
    std::string last_error_;
};

namespace {

// This thread's worker pools, by pool id. Destroyed when the thread ends, closing the connections (which hold
// nothing of the thread's event loop, so it may be gone by then: connection.hpp).
thread_local std::map<std::uint64_t, std::shared_ptr<worker_pool>> pools_here;

}  // namespace

asio::awaitable<lease> worker_pool::acquire(bool guarded) {
    const auto deadline = clock::now() + setup_->settings.query_timeout;
    for (;;) {
        while (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            if (c->still_open()) {
                co_return lease(std::move(c), shared_from_this(), guarded);
            }
            --open_;  // closed by the server meanwhile (restarted?): dropped
        }
        if (open_ < setup_->settings.pool_size) {
            co_return co_await open_one(guarded);
        }
        if (guarded) {
            co_return lease();  // full: a guarded user never waits
        }
        const auto executor = co_await asio::this_coro::executor;
        waiter w(executor, waiters_);
        const bool turn = co_await wait_turn(w, deadline);
        if (w.handed) {
            co_return lease(std::move(w.handed), shared_from_this());
        }
        if (!turn) {
            co_return lease(fmt::format("all {} connections of this worker stayed busy for query_timeout ({} ms)",
                                        setup_->settings.pool_size, setup_->settings.query_timeout.count()));
        }
    }
}

// Queued until a connection is handed over or a place freed (true), or `deadline` (false).
asio::awaitable<bool> worker_pool::wait_turn(waiter& w, clock::time_point deadline) {
    waiters_.push_back(&w);
    w.timer.expires_at(deadline);
    co_await w.timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    std::erase(waiters_, &w);
    co_return w.handed != nullptr || w.woken;
}

asio::awaitable<lease> worker_pool::open_one(bool guarded) {
    const auto now = clock::now();
    if (!backoff_.may_try(now)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(backoff_.not_before() - now);
        co_return lease(fmt::format("database unavailable ({}); next try in {} ms", last_error_, left.count()));
    }
    ++open_;
    auto c = std::make_unique<connection>(setup_);
    auto opened = co_await c->open();
    if (opened.ok()) {
        if (backoff_.delay().count() != 0) {
            spdlog::info("{} connected to the database again", setup_->log_name);
        }
        backoff_.succeeded();
        co_return lease(std::move(c), shared_from_this(), guarded);
    }
    --open_;
    c.reset();
    // Connections tried at the same time fail together: one failure, one step of the back-off.
    if (now >= last_failure_) {
        backoff_.failed(clock::now());
        last_failure_ = clock::now();
        spdlog::warn("{} cannot connect to the database: {}; next try in {} ms", setup_->log_name, opened.error(),
                     backoff_.delay().count());
    }
    last_error_ = opened.error();
    wake_first(nullptr);  // a place is free again
    co_return lease(opened.error());
}

void worker_pool::wake_first(std::unique_ptr<connection> c) noexcept {
    if (waiters_.empty()) {
        return;
    }
    waiter* w = waiters_.front();
    waiters_.pop_front();
    w->handed = std::move(c);
    w->woken = true;
    w->timer.cancel();
}

void worker_pool::give_back(std::unique_ptr<connection> c, bool close) noexcept {
    // A broken connection, or one inside a transaction (its statements failed, or the lease ended early), or
    // one its guarded lease never marked clean, is closed: the next user must find a clean session.
    if (close || !c->usable() || c->in_transaction() || orphaned()) {
        c.reset();
        --open_;
        wake_first(nullptr);
        return;
    }
    if (!waiters_.empty()) {
        wake_first(std::move(c));
        return;
    }
    idle_.push_back(std::move(c));
}

lease::lease(std::unique_ptr<connection> c, std::shared_ptr<worker_pool> owner, bool guarded) noexcept
    : connection_(std::move(c)), owner_(std::move(owner)), guarded_(guarded) {}

lease& lease::operator=(lease&& other) noexcept {
    if (this != &other) {
        give_back();
        connection_ = std::move(other.connection_);
        owner_ = std::move(other.owner_);
        error_ = std::move(other.error_);
        guarded_ = other.guarded_;
    }
    return *this;
}

lease::~lease() { give_back(); }

void lease::give_back() noexcept {
    if (connection_ && owner_) {
        owner_->give_back(std::move(connection_), guarded_);
    }
    connection_.reset();
    owner_.reset();
}

pool::pool(pgclient::setup s)
    : setup_(std::make_shared<const pgclient::setup>(std::move(s))), id_(next_pool_id.fetch_add(1)) {}

pool::~pool() = default;

asio::awaitable<lease> pool::acquire() {
    auto mine = here();
    co_return co_await mine->acquire(false);
}

asio::awaitable<lease> pool::acquire_guarded() {
    auto mine = here();
    co_return co_await mine->acquire(true);
}

std::shared_ptr<worker_pool> pool::here() {
    auto found = pools_here.find(id_);
    if (found == pools_here.end()) {
        std::erase_if(pools_here, [](const auto& entry) { return entry.second->orphaned(); });
        found = pools_here.emplace(id_, std::make_shared<worker_pool>(setup_, alive_)).first;
    }
    return found->second;
}

}  // namespace mailwright::pgclient
