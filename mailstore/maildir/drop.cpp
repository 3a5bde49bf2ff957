// A Maildir maildrop for one session, and the reader that turns stored LF line ends back into CRLF (and
// stops after the headers and N body lines for POP3 TOP) with the SDK's plugin::crlf_converter.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mailwright/io/offload.hpp>
#include <mailwright/plugin/message_text.hpp>
#include <tuple>

#include "names.hpp"
#include "store.hpp"

namespace mailwright::maildir {

namespace fs = std::filesystem;

namespace {

// Octets of the message as POP3 sends it (plugin::crlf_size_counter), read from the file.
std::uint64_t crlf_size_of(const fs::path& path, std::error_code& ec) {
    fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) {
        ec = last_error();
        return 0;
    }
    plugin::crlf_size_counter size;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(file.get(), buffer, sizeof buffer);
        if (n < 0) {
            ec = last_error();
            return 0;
        }
        if (n == 0) {
            return size.total();
        }
        size.add(std::string_view(buffer, static_cast<std::size_t>(n)));
    }
}

// tmp/ files older than 36 hours are left-overs of interrupted deliveries (the Maildir convention).
void sweep_tmp(const fs::path& tmp) {
    const auto limit = fs::file_time_type::clock::now() - std::chrono::hours(36);
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(tmp, ec)) {
        std::error_code e;
        if (entry.is_regular_file(e) && entry.last_write_time(e) < limit) {
            fs::remove(entry.path(), e);
        }
    }
}

// Up to `want` octets of a file, and whether it ended there. A short read is confirmed by one more read in
// the same job, so a message that fits in one chunk costs one trip to the blocking pool, not two.
struct file_chunk {
    std::error_code ec;
    std::string data;
    bool eof = false;
};

file_chunk read_chunk(int file, std::size_t want) {
    file_chunk r;
    r.data.resize(want);
    std::size_t got = 0;
    while (got < want) {
        const ssize_t n = ::read(file, r.data.data() + got, want - got);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            r.ec = last_error();
            r.data.clear();
            return r;
        }
        if (n == 0) {
            r.eof = true;
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    r.data.resize(got);
    return r;
}

constexpr std::size_t read_size = 64 * 1024;

// The file's octets as POP3 sends them (plugin::crlf_converter: LF becomes CRLF, TOP stops early).
class crlf_reader final : public plugin::message_reader {
  public:
    // `first`: the file's first chunk, read when it was opened.
    crlf_reader(fd file, std::optional<std::size_t> body_lines, file_chunk first)
        : file_(std::move(file)), converter_(body_lines), eof_(first.eof) {
        converter_.convert(first.data, pending_);
    }

    asio::awaitable<plugin::chunk_result> read_some(std::span<char> buffer) override {
        while (taken_ == pending_.size() && !eof_ && !converter_.finished()) {
            auto work = [file = file_.get()] { return read_chunk(file, read_size); };
            auto chunk = co_await io::offload(std::move(work));
            if (chunk.ec) {
                co_return plugin::chunk_result{0, chunk.ec};
            }
            eof_ = chunk.eof;
            converter_.convert(chunk.data, pending_);
        }
        const std::size_t n = std::min(buffer.size(), pending_.size() - taken_);
        std::copy_n(pending_.data() + taken_, n, buffer.data());
        taken_ += n;
        if (taken_ == pending_.size()) {
            pending_.clear();
            taken_ = 0;
        }
        co_return plugin::chunk_result{n, {}};
    }

  private:
    fd file_;
    plugin::crlf_converter converter_;
    bool eof_ = false;  // the file has no more octets to read
    std::string pending_;
    std::size_t taken_ = 0;
};

std::vector<plugin::message_info> infos_of(const std::vector<message_file>& files) {
    std::vector<plugin::message_info> infos;
    infos.reserve(files.size());
    for (const auto& f : files) {
        infos.push_back(f.info);
    }
    return infos;
}

}  // namespace

std::vector<message_file> scan(const fs::path& dir) {
    sweep_tmp(dir / "tmp");
    std::error_code ec;
    // Messages in new/ move to cur/ with an empty info part: they have now been seen by a reader.
    for (const auto& entry : fs::directory_iterator(dir / "new", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.front() == '.') {
            continue;
        }
        const fs::path target = dir / "cur" / (name.find(':') == std::string::npos ? name + ":2," : name);
        if (::rename(entry.path().c_str(), target.c_str()) != 0 && errno != ENOENT) {
            spdlog::warn("maildir: cannot move {} to cur/: {}", entry.path().string(), last_error().message());
        }
    }
    std::vector<message_file> files;
    for (const auto& entry : fs::directory_iterator(dir / "cur", ec)) {
        const std::string name = entry.path().filename().string();
        std::error_code e;
        if (name.empty() || name.front() == '.' || !entry.is_regular_file(e)) {
            continue;
        }
        const auto sizes = sizes_of(name);
        std::uint64_t size = 0;
        if (sizes.crlf_size) {
            size = *sizes.crlf_size;
        } else {
            size = crlf_size_of(entry.path(), e);  // delivered by another program: count once
            if (e) {
                continue;  // removed under us, or unreadable: not part of this session's list
            }
        }
        files.push_back({name, {uid_of(base_of(name)), size}});
    }
    std::sort(files.begin(), files.end(), [](const message_file& a, const message_file& b) {
        const auto ta = delivery_time_of(a.name);
        const auto tb = delivery_time_of(b.name);
        return ta != tb ? ta < tb : a.name < b.name;
    });
    return files;
}

drop::drop(fs::path dir, plugin::maildrop_lock lock, std::vector<message_file> files)
    : listed_maildrop(infos_of(files)), dir_(std::move(dir)), lock_(std::move(lock)) {
    for (auto& f : files) {
        names_.push_back(std::move(f.name));
    }
}

asio::awaitable<plugin::open_message_result> drop::open_message(std::size_t index,
                                                                std::optional<std::size_t> body_lines) {
    if (index >= names_.size()) {
        co_return plugin::open_message_result{plugin::store_status::not_found, nullptr};
    }
    // Opened and read up to the first chunk in one trip to the blocking pool.
    auto work2 = [path = dir_ / "cur" / names_[index]] {
        fd opened(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!opened) {
            return std::tuple{last_error(), std::move(opened), file_chunk{}};
        }
        auto first = read_chunk(opened.get(), read_size);
        return std::tuple{first.ec, std::move(opened), std::move(first)};
    };
    auto [ec, file, first] = co_await io::offload(std::move(work2));
    if (ec) {
        // Another program may have removed it since the session began: that message is gone, not the store.
        const auto status = ec.value() == ENOENT ? plugin::store_status::not_found : plugin::store_status::tempfail;
        spdlog::warn("maildir: cannot open {}: {}", names_[index], ec.message());
        co_return plugin::open_message_result{status, nullptr};
    }
    co_return plugin::open_message_result{plugin::store_status::ok,
                                          std::make_unique<crlf_reader>(std::move(file), body_lines, std::move(first))};
}

asio::awaitable<plugin::store_status> drop::remove(std::vector<std::size_t> indexes) {
    std::vector<fs::path> doomed;
    for (const auto i : indexes) {
        doomed.push_back(dir_ / "cur" / names_[i]);
    }
    auto work3 = [doomed = std::move(doomed), cur = dir_ / "cur"] {
        for (const auto& path : doomed) {
            if (::unlink(path.c_str()) != 0 && errno != ENOENT) {  // already gone is as good as deleted
                spdlog::error("maildir: cannot delete {}: {}", path.string(), last_error().message());
                return plugin::store_status::tempfail;
            }
        }
        return sync_directory(cur) ? plugin::store_status::tempfail : plugin::store_status::ok;
    };
    const auto status = co_await io::offload(std::move(work3));
    co_return status;
}

}  // namespace mailwright::maildir
