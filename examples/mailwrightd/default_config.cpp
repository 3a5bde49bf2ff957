// The embedded default: loopback only, everything under ./var, safe to start on any machine: echo, POP3,
// SMTP, submission and LMTP, with the demo user demo@localhost, who also receives postmaster@ and abuse@ (the
// aliases plugin); the headers plugin writes Authentication-Results.
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

# Users and their hashed passwords; mailwrightd writes the demo user's line at first start.
[plugin.passwd-file]
file = "var/passwd"

# Hooks, asked in this order: aliases says at RCPT which mailbox an address reaches; headers writes
# Authentication-Results (RFC 8601) into each message that SMTP or submission receives.
[plugins]
hooks = ["aliases", "headers"]

# The role addresses of RFC 2142 reach the demo user in every local domain. Add entries, or a map file
# (map = "var/aliases", Postfix virtual(5) form, re-read when it changes).
[plugin.aliases]
entries = ["postmaster  demo", "abuse  demo"]

# authserv_id is each listener's host name; the client's Authentication-Results claiming it are removed.
[plugin.headers]

# Failed logins wait 2 s, doubling to 15 s, per client address and per user name.
[auth]
failure_delay = "2s"
failure_delay_max = "15s"

[tls]
certificate = "var/tls/cert.pem"
key = "var/tls/key.pem"
generate_self_signed = true   # made at first start with wolfSSL; replace with a real certificate

# A diagnostic service: greets, repeats every line, ends on QUIT. A health check for monitoring. It is the
# echo plugin, linked into mailwrightd: no [plugin.echo] table is needed.
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

# POP3 with STLS (RFC 2595). Logins only inside TLS: USER/PASS and every SASL mechanism, SCRAM included, are
# offered after STLS, so the mail a login unlocks is never read in the clear.
[[listener]]
name = "pop3"
service = "pop3"
address = ["127.0.0.1"]
port = 1110
tls = "starttls"
read_timeout = "10m"          # RFC 1939: the autologout timer is at least 10 minutes
auth_mechanisms = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN", "EXTERNAL"]
plaintext_auth = false
auth_requires_tls = true      # the default with tls = "starttls"; said here because it matters

# POP3 over implicit TLS (RFC 8314), the same dialogue inside TLS.
[[listener]]
name = "pop3s"
service = "pop3"
address = ["127.0.0.1"]
port = 1995
tls = "implicit"
auth_mechanisms = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN", "EXTERNAL"]

# SMTP for incoming mail (an MX on a high port): mail for the local domains from anyone; nothing is relayed.
[[listener]]
name = "smtp"
service = "smtp"
address = ["127.0.0.1"]
port = 2525
tls = "starttls"
[listener.smtp]
role = "mx"
local_domains = ["localhost"]
postmaster = "demo"           # <postmaster> and postmaster@localhost reach the demo mailbox

# Submission (RFC 6409) with STARTTLS: TLS, then AUTH, then mail from your own address.
[[listener]]
name = "submission"
service = "smtp"
address = ["127.0.0.1"]
port = 1587
tls = "starttls"
auth_mechanisms = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN"]
auth_requires_tls = true
[listener.smtp]
role = "submission"
local_domains = ["localhost"]
require_tls = true
postmaster = "demo"

# Submission over implicit TLS (RFC 8314).
[[listener]]
name = "submissions"
service = "smtp"
address = ["127.0.0.1"]
port = 1465
tls = "implicit"
auth_mechanisms = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN"]
[listener.smtp]
role = "submission"
local_domains = ["localhost"]
postmaster = "demo"

# LMTP (RFC 2033) for a trusted MTA on this host: one answer per recipient.
[[listener]]
name = "lmtp"
service = "lmtp"
address = ["127.0.0.1"]
port = 2424
[listener.smtp]
local_domains = ["localhost"]
postmaster = "demo"
)toml";

}  // namespace mailwrightd
