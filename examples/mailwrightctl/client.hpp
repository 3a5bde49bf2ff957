// mailwrightctl's side of the control socket: one request, one reply line.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mailwrightctl {

// Why the daemon could not be asked, in words for the administrator.
class unreachable : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Sends `request` to the daemon listening at `socket_path` and returns its reply line, without the newline.
// Throws `unreachable` when there is no socket, nobody answers, access is denied, or the reply does not come
// within `timeout`.
std::string ask(const std::string& socket_path, std::string_view request, std::chrono::seconds timeout);

}  // namespace mailwrightctl
