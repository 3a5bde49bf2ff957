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
    lease connection;
    clock::time_point since;
    std::uint64_t token = 0;  // which one the idle timer closes
};

// This thread's idle connections, by pool. Destroyed when the thread ends, closing them while the thread's
// event loop still exists.
thread_local std::map<std::uint64_t, std::vector<idle_connection>> idle_by_pool;

thread_local std::uint64_t next_idle_token = 0;

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

pool::pool(const hop& h) : hop_(h), id_(next_pool_id.fetch_add(1)) {}

asio::awaitable<pool::acquired> pool::acquire() {
    auto& idle = idle_by_pool[id_];
    while (!idle.empty()) {
        idle_connection candidate = std::move(idle.back());
        idle.pop_back();
        const auto idled = clock::now() - candidate.since;
        if (idled > noop_after) {
            const bool alive = co_await candidate.connection->alive();
            if (!alive) {
                continue;
            }
        }
        co_return acquired{std::move(candidate.connection), {}};
    }
    const auto give_up = clock::now() + hop_.client.connect_timeout;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        std::size_t open = count_->load();
        if (open < hop_.max_connections && count_->compare_exchange_weak(open, open + 1)) {
            break;
        }
        if (clock::now() >= give_up) {
            spdlog::warn("forward: next hop {}: all {} connections busy", hop_.name, hop_.max_connections);
            co_return acquired{{}, {451, "4.4.5", {"next hop " + hop_.name + " is busy, try again later"}}};
        }
        timer.expires_after(wait_step);
        co_await timer.async_wait(asio::use_awaitable);
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

void pool::release(lease connection, const asio::any_io_executor& executor) {
    if (!connection || !connection->usable()) {
        return;  // closed by its lease
    }
    const std::uint64_t token = ++next_idle_token;
    idle_by_pool[id_].push_back({std::move(connection), clock::now(), token});
    // Closed after idle_timeout unless taken again: an idle connection counts against the limit, and sessions
    // of other threads may be waiting for one to close.
    auto timer = std::make_shared<asio::steady_timer>(executor, hop_.idle_timeout);
    timer->async_wait([timer, id = id_, token](std::error_code ec) {
        const auto found = idle_by_pool.find(id);
        if (!ec && found != idle_by_pool.end()) {
            std::erase_if(found->second, [token](const idle_connection& c) { return c.token == token; });
        }
    });
}

}  // namespace mailwright::forward
