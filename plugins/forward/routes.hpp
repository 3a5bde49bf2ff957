// The forward plugin's next hops and its routing table ([plugin.forward]): which server each recipient's
// message is handed to. Sans I/O.
//
//   [plugin.forward.hops.dovecot]
//   address = "127.0.0.1:24"          # host:port, [v6]:port or unix:/path
//   protocol = "lmtp"                 # or "smtp"
//   [plugin.forward.hops.smarthost]
//   address = "relay.example.net:587"
//   tls = "starttls"                  # "none", "starttls" or "implicit"
//   ca_file = "/etc/ssl/certs/ca-certificates.crt"
//   user = "mailwright"
//   password_file = "/etc/mailwright/smarthost.secret"
//
//   [[plugin.forward.routes]]
//   match = "example.org"             # a domain, an address, or "*" for everything else
//   hop = "dovecot"
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/net/connect.hpp"
#include "mailwright/plugin/plugin.hpp"
#include "mailwright/smtp/client.hpp"

namespace mailwright::forward {

struct hop {
    std::string name;
    net::endpoint address;
    smtp::client::options client;
    std::size_t max_connections = 10;  // open at once, in use or idle
    // A connection idle longer than this is closed rather than reused; one idle for more than a second is
    // asked NOOP first (the next hop may have closed it).
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
};

struct route {
    std::string match;  // lower case: "*", "example.org" or "user@example.org"
    std::size_t hop = 0;
};

struct table {
    std::vector<hop> hops;
    std::vector<route> routes;
    // The hop for an address (user@domain): an exact address first, then its domain, then "*"; none when
    // nothing matches.
    std::optional<std::size_t> route_of(std::string_view address) const;
    // The first domain a route names ("example.org"), for a local user whose recipient had none (<Postmaster>);
    // empty when the routes name none.
    std::string first_domain() const;
};

// Reads [plugin.forward]; each mistake is reported through `config` (and the table may then be incomplete).
table read_table(plugin::settings& config, std::string_view default_helo);

}  // namespace mailwright::forward
