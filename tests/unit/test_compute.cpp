// The compute pool's bound: threads + queue jobs admitted, a caller beyond them waits (never blocking its
// thread) and is busy once its wait passes, or gets the place a finished job frees; a waiter that goes away
// leaves the line. Jobs block on a gate the test opens, so nothing here depends on timing but the waits
// meant to pass.
#include "mailwright/io/compute.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>

#include "support.hpp"

using namespace mailwright;
using namespace std::chrono_literals;

namespace {

// What a job waits for before it returns; opened by the test. Bounded: a broken test ends after a minute.
struct gate {
    std::promise<void> open_promise;
    std::shared_future<void> opened = open_promise.get_future().share();
    void open() { open_promise.set_value(); }
    auto job(int value) {
        return [f = opened, value] {
            f.wait_for(60s);
            return value;
        };
    }
};

// A compute() call spawned on `io`, and what it answered: empty while it runs, -1 for busy.
struct call {
    std::optional<int> answer;
    template <class F>
    void spawn(asio::io_context& io, io::compute_pool& pool, F work) {
        auto task = [](io::compute_pool& p, F w) -> asio::awaitable<int> {
            auto done = co_await io::compute(p, std::move(w));
            co_return done.busy() ? -1 : *done;
        };
        asio::co_spawn(io, task(pool, std::move(work)), [this](std::exception_ptr, int v) { answer = v; });
    }
};

// Runs handlers one at a time until `done` says so (each run_one() waits for the next one), at most `limit`.
template <class Done>
void run_until(asio::io_context& io, Done done, int limit = 1000) {
    for (int i = 0; i < limit && !done(); ++i) {
        io.run_one();
    }
}

}  // namespace

// Every test's io_context outlives its pool: a pool thread ends a job by releasing the work it held on the
// caller's io_context (asio's work_finished(), which may stop it), so the context must not be destroyed until
// the pool is idle, as server::run() waits for both pools before it destroys its workers' contexts.

TEST_CASE("A caller finding the compute pool full waits, then is busy when its wait passes", "[compute]") {
    asio::io_context io;
    io::compute_pool pool({.threads = 1, .queue = 1, .wait = 20ms});
    gate g;
    call running, queued, refused;
    running.spawn(io, pool, g.job(1));
    queued.spawn(io, pool, g.job(2));
    refused.spawn(io, pool, g.job(3));
    io.poll();
    auto load = pool.load();
    CHECK(load.waiting == 1);
    CHECK(load.running + load.queued == 2);
    CHECK(load.refused == 0);

    run_until(io, [&] { return refused.answer.has_value(); });
    CHECK(refused.answer == -1);
    CHECK_FALSE(running.answer);
    CHECK(pool.load().waiting == 0);
    CHECK(pool.load().refused == 1);

    g.open();
    run_until(io, [&] { return running.answer && queued.answer; });
    CHECK(running.answer == 1);
    CHECK(queued.answer == 2);
    pool.wait_idle();
    CHECK(pool.load().running == 0);
    CHECK(pool.load().queued == 0);
}

TEST_CASE("A waiting caller gets the place a finished job frees", "[compute]") {
    asio::io_context io;
    io::compute_pool pool({.threads = 1, .queue = 0, .wait = 10min});
    gate g;
    call first, waiting;
    first.spawn(io, pool, g.job(1));
    waiting.spawn(io, pool, [] { return 7; });
    io.poll();
    REQUIRE(pool.load().waiting == 1);
    g.open();
    run_until(io, [&] { return first.answer && waiting.answer; });
    CHECK(first.answer == 1);
    CHECK(waiting.answer == 7);
    CHECK(pool.load().refused == 0);
    CHECK(pool.load().waiting == 0);
}

TEST_CASE("With no wait a full compute pool is busy at once", "[compute]") {
    asio::io_context io;
    io::compute_pool pool({.threads = 1, .queue = 0, .wait = 0ms});
    gate g;
    call first, second;
    first.spawn(io, pool, g.job(1));
    second.spawn(io, pool, g.job(2));
    io.poll();
    CHECK(second.answer == -1);
    g.open();
    run_until(io, [&] { return first.answer.has_value(); });
    CHECK(first.answer == 1);
}

TEST_CASE("An exception thrown by compute work reaches the caller and frees the place", "[compute]") {
    asio::io_context io;
    io::compute_pool pool({.threads = 1, .queue = 0, .wait = 0ms});
    auto throws = [&pool]() -> asio::awaitable<int> {
        auto work = []() -> int { throw std::runtime_error("broken"); };
        auto done = co_await io::compute(pool, std::move(work));
        co_return *done;
    };
    std::exception_ptr error;
    asio::co_spawn(io, throws(), [&error](std::exception_ptr e, int) { error = e; });
    io.run();
    REQUIRE(error != nullptr);
    CHECK_THROWS_WITH(std::rethrow_exception(error), "broken");
    pool.wait_idle();  // the place is given back just after the caller hears of the job's end
    auto fine = [&pool]() -> asio::awaitable<int> {
        auto done = co_await io::compute(pool, [] { return 5; });
        co_return done.busy() ? -1 : *done;
    };
    std::optional<int> answer;
    io.restart();
    asio::co_spawn(io, fine(), [&answer](std::exception_ptr, int v) { answer = v; });
    io.run();
    CHECK(answer == 5);
}

TEST_CASE("A caller destroyed while it waits leaves the line", "[compute]") {
    asio::io_context io;
    io::compute_pool pool({.threads = 1, .queue = 0, .wait = 10min});
    gate g;
    call first;
    first.spawn(io, pool, g.job(1));
    io.poll();
    {
        asio::io_context other;  // its coroutines end with it, without being resumed
        call gone;
        gone.spawn(other, pool, [] { return 2; });
        other.poll();
        CHECK(pool.load().waiting == 1);
    }
    CHECK(pool.load().waiting == 0);
    g.open();
    run_until(io, [&] { return first.answer.has_value(); });
    CHECK(first.answer == 1);
    // The place went back to the pool, not to the caller that left.
    auto fine = [&pool]() -> asio::awaitable<int> {
        auto done = co_await io::compute(pool, [] { return 5; });
        co_return done.busy() ? -1 : *done;
    };
    pool.wait_idle();
    std::optional<int> answer;
    io.restart();  // it ran out of work when the first call ended
    asio::co_spawn(io, fine(), [&answer](std::exception_ptr, int v) { answer = v; });
    run_until(io, [&] { return answer.has_value(); });
    CHECK(answer == 5);
}
