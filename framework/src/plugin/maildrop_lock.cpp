// plugin::maildrop_lock: a process-wide set of held lock files, and flock(2) on each (plugin/maildrop_lock.hpp).
#include "mailwright/plugin/maildrop_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

namespace mailwright::plugin {

namespace {

// The lock files this process holds, by absolute path: shared by every session and every plugin.
struct held_files {
    std::mutex mutex;
    std::set<std::string> paths;
};

held_files& held_set() {
    static held_files files;
    return files;
}

// Adds `key` to the set; false when it is there already.
bool enter(const std::string& key) {
    const std::lock_guard guard(held_set().mutex);
    return held_set().paths.insert(key).second;
}

std::string key_of(const std::filesystem::path& file) {
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(file, ec);
    return (ec ? file : absolute).lexically_normal().string();
}

}  // namespace

maildrop_lock::maildrop_lock(const std::filesystem::path& file) {
    std::string key = key_of(file);
    if (!enter(key)) {
        status_ = store_status::in_use;  // another session of this process
        return;
    }
    key_ = std::move(key);
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
        spdlog::error("cannot open the maildrop lock {}: {}", file.string(), std::strerror(errno));
        release();
        return;
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        release();
        if (error == EWOULDBLOCK) {
            status_ = store_status::in_use;  // another process
        } else {
            spdlog::error("cannot lock the maildrop lock {}: {}", file.string(), std::strerror(error));
        }
        return;
    }
    status_ = store_status::ok;
}

maildrop_lock maildrop_lock::in_process(std::string name) {
    maildrop_lock lock;
    if (!enter(name)) {
        lock.status_ = store_status::in_use;
        return lock;
    }
    lock.key_ = std::move(name);
    lock.status_ = store_status::ok;
    return lock;
}

maildrop_lock::maildrop_lock(maildrop_lock&& other) noexcept
    : key_(std::exchange(other.key_, {})),
      fd_(std::exchange(other.fd_, -1)),
      status_(std::exchange(other.status_, store_status::tempfail)) {}

maildrop_lock& maildrop_lock::operator=(maildrop_lock&& other) noexcept {
    if (this != &other) {
        release();
        key_ = std::exchange(other.key_, {});
        fd_ = std::exchange(other.fd_, -1);
        status_ = std::exchange(other.status_, store_status::tempfail);
    }
    return *this;
}

maildrop_lock::~maildrop_lock() { release(); }

void maildrop_lock::release() noexcept {
    // The flock goes first: once the path leaves the set, another session of this process may lock it.
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (!key_.empty()) {
        const std::lock_guard guard(held_set().mutex);
        held_set().paths.erase(key_);
        key_.clear();
    }
    status_ = store_status::tempfail;
}

}  // namespace mailwright::plugin
