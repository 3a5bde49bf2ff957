// Connections to one next hop, reused across messages: at most hop::max_connections in use at once across the
// whole process (a message that finds them all busy waits up to connect_timeout, then hears a temporary
// failure), and idle ones kept for the next message.
//
// A connection belongs to the worker thread that opened it: its socket is bound to that thread's event loop,
// so idle connections are kept per thread (thread_local, at most max_connections each), and closed when the
// thread ends, while its event loop still exists. Nothing waits on them: no timer keeps a stopping worker
// busy. An idle connection is checked when it is taken again: closed when it idled longer than idle_timeout,
// asked NOOP when it idled more than a second (the next hop may have closed it meanwhile).
#pragma once

#include <asio/awaitable.hpp>
#include <atomic>
#include <cstdint>
#include <memory>

#include "mailwright/smtp/client.hpp"
#include "routes.hpp"

namespace mailwright::forward {

// One connection in use, counted against its hop's limit for as long as it is.
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
    // The connection, no longer counted as in use.
    std::unique_ptr<smtp::client::session> give_back() noexcept;

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
    // A place under the limit, then an idle connection of this thread, or a new one.
    asio::awaitable<acquired> acquire();
    // Back to this thread's idle connections when it can take another transaction; closed otherwise.
    void release(lease connection);
    std::size_t in_use() const noexcept { return count_->load(); }

  private:
    asio::awaitable<bool> wait_for_place();
    const hop& hop_;
    std::uint64_t id_;  // the key of this pool's idle connections in each thread's table
    std::shared_ptr<std::atomic<std::size_t>> count_ = std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace mailwright::forward
