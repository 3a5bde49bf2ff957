// spool: see the header.
#include "mailwright/io/spool.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "mailwright/io/offload.hpp"

namespace mailwright::io {

spool::~spool() {
    if (fd_ >= 0) {
        ::close(fd_);  // the file has no name: closing it frees its blocks
    }
}

asio::awaitable<bool> spool::append(std::span<const char> piece) {
    const int fd = fd_;
    const std::uint64_t at = size_;
    auto work = [fd, at, piece]() -> int {
        int f = fd;
        if (f < 0) {
            std::error_code ignored;
            const auto dir = std::filesystem::temp_directory_path(ignored);
            f = ::open(dir.empty() ? "/tmp" : dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
            if (f < 0) {
                return -errno;
            }
        }
        for (std::size_t done = 0; done < piece.size();) {
            const auto n = ::pwrite(f, piece.data() + done, piece.size() - done, static_cast<off_t>(at + done));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                const int error = errno;
                if (fd < 0) {
                    ::close(f);
                }
                return -error;
            }
            done += static_cast<std::size_t>(n);
        }
        return f;
    };
    const int result = co_await offload(std::move(work));
    if (result < 0) {
        spdlog::error("cannot hold a message in a temporary file: {}", std::strerror(-result));
        co_return false;
    }
    fd_ = result;
    size_ += piece.size();
    co_return true;
}

asio::awaitable<long> spool::read(std::uint64_t offset, std::span<char> into) {
    if (fd_ < 0 || offset >= size_) {
        co_return 0;
    }
    const int fd = fd_;
    auto work = [fd, offset, into]() -> long {
        for (;;) {
            const auto n = ::pread(fd, into.data(), into.size(), static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return n < 0 ? -1 : static_cast<long>(n);
        }
    };
    const long n = co_await offload(std::move(work));
    if (n < 0) {
        spdlog::error("cannot read back a message held in a temporary file");
    }
    co_return n;
}

}  // namespace mailwright::io
