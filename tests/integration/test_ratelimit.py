"""The ratelimit hook plugin (plugins/ratelimit) in the real mailwrightd, driven by Python's smtplib: each limit
trips at its configured count, says when to retry, and releases after its interval. Every daemon runs two
workers, so the buckets are shared between threads. Intervals are a few seconds, and every wait is bounded:
the tests sleep the time the server told them, never poll without end.

A token comes back every interval/count seconds (1 to 1.5 s here), so each burst below must take less than
that: a few connections or commands on loopback do."""
import os
import re
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

from daemon import DAEMON, start_in, stop_in

USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
RETRY = re.compile(r"try again in (\d+) s$")
MAX_WAIT = 5.0  # no interval here is longer; a reported wait beyond it is a failure, not a reason to hang


def config(work, rules):
    return f"""
[server]
workers = 2
hostname = "mx.example.org"
[log]
level = "debug"
[auth]
failure_delay = "0s"
failure_delay_max = "0s"
[plugins]
auth = ["passwd-file"]
[plugin.passwd-file]
file = "{work}/passwd"
allow_plain = true
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[plugin.ratelimit]
{rules}

[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]

[[listener]]
name = "submission"
service = "smtp"
port = 0
plaintext_auth = true
[listener.smtp]
role = "submission"
local_domains = ["example.org"]
"""


def message(sender, to):
    return f"From: {sender}\r\nTo: {to}\r\nSubject: rate\r\n\r\nHello.\r\n".encode()


class RateLimitTest(unittest.TestCase):
    RULES = ""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-ratelimit-")
        with open(os.path.join(self.work, "passwd"), "w") as f:
            f.write("".join(f"{u}:{{PLAIN}}pw-{u}\n" for u in USERS))
        self.daemon = start_in(self.work, config(self.work, self.RULES))

    def tearDown(self):
        self.assertEqual(stop_in(self.work, self.daemon), 0)

    def smtp(self, listener="mx"):
        return smtplib.SMTP("127.0.0.1", self.daemon.ports[listener], local_hostname="client.example", timeout=10)

    def wait_as_told(self, text):
        """Sleeps the time a refusal named (bounded), and returns it."""
        m = RETRY.search(text)
        self.assertIsNotNone(m, text)
        seconds = int(m.group(1))
        self.assertGreaterEqual(seconds, 1)
        self.assertLessEqual(seconds, MAX_WAIT, text)
        time.sleep(seconds + 0.1)
        return seconds


class ConnectionsPerClient(RateLimitTest):
    RULES = 'client_connections = "2/3s"'

    def greeting(self):
        with socket.create_connection(("127.0.0.1", self.daemon.ports["mx"]), timeout=10) as s:
            f = s.makefile("rb")
            line = f.readline().decode()
            rest = f.read() if not line.startswith("220 ") else b""  # a refusal closes the connection
            f.close()
            return line, rest

    def test_trips_at_the_count_with_421_and_releases_after_the_interval(self):
        for _ in range(2):
            self.assertEqual(self.greeting()[0], "220 mx.example.org ESMTP Mailwright\r\n")
        line, rest = self.greeting()
        self.assertRegex(line, r"^421 4\.7\.0 rate limit for connections from this address exceeded, "
                               r"try again in [12] s\r\n$")
        self.assertEqual(rest, b"")  # closed after the reply
        self.assertTrue(
            self.daemon.log_contains(r"session=\d+ plugin=ratelimit refused connect for now .*: rate limit"))
        # smtplib sees the same: a 421 greeting is a refusal to connect.
        with self.assertRaises(smtplib.SMTPConnectError) as refused:
            self.smtp()
        self.assertEqual(refused.exception.smtp_code, 421)
        # A token comes back every 1.5 s: after the wait the refusal named, one connection, not two.
        self.wait_as_told(line.strip())
        self.assertTrue(self.greeting()[0].startswith("220 "))
        self.assertTrue(self.greeting()[0].startswith("421 "))
        # After a whole quiet interval, the full burst again.
        time.sleep(3.1)
        for _ in range(2):
            self.assertTrue(self.greeting()[0].startswith("220 "))
        self.assertTrue(self.greeting()[0].startswith("421 "))


class MessagesPerSenderAndClient(RateLimitTest):
    RULES = 'sender_messages = "2/2s"\nclient_messages = "4/4s"'

    def test_sender_then_client_limit_trip_and_release(self):
        with self.smtp() as s:
            s.ehlo()
            for _ in range(2):
                self.assertEqual(s.sendmail("a@remote.example", ["alice@example.org"],
                                            message("a@remote.example", "alice@example.org")), {})
            # The same sender in another case is the same sender.
            with self.assertRaises(smtplib.SMTPSenderRefused) as refused:
                s.sendmail("A@Remote.Example", ["alice@example.org"], message("a@remote.example", "alice"))
            self.assertEqual(refused.exception.smtp_code, 450)
            self.assertRegex(refused.exception.smtp_error.decode(),
                             r"^4\.7\.1 rate limit for messages from this sender exceeded, try again in 1 s$")
            s.rset()
            # Another sender has its own bucket; the refused MAIL above cost the client nothing, so two more
            # messages fill the client's four...
            for _ in range(2):
                self.assertEqual(s.sendmail("b@remote.example", ["bob@example.org"],
                                            message("b@remote.example", "bob@example.org")), {})
            # ...and the fifth, from a fresh sender, is refused for the client.
            self.assertEqual(s.mail("c@remote.example")[0], 450)
            code, text = s.mail("c@remote.example")
            self.assertEqual(code, 450)
            self.assertRegex(text.decode(), r"^4\.7\.1 rate limit for messages from this address exceeded")
        time.sleep(4.1)  # the longer interval: both buckets full again
        with self.smtp() as s:
            s.ehlo()
            for sender in ("a@remote.example", "a@remote.example", "c@remote.example"):
                self.assertEqual(s.sendmail(sender, ["alice@example.org"], message(sender, "alice")), {})
        self.assertEqual(len(os.listdir(os.path.join(self.work, "mail", "alice", "Maildir", "new"))), 5)


class RecipientsPerUser(RateLimitTest):
    RULES = 'user_recipients = "3/4s"'

    def test_authenticated_user_limit_trips_per_recipient_and_releases(self):
        recipients = [f"{u}@example.org" for u in ("bob", "carol", "dave", "erin", "frank")]
        with self.smtp("submission") as s:
            s.ehlo()
            s.login("alice", "pw-alice")
            refused = s.sendmail("alice@example.org", recipients, message("alice@example.org", "friends"))
            self.assertEqual(sorted(refused), ["erin@example.org", "frank@example.org"])
            code, text = refused["erin@example.org"]
            self.assertEqual(code, 450)
            self.assertRegex(text.decode(), r"^4\.7\.1 rate limit for recipients of this user exceeded, "
                                            r"try again in [12] s$")
        # Another user, from the same address, has a bucket of its own.
        with self.smtp("submission") as s:
            s.ehlo()
            s.login("bob", "pw-bob")
            self.assertEqual(s.sendmail("bob@example.org", recipients[1:4], message("bob@example.org", "x")), {})
        # The user is limited from any connection, and released after the interval.
        with self.smtp("submission") as s:
            s.ehlo()
            s.login("alice", "pw-alice")
            s.mail("alice@example.org")
            code, text = s.rcpt("erin@example.org")
            self.assertEqual(code, 450)
            self.wait_as_told(text.decode())
            self.assertEqual(s.rcpt("erin@example.org")[0], 250)
            self.assertEqual(s.rcpt("frank@example.org")[0], 450)
            s.rset()
        time.sleep(4.1)
        with self.smtp("submission") as s:
            s.ehlo()
            s.login("alice", "pw-alice")
            self.assertEqual(s.sendmail("alice@example.org", recipients[2:5], message("alice@example.org", "y")),
                             {})


class BadConfiguration(unittest.TestCase):
    def test_a_bad_rule_stops_the_daemon_naming_the_key(self):
        with tempfile.TemporaryDirectory(prefix="mailwright-ratelimit-") as work:
            with open(os.path.join(work, "passwd"), "w") as f:
                f.write("alice:{PLAIN}pw\n")
            path = os.path.join(work, "mailwright.toml")
            with open(path, "w") as f:
                f.write(config(work, 'client_messages = "lots"'))
            result = subprocess.run([DAEMON, "--config", path], capture_output=True, text=True, timeout=30,
                                    cwd=work)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("client_messages", result.stderr)
            self.assertIn("COUNT/INTERVAL", result.stderr)
            self.assertNotIn("listening", result.stderr)


if __name__ == "__main__":
    unittest.main()
