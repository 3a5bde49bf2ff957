// Running as [server] user and group: the names resolved at start, and the one-way change from root to that
// account once the listeners are bound and the TLS keys read, so no parser and no TLS code serves a client
// with root's rights. The change is checked after it is made; a daemon that is still root, or could become
// root again, refuses to go on.
#pragma once

#include <sys/types.h>

#include <string>

#include "mailwright/config/config.hpp"

namespace mailwrightd {

struct account {
    std::string user;
    std::string group;  // the group's name: [server] group, or the user's primary group
    uid_t uid = 0;
    gid_t gid = 0;
};

// [server] user and group as ids, from the system's user database. Throws std::runtime_error saying which
// name is unknown. Only meaningful when [server] user is set.
account resolve_account(const mailwright::config::server_config& server);

// Becomes [server] user for good, or logs once that the daemon runs as root when none is set. Before the
// change, gives the account what the daemon made as root and must write or read later: state_dir itself, the
// SCRAM stand-in key in it, and a generated development certificate ([tls] generate_self_signed). Then
// initgroups, setgid, setuid, and checks every id, the supplementary groups, the capabilities and that root
// cannot be had back. Naming the account the process already runs as changes nothing. Throws
// std::runtime_error saying why when the account is unknown, when the process is not root and would have to
// change user, or when any step fails or did not take.
void drop_privileges(const mailwright::config::daemon_config& cfg);

}  // namespace mailwrightd
