// mailstore/maildir: the Maildir mailstore plugin.
//
// Delivery: the message streams into tmp/ (a new file, O_EXCL, mode 0600) with CRLF line ends stored as LF,
// as other Maildir readers expect; the file is fsynced, hard-linked into new/ of every recipient (copied
// where a recipient is on another file system) under a name carrying both sizes (,S= file, ,W= as POP3
// counts), and each new/ is fsynced (shared by concurrent deliveries, files.hpp) before delivery reports
// success. The tmp/ file goes last. A crash at any point leaves each message absent or present once, and
// success is only reported after the last fsync.
//
// Sessions: open() takes an exclusive flock on <Maildir>/.mailwright.lock (held until the maildrop is
// destroyed; works between processes, and between sessions of one process), moves new/ to cur/, and lists
// cur/. Deletions happen only in commit().
//
// [plugin.maildir] path = "var/mail/%u/Maildir"   where %u is the user name (checked by valid_user())
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <mailwright/io/offload.hpp>
#include <mailwright/plugin/mailstore.hpp>
#include <mailwright/testing/fault.hpp>

#include "names.hpp"
#include "store.hpp"

namespace mailwright::maildir {

namespace fs = std::filesystem;
using mailwright::plugin::store_status;

namespace {

// Reading from the client and writing to disk in pieces of this size keeps a delivery's memory bounded,
// whatever the message size.
constexpr std::size_t chunk_size = 64 * 1024;

struct spool_file {
    fs::path path;
    fd file;
    std::uint64_t file_size = 0;  // LF line ends, as stored
    std::uint64_t crlf_size = 0;  // as POP3 counts
    char previous = '\0';
};

// CRLF -> LF for storage. A CR is held back until the next octet shows whether it ends a line.
std::string to_stored_form(std::string_view chunk, spool_file& spool) {
    std::string out;
    out.reserve(chunk.size() + 1);
    for (char c : chunk) {
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

class store final : public plugin::mailstore {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        pattern_ = config.string("path").value_or("var/mail/%u/Maildir");
        if (pattern_.find("%u") == std::string::npos) {
            config.invalid("path", "must contain %u, which stands for the user name");
        }
    }

    asio::awaitable<plugin::open_result> open(std::string_view user) override {
        if (!valid_user(user)) {
            co_return plugin::open_result{store_status::not_found, nullptr};
        }
        auto work = [dir = dir_of(user)]() -> plugin::open_result {
            if (auto ec = ensure_maildir(dir)) {
                spdlog::error("maildir: cannot use {}: {}", dir.string(), ec.message());
                return {is_temporary(ec) ? store_status::tempfail : store_status::permfail, nullptr};
            }
            fd lock(::open((dir / ".mailwright.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
            if (!lock) {
                return {store_status::tempfail, nullptr};
            }
            if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
                return {errno == EWOULDBLOCK ? store_status::in_use : store_status::tempfail, nullptr};
            }
            return {store_status::ok, std::make_unique<drop>(dir, std::move(lock), scan(dir))};
        };
        co_return co_await io::offload(std::move(work));
    }

    asio::awaitable<plugin::delivery_result> deliver(std::span<const std::string> users,
                                                     plugin::message_source& message) override {
        plugin::delivery_result result{store_status::ok, {}};
        std::vector<fs::path> dirs;
        for (const auto& user : users) {
            if (!valid_user(user)) {
                co_return plugin::delivery_result{store_status::permfail,
                                                  std::vector<store_status>(users.size(), store_status::permfail)};
            }
            dirs.push_back(dir_of(user));
        }
        if (dirs.empty()) {
            co_return result;
        }

        // 1. Stream into tmp/ of the first recipient.
        auto spool = std::make_shared<spool_file>();
        const std::string base = unique_base();
        auto work2 = [spool, first = dirs.front(), base] {
            if (auto e = ensure_maildir(first)) {
                return e;
            }
            spool->path = first / "tmp" / base;
            spool->file = fd(::open(spool->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
            return spool->file ? std::error_code() : last_error();
        };
        auto ec = co_await io::offload(std::move(work2));
        MAILWRIGHT_FAULT_POINT("maildir.after_create");
        std::string buffer(chunk_size, '\0');
        while (!ec) {
            const auto chunk = co_await message.read_some(buffer);
            if (chunk.ec) {
                ec = chunk.ec;
                break;
            }
            if (chunk.bytes == 0) {
                break;
            }
            auto work3 = [spool, data = to_stored_form({buffer.data(), chunk.bytes}, *spool)] {
                spool->file_size += data.size();
                return write_all(spool->file.get(), data);
            };
            ec = co_await io::offload(std::move(work3));
        }
        if (!ec) {
            auto work4 = [spool] {
                std::error_code e;
                if (spool->previous == '\r' && (e = write_all(spool->file.get(), "\r"))) {
                    return e;
                }
                spool->file_size += spool->previous == '\r' ? 1 : 0;
                return ::fsync(spool->file.get()) == 0 ? std::error_code() : last_error();
            };
            ec = co_await io::offload(std::move(work4));
        }
        MAILWRIGHT_FAULT_POINT("maildir.after_fsync");

        // 2. Link into new/ of every recipient; fsync each new/.
        if (!ec) {
            // A message whose last line has no line end is sent with one (POP3 frames it with CRLF "." CRLF),
            // so it is counted with one: the size a client is told is the size it receives (RFC 1939 11).
            const std::uint64_t told = spool->crlf_size + (spool->crlf_size > 0 && spool->previous != '\n' ? 2 : 0);
            const std::string name = fmt::format("{},S={},W={}", base, spool->file_size, told);
            auto work5 = [spool, dirs, name] {
                std::vector<store_status> statuses;
                for (const auto& dir : dirs) {
                    statuses.push_back(link_into(*spool, dir, name));
                }
                return statuses;
            };
            result.per_recipient = co_await io::offload(std::move(work5));
        }

        // 3. The tmp/ file is no longer needed (or, after a failure, never will be).
        auto work6 = [spool] {
            spool->file.reset();
            if (!spool->path.empty()) {
                ::unlink(spool->path.c_str());
            }
            return 0;
        };
        co_await io::offload(std::move(work6));
        MAILWRIGHT_FAULT_POINT("maildir.after_cleanup");

        if (ec) {
            spdlog::warn("maildir: delivery failed: {}", ec.message());
            const auto status = is_temporary(ec) || ec.category() != std::generic_category() ? store_status::tempfail
                                                                                             : store_status::permfail;
            co_return plugin::delivery_result{status, std::vector<store_status>(users.size(), status)};
        }
        for (auto s : result.per_recipient) {
            if (s != store_status::ok) {
                result.status = s;
            }
        }
        co_return result;
    }

  private:
    fs::path dir_of(std::string_view user) const {
        std::string path = pattern_;
        for (auto at = path.find("%u"); at != std::string::npos; at = path.find("%u", at + user.size())) {
            path.replace(at, 2, user);
        }
        return path;
    }

    // Whether two paths name one file: a link already made is a link made. A user named twice, or two names
    // of one Maildir (a path without %u, a symbolic link), reach link_into() twice for one message; a second
    // link() fails with EEXIST after the first stored it, and answering tempfail then would make the client
    // send the message again, and store it again, on every retry.
    static bool same_file(const fs::path& a, const fs::path& b) {
        std::error_code ec;
        return fs::equivalent(a, b, ec) && !ec;
    }

    // Blocking: makes the spooled message appear in dir/new, durably.
    static store_status link_into(const spool_file& spool, const fs::path& dir, const std::string& name) {
        if (auto ec = ensure_maildir(dir)) {
            return is_temporary(ec) ? store_status::tempfail : store_status::permfail;
        }
        const fs::path target = dir / "new" / name;
        const int failed = ::link(spool.path.c_str(), target.c_str()) == 0 ? 0 : errno;
        if (failed != 0 && !(failed == EEXIST && same_file(spool.path, target))) {
            if (failed != EXDEV) {
                spdlog::error("maildir: cannot link into {}: {}", dir.string(),
                              std::error_code(failed, std::generic_category()).message());
                return store_status::tempfail;
            }
            // Another file system: copy through this Maildir's tmp/, then rename into new/.
            std::error_code ec;
            const fs::path copy = dir / "tmp" / name;
            fs::copy_file(spool.path, copy, ec);
            fd file(::open(copy.c_str(), O_RDONLY | O_CLOEXEC));
            if (ec || !file || ::fsync(file.get()) != 0 || ::rename(copy.c_str(), target.c_str()) != 0) {
                ::unlink(copy.c_str());
                return store_status::tempfail;
            }
        }
        MAILWRIGHT_FAULT_POINT("maildir.after_link");
        if (auto ec = sync_directory(dir / "new")) {
            spdlog::error("maildir: cannot fsync {}/new: {}", dir.string(), ec.message());
            return store_status::tempfail;
        }
        MAILWRIGHT_FAULT_POINT("maildir.after_directory_fsync");
        return store_status::ok;
    }

    std::string pattern_;
};

}  // namespace

}  // namespace mailwright::maildir

MAILWRIGHT_PLUGIN("maildir", "mailstore", "1.0", mailwright::maildir::store)
