// mailstore/maildir: the Maildir mailstore plugin.
//
// Delivery (delivery.cpp): the message streams into tmp/ and is linked into new/ of every recipient.
//
// Sessions: open() takes <Maildir>/.mailwright.lock with the SDK's plugin::maildrop_lock (an exclusive flock
// held until the maildrop is destroyed: works between processes, and between sessions of one process), moves
// new/ to cur/, and lists cur/. Deletions happen only in commit().
//
// [plugin.maildir] path = "var/mail/%u/Maildir"   where %u is the user name (checked by valid_user())
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
            plugin::maildrop_lock lock(dir / ".mailwright.lock");
            if (!lock.held()) {
                return {lock.status(), nullptr};  // in_use: another session, of this process or another
            }
            return {store_status::ok, std::make_unique<drop>(dir, std::move(lock), scan(dir))};
        };
        co_return co_await io::offload(std::move(work));
    }

    asio::awaitable<std::unique_ptr<plugin::delivery>> begin(std::span<const std::string> users,
                                                             const plugin::envelope*) override {
        std::vector<fs::path> dirs;
        for (const auto& user : users) {
            if (!valid_user(user)) {
                dirs.clear();  // refused for every recipient, as one mailbox name cannot be a path
                break;
            }
            dirs.push_back(dir_of(user));
        }
        co_return co_await start_delivery(std::move(dirs), users.size());
    }

  private:
    fs::path dir_of(std::string_view user) const {
        std::string path = pattern_;
        for (auto at = path.find("%u"); at != std::string::npos; at = path.find("%u", at + user.size())) {
            path.replace(at, 2, user);
        }
        return path;
    }

    std::string pattern_;
};

}  // namespace

}  // namespace mailwright::maildir

MAILWRIGHT_PLUGIN("maildir", "mailstore", "1.0", mailwright::maildir::store)
