// mailwrightctl's human-readable output: the daemon's JSON replies as tables.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

namespace mailwrightctl {

// Prints the reply to `command` (status, sessions, kick, kick-user, reload, stats) for a person, on stdout;
// `argument` is what the command named (a session id, a user).
void print(std::string_view command, std::string_view argument, const boost::json::object& reply);

// "45s", "3m 12s", "2h 05m", "3d 4h"
std::string duration(std::int64_t seconds);

}  // namespace mailwrightctl
