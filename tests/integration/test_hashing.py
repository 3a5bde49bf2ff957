"""The compute pool and the verified-credentials cache in the real daemon, with poplib and smtplib.

ComputePoolBound: slow-auth (tests/plugins/slow_auth.cpp) holds the one compute thread in every password check;
with hashing_queue = 1 two logins fill the pool, and the next ones, after hashing_wait, hear POP3's
-ERR [SYS/TEMP] and SMTP's 454 4.7.0, with no failed-login penalty; meanwhile an SMTP delivery into a Maildir,
on the blocking pool, completes and is on disk.

CredentialCache: passwd-file with a YESCRYPT user: a second login is a hit, a wrong password after a success is
refused, a new hash in the file makes the old password fail and the new one work at once, a short cache_ttl
(set by a reload) expires, and cache_ttl = "0s" turns the cache off."""
import os
import poplib
import re
import shutil
import smtplib
import socket
import tempfile
import time
import unittest
import urllib.request

from daemon import Daemon, maildir_messages, passwd_line, stop_in

ENDPOINT = re.compile(r"metrics endpoint on http://(\S+)/metrics")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")


def scrape(daemon):
    """{(name, labels text): value} from the daemon's metrics endpoint."""
    found = [m.group(1) for line in daemon.lines for m in [ENDPOINT.search(line)] if m]
    with urllib.request.urlopen(f"http://{found[0]}/metrics", timeout=10) as r:
        text = r.read().decode()
    samples = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and not line.startswith("#"):
            samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples


def cache_lookups(daemon):
    s = scrape(daemon)
    return (s.get(("mailwright_credential_cache_lookups_total", 'outcome="hit"'), 0.0),
            s.get(("mailwright_credential_cache_lookups_total", 'outcome="miss"'), 0.0))


def pop3_login(daemon, user, password):
    """True when USER/PASS logs in, False when refused; the -ERR text of a temporary failure as a string."""
    p = poplib.POP3("127.0.0.1", daemon.ports["pop3"], timeout=30)
    try:
        p.user(user)
        try:
            p.pass_(password)
        except poplib.error_proto as e:
            text = e.args[0].decode()
            return text if "[SYS/TEMP]" in text else False
        p.quit()
        return True
    finally:
        p.close()


POOL_CONFIG = """
[server]
workers = 2
hashing_threads = 1
hashing_queue = 1
hashing_wait = "200ms"
state_dir = "{work}/state"
[auth]
failure_delay = "2s"
[admin]
metrics = "127.0.0.1:0"
[plugins]
auth = ["slow-auth"]
[plugin.slow-auth]
users = ["alice:secret", "bob:secret", "carol:secret"]
hold = "{hold}"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"

[[listener]]
name = "pop3"
service = "pop3"
port = 0
plaintext_auth = true

[[listener]]
name = "smtp"
service = "smtp"
port = 0
[listener.smtp]
role = "mx"
local_domains = ["example.org"]

[[listener]]
name = "submission"
service = "smtp"
port = 0
plaintext_auth = true
auth_mechanisms = ["PLAIN"]
[listener.smtp]
role = "submission"
local_domains = ["example.org"]
"""


class ComputePoolBound(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-hashing-")
        self.daemon = Daemon(POOL_CONFIG.format(work=self.work, hold="5s"))

    def tearDown(self):
        self.assertEqual(stop_in(self.work, self.daemon), 0)

    def pending_login(self, user):
        """A raw POP3 connection that sent USER and PASS and has not read the answer to PASS yet."""
        s = socket.create_connection(("127.0.0.1", self.daemon.ports["pop3"]), timeout=30)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.sendall(f"USER {user}\r\n".encode())
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.sendall(b"PASS secret\r\n")
        return s, f

    def wait_full(self):
        for _ in range(200):
            s = scrape(self.daemon)
            if (s.get(("mailwright_compute_pool_running_jobs", ""), 0) == 1
                    and s.get(("mailwright_compute_pool_queued_jobs", ""), 0) == 1):
                return
            time.sleep(0.05)
        self.fail("the compute pool did not fill:\n" + "\n".join(self.daemon.lines))

    def test_a_full_pool_gives_tempfail_and_delivery_goes_on(self):
        first = self.pending_login("alice")
        second = self.pending_login("bob")
        self.wait_full()  # one check runs, one waits for the thread: hashing_threads + hashing_queue

        # POP3: after hashing_wait, a temporary failure.
        refused = pop3_login(self.daemon, "carol", "secret")
        self.assertIsInstance(refused, str)
        self.assertTrue(refused.startswith("-ERR [SYS/TEMP]"), refused)
        # SMTP AUTH: 454 4.7.0.
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["submission"], timeout=30) as c:
            c.ehlo("client.test")
            with self.assertRaises(smtplib.SMTPAuthenticationError) as raised:
                c.login("carol", "secret")
            self.assertEqual(raised.exception.smtp_code, 454)
            self.assertTrue(raised.exception.smtp_error.startswith(b"4.7.0"), raised.exception.smtp_error)

        # A delivery into a Maildir meanwhile: the blocking pool is not the compute pool.
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["smtp"], timeout=30) as c:
            c.sendmail("sender@example.net", ["carol@example.org"],
                       b"Subject: during the logins\r\n\r\nunhindered delivery\r\n")
        self.assertEqual(len(maildir_messages(self.work, "carol", b"unhindered delivery")), 1)
        samples = scrape(self.daemon)
        self.assertEqual(samples.get(("mailwright_compute_pool_running_jobs", "")), 1,
                         "the pool must still be full: the delivery went on beside it")

        self.assertGreaterEqual(samples.get(("mailwright_compute_pool_refused_total", "")), 2)
        logins = {labels: v for (name, labels), v in samples.items() if name == "mailwright_logins_total"}
        self.assertEqual(logins.get('mechanism="USER",outcome="tempfail"'), 1)
        self.assertEqual(logins.get('mechanism="PLAIN",outcome="tempfail"'), 1)
        self.assertIsNone(logins.get('mechanism="USER",outcome="failed"'), "a busy pool is no failed login")
        self.assertIsNone(logins.get('mechanism="PLAIN",outcome="failed"'))

        # The two admitted logins finish, and the pool takes new work again.
        for s, f in (first, second):
            self.assertTrue(f.readline().startswith(b"+OK"))
            s.sendall(b"QUIT\r\n")
            f.readline()
            f.close()
            s.close()
        self.assertIs(pop3_login(self.daemon, "carol", "secret"), True)


def cache_config(work, auth=""):
    return f"""
[server]
workers = 2
state_dir = "{work}/state"
[auth]
failure_delay = "0s"
failure_delay_max = "0s"
{auth}
[admin]
metrics = "127.0.0.1:0"
[plugin.passwd-file]
file = "{work}/passwd"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"

[[listener]]
name = "pop3"
service = "pop3"
port = 0
plaintext_auth = true
"""


class CredentialCache(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-cache-")
        self.passwd = os.path.join(self.work, "passwd")
        self.write(passwd_line("alice", "old-pw", "--scheme", "YESCRYPT"))
        self.daemon = Daemon(cache_config(self.work))

    def tearDown(self):
        self.assertEqual(stop_in(self.work, self.daemon), 0)

    def write(self, text):
        tmp = self.passwd + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.passwd)  # a new inode: passwd-file sees the change at the next login

    def test_hits_misses_changes_and_expiry(self):
        self.assertEqual(cache_lookups(self.daemon), (0, 0))
        self.assertIs(pop3_login(self.daemon, "alice", "old-pw"), True)
        self.assertEqual(cache_lookups(self.daemon), (0, 1))
        self.assertIs(pop3_login(self.daemon, "alice", "old-pw"), True)
        self.assertEqual(cache_lookups(self.daemon), (1, 1), "the second login is a hit")

        # A wrong password after a success is hashed and refused; failures are never remembered.
        self.assertIs(pop3_login(self.daemon, "alice", "wrong"), False)
        self.assertIs(pop3_login(self.daemon, "alice", "wrong"), False)
        self.assertEqual(cache_lookups(self.daemon), (1, 3))
        self.assertIs(pop3_login(self.daemon, "nobody", "old-pw"), False)

        # A new hash in the file: the old password fails at once, the new one works.
        self.write(passwd_line("alice", "new-pw", "--scheme", "YESCRYPT"))
        self.assertIs(pop3_login(self.daemon, "alice", "old-pw"), False)
        self.assertIs(pop3_login(self.daemon, "alice", "new-pw"), True)
        hits, _ = cache_lookups(self.daemon)
        self.assertEqual(hits, 1)
        self.assertIs(pop3_login(self.daemon, "alice", "new-pw"), True)
        self.assertEqual(cache_lookups(self.daemon)[0], 2)

        # A reload with another ttl starts the cache afresh; an entry then lives cache_ttl.
        self.assertTrue(self.daemon.reload(cache_config(self.work, 'cache_ttl = "1s"')))
        self.assertIs(pop3_login(self.daemon, "alice", "new-pw"), True)
        hits, misses = cache_lookups(self.daemon)
        self.assertEqual(hits, 2, "the reload emptied the cache")
        time.sleep(1.5)
        self.assertIs(pop3_login(self.daemon, "alice", "new-pw"), True)
        self.assertEqual(cache_lookups(self.daemon), (2, misses + 1), "expired: hashed again")

        # cache_ttl = "0s": no cache, no lookups.
        self.assertTrue(self.daemon.reload(cache_config(self.work, 'cache_ttl = "0s"')))
        before = cache_lookups(self.daemon)
        self.assertIs(pop3_login(self.daemon, "alice", "new-pw"), True)
        self.assertIs(pop3_login(self.daemon, "alice", "new-pw"), True)
        self.assertEqual(cache_lookups(self.daemon), before)
        entries = scrape(self.daemon).get(("mailwright_credential_cache_entries", ""))
        self.assertEqual(entries, 0)


if __name__ == "__main__":
    unittest.main()
