// memory_stream: scripted input, recorded output, failures on demand.
#include "mailwright/testing/memory_stream.hpp"

#include <algorithm>
#include <asio/error.hpp>
#include <cstring>

#include "mailwright/net/error.hpp"

namespace mailwright::testing {

memory_stream::memory_stream(std::vector<std::string> chunks) : input_(chunks.begin(), chunks.end()) {}

asio::awaitable<net::io_result> memory_stream::read_some(std::span<char> buffer) {
    const std::size_t index = reads_++;
    if (closed_) {
        co_return net::io_result{asio::error::bad_descriptor, 0};
    }
    if (fail_read_at_ && *fail_read_at_ == index) {
        co_return net::io_result{asio::error::connection_reset, 0};
    }
    if (interrupted_) {
        co_return net::io_result{net::errc::stopping, 0};
    }
    while (!input_.empty() && input_.front().empty()) {
        input_.pop_front();
    }
    if (input_.empty()) {
        switch (ending_) {
            case ending::eof:
                co_return net::io_result{asio::error::eof, 0};
            case ending::timeout:
                co_return net::io_result{net::errc::timeout, 0};
            case ending::reset:
                co_return net::io_result{asio::error::connection_reset, 0};
        }
    }
    auto& chunk = input_.front();
    const std::size_t n = std::min({buffer.size(), max_read_, chunk.size()});
    std::memcpy(buffer.data(), chunk.data(), n);
    chunk.erase(0, n);
    co_return net::io_result{{}, n};
}

asio::awaitable<net::io_result> memory_stream::write_all(std::span<const char> data) {
    const std::size_t index = writes_++;
    if (closed_ || (fail_write_at_ && *fail_write_at_ == index)) {
        co_return net::io_result{asio::error::connection_reset, 0};
    }
    output_.append(data.data(), data.size());
    co_return net::io_result{{}, data.size()};
}

}  // namespace mailwright::testing
