// Standard error as a log output that the workers share without a lock of ours: each thread formats a line
// with its own copy of the formatter and hands it to the kernel in one write(2). spdlog's stderr_sink_mt holds
// one mutex across formatting, fwrite and fflush, so with a line per message the workers queued behind each
// other on it (futex calls per second in the thousands with two workers, tens with one), which showed as the
// tail latency of SMTP with two workers (docs/performance.md, "Tail latency").
//
// A line is one write(2): on a regular file Linux moves the file offset atomically for each write, and on a
// pipe a write of at most PIPE_BUF (4 KiB) octets is never interleaved with another; a longer line to a pipe
// can be, which log::escape's cut of client text keeps rare.
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/sinks/sink.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace mailwright::log {

class stderr_sink final : public spdlog::sinks::sink {
  public:
    stderr_sink();

    void log(const spdlog::details::log_msg& message) override;
    void flush() override {}  // nothing is buffered: every line was written whole
    void set_pattern(const std::string& pattern) override;
    void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override;

  private:
    spdlog::formatter& thread_formatter();

    std::mutex mutex_;  // guards formatter_; taken only when a thread copies it, not per line
    std::unique_ptr<spdlog::formatter> formatter_;
    std::atomic<std::uint64_t> version_;  // which formatter_ a thread's copy must be a copy of
};

}  // namespace mailwright::log
