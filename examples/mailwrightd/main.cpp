// mailwrightd: the reference daemon. It reads one TOML file (--config, the installed one, or with --demo its
// built-in default), builds the listeners and serves until SIGTERM/SIGINT. This file is its command line; each command
// lives in its own file.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "commands.hpp"
#include "default_config.hpp"
#include "mailwright/version.hpp"
#include "serve.hpp"
#include "setup.hpp"

using namespace mailwrightd;
using mailwright::version;

int main(int argc, char** argv) {
    CLI::App app{"mailwrightd: the Mailwright mail daemon"};
    std::string config_path;
    std::string check_path;
    bool print_default = false;
    std::string auth_user;
    bool demo = false;
    app.add_option("-c,--config", config_path,
                   fmt::format("TOML configuration file (default: {})", installed_config_file().string()))
        ->check(CLI::ExistingFile);
    app.add_flag("--demo", demo,
                 "Without --config: serve the built-in demonstration configuration (loopback only, state under "
                 "./var; see --print-default-config) rather than the installed file");
    app.add_option("--check-config", check_path, "Validate a configuration file and exit");
    app.add_flag("--print-default-config", print_default, "Print the built-in configuration and exit");
    app.add_option("--auth-test", auth_user,
                   "Check USER's password (read from standard input) against the configured auth plugins, and exit");
    app.set_version_flag("-V,--version", fmt::format("mailwrightd {}", version));
    auto* passwd = app.add_subcommand(
        "passwd", "Print a passwd-file line for USER; the password is read from standard input, never an argument");
    std::string passwd_user;
    std::string passwd_scheme = "CRYPT";
    passwd->add_option("user", passwd_user, "The user name")->required();
    passwd
        ->add_option("-s,--scheme", passwd_scheme,
                     "CRYPT (default: yescrypt, written {CRYPT}$y$... as Dovecot reads it; YESCRYPT is the same), "
                     "SHA512-CRYPT, BLF-CRYPT, ARGON2ID, SCRAM-SHA-256 (allows SCRAM without keeping the password; "
                     "Dovecot's comma form), or PLAIN-EQUIVALENT (needed by APOP and CRAM-MD5; Mailwright's own)")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    if (passwd->parsed()) {
        return print_passwd_line(passwd_user, passwd_scheme);
    }

    if (print_default) {
        std::fwrite(mailwrightd::default_config.data(), 1, mailwrightd::default_config.size(), stdout);
        return 0;
    }
    if (!check_path.empty()) {
        return check_config(check_path);
    }
    if (config_path.empty() && !demo) {
        config_path = installed_config_file().string();
        if (!std::filesystem::exists(config_path)) {
            std::fprintf(stderr,
                         "mailwrightd: no configuration: %s does not exist. Give one with --config FILE (an example "
                         "is installed as share/doc/mailwright/mailwright.toml.example), or try the built-in "
                         "demonstration with --demo (loopback only, state under ./var)\n",
                         config_path.c_str());
            return 2;
        }
    }
    try {
        if (!auth_user.empty()) {
            return auth_test(config_path, auth_user);
        }
        return serve(config_path);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mailwrightd: %s\n", e.what());
        return 1;
    }
}
