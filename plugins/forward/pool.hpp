// Connections to one next hop, reused across messages, at most hop::max_connections open at once (in use or
// idle) across the whole process.
//
// A connection belongs to the worker thread that opened it: its socket is bound to that thread's event loop,
// so idle connections are kept per thread (thread_local), and closed when the thread ends, while its event loop
// still exists. A session never waits for another thread's connection; at the limit it waits for any
// connection to close, up to connect_timeout, then hears a temporary failure.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <atomic>
#include <cstdint>
#include <memory>

#include "mailwright/smtp/client.hpp"
#include "routes.hpp"

namespace mailwright::forward {

// One open connection, counted against its hop's limit for as long as it lives.
class lease {
  public:
    lease() = default;
    lease(std::unique_ptr<smtp::client::session> s, std::shared_ptr<std::atomic<std::size_t>> count)
        : session_(std::move(s)), count_(std::move(count)) {}
    lease(lease&&) noexcept = default;
    lease& operator=(lease&& other) noexcept;
    ~lease();

    explicit operator bool() const noexcept { return session_ != nullptr; }
    smtp::client::session& operator*() const noexcept { return *session_; }
    smtp::client::session* operator->() const noexcept { return session_.get(); }

  private:
    void drop() noexcept;
    std::unique_ptr<smtp::client::session> session_;
    std::shared_ptr<std::atomic<std::size_t>> count_;
};

class pool {
  public:
    explicit pool(const hop& h);  // `h` must outlive the pool

    struct acquired {
        lease connection;             // empty on failure
        smtp::client::reply failure;  // why not
    };
    // An idle connection of this thread (asked NOOP when it idled for more than a second), or a new one.
    asio::awaitable<acquired> acquire();
    // Back to this thread's idle connections when it can take another transaction, until idle_timeout
    // passes (a timer on `executor`, this thread's event loop); closed otherwise.
    void release(lease connection, const asio::any_io_executor& executor);
    std::size_t open_connections() const noexcept { return count_->load(); }

  private:
    const hop& hop_;
    std::uint64_t id_;  // the key of this pool's idle connections in each thread's table
    std::shared_ptr<std::atomic<std::size_t>> count_ = std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace mailwright::forward
