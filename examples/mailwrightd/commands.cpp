// mailwrightd's commands other than serving: --check-config, --auth-test, passwd.
#include "commands.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "mailwright/log/log.hpp"
#include "mailwright/plugin/host.hpp"
#include "mailwright/sasl/crypto.hpp"
#include "mailwright/sasl/password.hpp"
#include "mailwright/sasl/saslprep.hpp"
#include "privileges.hpp"
#include "services.hpp"
#include "setup.hpp"

namespace mailwrightd {

using namespace mailwright;

// mailwrightd --check-config FILE: the file, its plugins' settings and the certificates, checked as a start
// would check them, with nothing created or changed. Exit 0 when valid, 2 when not.
int check_config(const std::string& check_path) {
    const auto loaded = load(check_path);
    if (!report(loaded)) {
        return 2;
    }
    // Logs go to stderr at the configured level, as a start's do (docs/configuration.md): stdout carries the
    // verdict alone, for scripts. Plugins are told it is a check (host_view::checking()): they validate and
    // create nothing; the daemon's own start-up work (state_dir, the demo files, certificates) is not done.
    log::init(*log::parse_level(loaded.config->log.level));
    if (!loaded.config->server.user.empty()) {
        try {
            resolve_account(loaded.config->server);  // the account must exist where the check runs
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s\n", check_path.c_str(), e.what());
            return 2;
        }
    }
    auto options = host_options(*loaded.config);
    options.checking = true;
    plugin::host host(std::move(options));
    if (!load_plugins(*loaded.config, host)) {
        return 2;
    }
    for (const auto& l : loaded.config->listeners) {
        if (auto problem = host.store() ? relay_problem(l, *host.store()) : std::nullopt) {
            std::fprintf(stderr, "%s: %s\n", check_path.c_str(), problem->c_str());
            return 2;
        }
    }
    // The certificates must load too, unless the daemon is to generate them at start.
    const auto& tls = loaded.config->tls;
    if (!tls.generate_self_signed || std::filesystem::exists(tls.defaults.certificate)) {
        try {
            build_tls(*loaded.config);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s\n", check_path.c_str(), e.what());
            return 2;
        }
    }
    std::printf("%s: configuration is valid\n", check_path.c_str());
    return 0;
}

// mailwrightd --auth-test USER: asks the configured auth chain, with the password read from stdin, as a
// login would (Dovecot's "doveadm auth test"). Exit 0 when accepted, 1 when rejected, 75 on tempfail.
int auth_test(const std::string& config_path, const std::string& user) {
    const auto loaded = load(config_path);
    if (!report(loaded)) {
        return 2;
    }
    log::init(log::level::warn);
    plugin::host host(host_options(*loaded.config));
    if (!load_plugins(*loaded.config, host)) {
        return 2;
    }
    std::string password;
    std::getline(std::cin, password);
    // Prepared as a login's are (RFC 4616 2, SASLprep), so the answer is the one a client would get.
    const sasl::credentials given = sasl::prepare_credentials(user, password);
    sasl::wipe(password);
    if (!given.refused.empty()) {
        std::printf("%s: rejected: %s\n", user.c_str(), given.refused.c_str());
        return 1;
    }
    asio::io_context io;
    plugin::auth_result result;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> { result = co_await host.auth().verify_password(given.user, given.password); },
        asio::detached);
    io.run();
    switch (result.status) {
        case plugin::auth_status::ok:
            std::printf("%s: accepted as %s\n", user.c_str(), result.user.c_str());
            return 0;
        case plugin::auth_status::rejected:
            std::printf("%s: rejected\n", user.c_str());
            return 1;
        case plugin::auth_status::tempfail:
            std::printf("%s: temporary failure\n", user.c_str());
            return 75;
    }
    return 1;
}

int print_passwd_line(const std::string& user, const std::string& scheme_name) {
    const auto scheme = sasl::parse_scheme(scheme_name);
    if (!scheme || *scheme == sasl::scheme::plain) {
        std::fprintf(stderr, "mailwrightd passwd: unknown scheme %s\n", scheme_name.c_str());
        return 2;
    }
    if (!sasl::can_hash(*scheme) && *scheme != sasl::scheme::crypt) {
        std::fprintf(stderr,
                     "mailwrightd passwd: {%s} is read from existing files, never written; choose CRYPT (yescrypt), "
                     "SHA512-CRYPT, BLF-CRYPT, ARGON2ID or SCRAM-SHA-256\n",
                     std::string(sasl::scheme_name(*scheme)).c_str());
        return 2;
    }
    if (user.empty() || user.find(':') != std::string::npos || user.front() == '#') {
        std::fprintf(stderr, "mailwrightd passwd: a user name may not be empty, contain ':' or start with '#'\n");
        return 2;
    }
    std::string password;
    if (!std::getline(std::cin, password) || password.empty()) {
        std::fprintf(stderr, "mailwrightd passwd: no password on standard input\n");
        return 2;
    }
    // Logins are checked prepared with SASLprep (PLAIN: RFC 4616 2; SCRAM: RFC 5802 2.2), so the password is
    // kept as SASLprep prepares it, as a stored string: "a<U+00A0>b" is kept as "a b", and either logs in. A
    // stored string may not hold code points unassigned in Unicode 3.2 (RFC 3454 7): a later Unicode may assign
    // them, and a preparation that knew them could map them to something else. The user name logins look up is
    // the prepared one too, so a name that does not prepare to itself would never be found.
    const auto name = sasl::saslprep(user, sasl::prep_kind::stored);
    if (!name.ok() || name.text != user) {
        sasl::wipe(password);
        if (!name.ok()) {
            std::fprintf(stderr, "mailwrightd passwd: the user name fails SASLprep (RFC 4013): it %s\n",
                         std::string(name.error).c_str());
        } else {
            std::fprintf(stderr,
                         "mailwrightd passwd: logins look the user up as SASLprep prepares the name, %s: "
                         "give that name\n",
                         name.text.c_str());
        }
        return 2;
    }
    sasl::prepared kept = sasl::saslprep(password, sasl::prep_kind::stored);
    sasl::wipe(password);
    if (!kept.ok()) {
        std::fprintf(stderr, "mailwrightd passwd: the password fails SASLprep (RFC 4013): it %s; choose another\n",
                     std::string(kept.error).c_str());
        return 2;
    }
    password = kept.text;  // a copy, then a wipe: moving a short string would leave its bytes behind
    sasl::wipe(kept.text);
    std::string line;
    try {
        // CRYPT is yescrypt, written {CRYPT}$y$... (as is YESCRYPT: Dovecot 2.3 reads only that name).
        line = user + ":" +
               sasl::hash_password(*scheme == sasl::scheme::crypt ? sasl::scheme::yescrypt : *scheme, password);
    } catch (const std::invalid_argument& e) {  // a NUL in a password for crypt(3) or SCRAM
        sasl::wipe(password);
        std::fprintf(stderr, "mailwrightd passwd: %s\n", e.what());
        return 2;
    }
    sasl::wipe(password);
    std::printf("%s\n", line.c_str());
    return 0;
}

}  // namespace mailwrightd
