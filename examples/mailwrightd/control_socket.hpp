// The control socket mailwrightctl talks to ([admin] control_socket): a unix stream socket, mode 0600 from the
// moment it exists, served on the admin thread. One request a line, one JSON reply a line
// (control_protocol.hpp); several clients at once, each request bounded in size and time.
#pragma once

#include <sys/types.h>

#include <asio/io_context.hpp>
#include <memory>
#include <string>

#include "control_commands.hpp"

namespace mailwrightd {

struct control_socket_options {
    std::string path;
    // When the daemon runs as root: the socket is handed to this user (and group: the user's own unless
    // named), the one the daemon serves as, so that it is "owned by the daemon's user". Empty: left as made.
    std::string user;
    std::string group;
};

class control_socket {
  public:
    // Makes the socket at options.path, listening but not yet served. A socket file left by a daemon that
    // is gone (nobody answers on it) is replaced. Throws std::runtime_error when a daemon answers there
    // ("another daemon is running"), when the path is something else than a socket, or when it cannot be
    // made.
    control_socket(asio::io_context& context, control_socket_options options, control_sources sources);
    control_socket(const control_socket&) = delete;
    control_socket& operator=(const control_socket&) = delete;
    // Removes the socket file, if it is still the one this made.
    ~control_socket();

    // Serves clients on the context given to the constructor (the admin thread's), until it stops.
    void start();

    const std::string& path() const noexcept;

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
    dev_t device_ = 0;
    ino_t inode_ = 0;
};

}  // namespace mailwrightd
