"""Log injection (SECURITY-CASES 44): a client-supplied string in a log line never starts a line of its own.
A user name holding a newline and a whole forged log line ("... logged in as demo") is sent through AUTH
PLAIN, AUTH LOGIN, SCRAM's n= and the TLS SNI name; the session must leave exactly as many log lines as
the same dialogue with an ordinary name, none of them forged.

Regression: the names went to the log raw, so one login attempt wrote a line a fail2ban filter or an audit
would have believed."""
import base64
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from certs import make_all
from daemon import DAEMON, Daemon, RawConnection, insecure_context

FORGED = "2026-12-04T09:00:00.000+00:00 info session=999 peer=203.0.113.7:4242 logged in as demo"
HOSTILE = "x\n" + FORGED + "\r\u2028\x1b[2K"
LINE_START = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (trace|debug|info|warning|error) ")
# A line whose own session field is the forged one: what a fail2ban filter or an audit would read.
FORGED_LINE = re.compile(r"^\S+ \S+ session=999 ")


def config(certs):
    return f"""
[server]
workers = 1
[log]
level = "debug"
[auth]
failure_delay = "0s"
[tls]
certificate = "{certs}/one.pem"
key = "{certs}/one.key"
[plugin.passwd-file]
file = "{certs}/passwd"
[plugin.memory-store]

[[listener]]
name = "pop3s"
service = "pop3"
port = 0
tls = "implicit"
auth_mechanisms = ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
max_auth_failures = 10
"""


class LogInjection(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailwright-logs-")
        make_all(cls.work)
        made = subprocess.run([DAEMON, "passwd", "alice", "-s", "SCRAM-SHA-256"], input="secret",
                              capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        with open(os.path.join(cls.work, "passwd"), "w") as f:
            f.write(made.stdout)
        cls.daemon = Daemon(config(cls.work))

    @classmethod
    def tearDownClass(cls):
        try:
            assert cls.daemon.terminate() == 0
        finally:
            shutil.rmtree(cls.work, ignore_errors=True)

    next_id = 1  # the daemon numbers sessions from 1; these tests open one at a time

    def session(self, name):
        """The dialogue with `name` everywhere a client names itself; the log lines of that session."""
        ctx = insecure_context()
        sni = name.encode("ascii", "ignore").decode()  # Python's ssl takes only ASCII here; controls pass
        raw = RawConnection(self.daemon.ports["pop3s"], tls=True, ctx=ctx, server_hostname=sni)
        with raw as c:
            self.assertTrue(c.line().startswith(b"+OK"))
            encoded = name.encode("utf-8", "surrogateescape")
            # (USER cannot carry a line end, and refuses control characters: SASL can carry anything.)
            plain = base64.b64encode(b"\0" + encoded + b"\0wrong")
            c.send(b"AUTH PLAIN " + plain + b"\r\n")
            self.assertTrue(c.line().startswith(b"-ERR [AUTH]"))
            c.send(b"AUTH LOGIN\r\n")
            self.assertTrue(c.line().startswith(b"+ "))
            c.send(base64.b64encode(encoded) + b"\r\n")
            self.assertTrue(c.line().startswith(b"+ "))
            c.send(base64.b64encode(b"wrong") + b"\r\n")
            self.assertTrue(c.line().startswith(b"-ERR [AUTH]"))
            scram_name = encoded.replace(b"=", b"=3D").replace(b",", b"=2C")
            c.send(b"AUTH SCRAM-SHA-256 " + base64.b64encode(b"n,,n=" + scram_name + b",r=abcdefghijkl") + b"\r\n")
            self.assertTrue(c.line().startswith(b"+ "))
            c.send(b"*\r\n")  # give up: the cancellation is logged with the mechanism
            c.line()
            c.send(b"QUIT\r\n")
            c.rest()
        self.assertTrue(self.daemon.log_contains(rf"session={self.next_id} .* disconnected after"))
        lines = [line for line in self.daemon.lines if line.split(" ")[2:3] == [f"session={self.next_id}"]]
        type(self).next_id += 1
        return lines

    def test_hostile_names_leave_as_many_lines_as_ordinary_ones(self):
        ordinary = self.session("mallory.example")
        hostile = self.session(HOSTILE)
        self.assertEqual(len(hostile), len(ordinary), "\n".join(hostile))
        # Every line the daemon wrote is one of its own: a timestamp and a level first, nothing forged.
        for line in self.daemon.lines:
            self.assertRegex(line, LINE_START)
            self.assertNotRegex(line, FORGED_LINE)
            self.assertNotIn("\x1b", line)
            self.assertNotIn("\u2028", line)
        escaped = "x\\n" + FORGED
        self.assertTrue(any(escaped in line and "sni=" in line for line in hostile), "\n".join(hostile))
        self.assertTrue(any(escaped in line and "authentication failed" in line for line in hostile))


if __name__ == "__main__":
    unittest.main()
