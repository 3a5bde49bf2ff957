// Blocking file-system helpers for the Maildir store. Everything here runs on the blocking pool
// (io::offload), never on an event-loop thread. Errors are errno values in std::error_code.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace mailwright::maildir {

// An owned file descriptor.
class fd {
  public:
    fd() = default;
    explicit fd(int value) noexcept : value_(value) {}
    fd(fd&& other) noexcept : value_(other.release()) {}
    fd& operator=(fd&& other) noexcept;
    fd(const fd&) = delete;
    fd& operator=(const fd&) = delete;
    ~fd() { reset(); }

    int get() const noexcept { return value_; }
    explicit operator bool() const noexcept { return value_ >= 0; }
    int release() noexcept;
    void reset() noexcept;

  private:
    int value_ = -1;
};

std::error_code last_error() noexcept;

// Creates <dir>/{tmp,new,cur} (mode 0700) where missing.
std::error_code ensure_maildir(const std::filesystem::path& dir);

std::error_code write_all(int file, std::string_view data);

// fsync of a directory, shared between concurrent callers (group commit): a caller returns once an fsync
// that started after its call has completed, so one fsync covers every link made before it began.
std::error_code sync_directory(const std::filesystem::path& dir);

// Whether an error means "try later" (disk full, quota, I/O) rather than "never".
bool is_temporary(const std::error_code& ec) noexcept;

}  // namespace mailwright::maildir
