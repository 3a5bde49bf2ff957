// The key behind SCRAM's made-up salts for unknown users, and the file that keeps it across restarts.
#include "mailwright/sasl/stand_in_key.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "mailwright/sasl/crypto.hpp"

namespace mailwright::sasl {

namespace fs = std::filesystem;

namespace {

// Sessions on every worker thread read the key; the daemon sets it once at start. A mutex is plenty: it is
// taken once per SCRAM exchange for an unknown user.
std::mutex key_mutex;

std::string& key_storage() {
    static std::string key = random_bytes(stand_in_key_size);
    return key;
}

[[noreturn]] void fail(const fs::path& path, std::string_view what) {
    throw std::system_error(errno, std::generic_category(), fmt::format("{}: {}", path.string(), what));
}

class fd_guard {
  public:
    explicit fd_guard(int fd) : fd_(fd) {}
    ~fd_guard() { ::close(fd_); }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;

  private:
    int fd_;
};

// The key in `path`, or nullopt when there is no such file.
std::optional<std::string> read_key_file(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return std::nullopt;
        }
        fail(path, "cannot open the SCRAM stand-in key");
    }
    fd_guard guard(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        fail(path, "cannot stat the SCRAM stand-in key");
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 || st.st_size != static_cast<off_t>(stand_in_key_size)) {
        throw std::runtime_error(fmt::format(
            "{}: the SCRAM stand-in key must be a regular file of {} octets that only its owner may read (mode "
            "0600); this one has {} octets and mode {:04o}. Remove it, and the next start makes a new one",
            path.string(), stand_in_key_size, st.st_size, st.st_mode & 07777));
    }
    std::string key(stand_in_key_size, '\0');
    std::size_t done = 0;
    while (done < key.size()) {
        const ssize_t n = ::read(fd, key.data() + done, key.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fail(path, "cannot read the SCRAM stand-in key");
        }
        done += static_cast<std::size_t>(n);
    }
    return key;
}

void write_all(int fd, std::string_view data, const fs::path& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fail(path, "cannot write the SCRAM stand-in key");
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

// Writes a new key next to `path` and links it into place; if another process got there first, its key
// stays and ours is dropped.
void create_key_file(const fs::path& path) {
    const fs::path tmp = fmt::format("{}.{}.new", path.string(), ::getpid());
    ::unlink(tmp.c_str());  // left by a crashed start that had our process id
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        fail(tmp, "cannot create the SCRAM stand-in key");
    }
    {
        fd_guard guard(fd);
        std::string key = random_bytes(stand_in_key_size);
        write_all(fd, key, tmp);
        wipe(key);
        if (::fsync(fd) != 0) {
            fail(tmp, "cannot sync the SCRAM stand-in key");
        }
    }
    const bool linked = ::link(tmp.c_str(), path.c_str()) == 0;
    const int link_error = errno;
    ::unlink(tmp.c_str());
    if (!linked && link_error != EEXIST) {
        errno = link_error;
        fail(path, "cannot put the SCRAM stand-in key in place");
    }
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);  // the new name survives a crash
        ::close(dfd);
    }
}

}  // namespace

void set_stand_in_key(std::string_view key) {
    if (key.size() != stand_in_key_size) {
        throw std::invalid_argument(
            fmt::format("a SCRAM stand-in key has {} octets, not {}", stand_in_key_size, key.size()));
    }
    std::lock_guard lock(key_mutex);
    key_storage().assign(key);
}

std::string stand_in_key() {
    std::lock_guard lock(key_mutex);
    return key_storage();
}

std::string load_or_create_stand_in_key(const fs::path& path) {
    if (auto key = read_key_file(path)) {
        return std::move(*key);
    }
    create_key_file(path);
    if (auto key = read_key_file(path)) {
        return std::move(*key);
    }
    errno = ENOENT;
    fail(path, "the SCRAM stand-in key vanished after it was made");
}

}  // namespace mailwright::sasl
