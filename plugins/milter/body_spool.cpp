// The replacement body's temporary file: every file operation on the blocking pool.
#include "body_spool.hpp"

#include <mailwright/io/offload.hpp>
#include <string>

namespace mailwright::milter {

namespace {

// Reads the spooled file from where the last read ended.
class spool_reader final : public plugin::message_reader {
  public:
    explicit spool_reader(std::shared_ptr<std::FILE> file) : file_(std::move(file)) {}

    asio::awaitable<plugin::chunk_result> read_some(std::span<char> buffer) override {
        auto work = [file = file_, buffer]() {
            plugin::chunk_result r;
            r.bytes = std::fread(buffer.data(), 1, buffer.size(), file.get());
            if (r.bytes == 0 && std::ferror(file.get()) != 0) {
                r.ec = std::make_error_code(std::errc::io_error);
            }
            return r;
        };
        co_return co_await io::offload(std::move(work));
    }

  private:
    std::shared_ptr<std::FILE> file_;
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
    auto file = file_;
    auto work = [file, text = std::move(text)]() mutable {
        if (!file) {
            std::FILE* made = std::tmpfile();  // unlinked at once: nothing is left behind by a crash
            if (made == nullptr) {
                return std::shared_ptr<std::FILE>();
            }
            file = std::shared_ptr<std::FILE>(made, file_closer{});
        }
        if (std::fwrite(text.data(), 1, text.size(), file.get()) != text.size()) {
            return std::shared_ptr<std::FILE>();
        }
        return file;
    };
    file_ = co_await io::offload(std::move(work));
    failed_ = !file_;
    co_return !failed_;
}

asio::awaitable<std::shared_ptr<plugin::message_reader>> body_spool::reader() {
    if (!file_ && !failed_) {
        const std::string_view nothing;
        const bool made = co_await append(nothing);  // an empty body: an empty file
        if (!made) {
            co_return nullptr;
        }
    }
    if (failed_) {
        co_return nullptr;
    }
    if (last_cr_) {
        const std::string_view lf = "\n";  // the last CR's pair
        const bool ended = co_await append(lf);
        if (!ended) {
            co_return nullptr;
        }
    }
    auto file = file_;
    auto work = [file]() { return std::fflush(file.get()) == 0 && std::fseek(file.get(), 0, SEEK_SET) == 0; };
    const bool rewound = co_await io::offload(std::move(work));
    if (!rewound) {
        co_return nullptr;
    }
    co_return std::make_shared<spool_reader>(file_);
}

}  // namespace mailwright::milter
