// The administrator's side of a running daemon: the control socket (mailwrightctl) and the metrics endpoint
// are served on a thread of their own, away from the workers, so a slow or stuck admin client never holds a
// mail session up, and a busy worker never keeps an administrator from seeing why.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <thread>

namespace mailwrightd {

class admin_thread {
  public:
    admin_thread() = default;
    admin_thread(const admin_thread&) = delete;
    admin_thread& operator=(const admin_thread&) = delete;
    ~admin_thread() { stop(); }

    // Where the admin services spawn their coroutines; they run once start() is called.
    asio::io_context& context() { return io_; }

    void start() {
        thread_ = std::thread([this] { io_.run(); });
    }
    // Ends every admin coroutine (their sockets close with the io_context's objects) and joins the thread.
    void stop() {
        guard_.reset();
        io_.stop();
        if (thread_.joinable()) {
            thread_.join();
        }
    }

  private:
    asio::io_context io_{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
    std::thread thread_;
};

}  // namespace mailwrightd
