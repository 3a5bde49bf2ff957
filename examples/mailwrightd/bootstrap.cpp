// Demo state: var/demo-password (0600, generated once); the welcome message for var/mail/demo/Maildir is
// delivered by the daemon through its mailstore plugin.
#include "bootstrap.hpp"

#include "mailwright/sasl/password.hpp"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace mailwrightd {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

std::string random_password() {
    // 18 characters from 32 unambiguous ones: 90 bits.
    static constexpr std::string_view alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
    unsigned char bytes[18];
    if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
        fail("getrandom");
    }
    std::string password;
    for (unsigned char b : bytes) {
        password += alphabet[b % alphabet.size()];
    }
    return password;
}

void fsync_path(const fs::path& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        fail("fsync " + path.string());
    }
    ::close(fd);
}

// Writes a new file that must not exist yet, durably.
void write_new_file(const fs::path& path, std::string_view content) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fail("create " + path.string());
    }
    const bool ok =
        ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
        fail("write " + path.string());
    }
}

}  // namespace

std::string_view try_commands() {
    return R"TRY(
mailwrightd is serving the demo. Try, in another terminal, in this directory:

  # read the welcome message over POP3 (STLS, then login)
  curl -k --ssl-reqd -u demo:"$(cat var/demo-password)" pop3://127.0.0.1:1110/1

  # send the demo user a message over submission (STARTTLS, then AUTH)
  swaks --server 127.0.0.1 --port 1587 --tls --auth PLAIN --auth-user demo \
        --auth-password "$(cat var/demo-password)" --from demo@localhost --to demo@localhost

  # list the mailbox: what you sent is the last message
  curl -k --ssl-reqd -u demo:"$(cat var/demo-password)" pop3://127.0.0.1:1110/

Stop it with Ctrl-C.
)TRY";
}

std::string welcome_message(std::string_view user) {
    const auto now = std::chrono::system_clock::now();
    return fmt::format(
        "From: Mailwright <postmaster@localhost>\r\n"
        "To: {}@localhost\r\n"
        "Subject: Welcome to Mailwright\r\n"
        "Date: {:%a, %d %b %Y %H:%M:%S +0000}\r\n"
        "Message-ID: <welcome.{}@localhost>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Hello {},\r\n"
        "\r\n"
        "this message was delivered when mailwrightd first started. Your mailbox works.\r\n",
        user, fmt::gmtime(std::chrono::system_clock::to_time_t(now)),
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count(), user);
}

demo_state bootstrap_demo(const fs::path& state_dir) {
    demo_state state;
    state.user = "demo";
    fs::create_directories(state_dir);
    fs::permissions(state_dir, fs::perms::owner_all);

    state.password_file = state_dir / "demo-password";
    if (!fs::exists(state.password_file)) {
        state.password = random_password();
        write_new_file(state.password_file, state.password + "\n");
        fsync_path(state_dir, O_RDONLY | O_DIRECTORY);
    }
    state.passwd = state_dir / "passwd";
    if (!fs::exists(state.passwd)) {
        std::string password = state.password;
        if (password.empty()) {
            std::ifstream in(state.password_file);
            std::getline(in, password);
        }
        if (password.empty()) {
            throw std::runtime_error(state.password_file.string() + " is empty: remove it to make a new password");
        }
        write_new_file(state.passwd,
                       "# made by mailwrightd for the demo; `mailwrightd passwd USER` makes more lines\n" + state.user +
                           ":" + mailwright::sasl::hash_password(mailwright::sasl::scheme::scram_sha_256, password) +
                           "\n");
        fsync_path(state_dir, O_RDONLY | O_DIRECTORY);
    }

    state.maildir = state_dir / "mail" / state.user / "Maildir";
    state.needs_welcome = !fs::exists(state.maildir);
    return state;
}

}  // namespace mailwrightd
