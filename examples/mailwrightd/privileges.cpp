// Running as [server] user and group. The order is the one every privilege-separating daemon keeps (Postfix,
// Dovecot, OpenSSH): supplementary groups first (initgroups), then the group, then the user, for once the user
// is no longer root it may change neither of the others. Each id is read back afterwards, and root must be
// out of reach: a kernel, an LSM or a seccomp filter that made a call "succeed" without effect is caught here
// rather than by an attacker.
#include "privileges.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace mailwrightd {

using namespace mailwright;
namespace fs = std::filesystem;

namespace {

// `error`: errno, saved by the caller before it formats `what` (formatting may allocate, and change errno).
[[noreturn]] void fail(int error, const std::string& what) {
    throw std::runtime_error(fmt::format("{}: {}", what, std::strerror(error)));
}

// The user database may be large (LDAP through NSS): grow the buffer until the entry fits.
template <class Entry, class Lookup>
bool look_up(Lookup lookup, Entry& entry, std::vector<char>& buffer) {
    buffer.resize(1024);
    for (;;) {
        Entry* found = nullptr;
        const int rc = lookup(&entry, buffer.data(), buffer.size(), &found);
        if (rc == ERANGE && buffer.size() < (std::size_t{1} << 20)) {
            buffer.resize(buffer.size() * 2);
            continue;
        }
        if (rc != 0 && rc != ENOENT && rc != ESRCH) {
            fail(rc, "reading the user database");
        }
        return found != nullptr;
    }
}

// The groups the account is in (its primary group among them), sorted: what getgroups() must say afterwards.
std::vector<gid_t> groups_of(const account& a) {
    std::vector<gid_t> groups(64);
    for (int tries = 0; tries < 8; ++tries) {
        int count = static_cast<int>(groups.size());
        if (::getgrouplist(a.user.c_str(), a.gid, groups.data(), &count) >= 0) {
            groups.resize(static_cast<std::size_t>(count));
            std::sort(groups.begin(), groups.end());
            return groups;
        }
        groups.resize(static_cast<std::size_t>(count) > groups.size() ? static_cast<std::size_t>(count)
                                                                      : groups.size() * 2);
    }
    throw std::runtime_error("getgrouplist: the user's group list keeps changing");
}

bool running_as(const account& a) {
    return ::getuid() == a.uid && ::geteuid() == a.uid && ::getgid() == a.gid && ::getegid() == a.gid;
}

// Gives `path` to the account when root made it. Not followed when it is a symbolic link, and only a regular
// file with one link, or a directory: after the first drop the account may write where `path` is, and a link
// it left there (to /etc/shadow) must not make root give that file away. Nothing to do when it is missing or
// out of root's reach (a directory of the account's, mode 0700, when the bounding set has no CAP_DAC_*).
void give(const fs::path& path, const account& a) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || (st.st_uid == a.uid && st.st_gid == a.gid)) {
        return;
    }
    if (!S_ISDIR(st.st_mode) && !(S_ISREG(st.st_mode) && st.st_nlink == 1)) {
        throw std::runtime_error(
            fmt::format("{} is not owned by {} and is not a plain file: left as it is; "
                        "remove it or give it to {} yourself",
                        path.string(), a.user, a.user));
    }
    if (::lchown(path.c_str(), a.uid, a.gid) != 0) {
        const int error = errno;
        fail(error, fmt::format("giving {} to user {}", path.string(), a.user));
    }
}

// What the daemon made (or an earlier start as root left) that the account must own: state_dir, where it
// writes from now on, the stand-in key in it, and a generated development certificate, which a reload
// (SIGHUP) reads again.
void hand_over(const config::daemon_config& cfg, const account& a) {
    const fs::path state_dir = cfg.server.state_dir;
    if (fs::create_directories(state_dir)) {
        fs::permissions(state_dir, fs::perms::owner_all);
    }
    // state_dir itself is followed: its parent belongs to the administrator (/var/lib), not to the account.
    if (::chown(state_dir.c_str(), a.uid, a.gid) != 0) {
        const int error = errno;
        fail(error, fmt::format("giving state_dir {} to user {}", state_dir.string(), a.user));
    }
    give(state_dir / "scram-stand-in.key", a);
    if (cfg.tls.generate_self_signed) {
        give(cfg.tls.defaults.certificate, a);
        give(cfg.tls.defaults.key, a);
    }
}

void become(const account& a) {
    if (::initgroups(a.user.c_str(), a.gid) != 0) {
        const int error = errno;
        fail(error, fmt::format("initgroups({}, {})", a.user, a.gid));
    }
    if (::setgid(a.gid) != 0) {
        const int error = errno;
        fail(error, fmt::format("setgid({})", a.gid));
    }
    if (::setuid(a.uid) != 0) {
        const int error = errno;
        fail(error, fmt::format("setuid({})", a.uid));
    }
}

// The capability sets of this process, from /proc: all must be empty once root is given up.
std::vector<std::string> capabilities_left() {
    std::ifstream status("/proc/self/status");
    std::vector<std::string> left;
    for (std::string line; std::getline(status, line);) {
        for (const char* set : {"CapPrm:", "CapEff:", "CapAmb:"}) {
            if (line.rfind(set, 0) == 0 && line.find_first_not_of("0 \t", std::strlen(set)) != std::string::npos) {
                left.push_back(line);
            }
        }
    }
    return left;
}

void verify(const account& a) {
    uid_t ruid = 0, euid = 0, suid = 0;
    gid_t rgid = 0, egid = 0, sgid = 0;
    if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0) {
        const int error = errno;
        fail(error, "reading the process ids back");
    }
    if (ruid != a.uid || euid != a.uid || suid != a.uid || rgid != a.gid || egid != a.gid || sgid != a.gid) {
        throw std::runtime_error(fmt::format("the change to {}:{} did not take: uids {} {} {}, gids {} {} {}", a.uid,
                                             a.gid, ruid, euid, suid, rgid, egid, sgid));
    }
    const int count = ::getgroups(0, nullptr);
    std::vector<gid_t> groups(static_cast<std::size_t>(std::max(count, 0)));
    if (count < 0 || ::getgroups(count, groups.data()) != count) {
        const int error = errno;
        fail(error, "getgroups");
    }
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    auto expected = groups_of(a);
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    if (groups != expected) {
        throw std::runtime_error(fmt::format("the supplementary groups are {}, not {}'s {}", groups, a.user, expected));
    }
    if (a.uid == 0) {
        return;
    }
    if (::setuid(0) == 0 || ::seteuid(0) == 0) {
        throw std::runtime_error("root's rights came back after they were given up (setuid(0) succeeded)");
    }
    if (const auto left = capabilities_left(); !left.empty()) {
        throw std::runtime_error(fmt::format("capabilities are left after the change of user: {}", left));
    }
}

}  // namespace

account resolve_account(const config::server_config& server) {
    account a;
    a.user = server.user;
    std::vector<char> buffer;
    passwd pw{};
    if (!look_up(
            [&](passwd* e, char* b, std::size_t n, passwd** r) { return ::getpwnam_r(a.user.c_str(), e, b, n, r); }, pw,
            buffer)) {
        throw std::runtime_error(
            fmt::format("[server] user \"{}\": no such user on this system (make one: useradd "
                        "--system --no-create-home --shell /usr/sbin/nologin {})",
                        a.user, a.user));
    }
    a.uid = pw.pw_uid;
    a.gid = pw.pw_gid;
    group gr{};
    if (server.group.empty()) {
        a.group = look_up([&](group* e, char* b, std::size_t n, group** r) { return ::getgrgid_r(a.gid, e, b, n, r); },
                          gr, buffer)
                      ? gr.gr_name
                      : std::to_string(a.gid);
        return a;
    }
    a.group = server.group;
    if (!look_up([&](group* e, char* b, std::size_t n, group** r) { return ::getgrnam_r(a.group.c_str(), e, b, n, r); },
                 gr, buffer)) {
        throw std::runtime_error(fmt::format("[server] group \"{}\": no such group on this system", a.group));
    }
    a.gid = gr.gr_gid;
    return a;
}

void drop_privileges(const config::daemon_config& cfg) {
    if (cfg.server.user.empty()) {
        if (::geteuid() == 0) {
            spdlog::warn(
                "running as root: every session is served with root's rights; set [server] user (e.g. "
                "\"mailwright\") and the daemon becomes that user once its ports are bound");
        }
        return;
    }
    const account target = resolve_account(cfg.server);
    if (running_as(target)) {
        if (target.uid == 0) {
            spdlog::warn("running as root: [server] user is root, so every session is served with root's rights");
        }
        return;  // already that account: nothing to change
    }
    if (::geteuid() != 0) {
        throw std::runtime_error(fmt::format(
            "[server] user is \"{}\" (uid {}, group {} gid {}), but mailwrightd was started as uid {} gid {}, not as "
            "root: only root can change to another account. Start it as root (it binds its ports and reads its keys, "
            "then becomes {}), or start it as {} and remove 'user'",
            target.user, target.uid, target.group, target.gid, ::geteuid(), ::getegid(), target.user, target.user));
    }
    hand_over(cfg, target);
    become(target);
    verify(target);
    spdlog::info("running as user={} uid={} group={} gid={} groups={}: root's rights are given up for good",
                 target.user, target.uid, target.group, target.gid, groups_of(target));
}

}  // namespace mailwrightd
