// The aliases map as the plugin serves it: the file (if any) and the inline entries of the configuration,
// read whole at start (a bad line stops the daemon, naming file:line), then the file is looked at again at
// most once a second and the map rebuilt when it changed. A new version with a bad line is logged with its
// file:line and the previous map is kept: a map is used whole or not at all, never half.
//
// Threads: every worker resolves with the same map. A lookup copies the shared_ptr to the current map under
// a mutex held for that copy only, so a map in use lives until its last reader lets go and a swap is never
// seen half done (not std::atomic<shared_ptr>: libstdc++ 12 guards it with a lock bit ThreadSanitizer cannot
// see). Re-reading runs on the blocking pool (refresh()), never on an event loop, under a mutex of its own.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "alias_map.hpp"

namespace mailwright::aliases {

// What tells a changed file: a rename over it (new inode), a rewrite (size, modification time).
struct file_identity {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = -1;
    std::int64_t modified_ns = 0;
    bool operator==(const file_identity&) const = default;
};

std::optional<file_identity> identity_of(const std::string& path);

// What a map is made of.
struct map_recipe {
    options settings;
    std::string path;                  // empty: no file
    std::vector<std::string> entries;  // inline entries, each one logical line, after the file's
};

// Builds the map. Throws std::runtime_error "path:line: what is wrong", "entries[N]: ..." or "path: why it
// cannot be read"; `identity` receives what the file was before it was read.
std::shared_ptr<const alias_map> load_map(const map_recipe& recipe, std::optional<file_identity>& identity);

class map_source {
  public:
    // Builds the map; throws std::runtime_error naming file:line when it cannot be used.
    explicit map_source(map_recipe recipe, std::chrono::milliseconds interval = std::chrono::seconds(1));

    std::shared_ptr<const alias_map> map() const {
        std::lock_guard lock(current_mutex_);
        return current_;
    }
    const std::string& path() const noexcept { return recipe_.path; }

    // True for one caller once an interval has passed since the last look, if there is a file to look at;
    // that caller then runs refresh() (off the event loop: it may read the file).
    bool due(std::chrono::steady_clock::time_point now) noexcept;

    // Re-reads the file if it changed. Never throws: a file that cannot be used is logged, once for each
    // version of it, and the map in use stays. Returns true if a new map was taken.
    bool refresh() noexcept;

  private:
    map_recipe recipe_;
    std::chrono::steady_clock::duration interval_;
    mutable std::mutex current_mutex_;  // guards current_ (the pointer, not the map it points to)
    std::shared_ptr<const alias_map> current_;
    std::atomic<std::chrono::steady_clock::rep> next_look_;
    std::mutex refreshing_;              // one re-read at a time
    std::optional<file_identity> seen_;  // the version last read, good or bad (under refreshing_)
};

}  // namespace mailwright::aliases
