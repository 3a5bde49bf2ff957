"""Dovecot (the Debian package's dovecot with its lmtpd) on loopback, in a temporary directory: see Dovecot."""
import os
import shutil

from servers_base import HOST, Server, accepts, free_port, ids

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAIL_USER = "mail"  # the system user that owns the Maildirs (Dovecot refuses to deliver as root)
TINY_QUOTA = "1k"   # the quota of the over-quota users: every message of the tests is larger


class Dovecot(Server):
    """`dovecot -F -c dovecot.conf`: LMTP on 127.0.0.1:`lmtp_port`, and an auth socket at `auth_socket`
    (Dovecot's SASL protocol, for Postfix's `smtpd_sasl_type = dovecot`; mechanisms PLAIN and LOGIN).
    `hostname` names it in the Received field it adds. Everything (base_dir, state_dir, logs, mail) is under `dir`.

    users: {name: password} (stored in the clear in a passwd-file, used as passdb and userdb). Logins and
    recipients are reduced to their lowercased local part (`auth_username_format = %Ln`), so RCPT TO:<alice>,
    <alice@example.org> and <Alice@any.domain> all reach user alice, and SASL logins "alice" and
    "alice@example.org" are the same user. Mail goes to dir/mail/<user>/Maildir, owned by the system user
    `mail` (uid/gid in the userdb lines).

    Recipients that fail, for testing per-recipient answers (Dovecot answers after DATA for each):
      quota_tempfail: users over quota with quota_full_tempfail = yes:
        452 4.2.2 <carol@example.org> Quota exceeded (mailbox for user is full)
      quota_permfail: users over quota with quota_full_tempfail = no:
        552 5.2.2 <dave@example.org> Quota exceeded (mailbox for user is full)
      (their quota is 1 KiB, which every message over 1 KiB exceeds; give the names in users too)
      a name not in users is refused at RCPT TO: 550 5.1.1 <nobody@example.org> User doesn't exist: ...
    stop() takes about 1 s (6 s within half a second of start: Dovecot's master finishes starting first); a
    session open at that moment hears `421 4.3.2 lmtp.example.org Shutting down`. A stopped Dovecot
    (stop(remove=False)) refuses connections; start() runs it again on the same port."""

    name = "dovecot"

    def __init__(self, users, quota_tempfail=(), quota_permfail=(), hostname="lmtp.example.org",
                 start_timeout=20.0):
        super().__init__()
        self.hostname = hostname
        self.users = dict(users)
        self.start_timeout = start_timeout
        self.lmtp_port = free_port()
        self.auth_socket = self.path("run", "auth-client")
        self.log_files += [self.path("dovecot.log")]
        self._first_start(lambda: self._configure(quota_tempfail, quota_permfail))

    def _configure(self, quota_tempfail, quota_permfail):
        uid, gid = ids(MAIL_USER)
        os.makedirs(self.path("run"), mode=0o755)
        os.makedirs(self.path("state"), mode=0o750)
        os.makedirs(self.path("mail"), mode=0o755)
        os.chown(self.path("mail"), uid, gid)
        lines = []
        for user, password in self.users.items():
            extra = ""
            if user in quota_tempfail or user in quota_permfail:
                tempfail = "yes" if user in quota_tempfail else "no"
                extra = f"userdb_quota_rule=*:storage={TINY_QUOTA} userdb_quota_full_tempfail={tempfail}"
            home = self.path("mail", user)
            lines.append(f"{user}:{{PLAIN}}{password}:{uid}:{gid}::{home}::{extra}")
        self.write("users", "\n".join(lines) + "\n", mode=0o640)
        os.chown(self.path("users"), 0, ids("dovecot")[1])
        self.config_path = self.write("dovecot.conf", self._config(uid))

    def _config(self, uid):
        return f"""# Written by tests/integration/servers_dovecot.py
base_dir = {self.path("run")}
state_dir = {self.path("state")}
log_path = {self.path("dovecot.log")}
info_log_path = {self.path("dovecot.log")}
protocols = lmtp
hostname = {self.hostname}
listen = {HOST}
ssl = no
first_valid_uid = {uid}
last_valid_uid = {uid}
auth_mechanisms = plain login
auth_username_format = %Ln
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
mail_plugins = $mail_plugins quota
lmtp_rcpt_check_quota = no
postmaster_address = postmaster@example.org
passdb {{
  driver = passwd-file
  args = {self.path("users")}
}}
userdb {{
  driver = passwd-file
  args = {self.path("users")}
}}
plugin {{
  quota = maildir:User quota
  quota_full_tempfail = no
}}
service lmtp {{
  inet_listener lmtp {{
    address = {HOST}
    port = {self.lmtp_port}
  }}
  unix_listener lmtp {{
    mode = 0600
  }}
}}
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
"""

    def start(self):
        self._spawn([DOVECOT, "-F", "-c", self.config_path])
        self._wait(lambda: accepts(self.lmtp_port) and os.path.exists(self.auth_socket), self.start_timeout)

    def maildir_messages(self, user):
        """The contents of the files in user's Maildir new/ and cur/ (bytes each, in name order)."""
        found = []
        for sub in ("new", "cur"):
            path = self.path("mail", user, "Maildir", sub)
            for name in sorted(os.listdir(path)) if os.path.isdir(path) else []:
                with open(os.path.join(path, name), "rb") as f:
                    found.append(f.read())
        return found
