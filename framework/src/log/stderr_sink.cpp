// stderr_sink: a thread's own formatter, one write(2) per line.
#include "stderr_sink.hpp"

#include <unistd.h>

#include <spdlog/pattern_formatter.h>

#include <cerrno>

namespace mailwright::log {

namespace {

// Every formatter a sink is given gets a number no other ever had, so a thread's copy cannot be mistaken for a
// copy of a later formatter (or of another sink's at the same address).
std::atomic<std::uint64_t> next_version{1};

struct thread_copy {
    std::uint64_t version = 0;
    std::unique_ptr<spdlog::formatter> formatter;
};
thread_local thread_copy copy;

void write_line(const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(STDERR_FILENO, data, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;  // nowhere to report it: stderr is the report
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

}  // namespace

stderr_sink::stderr_sink()
    : formatter_(std::make_unique<spdlog::pattern_formatter>()), version_(next_version.fetch_add(1)) {}

void stderr_sink::log(const spdlog::details::log_msg& message) {
    spdlog::memory_buf_t line;
    thread_formatter().format(message, line);
    write_line(line.data(), line.size());
}

void stderr_sink::set_pattern(const std::string& pattern) {
    set_formatter(std::make_unique<spdlog::pattern_formatter>(pattern));
}

void stderr_sink::set_formatter(std::unique_ptr<spdlog::formatter> formatter) {
    std::lock_guard lock(mutex_);
    formatter_ = std::move(formatter);
    version_.store(next_version.fetch_add(1), std::memory_order_release);
}

spdlog::formatter& stderr_sink::thread_formatter() {
    const std::uint64_t wanted = version_.load(std::memory_order_acquire);
    if (copy.version != wanted || copy.formatter == nullptr) {
        std::lock_guard lock(mutex_);
        copy.formatter = formatter_->clone();
        copy.version = version_.load(std::memory_order_relaxed);
    }
    return *copy.formatter;
}

}  // namespace mailwright::log
