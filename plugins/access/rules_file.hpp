// The access plugin's rules file on disk: read whole at start (a bad rule stops the daemon, naming
// file:line), then looked at again at most once a second and re-read when it changed. A new version with a
// bad rule is logged with its file:line and the previous rules are kept: a rule set is used whole or not at
// all, never half.
//
// Threads: the daemon's worker threads all look up the same rules. A lookup copies the shared_ptr to the
// current set under a mutex held for that copy only (no file is read, nothing is matched under it), so a set
// in use lives until its last reader lets go and a swap is never seen half done. Not std::atomic<shared_ptr>:
// libstdc++ 12 guards it with a lock bit ThreadSanitizer cannot see, and the tsan lane would report every
// swap. Re-reading runs on the blocking pool (refresh()), never on an event loop, under a mutex of its own.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "rules.hpp"

namespace mailwright::access {

// What tells a changed file: a rename over it (new inode), a rewrite (size, modification time).
struct file_identity {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = -1;
    std::int64_t modified_ns = 0;
    bool operator==(const file_identity&) const = default;
};

std::optional<file_identity> identity_of(const std::string& path);

// Reads and parses the file. Throws std::runtime_error "path:line: what is wrong" (or "path: why it cannot be
// read"); `identity` receives what the file was before it was read.
std::shared_ptr<const rule_set> load_rules(const std::string& path, std::optional<file_identity>& identity);

class rules_source {
  public:
    // Reads the file; throws std::runtime_error naming file:line when it cannot be used.
    explicit rules_source(std::string path, std::chrono::milliseconds interval = std::chrono::seconds(1));

    std::shared_ptr<const rule_set> rules() const {
        std::lock_guard lock(current_mutex_);
        return current_;
    }
    const std::string& path() const noexcept { return path_; }

    // True for one caller once an interval has passed since the last look; that caller then runs refresh()
    // (off the event loop: it may read the file). Everyone else goes on with rules() meanwhile.
    bool due(std::chrono::steady_clock::time_point now) noexcept;

    // Re-reads the file if it changed. Never throws: a file that cannot be used is logged, once for each
    // version of it, and the rules in use stay. Returns true if new rules were taken.
    bool refresh() noexcept;

  private:
    std::string path_;
    std::chrono::steady_clock::duration interval_;
    mutable std::mutex current_mutex_;  // guards current_ (the pointer, not the set it points to)
    std::shared_ptr<const rule_set> current_;
    std::atomic<std::chrono::steady_clock::rep> next_look_;
    std::mutex refreshing_;              // one re-read at a time
    std::optional<file_identity> seen_;  // the version last read, good or bad (under refreshing_)
};

}  // namespace mailwright::access
