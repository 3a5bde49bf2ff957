// Blocking file helpers and the directory-fsync group commit.
#include "files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

namespace mailwright::maildir {

fd& fd::operator=(fd&& other) noexcept {
    if (this != &other) {
        reset();
        value_ = other.release();
    }
    return *this;
}

int fd::release() noexcept {
    const int v = value_;
    value_ = -1;
    return v;
}

void fd::reset() noexcept {
    if (value_ >= 0) {
        ::close(value_);
        value_ = -1;
    }
}

std::error_code last_error() noexcept { return {errno, std::generic_category()}; }

std::error_code ensure_maildir(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir.parent_path(), ec);
    for (const char* sub : {"", "tmp", "new", "cur"}) {
        const auto path = *sub != '\0' ? dir / sub : dir;
        if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
            return last_error();
        }
    }
    return {};
}

std::error_code write_all(int file, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(file, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return last_error();
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

namespace {

struct directory_sync_state {
    std::mutex mutex;
    std::condition_variable done;
    bool running = false;
    std::uint64_t next = 1;       // the number the next fsync to start will have
    std::uint64_t completed = 0;  // the number of the last fsync that finished
    std::error_code last_error;
};

std::shared_ptr<directory_sync_state> state_for(const std::filesystem::path& dir) {
    static std::mutex registry_mutex;
    static std::map<std::string, std::shared_ptr<directory_sync_state>> registry;
    std::lock_guard lock(registry_mutex);
    auto& state = registry[dir.string()];
    if (!state) {
        state = std::make_shared<directory_sync_state>();
    }
    return state;
}

}  // namespace

std::error_code sync_directory(const std::filesystem::path& dir) {
    auto state = state_for(dir);
    std::unique_lock lock(state->mutex);
    // Whatever this caller linked is covered by the next fsync to *start*: one already running may have
    // begun before the link.
    const std::uint64_t needed = state->next;
    while (state->completed < needed) {
        if (state->running) {
            state->done.wait(lock);
            continue;
        }
        state->running = true;
        const std::uint64_t number = state->next++;
        lock.unlock();
        std::error_code ec;
        fd directory(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!directory || ::fsync(directory.get()) != 0) {
            ec = last_error();
        }
        lock.lock();
        state->running = false;
        state->completed = number;
        state->last_error = ec;
        state->done.notify_all();
        if (ec) {
            return ec;
        }
    }
    return state->last_error;  // the fsync that covered this caller
}

bool is_temporary(const std::error_code& ec) noexcept {
    switch (ec.value()) {
        case ENOSPC:
        case EDQUOT:
        case EFBIG:
        case EIO:
        case EAGAIN:
        case EINTR:
        case ENOMEM:
        case EMFILE:
        case ENFILE:
            return true;
        default:
            return false;
    }
}

}  // namespace mailwright::maildir
