// pool: see the header.
#include "pool.hpp"

#include <spdlog/spdlog.h>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <map>
#include <vector>

namespace mailwright::forward {

namespace {

using clock = std::chrono::steady_clock;

struct idle_connection {
    std::unique_ptr<smtp::client::session> session;
    clock::time_point since;
};

// This thread's idle connections, by pool. Destroyed when the thread ends, closing them while the thread's
// event loop still exists.
thread_local std::map<std::uint64_t, std::vector<idle_connection>> idle_by_pool;

std::atomic<std::uint64_t> next_pool_id{1};

constexpr auto noop_after = std::chrono::seconds(1);
constexpr auto wait_step = std::chrono::milliseconds(20);

}  // namespace

lease& lease::operator=(lease&& other) noexcept {
    if (this != &other) {
        drop();
        session_ = std::move(other.session_);
        count_ = std::move(other.count_);
    }
    return *this;
}

lease::~lease() { drop(); }

void lease::drop() noexcept {
    if (session_ && count_) {
        count_->fetch_sub(1);
    }
    session_.reset();
}

std::unique_ptr<smtp::client::session> lease::give_back() noexcept {
    if (session_ && count_) {
        count_->fetch_sub(1);
    }
    return std::move(session_);
}

pool::pool(const hop& h) : hop_(h), id_(next_pool_id.fetch_add(1)) {}

// Takes a place under the limit, waiting up to connect_timeout for one; false when none came.
asio::awaitable<bool> pool::wait_for_place() {
    const auto give_up = clock::now() + hop_.client.connect_timeout;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        std::size_t used = count_->load();
        if (used < hop_.max_connections && count_->compare_exchange_weak(used, used + 1)) {
            co_return true;
        }
        if (clock::now() >= give_up) {
            co_return false;
        }
        timer.expires_after(wait_step);
        co_await timer.async_wait(asio::use_awaitable);
    }
}

asio::awaitable<pool::acquired> pool::acquire() {
    const bool placed = co_await wait_for_place();
    if (!placed) {
        spdlog::warn("forward: next hop {}: all {} connections busy", hop_.name, hop_.max_connections);
        co_return acquired{{}, {451, "4.4.5", {"next hop " + hop_.name + " is busy, try again later"}}};
    }
    auto& idle = idle_by_pool[id_];
    while (!idle.empty()) {
        idle_connection candidate = std::move(idle.back());
        idle.pop_back();
        const auto idled = clock::now() - candidate.since;
        if (idled > hop_.idle_timeout) {
            continue;  // closed here: the next hop has likely closed it too
        }
        if (idled > noop_after) {
            const bool alive = co_await candidate.session->alive();
            if (!alive) {
                continue;
            }
        }
        co_return acquired{lease(std::move(candidate.session), count_), {}};
    }
    auto opened = co_await smtp::client::session::open(hop_.address, hop_.client);
    if (!opened.session) {
        count_->fetch_sub(1);
        spdlog::warn("forward: next hop {} ({}) unavailable: {}", hop_.name, hop_.address.to_string(),
                     opened.failure.to_string());
        co_return acquired{{}, std::move(opened.failure)};
    }
    co_return acquired{lease(std::move(opened.session), count_), {}};
}

void pool::release(lease connection) {
    if (!connection || !connection->usable()) {
        return;  // closed by its lease
    }
    auto& idle = idle_by_pool[id_];
    if (idle.size() >= hop_.max_connections) {
        return;
    }
    auto session = connection.give_back();
    session->park();
    idle.push_back({std::move(session), clock::now()});
}

}  // namespace mailwright::forward
