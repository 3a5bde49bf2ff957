"""The milter plugin (plugins/milter) in mailwrightd against a milter on python3-milter (Sendmail's libmilter
underneath, tests/integration/milter_stub.py), driven by smtplib: what the client hears when the milter
accepts, rejects (with its own reply), fails for now, discards, refuses one recipient, or is not there with
each default_action; and the field it adds, in the stored message."""
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

from daemon import DAEMON, maildir_messages, start_in, stop_in

HERE = os.path.dirname(os.path.abspath(__file__))


def milter_python():
    """A Python that has pymilter (Debian's python3-milter is for the system's Python), or None."""
    for python in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(python) and subprocess.run([python, "-c", "import Milter"],
                                                     capture_output=True).returncode == 0:
            return python
    return None


def config(work, socket, default_action="tempfail"):
    return f"""
[server]
workers = 1
hostname = "mx.example.org"
[plugin.passwd-file]
file = "{work}/passwd"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[plugin.milter]
[[plugin.milter.milters]]
name = "stub"
address = "unix:{socket}"
connect_timeout = "2s"
command_timeout = "5s"
end_timeout = "5s"
default_action = "{default_action}"
[plugins]
auth = ["passwd-file"]
hooks = ["milter"]

[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
role = "mx"
local_domains = ["example.org"]
"""


def make_work():
    work = tempfile.mkdtemp(prefix="mailwright-milter-")
    lines = []
    for user in ("alice", "bob"):
        result = subprocess.run([DAEMON, "passwd", user, "-s", "PLAIN-EQUIVALENT"], input=f"pw-{user}",
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        lines.append(result.stdout)
    with open(os.path.join(work, "passwd"), "w") as f:
        f.write("".join(lines))
    return work


def message(tok, subject):
    return (f"From: carol@example.net\r\nTo: bob@example.org\r\nSubject: {subject} {tok}\r\n"
            f"Message-ID: <{tok}@client.example>\r\n\r\nHello from the tests.\r\n").encode()


@unittest.skipIf(milter_python() is None, "python3-milter is not installed (scripts/install-deps)")
class Milter(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = make_work()
        cls.socket = os.path.join(cls.work, "milter.sock")
        cls.milter = subprocess.Popen([milter_python(), os.path.join(HERE, "milter_stub.py"), "unix:" + cls.socket],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not os.path.exists(cls.socket) and time.monotonic() < deadline:
            time.sleep(0.05)
        cls.daemon = start_in(cls.work, config(cls.work, cls.socket))

    @classmethod
    def tearDownClass(cls):
        cls.milter.terminate()
        cls.milter.wait(10)
        stop_in(cls.work, cls.daemon)

    def send(self, subject, sender="carol@example.net", rcpts=("bob@example.org",)):
        tok = uuid.uuid4().hex
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], timeout=30) as s:
            s.ehlo("client.example")
            s.sendmail(sender, list(rcpts), message(tok, subject))
        return tok

    def test_accepted_and_the_field_added(self):
        tok = self.send("hello")
        stored = maildir_messages(self.work, "bob", tok.encode())
        self.assertEqual(len(stored), 1)
        head = stored[0].replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]  # the Maildir keeps LF line ends
        self.assertRegex(head, rb"\nX-Milter: seen id=\S+ user=-")

    def test_reject_with_the_milters_reply(self):
        with self.assertRaises(smtplib.SMTPDataError) as e:
            self.send("reject")
        self.assertEqual(e.exception.smtp_code, 554)
        self.assertIn(b"5.7.1 milter says no", e.exception.smtp_error)

    def test_tempfail(self):
        with self.assertRaises(smtplib.SMTPDataError) as e:
            self.send("tempfail")
        self.assertEqual(e.exception.smtp_code, 451)

    def test_discard(self):
        tok = self.send("discard")  # the client hears success
        time.sleep(0.2)
        self.assertEqual(maildir_messages(self.work, "bob", tok.encode()), [])

    def test_one_recipient_refused(self):
        # SMTP has one reply for the message: a refused recipient refuses it for all (docs/plugins.md).
        with self.assertRaises(smtplib.SMTPDataError) as e:
            self.send("hello", sender="picky@example.net", rcpts=("bob@example.org", "alice@example.org"))
        self.assertEqual(e.exception.smtp_code, 550)
        self.assertIn(b"no alice here", e.exception.smtp_error)


def real_config(work, opendkim, rspamd):
    """Submission-like mx on loopback with OpenDKIM then rspamd, over inet in Postfix's port@host form."""
    first = config(work, "/unused.sock").replace('address = "unix:/unused.sock"',
                                                  f'address = "inet:{opendkim.port}@127.0.0.1"')
    return first.replace('[plugins]', f"""[[plugin.milter.milters]]
name = "rspamd"
address = "inet:127.0.0.1:{rspamd.milter_port}"
end_timeout = "30s"
[plugins]""").replace('name = "stub"', 'name = "opendkim"')


class RealMilters(unittest.TestCase):
    """OpenDKIM signs what a loopback client sends from example.org (the stored DKIM-Signature verifies with
    python3-dkim), and rspamd refuses GTUBE with its own reply; both in one list, OpenDKIM first."""

    @classmethod
    def setUpClass(cls):
        from servers import OpenDKIM, Rspamd  # the harnesses of tests/integration/servers.py
        cls.opendkim = OpenDKIM()
        cls.addClassCleanup(cls.opendkim.stop)
        cls.rspamd = Rspamd(start_timeout=60)
        cls.addClassCleanup(cls.rspamd.stop)
        cls.work = make_work()
        cls.daemon = start_in(cls.work, real_config(cls.work, cls.opendkim, cls.rspamd))
        cls.addClassCleanup(stop_in, cls.work, cls.daemon)

    def send(self, body_line):
        tok = uuid.uuid4().hex
        text = (f"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: signed {tok}\r\n"
                f"Message-ID: <{tok}@example.org>\r\nDate: Fri, 04 Dec 2026 12:00:00 +0000\r\n\r\n"
                f"{body_line}\r\nline 2 of {tok}\r\n").encode()
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], timeout=60) as s:
            s.ehlo("client.example")
            s.sendmail("alice@example.org", ["bob@example.org"], text)
        return tok

    def test_opendkim_signs_and_the_signature_verifies(self):
        from servers import verify_dkim
        tok = self.send("Hello.")
        stored = maildir_messages(self.work, "bob", tok.encode())
        self.assertEqual(len(stored), 1)
        self.assertIn(b"\nDKIM-Signature: v=1; a=rsa-sha256;", stored[0])
        # What OpenDKIM signed is the client's block and body; the trace fields above it were not shown to it.
        self.assertTrue(verify_dkim(stored[0], self.opendkim), stored[0])

    def test_rspamd_adds_its_headers(self):
        tok = self.send("Hello, nothing to see here.")
        stored = maildir_messages(self.work, "bob", tok.encode())
        self.assertEqual(len(stored), 1)
        self.assertRegex(stored[0], rb"\nX-Spamd-Result: default: False \[-?[0-9.]+ / [0-9.]+\]")
        self.assertRegex(stored[0], rb"\nX-Spam-Status: No, score=-?[0-9.]+")

    def test_rspamd_rejects_gtube(self):
        from servers import GTUBE
        with self.assertRaises(smtplib.SMTPDataError) as e:
            self.send(GTUBE)
        self.assertEqual(e.exception.smtp_code, 554)
        self.assertIn(b"Gtube pattern", e.exception.smtp_error)


class MilterDown(unittest.TestCase):
    """Nothing listens at the milter's address: default_action decides."""

    def run_with(self, default_action):
        work = make_work()
        daemon = start_in(work, config(work, os.path.join(work, "absent.sock"), default_action))
        try:
            tok = uuid.uuid4().hex
            with smtplib.SMTP("127.0.0.1", daemon.ports["mx"], timeout=30) as s:
                s.ehlo("client.example")
                try:
                    s.sendmail("carol@example.net", ["bob@example.org"], message(tok, "hello"))
                    outcome = (250, b"")
                except smtplib.SMTPDataError as e:
                    outcome = (e.smtp_code, e.smtp_error)
            self.assertTrue(daemon.log_contains(r"milter=stub cannot connect"))
            return outcome, maildir_messages(work, "bob", tok.encode())
        finally:
            stop_in(work, daemon)

    def test_tempfail(self):
        (code, text), stored = self.run_with("tempfail")
        self.assertEqual(code, 451)
        self.assertIn(b"4.7.1 milter unavailable", text)
        self.assertEqual(stored, [])

    def test_accept(self):
        (code, _), stored = self.run_with("accept")
        self.assertEqual(code, 250)
        self.assertEqual(len(stored), 1)


class MilterSettings(unittest.TestCase):
    """--check-config names the key of each mistake."""

    def test_bad_address_and_action(self):
        work = tempfile.mkdtemp(prefix="mailwright-milter-check-")
        try:
            text = config(work, "/x.sock").replace('address = "unix:/x.sock"', 'address = "inet:nowhere"')
            text = text.replace('default_action = "tempfail"', 'default_action = "pass"')
            text = text.replace('end_timeout = "5s"', 'end_timeout = "5s"\nbogus = 1')
            path = os.path.join(work, "mailwright.toml")
            with open(path, "w") as f:
                f.write(text)
            result = subprocess.run([DAEMON, "--check-config", path], capture_output=True, text=True,
                                    timeout=30)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("'address' in [[plugin.milter.milters]] #1", result.stderr)
            self.assertIn("'default_action' in [[plugin.milter.milters]] #1", result.stderr)
            self.assertIn("unknown key 'bogus' in [[plugin.milter.milters]] #1", result.stderr)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
