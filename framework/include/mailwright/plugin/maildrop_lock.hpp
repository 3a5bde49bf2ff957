// A maildrop's exclusive lock for one session (POP3 RFC 1939 8: one session per maildrop, the second hears
// [IN-USE]), held from open() until the maildrop is destroyed, across processes and within one: a set of the
// lock files held by this process (every plugin shares it) and an exclusive flock(2) on the file itself. The
// set also keeps two sessions of one process apart where flock is per process (NFS emulates it with fcntl
// locks); the flock keeps out another mailwrightd, or any program that flocks the same file.
//
// Acquiring it opens (and creates, mode 0600) the file: blocking work, so call it from io::offload(), and not
// while host_view::checking(). Releasing it (destruction) only closes: it is cheap anywhere.
//
//   plugin::maildrop_lock lock(dir / ".mailwright.lock");
//   if (lock.status() != plugin::store_status::ok) {
//       return plugin::open_result{lock.status(), nullptr};  // in_use, or tempfail
//   }
#pragma once

#include <filesystem>
#include <string>

#include "mailwright/plugin/mailstore.hpp"

namespace mailwright::plugin {

class maildrop_lock {
  public:
    maildrop_lock() noexcept = default;  // holds nothing
    // Tries once, without waiting: status() is ok (held), in_use (another session, of this process or
    // another, holds it) or tempfail (the file cannot be opened or locked; the reason is logged).
    explicit maildrop_lock(const std::filesystem::path& file);
    // Only the process-wide set, no file: for a store whose maildrops live in this process alone (a test's
    // memory). `name` must not be a path (start it with the plugin's name: "memory-store:alice").
    static maildrop_lock in_process(std::string name);
    maildrop_lock(maildrop_lock&& other) noexcept;
    maildrop_lock& operator=(maildrop_lock&& other) noexcept;
    maildrop_lock(const maildrop_lock&) = delete;
    maildrop_lock& operator=(const maildrop_lock&) = delete;
    ~maildrop_lock();

    store_status status() const noexcept { return status_; }
    bool held() const noexcept { return status_ == store_status::ok; }
    void release() noexcept;

  private:
    std::string key_;  // the file's absolute path, as the process-wide set holds it
    int fd_ = -1;
    store_status status_ = store_status::tempfail;
};

}  // namespace mailwright::plugin
