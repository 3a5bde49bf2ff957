// The `users = ["alice:secret", ...]` setting the test auth plugins share: user to password.
#pragma once

#include <mailwright/plugin/plugin.hpp>
#include <map>
#include <string>
#include <vector>

namespace mailwright::test {

inline std::map<std::string, std::string> read_users(plugin::settings& config) {
    std::map<std::string, std::string> users;
    for (const auto& entry : config.strings("users").value_or(std::vector<std::string>{})) {
        const auto colon = entry.find(':');
        if (colon == std::string::npos) {
            config.invalid("users", "each entry must read \"user:password\"");
            continue;
        }
        users[entry.substr(0, colon)] = entry.substr(colon + 1);
    }
    return users;
}

}  // namespace mailwright::test
