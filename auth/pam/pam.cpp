// pam: passwords checked by Linux-PAM (pam(3)), for system accounts (pam_unix) or whatever stack the service
// file names (pam_userdb, pam_sss, pam_ldap). Each check is pam_start, pam_authenticate, pam_acct_mgmt (an
// expired or locked account is refused even with the right password) and pam_end, on the compute pool (io::compute:
// pam_unix hashes the password, the heavy part; PAM modules also read files, run helpers (unix_chkpwd) and ask
// directories over the network). A compute pool without a place within [server] hashing_wait is a tempfail.
//
//   [plugin.pam]
//   service = "mailwright"   # the PAM service: <confdir>/mailwright
//   confdir = "/etc/pam.d"   # optional, absolute: where the service file is (pam_start_confdir, Linux-PAM 1.5)
//   lookup = "none"          # SMTP recipient checks: "none" (PAM cannot look a user up) or "passwd" (getpwnam_r)
//   min_uid = 1000           # lookup = "passwd": the accounts that receive mail (login.defs' UID_MIN, UID_MAX),
//   max_uid = 60000          # so root, daemon, nobody and the other system accounts get none
//   max_pending = 4          # checks admitted at once: one runs, the others wait (see `gate` below)
//
// PAM keeps no secrets Mailwright could use, so secrets() stays null: CRAM-MD5, APOP and SCRAM are never
// offered with this plugin alone, only PLAIN, LOGIN and POP3 USER/PASS.
#include <pwd.h>
#include <security/pam_appl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mailwright/io/compute.hpp>
#include <mailwright/io/offload.hpp>
#include <mailwright/plugin/auth.hpp>
#include <mailwright/sasl/crypto.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

using namespace mailwright;
using plugin::auth_result;
using plugin::auth_status;

// Longer names than any account has (useradd allows 32, an e-mail address as a name 254) go no further:
// modules copy the name into logs, utmp-sized buffers and LDAP filters. Control characters would let a
// client forge lines in the logs modules write to syslog.
constexpr std::size_t max_user_length = 256;

bool acceptable_user(std::string_view user) {
    return !user.empty() && user.size() <= max_user_length &&
           std::none_of(user.begin(), user.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

// PAM takes C strings: "pw\0junk" would pass for "pw". A password longer than PAM_MAX_RESP_SIZE is refused by
// pam_unix too, and no module needs one.
bool acceptable_password(std::string_view password) {
    return !password.empty() && password.size() <= PAM_MAX_RESP_SIZE && password.find('\0') == std::string::npos;
}

struct conversation_data {
    const char* user;
    const char* password;
};

void drop_answers(pam_response* answers, int count) {
    for (int i = 0; i < count; ++i) {
        if (answers[i].resp != nullptr) {
            explicit_bzero(answers[i].resp, std::strlen(answers[i].resp));
            std::free(answers[i].resp);
        }
    }
    std::free(answers);
}

// The conversation (pam_conv(3)): the password answers a hidden prompt, the user name a visible one (a module
// that asks "login:"); messages for the user are not answered, as no protocol here can show them. Anything
// else (a binary prompt) cannot be answered. The answers are malloc'd copies that PAM frees.
int converse(int count, const pam_message** messages, pam_response** responses, void* data) {
    if (count <= 0 || count > PAM_MAX_NUM_MSG) {
        return PAM_CONV_ERR;
    }
    const auto& d = *static_cast<const conversation_data*>(data);
    auto* answers = static_cast<pam_response*>(std::calloc(static_cast<std::size_t>(count), sizeof(pam_response)));
    if (answers == nullptr) {
        return PAM_BUF_ERR;
    }
    for (int i = 0; i < count; ++i) {
        const char* answer = nullptr;
        switch (messages[i]->msg_style) {  // Linux-PAM passes an array of pointers
            case PAM_PROMPT_ECHO_OFF:
                answer = d.password;
                break;
            case PAM_PROMPT_ECHO_ON:
                answer = d.user;
                break;
            case PAM_ERROR_MSG:
            case PAM_TEXT_INFO:
                continue;
            default:
                drop_answers(answers, count);
                return PAM_CONV_ERR;
        }
        answers[i].resp = strdup(answer);
        if (answers[i].resp == nullptr) {
            drop_answers(answers, count);
            return PAM_BUF_ERR;
        }
    }
    *responses = answers;
    return PAM_SUCCESS;
}

// pam_unix and pam_faildelay ask libpam to sleep after a failure (pam_fail_delay(3): 2 s and more). That would
// hold a compute-pool thread (and the PAM lock, `gate`) for nothing: the session already answers a failure only after
// its own delay (mailwright/sasl/penalty.hpp), which waits on a timer and grows with repeated failures. A
// PAM_FAIL_DELAY function replaces libpam's sleep; this one does not wait.
void no_delay(int, unsigned, void*) {}

// What a PAM answer means here. "No" for every answer that says this user may not log in with this password,
// the same whether the name is unknown, the password wrong or the account expired or locked: the client learns
// nothing about which. tempfail for the answers that say PAM could not decide: a directory or file it needs
// cannot be read (AUTHINFO_UNAVAIL, CRED_INSUFFICIENT: pam_unix without access to /etc/shadow), a broken stack
// (a missing module, a prompt nobody can answer), memory. Those are for the administrator to fix, and a client
// that retries later may then get in.
auth_status judge(int status) {
    switch (status) {
        case PAM_SUCCESS:
            return auth_status::ok;
        case PAM_AUTH_ERR:
        case PAM_USER_UNKNOWN:
        case PAM_MAXTRIES:
        case PAM_PERM_DENIED:
        case PAM_ACCT_EXPIRED:
        case PAM_NEW_AUTHTOK_REQD:  // the password expired: no mail protocol can change it
        case PAM_AUTHTOK_EXPIRED:
            return auth_status::rejected;
        default:
            return auth_status::tempfail;
    }
}

struct pam_settings {
    std::string service;
    std::string confdir;  // empty: the system's (pam_start)
};

// Wipes a password however the scope ends.
struct wipe_at_exit {
    std::string& secret;
    ~wipe_at_exit() { sasl::wipe(secret); }
};

// One check, on a pool thread. `password` is wiped before this returns.
auth_result check(const pam_settings& settings, const std::string& user, std::string& password) {
    const wipe_at_exit wipe{password};
    if (!acceptable_user(user) || !acceptable_password(password)) {
        return auth_result{auth_status::rejected, {}, "a user name or password PAM cannot take"};
    }
    conversation_data data{user.c_str(), password.c_str()};
    const pam_conv conversation{converse, &data};
    pam_handle_t* handle = nullptr;
    int status = settings.confdir.empty() ? pam_start(settings.service.c_str(), user.c_str(), &conversation, &handle)
                                          : pam_start_confdir(settings.service.c_str(), user.c_str(), &conversation,
                                                              settings.confdir.c_str(), &handle);
    if (status != PAM_SUCCESS) {
        spdlog::warn("plugin=pam pam_start: {}", pam_strerror(handle, status));
        return auth_result{auth_status::tempfail, {}, "pam_start failed"};
    }
    const char* step = "pam_set_item";
    status = pam_set_item(handle, PAM_FAIL_DELAY, reinterpret_cast<const void*>(&no_delay));
    if (status == PAM_SUCCESS) {
        step = "pam_authenticate";
        status = pam_authenticate(handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    }
    if (status == PAM_SUCCESS) {
        step = "pam_acct_mgmt";
        status = pam_acct_mgmt(handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    }
    // A module may give the user its canonical name (PAM_USER), as Dovecot's passdb pam takes it.
    std::string canonical = user;
    const void* item = nullptr;
    if (status == PAM_SUCCESS && pam_get_item(handle, PAM_USER, &item) == PAM_SUCCESS && item != nullptr &&
        acceptable_user(static_cast<const char*>(item))) {
        canonical = static_cast<const char*>(item);
    }
    const std::string why = fmt::format("{}: {}", step, pam_strerror(handle, status));
    pam_end(handle, status);  // wipes the PAM_AUTHTOK copy modules kept
    const auto verdict = judge(status);
    // The user name goes last, as in the session's lines: a name with spaces cannot pass for another field.
    if (verdict == auth_status::tempfail) {
        spdlog::warn("plugin=pam cannot decide: {}{} user={}", why,
                     status == PAM_AUTHINFO_UNAVAIL ? " (pam_unix: may the daemon's user read /etc/shadow?)" : "",
                     user);
    } else if (verdict == auth_status::rejected) {
        spdlog::debug("plugin=pam refused: {} user={}", why, user);
    }
    return auth_result{verdict, verdict == auth_status::ok ? canonical : "", why};
}

// lookup = "passwd": whether an account of that name with a user's uid exists in the name service (NSS: files,
// LDAP, sssd). An error of the name service is tempfail; a name it does not know is not an error.
// One PAM transaction at a time in the process. Linux-PAM is thread-safe only as far as what it runs is:
// Debian's libpam reports every transaction through libaudit, whose audit_log_acct_message() fills static
// buffers (ThreadSanitizer caught two logins at once racing there); every pam_start and pam_end loads and
// unloads the modules; and a module from elsewhere promises nothing (Dovecot runs PAM in worker processes
// for this). A check waiting for the lock holds a compute-pool thread, so at most max_pending checks are
// admitted at once, running, waiting or queued for the pool; beyond that a login is a temporary failure,
// and the rest of the pool stays free for other hashing.
struct gate {
    std::mutex transaction;
    std::atomic<std::int64_t> admitted{0};
};

// One admitted check: counted in gate::admitted (by the caller) until this is destroyed.
struct leave_gate {
    void operator()(std::atomic<std::int64_t>* admitted) const noexcept { admitted->fetch_sub(1); }
};
using slot = std::unique_ptr<std::atomic<std::int64_t>, leave_gate>;

auth_result find_account(const std::string& user, std::int64_t min_uid, std::int64_t max_uid) {
    if (!acceptable_user(user)) {
        return auth_result{auth_status::rejected, {}, "a user name PAM cannot take"};
    }
    const long suggested = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(suggested > 0 ? static_cast<std::size_t>(suggested) : 16384);
    passwd entry{};
    passwd* found = nullptr;
    int error = 0;
    while ((error = ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found)) == ERANGE &&
           buffer.size() < (1U << 20)) {
        buffer.resize(buffer.size() * 2);
    }
    if (found != nullptr) {
        const bool user_uid = entry.pw_uid >= min_uid && entry.pw_uid <= max_uid;
        return user_uid ? auth_result{auth_status::ok, entry.pw_name, {}}
                        : auth_result{auth_status::rejected, {}, "a system account (uid outside min_uid-max_uid)"};
    }
    // getpwnam_r(3): 0, ENOENT, ESRCH, EBADF and EPERM all say "no such name" in some implementation.
    if (error == 0 || error == ENOENT || error == ESRCH || error == EBADF || error == EPERM) {
        return auth_result{auth_status::rejected, {}, "no such account"};
    }
    spdlog::warn("plugin=pam getpwnam_r: {}", std::strerror(error));
    return auth_result{auth_status::tempfail, {}, "the name service failed"};
}

// Warns of the mistakes in a service file that make every login fail with no error of its own at start.
void check_stack(const std::string& file) {
    std::ifstream in(file);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (::access(file.c_str(), F_OK) != 0) {
        // PAM then quietly uses the service "other" (on Debian: common-auth, that is pam_unix).
        spdlog::warn("plugin=pam {} does not exist: PAM uses its service \"other\" instead", file);
    } else if (!in) {
        spdlog::warn("plugin=pam {} cannot be read by the daemon's user, and so not by PAM", file);
    } else if ((text.find("pam_unix") != std::string::npos || text.find("common-auth") != std::string::npos) &&
               ::geteuid() != 0 && ::access("/etc/shadow", R_OK) != 0) {
        // unix_chkpwd, pam_unix's set-group-id helper, checks only the password of the user who runs it; for
        // anyone else pam_unix answers PAM_AUTHINFO_UNAVAIL (a temporary failure here).
        spdlog::warn(
            "plugin=pam {} uses pam_unix, which cannot check other users' passwords without reading /etc/shadow: "
            "add the daemon's user to group shadow, or every login of a system account fails",
            file);
    }
}

class pam final : public plugin::auth_backend {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        // Every key is read before any is judged: one returned from early would be reported as unknown.
        settings_.service = config.string("service").value_or("mailwright");
        const auto confdir = config.string("confdir");
        const auto lookup = config.string("lookup").value_or("none");
        min_uid_ = config.integer("min_uid", 0, 4294967294).value_or(1000);
        max_uid_ = config.integer("max_uid", 0, 4294967294).value_or(60000);
        max_pending_ = config.integer("max_pending", 1, 1024).value_or(4);
        bool valid = true;
        if (settings_.service.empty() || settings_.service.find('/') != std::string::npos) {
            valid = false;
            config.invalid("service", "a PAM service name (a file name in confdir, e.g. \"mailwright\")");
        }
        if (confdir) {
            struct stat st {};
            if (!confdir->starts_with('/') || ::stat(confdir->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
                valid = false;
                config.invalid("confdir", "an absolute path of an existing directory, e.g. \"/etc/pam.d\"");
            }
            settings_.confdir = *confdir;
        }
        if (lookup != "none" && lookup != "passwd") {
            valid = false;
            config.invalid("lookup", "\"none\" or \"passwd\"");
        }
        passwd_lookup_ = lookup == "passwd";
        if (min_uid_ > max_uid_) {
            valid = false;
            config.invalid("max_uid", "at least min_uid");
        }
        if (!valid) {
            return;
        }
        check_stack((confdir ? *confdir : std::string("/etc/pam.d")) + "/" + settings_.service);
        spdlog::info("plugin=pam service={} confdir={} lookup={}", settings_.service,
                     confdir ? *confdir : "(the system's)", lookup);
    }

    asio::awaitable<auth_result> verify_password(std::string_view user, std::string_view password) override {
        slot admission(&gate_.admitted);
        if (admission->fetch_add(1) >= max_pending_) {
            spdlog::warn("plugin=pam max_pending = {} checks are pending already: a login fails for now", max_pending_);
            co_return auth_result{auth_status::tempfail, {}, "too many PAM checks pending"};
        }
        // The password lives in one string on the heap that check() wipes: a string captured by value would
        // leave copies of a short password behind in each closure it was moved out of. The admission ends when
        // the work does (or is dropped unrun).
        auto work = [this, user = std::string(user), secret = std::make_unique<std::string>(password),
                     admission = std::move(admission)] {
            const std::lock_guard lock(gate_.transaction);
            return check(settings_, user, *secret);
        };
        auto result = co_await io::compute(std::move(work));
        if (result.busy()) {
            co_return auth_result{auth_status::tempfail, {}, "the compute pool is busy"};
        }
        co_return std::move(*result);
    }

    // PAM has no call that asks whether a user exists (pam_acct_mgmt without a password is not one: many
    // stacks refuse it, and pam_userdb's users are not accounts of the system). "passwd" asks the name service.
    asio::awaitable<auth_result> lookup(std::string_view user) override {
        if (!passwd_lookup_) {
            co_return auth_result{auth_status::rejected, {}, "lookup not supported (lookup = \"none\")"};
        }
        auto work = [user = std::string(user), min = min_uid_, max = max_uid_] { return find_account(user, min, max); };
        co_return co_await io::offload(std::move(work));
    }

  private:
    pam_settings settings_;
    bool passwd_lookup_ = false;
    std::int64_t min_uid_ = 1000;
    std::int64_t max_uid_ = 60000;
    std::int64_t max_pending_ = 4;
    gate gate_;
};

}  // namespace

MAILWRIGHT_PLUGIN("pam", "auth", "1.0", pam)
