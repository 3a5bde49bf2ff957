// The replacement body's temporary file: every file operation on the blocking pool.
#include "body_spool.hpp"

#include <string>

namespace mailwright::milter {

namespace {

// Reads the spool from where the last read ended.
class spool_reader final : public plugin::message_reader {
  public:
    explicit spool_reader(std::shared_ptr<io::spool> spool) : spool_(std::move(spool)) {}

    asio::awaitable<plugin::chunk_result> read_some(std::span<char> buffer) override {
        const long n = co_await spool_->read(offset_, buffer);
        if (n < 0) {
            co_return plugin::chunk_result{0, std::make_error_code(std::errc::io_error)};
        }
        offset_ += static_cast<std::uint64_t>(n);
        co_return plugin::chunk_result{static_cast<std::size_t>(n), {}};
    }

  private:
    std::shared_ptr<io::spool> spool_;
    std::uint64_t offset_ = 0;
};

}  // namespace

asio::awaitable<bool> body_spool::append(std::string_view piece) {
    if (failed_) {
        co_return false;
    }
    // CRLF line ends: a bare LF gets its CR, a bare CR its LF (libmilter passes what the milter wrote, and
    // milters written for Postfix write LF alone).
    std::string text;
    text.reserve(piece.size() + piece.size() / 32);
    for (std::size_t i = 0; i < piece.size(); ++i) {
        const char c = piece[i];
        if (c == '\n' && !(i == 0 ? last_cr_ : piece[i - 1] == '\r')) {
            text.push_back('\r');
        }
        if (i > 0 && piece[i - 1] == '\r' && c != '\n') {
            text.push_back('\n');
        }
        text.push_back(c);
    }
    if (!piece.empty() && last_cr_ && piece[0] != '\n') {
        text.insert(text.begin(), '\n');
    }
    last_cr_ = !piece.empty() ? piece.back() == '\r' : last_cr_;
    const bool kept = co_await spool_->append(text);
    failed_ = !kept;
    co_return kept;
}

asio::awaitable<std::shared_ptr<plugin::message_reader>> body_spool::reader() {
    if (last_cr_ && !failed_) {
        const std::string_view lf = "\n";  // the last CR's pair
        const bool ended = co_await append(lf);
        if (!ended) {
            co_return nullptr;
        }
    }
    if (failed_) {
        co_return nullptr;
    }
    co_return std::make_shared<spool_reader>(spool_);  // an empty spool is an empty body
}

}  // namespace mailwright::milter
