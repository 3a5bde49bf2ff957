// Octets that must wait somewhere other than memory: an unnamed temporary file (O_TMPFILE in $TMPDIR, else
// /tmp), so nothing is left behind whatever happens to the process, and memory stays bounded however big the
// message. The message pipeline holds a body here while filters that edit at the end have not answered; the
// milter plugin keeps a replacement body. Every file operation runs on the blocking pool (io/offload.hpp).
// One coroutine at a time.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>

namespace mailwright::io {

class spool {
  public:
    spool() = default;
    spool(const spool&) = delete;
    spool& operator=(const spool&) = delete;
    ~spool();

    // Appends a piece; the file is made on the first. False: it could not be written (logged).
    asio::awaitable<bool> append(std::span<const char> piece);
    // Reads what was appended, from `offset`, into `into`: the count read, 0 at the end, -1 on an error.
    asio::awaitable<long> read(std::uint64_t offset, std::span<char> into);
    std::uint64_t size() const noexcept { return size_; }

  private:
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

}  // namespace mailwright::io
