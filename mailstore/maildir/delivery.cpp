// The Maildir plugin's delivery: the message streams into tmp/ (a new file, O_EXCL, mode 0600) with CRLF line
// ends stored as LF, as other Maildir readers expect; on commit the file is fsynced, hard-linked into new/ of
// every recipient (copied where a recipient is on another file system) under a name carrying both sizes
// (,S= file, ,W= as POP3 counts), and each new/ is fsynced (shared by concurrent deliveries, files.hpp) before
// the recipient hears success. The tmp/ file goes last. A crash at any point leaves each message absent or
// present once, and success is only reported after the last fsync. A delivery given up (destroyed without
// commit) removes its tmp/ file.
#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <mailwright/io/offload.hpp>
#include <mailwright/testing/fault.hpp>

#include "names.hpp"
#include "store.hpp"

namespace mailwright::maildir {

namespace fs = std::filesystem;
using plugin::reply;

namespace {

struct spool_file {
    fs::path path;
    fd file;
    std::uint64_t file_size = 0;  // LF line ends, as stored
    std::uint64_t crlf_size = 0;  // as POP3 counts
    char previous = '\0';
};

// CRLF -> LF for storage. A CR is held back until the next octet shows whether it ends a line.
std::string to_stored_form(std::span<const char> piece, spool_file& spool) {
    std::string out;
    out.reserve(piece.size() + 1);
    for (char c : piece) {
        if (spool.previous == '\r' && c != '\n') {
            out += '\r';  // a CR that does not end a line stays
        }
        if (c != '\r') {
            out += c;
        }
        spool.crlf_size += c == '\n' && spool.previous != '\r' ? 2 : 1;
        spool.previous = c;
    }
    return out;
}

reply failure(const std::error_code& ec) {
    return is_temporary(ec) || ec.category() != std::generic_category() ? reply::tempfail() : reply::reject();
}

// Whether two paths name one file: a link already made is a link made. A user named twice, or two names of
// one Maildir (a path without %u, a symbolic link), reach link_into() twice for one message; a second link()
// fails with EEXIST after the first stored it, and answering tempfail then would make the client send the
// message again, and store it again, on every retry.
bool same_file(const fs::path& a, const fs::path& b) {
    std::error_code ec;
    return fs::equivalent(a, b, ec) && !ec;
}

// Blocking: makes the spooled message appear in dir/new, durably.
reply link_into(const spool_file& spool, const fs::path& dir, const std::string& name) {
    if (auto ec = ensure_maildir(dir)) {
        return failure(ec);
    }
    const fs::path target = dir / "new" / name;
    const int failed = ::link(spool.path.c_str(), target.c_str()) == 0 ? 0 : errno;
    if (failed != 0 && !(failed == EEXIST && same_file(spool.path, target))) {
        if (failed != EXDEV) {
            spdlog::error("maildir: cannot link into {}: {}", dir.string(),
                          std::error_code(failed, std::generic_category()).message());
            return reply::tempfail();
        }
        // Another file system: copy through this Maildir's tmp/, then rename into new/.
        std::error_code ec;
        const fs::path copy = dir / "tmp" / name;
        fs::copy_file(spool.path, copy, ec);
        fd file(::open(copy.c_str(), O_RDONLY | O_CLOEXEC));
        if (ec || !file || ::fsync(file.get()) != 0 || ::rename(copy.c_str(), target.c_str()) != 0) {
            ::unlink(copy.c_str());
            return reply::tempfail();
        }
    }
    MAILWRIGHT_FAULT_POINT("maildir.after_link");
    if (auto ec = sync_directory(dir / "new")) {
        spdlog::error("maildir: cannot fsync {}/new: {}", dir.string(), ec.message());
        return reply::tempfail();
    }
    MAILWRIGHT_FAULT_POINT("maildir.after_directory_fsync");
    return reply::accept();
}

class spool_delivery final : public plugin::delivery {
  public:
    spool_delivery(std::vector<fs::path> dirs, std::shared_ptr<spool_file> spool, std::string base,
                   std::error_code failed)
        : dirs_(std::move(dirs)), spool_(std::move(spool)), base_(std::move(base)), failed_(failed) {}

    ~spool_delivery() override {
        // Given up, or committed: the tmp/ file is not needed any more. A close and an unlink, on the
        // caller's thread: this runs once per message given up, which is rare.
        spool_->file.reset();
        if (!spool_->path.empty()) {
            ::unlink(spool_->path.c_str());
        }
    }

    asio::awaitable<bool> write(std::span<const char> piece) override {
        if (failed_) {
            co_return false;
        }
        auto work = [spool = spool_, data = to_stored_form(piece, *spool_)] {
            spool->file_size += data.size();
            return write_all(spool->file.get(), data);
        };
        failed_ = co_await io::offload(std::move(work));
        co_return !failed_;
    }

    asio::awaitable<plugin::delivery_result> commit(const std::vector<bool>& wanted) override {
        if (!failed_) {
            auto work = [spool = spool_] {
                std::error_code e;
                if (spool->previous == '\r' && (e = write_all(spool->file.get(), "\r"))) {
                    return e;
                }
                spool->file_size += spool->previous == '\r' ? 1 : 0;
                return ::fsync(spool->file.get()) == 0 ? std::error_code() : last_error();
            };
            failed_ = co_await io::offload(std::move(work));
        }
        MAILWRIGHT_FAULT_POINT("maildir.after_fsync");
        plugin::delivery_result result;
        if (!failed_) {
            // A message whose last line has no line end is sent with one (POP3 frames it with CRLF "." CRLF),
            // so it is counted with one: the size a client is told is the size it receives (RFC 1939 11).
            const auto& s = *spool_;
            const std::uint64_t told = s.crlf_size + (s.crlf_size > 0 && s.previous != '\n' ? 2 : 0);
            const std::string name = fmt::format("{},S={},W={}", base_, s.file_size, told);
            auto work = [spool = spool_, dirs = dirs_, name, wanted] {
                std::vector<reply> replies;
                for (std::size_t i = 0; i < dirs.size(); ++i) {
                    replies.push_back(i < wanted.size() && wanted[i] ? link_into(*spool, dirs[i], name)
                                                                     : reply::accept());
                }
                return plugin::delivery_result{std::move(replies)};
            };
            result = co_await io::offload(std::move(work));
        }
        auto cleanup = [spool = spool_] {  // 3. the tmp/ file is no longer needed, or never will be
            spool->file.reset();
            const int removed = spool->path.empty() ? 0 : ::unlink(spool->path.c_str());
            spool->path.clear();
            return removed;
        };
        co_await io::offload(std::move(cleanup));
        MAILWRIGHT_FAULT_POINT("maildir.after_cleanup");
        if (failed_) {
            spdlog::warn("maildir: delivery failed: {}", failed_.message());
            co_return plugin::delivery_result::all(dirs_.size(), failure(failed_));
        }
        co_return result;
    }

  private:
    std::vector<fs::path> dirs_;
    std::shared_ptr<spool_file> spool_;
    std::string base_;
    std::error_code failed_;
};

}  // namespace

asio::awaitable<std::unique_ptr<plugin::delivery>> start_delivery(std::vector<fs::path> dirs, std::size_t users) {
    auto spool = std::make_shared<spool_file>();
    std::string base = unique_base();
    std::error_code failed;
    if (dirs.size() != users) {
        failed = std::make_error_code(std::errc::invalid_argument);  // a user name that is no mailbox name
    } else if (!dirs.empty()) {
        auto work = [spool, first = dirs.front(), base] {  // 1. a new file in tmp/ of the first recipient
            if (auto e = ensure_maildir(first)) {
                return e;
            }
            spool->path = first / "tmp" / base;
            spool->file = fd(::open(spool->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
            return spool->file ? std::error_code() : last_error();
        };
        failed = co_await io::offload(std::move(work));
        MAILWRIGHT_FAULT_POINT("maildir.after_create");
    }
    if (failed) {
        dirs.resize(users);  // every recipient hears the failure at commit()
    }
    co_return std::make_unique<spool_delivery>(std::move(dirs), std::move(spool), std::move(base), failed);
}

}  // namespace mailwright::maildir
