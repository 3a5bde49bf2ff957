// io::identity_of and io::read_bounded: see watched_file.hpp.
#include "mailwright/io/watched_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace mailwright::io {

std::optional<file_identity> identity_of(const std::string& path) {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return file_identity{st.st_dev, st.st_ino, st.st_size,
                         static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

namespace {

// Closes the descriptor when it goes.
struct descriptor {
    int fd;
    ~descriptor() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

}  // namespace

std::string read_bounded(const std::string& path, std::size_t limit, std::string_view what) {
    const std::string name(what);
    const descriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
    struct stat before {};
    if (file.fd < 0 || ::fstat(file.fd, &before) != 0) {
        throw std::runtime_error(path + ": cannot read " + name + ": " + std::strerror(errno));
    }
    if (!S_ISREG(before.st_mode)) {
        throw std::runtime_error(path + ": " + name + " is not a regular file");
    }
    const std::string too_big = path + ": " + name + " is over " + std::to_string(limit) + " octets";
    if (static_cast<std::uint64_t>(before.st_size) > limit) {
        throw std::runtime_error(too_big);
    }
    std::string text;
    std::string piece(64 * 1024, '\0');
    for (;;) {
        const ssize_t n = ::read(file.fd, piece.data(), piece.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw std::runtime_error(path + ": cannot read " + name + ": " + std::strerror(errno));
        }
        if (n == 0) {
            break;
        }
        text.append(piece.data(), static_cast<std::size_t>(n));
        if (text.size() > limit) {
            throw std::runtime_error(too_big);
        }
    }
    // Whole only if nothing moved while it was read: a file rewritten in place may parse as a shorter one.
    struct stat after {};
    if (::fstat(file.fd, &after) != 0 || after.st_size != before.st_size ||
        after.st_mtim.tv_sec != before.st_mtim.tv_sec || after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
        text.size() != static_cast<std::size_t>(before.st_size)) {
        throw file_changed(path + ": " + name + " changed while it was read");
    }
    return text;
}

}  // namespace mailwright::io
