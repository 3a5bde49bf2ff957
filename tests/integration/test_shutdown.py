"""SIGTERM while clients sit in every phase a session can be in (SECURITY-CASES 43): mid-handshake on an
implicit-TLS listener and after STARTTLS/STLS, mid-AUTH, mid-DATA, inside a plugin call (a hook waiting on a
timer) and inside a blocking job (a hook holding a thread of the blocking pool). The daemon must exit 0 (in
the dev lane that is under AddressSanitizer), every client must hear a goodbye or see the connection close,
and nothing acknowledged may be lost while nothing unacknowledged is stored.

Regression: a client holding a TLS handshake open made SIGTERM a segmentation fault (exit 139)."""
import os
import shutil
import tempfile
import unittest

from certs import make_all
from daemon import Daemon, RawConnection, insecure_context

SHUTTING_DOWN = b"421 4.3.2 Server shutting down, try again later\r\n"


def config(work, certs):
    return f"""
[server]
workers = 2
hostname = "mx.example.org"
shutdown_grace = "2s"
[log]
level = "debug"
[auth]
failure_delay = "0s"
[tls]
certificate = "{certs}/one.pem"
key = "{certs}/one.key"
[plugin.static-users]
users = ["alice:secret", "bob:secret"]
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[plugin.slow-hook]
wait_sender = "wait@example.net"
mail_wait = "60s"
block_recipient = "bob@example.org"
rcpt_block = "5s"

[[listener]]
name = "pop3s"
service = "pop3"
port = 0
tls = "implicit"

[[listener]]
name = "pop3"
service = "pop3"
port = 0
tls = "starttls"

[[listener]]
name = "mx"
service = "smtp"
port = 0
tls = "starttls"
plaintext_auth = true
auth_requires_tls = false
auth_mechanisms = ["LOGIN"]
[listener.smtp]
local_domains = ["example.org"]
"""


class EveryPhase(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-shutdown-")
        self.certs = os.path.join(self.work, "certs")
        os.mkdir(self.certs)
        make_all(self.certs)
        self.daemon = Daemon(config(self.work, self.certs))
        self.conns = []

    def tearDown(self):
        self.daemon.kill()
        for c in self.conns:
            c.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def connect(self, listener):
        c = RawConnection(self.daemon.ports[listener])
        self.conns.append(c)
        return c

    def smtp(self, *commands):
        """An MX session after EHLO and the given commands, each answered with the expected code."""
        c = self.connect("mx")
        self.assertTrue(c.line().startswith(b"220 "))
        c.send(b"EHLO client.example.net\r\n")
        while not c.line().startswith(b"250 "):
            pass
        for command, code in commands:
            c.send(command + b"\r\n")
            self.assertTrue(c.line().startswith(code), command)
        return c

    def delivered(self, user):
        new = os.path.join(self.work, "mail", user, "Maildir", "new")
        return [open(os.path.join(new, f), "rb").read() for f in os.listdir(new)] if os.path.isdir(new) else []

    def test_sigterm_reaches_every_phase(self):
        # Delivered and acknowledged before the signal: it must be there afterwards.
        done = self.smtp((b"MAIL FROM:<a@example.net>", b"250 "), (b"RCPT TO:<alice@example.org>", b"250 "),
                         (b"DATA", b"354 "))
        done.send(b"Subject: kept\r\n\r\nacknowledged\r\n.\r\n")
        self.assertTrue(done.line().startswith(b"250 2.0.0"))

        # Mid-handshake: implicit TLS (nothing sent), and after STARTTLS and STLS (the go-ahead read, no hello).
        implicit = self.connect("pop3s")
        starttls = self.smtp((b"STARTTLS", b"220 2.0.0"))
        stls = self.connect("pop3")
        self.assertTrue(stls.line().startswith(b"+OK"))
        stls.send(b"STLS\r\n")
        self.assertTrue(stls.line().startswith(b"+OK"))
        # Mid-AUTH: the server's challenge is out, the client's answer never comes.
        auth = self.smtp((b"AUTH LOGIN", b"334 "))
        # Mid-DATA: part of a message, no end.
        data = self.smtp((b"MAIL FROM:<a@example.net>", b"250 "), (b"RCPT TO:<alice@example.org>", b"250 "),
                         (b"DATA", b"354 "))
        data.send(b"Subject: never acknowledged\r\n\r\nhalf of a messa")
        # Inside a plugin call (a timer far longer than the grace period) and inside a blocking job.
        in_plugin = self.smtp()
        in_plugin.send(b"MAIL FROM:<wait@example.net>\r\n")
        in_job = self.smtp((b"MAIL FROM:<a@example.net>", b"250 "))
        in_job.send(b"RCPT TO:<bob@example.org>\r\n")
        self.assertTrue(self.daemon.log_contains(r"plugin=slow-hook waiting at MAIL", 10))
        self.assertTrue(self.daemon.log_contains(r"plugin=slow-hook blocking a pool thread at RCPT", 10))

        self.assertEqual(self.daemon.terminate(timeout=60), 0)

        self.assertEqual(implicit.rest(), b"")  # closed, never a plaintext word on a TLS port
        self.assertEqual(starttls.rest(), b"")
        self.assertEqual(stls.rest(), b"")
        self.assertEqual(auth.rest(), SHUTTING_DOWN)
        self.assertEqual(data.rest(), SHUTTING_DOWN)
        in_plugin.rest()  # closed when the grace period ran out; what it heard before does not matter
        in_job.rest()
        stored = self.delivered("alice")
        self.assertEqual(len(stored), 1)
        self.assertIn(b"acknowledged", stored[0])
        self.assertNotIn(b"never acknowledged", stored[0])
        self.assertFalse(any("AddressSanitizer" in line for line in self.daemon.lines))


if __name__ == "__main__":
    unittest.main()
