"""Exhaustion, against the real daemon: many clients dribbling over-long lines, and a flood of half-open TLS
handshakes. In each the daemon must shed the bad clients (a reply and the line refused, or the connection
dropped at its deadline), keep serving a well-behaved client through the flood with a real client (smtplib,
poplib over TLS), and serve new clients once the flood is over. (Descriptor exhaustion: test_daemon.py,
DescriptorExhaustion.) Loops are bounded by counts and socket timeouts, never by measuring time."""
import os
import poplib
import select
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import unittest

from certs import make_all
from daemon import DAEMON, Daemon, insecure_context

CERTS = None
FLOOD = 200  # connections per flood: well past what a 2-core machine serves at once, and below ulimit -n


def setUpModule():
    global CERTS
    CERTS = tempfile.mkdtemp(prefix="mailwright-exhaustion-")
    make_all(CERTS)
    with open(os.path.join(CERTS, "passwd"), "w") as f:
        for user in ("alice", "bob"):
            line = subprocess.run([DAEMON, "passwd", "--scheme", "PLAIN-EQUIVALENT", user], input=f"pw-{user}",
                                  capture_output=True, text=True, timeout=60, check=True).stdout
            f.write(line)


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


def config(work):
    return f"""
[server]
workers = 2
max_connections = 2000
max_connections_per_ip = 2000
[log]
level = "info"
[auth]
failure_delay = "0s"
failure_delay_max = "0s"
[plugin.passwd-file]
file = "{CERTS}/passwd"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[plugins]
auth = ["passwd-file"]
[tls]
certificate = "{CERTS}/one.pem"
key = "{CERTS}/one.key"
handshake_timeout = "5s"

[[listener]]
name = "smtp"
service = "smtp"
port = 0
[listener.smtp]
role = "mx"
local_domains = ["example.org"]

[[listener]]
name = "pop3"
service = "pop3"
port = 0
plaintext_auth = true

[[listener]]
name = "pop3s"
service = "pop3"
port = 0
tls = "implicit"
"""


def open_flood(port, count):
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setblocking(False)
        socks.append(s)
    return socks


def read_available(sock):
    """What the server has sent so far, b"" when nothing; None once it closed the connection."""
    try:
        data = sock.recv(65536)
        return data if data else None
    except BlockingIOError:
        return b""
    except ConnectionResetError:
        return None


def closed_now(socks):
    """How many of `socks` the server has closed, without waiting."""
    readable, _, _ = select.select(socks, [], [], 0)
    return sum(1 for s in readable if read_available(s) is None)


def wait_all_closed(socks, quiet_rounds=100):
    """Waits until the server has closed every socket, or until it has been silent for `quiet_rounds` selects of
    100 ms; returns how many it closed."""
    open_ones = set(socks)
    quiet = 0
    while open_ones and quiet < quiet_rounds:
        readable, _, _ = select.select(list(open_ones), [], [], 0.1)
        quiet = 0 if readable else quiet + 1
        for s in readable:
            while True:
                data = read_available(s)
                if data is None:
                    open_ones.discard(s)
                    break
                if data == b"":
                    break
    return len(socks) - len(open_ones)


class Flood(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-exhaustion-")
        self.daemon = Daemon(config(self.work))
        self.flood = []

    def tearDown(self):
        for s in self.flood:
            s.close()
        code = self.daemon.terminate()
        shutil.rmtree(self.work, ignore_errors=True)
        self.assertEqual(code, 0)

    def send_mail(self, tag):
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["smtp"], local_hostname="good.example", timeout=10) as s:
            refused = s.sendmail("someone@remote.example", ["alice@example.org"],
                                 f"Subject: {tag}\r\n\r\nThrough the flood.\r\n")
            self.assertEqual(refused, {})

    def pop3_tls_login(self):
        pop = poplib.POP3_SSL("127.0.0.1", self.daemon.ports["pop3s"], context=insecure_context(), timeout=10)
        try:
            pop.user("alice")
            pop.pass_("pw-alice")
            count, _ = pop.stat()
            pop.quit()
            return count
        finally:
            pop.close()


class SlowLongLines(Flood):
    def test_dribbled_long_lines_are_refused_and_others_are_served(self):
        smtp = open_flood(self.daemon.ports["smtp"], FLOOD // 2)
        pop3 = open_flood(self.daemon.ports["pop3"], FLOOD // 2)
        self.flood = smtp + pop3
        # Each client sends a command line longer than the limit (SMTP 512, POP3 1024 octets), 64 octets a round,
        # never a line end: the server must answer it without waiting for one, and without holding the excess.
        answered = {}
        for round_ in range(40):  # 40 x 64 = 2560 octets: past both limits and past the 2048-octet line buffer
            for s in self.flood:
                if s in answered:
                    continue
                try:
                    s.send(b"NOOP " + b"x" * 59 if round_ == 0 else b"x" * 64)
                except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                    pass
            readable, _, _ = select.select([s for s in self.flood if s not in answered], [], [], 0.05)
            for s in readable:
                data = read_available(s)
                if data and (b"500 5.5.2" in data or b"-ERR" in data):
                    answered[s] = data
            if round_ == 20:
                self.send_mail("during")  # a well-behaved client in the middle of the flood
        for s in self.flood:  # answers still on their way
            if s not in answered:
                s.setblocking(True)
                s.settimeout(10)
                data = b""
                while b"500 5.5.2" not in data and b"-ERR" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                answered[s] = data
        for s in smtp:
            self.assertIn(b"500 5.5.2 Line too long", answered[s])
        for s in pop3:
            self.assertIn(b"-ERR", answered[s])
            self.assertIn(b"too long", answered[s].lower())
        for s in self.flood:
            s.close()
        self.flood = []
        self.send_mail("after")
        self.assertEqual(self.pop3_tls_login(), 2)


class HalfOpenTls(Flood):
    def test_stalled_handshakes_are_dropped_and_others_are_served(self):
        port = self.daemon.ports["pop3s"]
        # A real ClientHello, cut short: the server has read a record header and waits for the rest.
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        client = insecure_context().wrap_bio(incoming, outgoing, server_hostname="one.test")
        with self.assertRaises(ssl.SSLWantReadError):
            client.do_handshake()
        hello = outgoing.read()
        self.assertGreater(len(hello), 100)
        silent = open_flood(port, FLOOD // 2)
        partial = open_flood(port, FLOOD // 2)
        for s in partial:
            s.send(hello[:60])
        self.flood = silent + partial
        # Served through the flood: a full TLS login and a delivery while every flood connection still waits.
        self.assertEqual(self.pop3_tls_login(), 0)
        self.send_mail("during")
        self.assertEqual(closed_now(self.flood), 0, "the flood was dropped before the well-behaved client ran")
        # Every half-open handshake is dropped at its deadline (5 s), none left holding a connection.
        self.assertEqual(wait_all_closed(self.flood), len(self.flood))
        self.assertTrue(self.daemon.log_contains(r"TLS handshake failed: deadline exceeded"))
        for s in self.flood:
            s.close()
        self.flood = []
        self.assertEqual(self.pop3_tls_login(), 1)


if __name__ == "__main__":
    unittest.main()
