"""A private Postfix instance acting as a smarthost on loopback, in a temporary directory: see Postfix."""
import os
import shutil
import subprocess

from servers_base import HOST, Server, ServerError, accepts, free_port

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
MASTER = "/usr/lib/postfix/sbin/master"

# Every service runs unchained (the fifth column, chroot, is n): the instance lives in a temporary directory.
MASTER_CF = """# Written by tests/integration/servers_postfix.py
# service  type  private unpriv  chroot  wakeup  maxproc command
{listen}   inet  n       -       n       -       -       smtpd
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
tlsmgr     unix  -       -       n       1000?   1       tlsmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
proxywrite unix  -       -       n       -       1       proxymap
smtp       unix  -       -       n       -       -       smtp
relay      unix  -       -       n       -       -       smtp
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
lmtp       unix  -       -       n       -       -       lmtp
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
"""


def self_signed_certificate(directory, name, cn):
    """Writes name.pem and name.key (ECDSA P-256, self-signed, for cn) into directory; their paths."""
    cert, key = os.path.join(directory, f"{name}.pem"), os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-subj", f"/CN={cn}", "-days", "2",
                    "-addext", f"subjectAltName=DNS:{cn}"], check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return cert, key


class Postfix(Server):
    """A private Postfix (`master -c DIR -d` in the foreground; config_directory dir/etc, queue_directory
    dir/queue, data_directory dir/data, log dir/postfix.log) with smtpd on 127.0.0.1:`port` only. It does not
    touch the package's default instance (/etc/postfix, /var/spool/postfix), which need not even be configured.

    A smarthost: STARTTLS with a self-signed certificate for `hostname` (`cert`, `key`;
    smtpd_tls_security_level = may), SASL AUTH (PLAIN, LOGIN) through `dovecot`'s auth socket, offered only
    after STARTTLS (smtpd_tls_auth_only), relay for authenticated clients only (others hear `554 5.7.1 ...
    Relay access denied` at RCPT), and every message delivered onward over LMTP to `dovecot`
    (default_transport and relay_transport = lmtp:inet:[127.0.0.1]:<dovecot.lmtp_port>), so the test reads
    it in dovecot.maildir_messages(user). With smtpd_tls_received_header its Received field reads e.g.
        Received: from client.example (unknown [127.0.0.1])
            (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) ...)
            by smarthost.example.net (Postfix) with ESMTPSA id 4ABCDEF
            for <alice@example.org>; ...
    A deferred message is retried after 1 s (queue_run_delay, minimal_backoff_time), so a test may stop
    Dovecot and start it again. `main_cf`: more main.cf lines, e.g. {"smtpd_milters": "inet:127.0.0.1:N"}."""

    name = "postfix"

    def __init__(self, dovecot, hostname="smarthost.example.net", main_cf=None, start_timeout=20.0):
        super().__init__()
        self.dovecot = dovecot
        self.hostname = hostname
        self.start_timeout = start_timeout
        self.port = free_port()
        self.config_dir = self.path("etc")
        self.log_files += [self.path("postfix.log")]
        self._first_start(lambda: self._configure(main_cf or {}))

    def _settings(self):
        transport = f"lmtp:inet:[{HOST}]:{self.dovecot.lmtp_port}"
        return {
            "compatibility_level": "3.6",
            "config_directory": self.config_dir,
            "queue_directory": self.path("queue"),
            "data_directory": self.path("data"),
            "maillog_file": self.path("postfix.log"),
            "maillog_file_prefixes": self.dir,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": self.hostname,
            "mydomain": self.hostname.partition(".")[2] or self.hostname,
            "myorigin": "$myhostname",
            "mydestination": "",
            "relay_domains": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "local_transport": "error:5.1.1 no local delivery",
            "default_transport": transport,
            "relay_transport": transport,
            "inet_interfaces": HOST,
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_banner": "$myhostname ESMTP",
            "smtpd_peername_lookup": "no",  # no PTR query for 127.0.0.1 (nothing past loopback)
            "biff": "no",
            "append_dot_mydomain": "no",
            "smtpd_relay_restrictions": "permit_sasl_authenticated, reject_unauth_destination",
            "smtpd_recipient_restrictions": "",
            "smtpd_tls_security_level": "may",
            "smtpd_tls_cert_file": self.cert,
            "smtpd_tls_key_file": self.key,
            "smtpd_tls_auth_only": "yes",
            "smtpd_tls_received_header": "yes",
            "smtpd_tls_loglevel": "1",
            "smtpd_sasl_auth_enable": "yes",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": self.dovecot.auth_socket,
            "broken_sasl_auth_clients": "no",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "lmtp_connect_timeout": "5s",
        }

    def _configure(self, main_cf):
        os.makedirs(self.config_dir, mode=0o755)
        os.makedirs(self.path("queue"), mode=0o755)  # root's; `postfix check` makes its postfix-owned parts
        os.makedirs(self.path("tls"), mode=0o700)
        self.cert, self.key = self_signed_certificate(self.path("tls"), "smarthost", self.hostname)
        settings = self._settings() | main_cf
        self.write("etc/main.cf", "# Written by tests/integration/servers_postfix.py\n"
                   + "".join(f"{k} = {v}\n" for k, v in settings.items()))
        self.write("etc/master.cf", MASTER_CF.format(listen=f"{HOST}:{self.port}"))
        # `postfix check` makes the queue directories (owned by postfix, as postfix-files says) and checks the
        # configuration; it must say nothing.
        self.check_output = self._postfix("check")
        if self.check_output.strip():
            raise ServerError(f"postfix check complained:\n{self.check_output}")

    def _postfix(self, *args, timeout=60):
        done = subprocess.run([POSTFIX, "-c", self.config_dir, *args], capture_output=True, text=True,
                              timeout=timeout, cwd=self.dir)
        if done.returncode != 0:
            raise ServerError(f"postfix {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                              f"\n{self.log()}")
        return done.stdout + done.stderr

    def start(self):
        self._spawn([MASTER, "-c", self.config_dir, "-d"])
        self._wait(lambda: accepts(self.port), self.start_timeout)

    def queue(self):
        """`postqueue -p` for this instance (text), e.g. to see a deferred message."""
        done = subprocess.run(["postqueue", "-c", self.config_dir, "-p"], capture_output=True, text=True,
                              timeout=30)
        return done.stdout + done.stderr

    def flush(self):
        """Asks the instance to retry its deferred mail now (`postqueue -f`)."""
        subprocess.run(["postqueue", "-c", self.config_dir, "-f"], capture_output=True, timeout=30)
