// The administrator's side of a running daemon: the control socket (mailwrightctl) and the metrics endpoint
// are served on a thread of their own, away from the workers, so a slow or stuck admin client never holds a
// mail session up, and a busy worker never keeps an administrator from seeing why.
#pragma once

#include <pthread.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <csignal>
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

    // The thread starts with every signal blocked (as Asio's own threads do), so SIGTERM, SIGINT and SIGHUP
    // always reach the server's control thread, which waits for them. (Under ThreadSanitizer a signal taken
    // by an idle thread here was seen to wait there, and the daemon ignored a SIGTERM.)
    void start() {
        sigset_t all, previous;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &previous);
        thread_ = std::thread([this] { io_.run(); });
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
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
