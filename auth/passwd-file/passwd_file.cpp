// passwd-file: users and their stored passwords in a text file, one per line, in Dovecot's passwd-file format
// (passwd_lines.hpp):
//     user:{SCHEME}data[:uid:gid:gecos:home:shell:extra_fields]     ('#' starts a comment line)
// Schemes: mailwright/sasl/password.hpp. `mailwrightd passwd` and `doveadm pw` print such passwords. The file is
// read at start (lines that cannot be used stop the daemon, each named with its line) and again whenever it
// changes (a bad new version is logged and the previous one kept).
//
//   [plugin.passwd-file]
//   file = "/etc/mailwright/passwd"
//   default_scheme = "CRYPT"  # how a password without {SCHEME} is read (Dovecot's default_pass_scheme)
//   allow_plain = false       # true: {PLAIN}/{CLEAR} lines are meant, and their warning is not logged
//
// A password check reads the table on the blocking pool (the file is checked for changes every time, so an
// edited password counts at once), then goes through sasl::check_password(): the verified-credentials cache,
// else the hash on the compute pool. A recipient lookup runs on the blocking pool too, unless the file was
// checked within the last second and the user is in it. An unknown user is checked against a stand-in of the
// scheme most users have, so the answer and the time are the same as for a wrong password.
#include <sys/stat.h>

#include <spdlog/spdlog.h>
#include <chrono>
#include <fstream>
#include <mailwright/io/compute.hpp>
#include <mailwright/io/offload.hpp>
#include <mailwright/plugin/auth.hpp>
#include <mailwright/sasl/check_password.hpp>
#include <mailwright/sasl/crypto.hpp>
#include <mailwright/sasl/password.hpp>
#include <map>
#include <mutex>
#include <stdexcept>

#include "passwd_lines.hpp"

namespace {

using namespace mailwright;

struct file_identity {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = -1;
    timespec modified{};
    bool operator==(const file_identity& o) const {
        return device == o.device && inode == o.inode && size == o.size && modified.tv_sec == o.modified.tv_sec &&
               modified.tv_nsec == o.modified.tv_nsec;
    }
};

struct table {
    std::map<std::string, std::string, std::less<>> entries;
    std::string stand_in;  // what an unknown user is checked against
    file_identity identity;
};

std::optional<file_identity> identity_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return file_identity{st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

struct options {
    std::string default_scheme = "CRYPT";
    bool allow_plain = false;
};

// What a stand-in must cost like: the scheme, and for crypt(3) the method ("CRYPT$y$", "SHA512-CRYPT$6$").
std::string cost_class(const std::string& stored) {
    const auto close = stored.find('}');
    const auto method = stored.compare(close + 1, 1, "$") == 0 ? stored.find('$', close + 2) : std::string::npos;
    return stored.substr(0, method == std::string::npos ? close + 1 : method + 1);
}

// The stand-in an unknown user is checked against: a copy of a stored password of the kind most users have,
// so a check costs what a known user's does (the result is thrown away: an unknown user never logs in).
std::string stand_in_of(const table& t) {
    std::map<std::string, std::pair<int, const std::string*>> classes;
    for (const auto& [user, stored] : t.entries) {
        auto& c = classes[cost_class(stored)];
        if (c.first++ == 0) {
            c.second = &stored;
        }
    }
    const auto common = std::max_element(classes.begin(), classes.end(),
                                         [](const auto& a, const auto& b) { return a.second.first < b.second.first; });
    if (common == classes.end()) {
        return sasl::hash_password(sasl::scheme::sha512_crypt, sasl::base64_encode(sasl::random_bytes(12)));
    }
    return *common->second.second;
}

// Parses the file; throws std::runtime_error naming every line that cannot be used. Logs what it ignores.
std::shared_ptr<const table> parse(const std::string& path, const options& o) {
    auto t = std::make_shared<table>();
    const auto identity = identity_of(path);
    std::ifstream in(path);
    if (!identity || !in) {
        throw std::runtime_error("cannot read " + path);
    }
    t->identity = *identity;
    auto read = passwd_file::read_lines(in, path, o.default_scheme);
    if (!read.problems.empty()) {
        throw std::runtime_error(fmt::format("{} line{} cannot be used:\n{}", read.problems.size(),
                                             read.problems.size() == 1 ? "" : "s", fmt::join(read.problems, "\n")));
    }
    for (const auto& w : read.warnings) {
        spdlog::warn("plugin=passwd-file {}", w);
    }
    if (read.plaintext != 0 && !o.allow_plain) {
        spdlog::warn(
            "plugin=passwd-file {}: {} user{} with the password in the clear ({{PLAIN}}/{{CLEAR}}): anyone who can "
            "read the file can log in as them; hash them with `mailwrightd passwd`, or set allow_plain = true if "
            "this is meant",
            path, read.plaintext, read.plaintext == 1 ? "" : "s");
    }
    t->entries = std::move(read.entries);
    t->stand_in = stand_in_of(*t);
    return t;
}

class passwd_file final : public plugin::auth_backend, plugin::secret_provider {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        // Every key is read before any is judged: one returned from early would be reported as unknown.
        const auto file = config.string("file");
        options_.allow_plain = config.boolean("allow_plain").value_or(false);
        const auto scheme_name = config.string("default_scheme").value_or(options_.default_scheme);
        const auto scheme = sasl::parse_scheme(scheme_name);
        if (!file) {
            config.invalid("file", "the passwd file to read, e.g. file = \"/etc/mailwright/passwd\"");
        }
        if (!scheme) {
            config.invalid("default_scheme",
                           "a password scheme, as Dovecot's default_pass_scheme: CRYPT (the default), SHA512-CRYPT, "
                           "SHA256-CRYPT, MD5-CRYPT, BLF-CRYPT, SSHA512, SSHA256, SSHA, PBKDF2, ARGON2ID, PLAIN");
        }
        if (!file || !scheme) {
            return;
        }
        options_.default_scheme = sasl::scheme_name(*scheme);
        path_ = *file;
        current_ = parse(path_, options_);
        spdlog::info("plugin=passwd-file {} users from {}", current_->entries.size(), path_);
    }

    asio::awaitable<plugin::auth_result> verify_password(std::string_view user, std::string_view password) override {
        auto read = [this] { return fresh(); };
        const auto t = co_await io::offload(std::move(read));
        const auto it = t->entries.find(user);
        const bool known = it != t->entries.end();
        auto checked = sasl::check_result::mismatch;
        if (known) {
            checked = co_await sasl::check_password(user, it->second, password);
        } else {
            checked = co_await sasl::check_stand_in(user, t->stand_in, password);
        }
        switch (checked) {
            case sasl::check_result::match:
                co_return plugin::auth_result{plugin::auth_status::ok, std::string(user), {}};
            case sasl::check_result::busy:
                co_return plugin::auth_result{plugin::auth_status::tempfail, {}, "the compute pool is busy"};
            case sasl::check_result::invalid:
            case sasl::check_result::mismatch:
                break;
        }
        co_return plugin::auth_result{plugin::auth_status::rejected, {}, {}};
    }

    // SMTP asks this for every recipient. A map search does not block, so a user found in a table checked
    // against the file in the last second is answered without a trip to the blocking pool (two thread switches
    // a recipient). A user not found there is looked up after checking the file again: one just added must not
    // get a permanent 550.
    asio::awaitable<plugin::auth_result> lookup(std::string_view user) override {
        auto answer = [user = std::string(user)](const table& t) {
            const bool known = t.entries.count(user) != 0;
            return plugin::auth_result{known ? plugin::auth_status::ok : plugin::auth_status::rejected, user, {}};
        };
        if (const auto t = recent(); t && t->entries.count(std::string(user)) != 0) {
            co_return answer(*t);
        }
        auto find = [this, answer] { return answer(*fresh()); };
        co_return co_await io::offload(std::move(find));
    }

    plugin::secret_provider* secrets() noexcept override { return this; }

    // Deriving SCRAM keys from a plaintext equivalent is PBKDF2: CPU work, on the compute pool.
    asio::awaitable<plugin::secret_result> stored_secret(std::string_view user, plugin::secret_kind kind) override {
        auto read = [this] { return fresh(); };
        const auto t = co_await io::offload(std::move(read));
        const auto it = t->entries.find(user);
        if (it == t->entries.end()) {
            co_return plugin::secret_result{};
        }
        auto derive = [stored = it->second, kind, user = std::string(user)] {
            return sasl::secret_from(stored, kind, user);
        };
        auto secret = co_await io::compute(std::move(derive));
        if (secret.busy()) {
            co_return plugin::secret_result{plugin::auth_status::tempfail};
        }
        if (!*secret) {
            co_return plugin::secret_result{};
        }
        co_return plugin::secret_result{plugin::auth_status::ok, std::string(user), std::move(**secret)};
    }

  private:
    // The table, re-read first if the file changed. Runs on the blocking pool; the mutex makes concurrent
    // checks see one consistent table and re-read it once.
    std::shared_ptr<const table> fresh() {
        std::lock_guard lock(mutex_);
        checked_ = std::chrono::steady_clock::now();
        const auto identity = identity_of(path_);
        if (identity && !(*identity == current_->identity)) {
            try {
                current_ = parse(path_, options_);
                spdlog::info("plugin=passwd-file re-read {}: {} users", path_, current_->entries.size());
            } catch (const std::exception& e) {
                spdlog::error("plugin=passwd-file keeping the previous users: {}", e.what());
                auto kept = std::make_shared<table>(*current_);
                kept->identity = *identity;  // do not retry a broken file on every login
                current_ = std::move(kept);
            }
        }
        return current_;
    }

    // The table if the file was checked within the last second, else null. Never waits: the mutex may be
    // held by a pool thread reading the file, and this runs on an event loop.
    std::shared_ptr<const table> recent() {
        std::unique_lock lock(mutex_, std::try_to_lock);
        if (!lock.owns_lock() || std::chrono::steady_clock::now() - checked_ > std::chrono::seconds(1)) {
            return nullptr;
        }
        return current_;
    }

    std::string path_;
    options options_;
    std::mutex mutex_;
    std::shared_ptr<const table> current_;
    std::chrono::steady_clock::time_point checked_;  // when fresh() last compared the file with current_
};

}  // namespace

MAILWRIGHT_PLUGIN("passwd-file", "auth", "1.0", passwd_file)
