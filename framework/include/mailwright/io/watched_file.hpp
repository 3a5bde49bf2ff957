// A value a plugin builds from a file (a rules file, an alias map, a password file), read whole at start and
// built again when the file changes: looked at no more than once an interval, a new version taken whole or
// not at all. A version that cannot be used is logged once, with what the builder said (file:line), and the
// value in use stays: a typo saved by an administrator never leaves the server serving half a file.
//
// Threads: every worker thread reads the same value. current() copies the shared_ptr under a mutex held for
// that copy only, so a value in use lives until its last reader lets go and a swap is never seen half done
// (not std::atomic<std::shared_ptr>: libstdc++ 12 guards it with a lock bit ThreadSanitizer cannot see).
// refresh() reads the file: call it off the event loop (io::offload), from the one caller due() chose.
//
// Header-only, compiled into the plugin that uses it: no std::function crosses the plugin boundary.
#pragma once

#include <spdlog/spdlog.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace mailwright::io {

// What tells a changed file: a rename over it (a new inode), a rewrite (its size, its modification time).
struct file_identity {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = -1;
    std::int64_t modified_ns = 0;
    bool operator==(const file_identity&) const = default;
};

// The file's identity now; none when it cannot be looked at.
std::optional<file_identity> identity_of(const std::string& path);

// A file that changed while it was read (someone is writing it in place): what was read is no version of it.
class file_changed : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The whole of the regular file at `path`, of at most `limit` octets. Throws std::runtime_error "<path>:
// cannot read <what>: <why>", "<path>: <what> is not a regular file" or "<path>: <what> is over <limit>
// octets"; file_changed when its size or modification time moved while it was read.
std::string read_bounded(const std::string& path, std::size_t limit, std::string_view what);

template <class T>
class watched_file {
  public:
    // Builds the value from the file at `path`; throws std::runtime_error naming path:line when it cannot.
    using builder = std::function<std::shared_ptr<const T>(const std::string& path)>;
    // What the log says of a new value ("12 rules"); unset: nothing.
    using describer = std::function<std::string(const T&)>;

    // Builds the value now: what `build` throws is the constructor's (a file being written is read again, a
    // few times, before that). `owner` names the plugin in the log
    // ("plugin=<owner> ..."). An empty path is built once and never looked at again (a value made of inline
    // settings only).
    watched_file(std::string path, std::string owner, builder build,
                 std::chrono::milliseconds interval = std::chrono::seconds(1), describer describe = {})
        : path_(std::move(path)),
          owner_(std::move(owner)),
          build_(std::move(build)),
          describe_(std::move(describe)),
          interval_(interval) {
        for (int attempt = 1;; ++attempt) {
            seen_ = identity_of(path_);
            try {
                current_ = build_(path_);
                break;
            } catch (const file_changed&) {
                if (attempt == 3) {
                    throw;
                }
            }
        }
        next_look_.store((std::chrono::steady_clock::now() + interval_).time_since_epoch().count());
    }

    std::shared_ptr<const T> current() const {
        std::lock_guard lock(current_mutex_);
        return current_;
    }
    const std::string& path() const noexcept { return path_; }

    // True for one caller once an interval has passed since the last look; that caller then runs refresh()
    // (off the event loop). Everyone else goes on with current() meanwhile.
    bool due(std::chrono::steady_clock::time_point now) noexcept {
        if (path_.empty()) {
            return false;
        }
        auto next = next_look_.load(std::memory_order_relaxed);
        const auto ticks = now.time_since_epoch().count();
        // Whoever moves next_look_ on is the one caller that looks; the others see it moved and carry on.
        return ticks >= next && next_look_.compare_exchange_strong(next, (now + interval_).time_since_epoch().count());
    }

    // Builds the value again if the file changed. Never throws: a version that cannot be used is logged, once
    // for each version, and the value in use stays. True when a new value was taken.
    bool refresh() noexcept {
        try {
            std::lock_guard lock(refreshing_);
            const auto identity = identity_of(path_);
            if (path_.empty() || identity == seen_) {
                return false;
            }
            try {
                auto fresh = build_(path_);
                seen_ = identity;
                const std::string what = describe_ ? ": " + describe_(*fresh) : "";
                {
                    std::lock_guard swap(current_mutex_);
                    current_.swap(fresh);
                }
                spdlog::info("plugin={} re-read {}{}", owner_, path_, what);
                return true;
            } catch (const file_changed&) {
                return false;  // being written: looked at again next interval, when it may be whole
            } catch (const std::exception& e) {
                seen_ = identity;  // this version is said once, not once an interval
                spdlog::error("plugin={} keeping the previous version: {}", owner_, e.what());
                return false;
            }
        } catch (const std::exception& e) {  // e.g. no memory: keep serving with the value in use
            spdlog::error("plugin={} could not look at {}: {}", owner_, path_, e.what());
            return false;
        }
    }

  private:
    std::string path_;
    std::string owner_;
    builder build_;
    describer describe_;
    std::chrono::steady_clock::duration interval_;
    mutable std::mutex current_mutex_;  // guards current_ (the pointer, not the value it points to)
    std::shared_ptr<const T> current_;
    std::atomic<std::chrono::steady_clock::rep> next_look_{0};
    std::mutex refreshing_;              // one re-read at a time
    std::optional<file_identity> seen_;  // the version last read, good or bad (under refreshing_)
};

}  // namespace mailwright::io
