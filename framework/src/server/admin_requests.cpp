// admin_requests: the administrator's questions, posted to each worker and answered by a bounded wait.
#include "admin_requests.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <future>
#include <iterator>
#include <memory>

namespace mailwright::server::detail {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// How long the caller waits for the workers' answers: long enough for a busy loop, short enough for a person.
constexpr std::chrono::seconds answer_wait{2};
// A kicked session that has not ended this long after it was asked to stop is closed. Whether it has is
// looked at every kick_poll, so a kick keeps a stopping worker busy no longer than the session itself.
constexpr std::chrono::seconds kick_grace{5};
constexpr std::chrono::milliseconds kick_poll{100};

// Asks every running worker `question` on its own thread; the answers that came in time. The question is
// copied to each worker and must own what it uses: the caller may be gone by the time a late worker runs it.
template <class Answer>
std::vector<Answer> ask(std::unique_lock<std::mutex> alive, const std::vector<worker_sessions>& workers,
                        const std::function<Answer(const worker_sessions&)>& question) {
    std::vector<std::future<Answer>> pending;
    for (const worker_sessions& w : workers) {
        if (w.context->stopped()) {
            continue;  // its sessions are over, and a post would never run
        }
        auto promise = std::make_shared<std::promise<Answer>>();
        pending.push_back(promise->get_future());
        asio::post(*w.context, [promise, question, w] {
            try {
                promise->set_value(question(w));
            } catch (...) {  // never out of the handler: that would end the worker's loop
                promise->set_exception(std::current_exception());
            }
        });
    }
    alive.unlock();
    const auto deadline = std::chrono::steady_clock::now() + answer_wait;
    std::vector<Answer> answers;
    for (auto& answer : pending) {
        if (answer.wait_until(deadline) != std::future_status::ready) {
            spdlog::warn("a worker did not answer the administrator within {} s", answer_wait.count());
            continue;
        }
        try {
            answers.push_back(answer.get());
        } catch (const std::exception& e) {  // broken_promise: the worker ended before it answered
            spdlog::debug("a worker did not answer the administrator: {}", e.what());
        }
    }
    return answers;
}

// After a kick, on the worker's loop: closes the sessions among `ids` still open after kick_grace.
asio::awaitable<void> close_unless_ended(worker_sessions w, std::vector<std::uint64_t> ids) {
    asio::steady_timer timer(*w.context);
    const auto deadline = std::chrono::steady_clock::now() + kick_grace;
    for (;;) {
        std::vector<session*> open;
        for (session* s : *w.sessions) {
            if (std::find(ids.begin(), ids.end(), s->id()) != ids.end()) {
                open.push_back(s);
            }
        }
        if (open.empty()) {
            co_return;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            for (session* s : open) {
                spdlog::info("{} did not end within {} s of a kick; connection closed", s->log_prefix(),
                             kick_grace.count());
                s->stream().close();
            }
            co_return;
        }
        timer.expires_after(kick_poll);
        const auto waited = co_await timer.async_wait(use_tuple);
        (void)waited;
    }
}

}  // namespace

std::vector<session_summary> list_sessions(std::unique_lock<std::mutex> alive,
                                           const std::vector<worker_sessions>& workers) {
    const std::function<std::vector<session_summary>(const worker_sessions&)> list = [](const worker_sessions& w) {
        const auto now = std::chrono::steady_clock::now();
        std::vector<session_summary> found;
        for (const session* s : *w.sessions) {
            found.push_back({.id = s->id(),
                             .listener = s->info().listener,
                             .peer = s->info().peer,
                             .user = s->user(),
                             .state = s->state(),
                             .age = std::chrono::duration_cast<std::chrono::milliseconds>(now - s->started())});
        }
        return found;
    };
    std::vector<session_summary> all;
    for (auto& some : ask(std::move(alive), workers, list)) {
        all.insert(all.end(), std::make_move_iterator(some.begin()), std::make_move_iterator(some.end()));
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return all;
}

std::size_t kick_sessions(std::unique_lock<std::mutex> alive, const std::vector<worker_sessions>& workers,
                          std::function<bool(const session&)> match) {
    const std::function<std::size_t(const worker_sessions&)> kick = [match](const worker_sessions& w) {
        std::vector<std::uint64_t> ids;
        for (session* s : *w.sessions) {
            if (match(*s)) {
                spdlog::info("{} kicked by the administrator", s->log_prefix());
                s->request_stop();
                ids.push_back(s->id());
            }
        }
        const std::size_t count = ids.size();
        if (count != 0) {
            // Nothing it does may end the worker's loop: an exception from it (out of memory) is dropped.
            asio::co_spawn(*w.context, close_unless_ended(w, std::move(ids)), [](const std::exception_ptr&) {});
        }
        return count;
    };
    std::size_t count = 0;
    for (const std::size_t n : ask(std::move(alive), workers, kick)) {
        count += n;
    }
    return count;
}

}  // namespace mailwright::server::detail
