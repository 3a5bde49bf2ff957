// The embedded default: loopback only, everything under ./var, safe to start on any machine. Listeners for
// POP3 (1110, 1995), SMTP (2525), submission (1587, 1465) and LMTP (2424) join it as those services land.
#include "default_config.hpp"

namespace mailwrightd {

const std::string_view default_config = R"toml(# mailwrightd built-in default configuration
[server]
state_dir = "var"             # demo user, generated secrets and the demo Maildir live here
shutdown_grace = "10s"

[log]
level = "info"

# The embedded default store: one Maildir per user.
[plugin.maildir]
path = "var/mail/%u/Maildir"

[tls]
certificate = "var/tls/cert.pem"
key = "var/tls/key.pem"
generate_self_signed = true   # made at first start with wolfSSL; replace with a real certificate

# A diagnostic service: greets, repeats every line, ends on QUIT. A health check for monitoring.
[[listener]]
name = "echo"
service = "echo"
address = ["127.0.0.1"]
port = 7007
read_timeout = "5m"
tls = "starttls"              # STARTTLS upgrades the connection in place

[[listener]]
name = "echo-tls"
service = "echo"
address = ["127.0.0.1"]
port = 7993
tls = "implicit"              # the TLS handshake comes first
)toml";

}  // namespace mailwrightd
