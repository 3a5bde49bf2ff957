// A blocking, line-oriented client connection for the benchmark programs, plaintext or TLS, with a buffered
// reader (one read per 16 KiB, not per octet). The benchmarks' own client code, not the server's.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "tls_client.hpp"

namespace bench {

inline std::string_view without_line_end(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.remove_suffix(1);
    }
    return line;
}

// One blocking connection, plain or TLS, with a buffered line reader (one read per 16 KiB, not per byte).
class connection {
  public:
    // `longest_line`: a reply line longer than this is a failure, not an unbounded string.
    connection(int fd, std::size_t longest_line) : fd_(fd), longest_line_(longest_line), buffer_(16 * 1024) {}
    ~connection() {
        if (ssl_ != nullptr) {
            wolfSSL_free(ssl_);
        }
        ::close(fd_);
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    bool handshake() {
        ssl_ = wolfSSL_new(bench::client_context());
        if (ssl_ == nullptr) {
            return false;
        }
        wolfSSL_set_fd(ssl_, fd_);
        return wolfSSL_connect(ssl_) == WOLFSSL_SUCCESS;
    }

    bool write(std::string_view data) {
        while (!data.empty()) {
            const long n = ssl_ != nullptr ? wolfSSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                                           : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // One line with its line end into `line`; false at end of stream, on an error or timeout, or past
    // the longest line.
    bool read_line(std::string& line) {
        line.clear();
        for (;;) {
            const char* begin = buffer_.data() + begin_;
            const char* end = buffer_.data() + end_;
            const auto* lf = static_cast<const char*>(std::memchr(begin, '\n', static_cast<std::size_t>(end - begin)));
            if (lf != nullptr) {
                line.append(begin, lf + 1);
                begin_ += static_cast<std::size_t>(lf + 1 - begin);
                return true;
            }
            line.append(begin, end);
            begin_ = end_ = 0;
            if (line.size() > longest_line_ || !fill()) {
                return false;
            }
        }
    }

  private:
    bool fill() {
        const long n = ssl_ != nullptr ? wolfSSL_read(ssl_, buffer_.data(), static_cast<int>(buffer_.size()))
                                       : ::recv(fd_, buffer_.data(), buffer_.size(), 0);
        if (n <= 0) {
            return false;
        }
        end_ = static_cast<std::size_t>(n);
        return true;
    }

    int fd_;
    std::size_t longest_line_;
    WOLFSSL* ssl_ = nullptr;
    std::vector<char> buffer_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

}  // namespace bench
