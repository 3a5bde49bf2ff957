// mailwrightd's commands other than serving. Each returns the process's exit code.
#pragma once

#include <string>

namespace mailwrightd {

// --check-config FILE: exit 0 when valid, 2 when not.
int check_config(const std::string& check_path);
// --auth-test USER: exit 0 when accepted, 1 when rejected, 75 on tempfail, 2 on a bad configuration.
int auth_test(const std::string& config_path, const std::string& user);
// passwd USER: prints a passwd-file line, the password read from standard input.
int print_passwd_line(const std::string& user, const std::string& scheme_name);

}  // namespace mailwrightd
