// The compute pool: admission (places for threads + queue jobs, and a first-come-first-served list of callers
// waiting for one), the threads, and the count that lets the plugin host unload a library safely.
//
// Theory of operation. `admitted` counts the places taken (jobs queued or running, and places handed to a
// waiter that has not posted its job yet); it never exceeds threads + queue. A caller that finds no place
// joins `waiters` with a timer on its own executor and waits on it until its deadline. A job that ends hands
// its place to the first waiter (marks it granted, under the mutex) and posts a cancel of its timer to the
// waiter's executor (a timer is not thread-safe); with no waiter the place goes back. The waiter wakes
// either way, takes the mutex and looks: granted, it has the place; not, it leaves the list and is busy. A
// waiter whose coroutine is destroyed while it waits (a forced shutdown) leaves the list, or gives back a
// place it was granted, from its destructor.
#include "mailwright/io/compute.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

#include "mailwright/metrics/instruments.hpp"

namespace mailwright::io {

namespace {
struct waiter {
    explicit waiter(const asio::any_io_executor& executor) : timer(executor) {}
    asio::steady_timer timer;
    bool granted = false;  // guarded by the pool's mutex
};

thread_local const void* current_pool = nullptr;  // the pool whose thread this is, if any

// How much lower than the rest of the process a compute thread runs (setpriority(2) of the thread: on Linux
// a nice value is each thread's own). CPU work can wait for the event loops and the blocking pool, but they
// cannot wait for it: when both want the cores, a worker woken by a client gets one at once, and the hashes
// take what is left; when nothing else runs, the hashes take the cores whole. 10 is a weight of 110 against a
// normal thread's 1024 (the kernel's sched_prio_to_weight): about a tenth of a core each while the rest of the
// daemon keeps the cores busy, so logins slow down under a delivery flood but are never starved.
constexpr int compute_nice = 10;

void lower_this_thread() noexcept {
    thread_local bool lowered = false;
    if (!lowered) {
        lowered = true;
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), compute_nice);  // best effort
    }
}

// The default leaves a core to the event loops and the blocking pool: on two cores, two hashing threads kept
// the deliveries' p99 at 9-35 ms during a flood of uncached yescrypt logins, one at 6-7 ms (docs/performance.md).
unsigned thread_count(unsigned configured) {
    const unsigned cores = std::thread::hardware_concurrency();
    return configured != 0 ? configured : (cores > 1 ? cores - 1 : 1u);
}
}  // namespace

struct compute_pool::state {
    explicit state(const compute_options& o)
        : threads(thread_count(o.threads)), queue_limit(o.queue), wait(o.wait), pool(threads) {}

    const unsigned threads;
    const std::size_t queue_limit;
    const std::chrono::milliseconds wait;

    mutable std::mutex mutex;
    std::condition_variable idle;
    std::size_t admitted = 0;   // places taken
    std::size_t in_flight = 0;  // jobs posted and not yet done
    std::size_t running = 0;
    std::uint64_t refused = 0;
    std::list<std::shared_ptr<waiter>> waiters;

    asio::thread_pool pool;

    std::size_t capacity() const { return threads + queue_limit; }

    // A place is free again: to the first waiter, or back to the pool. Called with the mutex held.
    void release_locked() {
        if (waiters.empty()) {
            --admitted;
            return;
        }
        auto next = std::move(waiters.front());
        waiters.pop_front();
        next->granted = true;
        auto executor = next->timer.get_executor();
        asio::post(executor, [next = std::move(next)] { next->timer.cancel(); });
    }
};

compute_pool::compute_pool(const compute_options& options) : state_(std::make_shared<state>(options)) {}

compute_pool::~compute_pool() {
    wait_idle();
    state_->pool.join();
}

namespace {
// Leaves the waiting list when the waiting coroutine ends without having looked (destroyed while suspended),
// giving back a place granted meanwhile.
template <class State>
struct waiting_entry {
    State& s;
    std::shared_ptr<waiter> w;
    bool settled = false;
    ~waiting_entry() {
        if (settled) {
            return;
        }
        std::lock_guard lock(s.mutex);
        if (w->granted) {
            s.release_locked();
        } else {
            s.waiters.remove(w);
        }
    }
};
}  // namespace

asio::awaitable<bool> compute_pool::admit() {
    auto keep = state_;  // a waiting coroutine may outlive the pool object (a test's)
    auto& s = *keep;
    const auto executor = co_await asio::this_coro::executor;
    std::shared_ptr<waiter> w;
    {
        std::lock_guard lock(s.mutex);
        if (s.admitted < s.capacity()) {
            ++s.admitted;
            co_return true;
        }
        if (s.wait.count() <= 0) {
            ++s.refused;
            metrics::count_compute_refused();
            co_return false;
        }
        w = std::make_shared<waiter>(executor);
        s.waiters.push_back(w);
    }
    waiting_entry<state> entry{s, w};
    w->timer.expires_after(s.wait);
    std::error_code ignored;  // expired, or cancelled by a grant: the list says which
    co_await w->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    std::lock_guard lock(s.mutex);
    entry.settled = true;
    if (w->granted) {
        co_return true;
    }
    s.waiters.remove(w);
    ++s.refused;
    metrics::count_compute_refused();
    co_return false;
}

void compute_pool::post(std::unique_ptr<detail::blocking_job> job) {
    {
        std::lock_guard lock(state_->mutex);
        ++state_->in_flight;
    }
    asio::post(state_->pool, [s = state_, job = std::move(job)]() mutable {
        current_pool = s.get();
        lower_this_thread();
        {
            std::lock_guard lock(s->mutex);
            ++s->running;
        }
        job->run();
        job.reset();  // the caller's code ends here; from now on only ours runs
        std::lock_guard lock(s->mutex);
        --s->running;
        --s->in_flight;
        s->release_locked();
        if (s->in_flight == 0) {
            s->idle.notify_all();
        }
    });
}

void compute_pool::wait_idle() {
    if (current_pool == state_.get()) {
        return;  // a pool thread waiting for the pool would wait for itself
    }
    std::unique_lock lock(state_->mutex);
    state_->idle.wait(lock, [this] { return state_->in_flight == 0; });
}

compute_load compute_pool::load() const noexcept {
    std::lock_guard lock(state_->mutex);
    compute_load l;
    l.running = state_->running;
    l.queued = state_->in_flight - state_->running;
    l.waiting = state_->waiters.size();
    l.refused = state_->refused;
    l.threads = state_->threads;
    l.queue_limit = state_->queue_limit;
    return l;
}

namespace {
std::mutex options_mutex;
compute_options configured;
std::atomic<compute_pool*> made{nullptr};
}  // namespace

void set_compute_options(const compute_options& options) noexcept {
    std::lock_guard lock(options_mutex);
    configured = options;
}

compute_pool& process_compute_pool() {
    // Never destroyed: a job may still end while the process exits, whatever the order of static destruction.
    static compute_pool* const pool = [] {
        std::lock_guard lock(options_mutex);
        auto* p = new compute_pool(configured);
        made = p;
        return p;
    }();
    return *pool;
}

void wait_compute_idle() {
    if (auto* p = made.load()) {
        p->wait_idle();
    }
}

compute_load compute_pool_load() noexcept {
    if (auto* p = made.load()) {
        return p->load();
    }
    std::lock_guard lock(options_mutex);
    compute_load l;
    l.threads = thread_count(configured.threads);
    l.queue_limit = configured.queue;
    return l;
}

}  // namespace mailwright::io
