// A stream that first gives back octets already read from the stream it wraps (private to src/). After a
// PROXY header, whatever came in the same read is the client's: its first command, or the start of its TLS
// ClientHello. This hands those octets to whoever reads next (the line reader, or the TLS handshake, which wraps
// this stream) before anything new is read from the socket, so none is lost and none is read twice.
#pragma once

#include <algorithm>
#include <memory>
#include <string>

#include "mailwright/net/error.hpp"
#include "mailwright/net/stream.hpp"

namespace mailwright::net {

class prefixed_stream final : public stream {
  public:
    prefixed_stream(std::unique_ptr<stream> inner, std::string prefix)
        : inner_(std::move(inner)), prefix_(std::move(prefix)) {}

    asio::awaitable<io_result> read_some(std::span<char> buffer) override {
        if (offset_ < prefix_.size()) {
            if (interrupted_) {
                co_return io_result{errc::stopping, 0};  // as the socket would say it (stream.hpp)
            }
            const std::size_t n = std::min(buffer.size(), prefix_.size() - offset_);
            std::copy_n(prefix_.data() + offset_, n, buffer.data());
            offset_ += n;
            if (offset_ == prefix_.size()) {
                std::string().swap(prefix_);
                offset_ = 0;
            }
            co_return io_result{{}, n};
        }
        auto r = co_await inner_->read_some(buffer);
        co_return r;
    }
    asio::awaitable<std::error_code> wait_readable() override {
        if (offset_ < prefix_.size()) {
            co_return interrupted_ ? std::error_code(errc::stopping) : std::error_code{};
        }
        co_return co_await inner_->wait_readable();
    }
    asio::awaitable<io_result> write_all(std::span<const char> data) override {
        auto r = co_await inner_->write_all(data);
        co_return r;
    }
    void set_timeout(std::chrono::milliseconds timeout) override { inner_->set_timeout(timeout); }
    void interrupt() override {
        interrupted_ = true;
        inner_->interrupt();
    }
    asio::awaitable<void> shutdown() override { co_await inner_->shutdown(); }
    void close() override { inner_->close(); }
    void park() noexcept override { inner_->park(); }

  private:
    std::unique_ptr<stream> inner_;
    std::string prefix_;
    std::size_t offset_ = 0;
    bool interrupted_ = false;
};

}  // namespace mailwright::net
