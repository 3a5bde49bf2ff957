"""The access policy plugin (plugins/access) in the real daemon, driven by Python's smtplib, raw sockets and
swaks: client rules refuse at connect (IPv4, and IPv6 where the machine has ::1), HELO, sender and recipient
rules refuse before DATA with the reply the rules file names, the first matching rule wins, the rules file is
re-read while the daemon runs (a bad new version is refused with its file:line, the old rules kept), and a bad
rule stops the daemon and `--check-config` with its file:line."""
import base64
import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

from daemon import DAEMON, RawConnection, maildir_messages, start_in, stop_in

USERS = ["alice", "bob"]

RULES = """# access rules for the tests
client 127.0.0.2 reject 554 5.7.1 Your network is not welcome here
client 127.0.0.3/32 tempfail
client ::1 reject 554 5.7.1 No IPv6 from here
helo spammer.example reject 550 5.7.1 That HELO is not welcome
helo *.dynamic.example tempfail
sender <> accept
sender friend@bad.example accept
sender @bad.example reject 550 5.7.1 Sender refused by the access list
sender busy@example.net tempfail 451 4.7.1 Greylisted, try again later
recipient bob@other.example accept
recipient other.example reject 550 5.7.1 No mail for other.example here
"""


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def config(work, rules_path, ipv6=False):
    listener6 = """
[[listener]]
name = "mx6"
service = "smtp"
address = ["::1"]
port = 0
[listener.smtp]
local_domains = ["example.org", "other.example"]
""" if ipv6 else ""
    return f"""
[server]
workers = 2
hostname = "mx.example.org"
state_dir = "{work}/state"
[log]
level = "debug"
[plugin.passwd-file]
file = "{work}/passwd"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[plugin.access]
rules = "{rules_path}"
[plugins]
auth = ["passwd-file"]

[[listener]]
name = "mx"
service = "smtp"
address = ["127.0.0.1"]
port = 0
[listener.smtp]
local_domains = ["example.org", "other.example"]
{listener6}"""


def message(subject):
    return f"From: someone@example.net\r\nSubject: {subject}\r\n\r\nHello.\r\n"


def write_rules(path, text):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)  # as an editor or a deployment does: the daemon never reads half a file


class AccessTest(unittest.TestCase):
    """A daemon of the class's own with the passwd-file and Maildir plugins and the access plugin."""
    rules = RULES
    ipv6 = False

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailwright-access-")
        with open(os.path.join(cls.work, "passwd"), "w") as f:
            for user in USERS:
                f.write(f"{user}:{{PLAIN-EQUIVALENT}}{base64.b64encode(f'pw-{user}'.encode()).decode()}\n")
        cls.rules_path = os.path.join(cls.work, "access")
        write_rules(cls.rules_path, cls.rules)
        cls.daemon = start_in(cls.work, config(cls.work, cls.rules_path, cls.ipv6))

    @classmethod
    def tearDownClass(cls):
        assert stop_in(cls.work, cls.daemon) == 0

    def smtp(self, source="127.0.0.1", helo="client.example"):
        s = smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], local_hostname=helo, timeout=20,
                         source_address=(source, 0))
        self.addCleanup(s.close)
        return s

    def delivered(self, user, subject):
        return len(maildir_messages(self.work, user, f"Subject: {subject}".encode()))


class Rules(AccessTest):
    ipv6 = ipv6_loopback_available()

    def test_a_refused_sender_hears_the_configured_reply_before_data(self):
        s = self.smtp()
        s.ehlo()
        self.assertEqual(s.mail("spam@bad.example"), (550, b"5.7.1 Sender refused by the access list"))
        with self.assertRaises(smtplib.SMTPSenderRefused) as refused:
            s.sendmail("Spam@Bad.Example", ["alice@example.org"], message("refused"))  # any case
        self.assertEqual(refused.exception.smtp_code, 550)
        self.assertEqual(self.delivered("alice", "refused"), 0)
        self.assertTrue(self.daemon.log_contains(r"session=\d+ plugin=access refused mail for good \(Spam@Bad.Example\)"))

    def test_swaks_is_refused_at_mail_from(self):
        result = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(self.daemon.ports["mx"]),
                                 "--timeout", "20", "--helo", "client.example", "--from", "spam@bad.example",
                                 "--to", "alice@example.org"], capture_output=True, timeout=60)
        transcript = result.stdout.decode("utf-8", "replace")
        self.assertEqual(result.returncode, 23, transcript)  # swaks: the server refused MAIL FROM
        self.assertIn("<** 550 5.7.1 Sender refused by the access list", transcript)
        self.assertNotIn(" -> DATA", transcript)

    def test_an_earlier_accept_wins_over_a_later_reject(self):
        s = self.smtp()
        s.sendmail("friend@bad.example", ["alice@example.org"], message("friend"))
        self.assertEqual(self.delivered("alice", "friend"), 1)
        s.sendmail("", ["alice@example.org"], message("bounce"))  # sender <> accept
        self.assertEqual(self.delivered("alice", "bounce"), 1)

    def test_a_tempfail_rule(self):
        s = self.smtp()
        s.ehlo()
        self.assertEqual(s.mail("busy@example.net"), (451, b"4.7.1 Greylisted, try again later"))
        self.assertEqual(s.mail("other@example.net"), (250, b"2.1.0 Sender OK"))

    def test_a_recipient_domain_rule(self):
        s = self.smtp()
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as refused:
            s.sendmail("someone@example.net", ["alice@other.example"], message("other"))
        self.assertEqual(refused.exception.recipients["alice@other.example"],
                         (550, b"5.7.1 No mail for other.example here"))
        # The exception above it, and another local domain, still get mail; one refusal costs one recipient.
        refused = s.sendmail("someone@example.net", ["bob@other.example", "alice@other.example", "alice@example.org"],
                             message("partly"))
        self.assertEqual(refused, {"alice@other.example": (550, b"5.7.1 No mail for other.example here")})
        self.assertEqual(self.delivered("bob", "partly"), 1)
        self.assertEqual(self.delivered("alice", "partly"), 1)

    def test_helo_rules(self):
        s = self.smtp(helo="spammer.example")
        self.assertEqual(s.ehlo()[0], 550)
        self.assertEqual(s.helo()[0], 550)
        with RawConnection(self.daemon.ports["mx"]) as c:
            c.line()  # greeting
            c.send("EHLO host-7.dynamic.example\r\n")
            self.assertEqual(c.line(), b"450 4.7.1 <host-7.dynamic.example>: HELO name refused for now, "
                                       b"try again later\r\n")
            c.send("EHLO Mail.Example.Org\r\n")
            self.assertTrue(c.line().startswith(b"250-mx.example.org "))

    def test_a_client_network_is_refused_at_connect(self):
        with self.assertRaises(smtplib.SMTPConnectError) as refused:
            self.smtp(source="127.0.0.2")
        self.assertEqual(refused.exception.smtp_code, 554)
        self.assertEqual(refused.exception.smtp_error, b"5.7.1 Your network is not welcome here")
        with socket.create_connection(("127.0.0.1", self.daemon.ports["mx"]), timeout=20,
                                      source_address=("127.0.0.3", 0)) as s:
            reply = s.makefile("rb").read()  # the reply, then the server closes
        self.assertEqual(reply, b"421 4.7.0 [127.0.0.3]: client host refused for now, try again later\r\n")
        self.assertEqual(self.smtp(source="127.0.0.1").noop()[0], 250)

    @unittest.skipUnless(ipv6_loopback_available(), "no IPv6 loopback on this machine")
    def test_an_ipv6_client_is_refused_at_connect(self):
        with socket.create_connection(("::1", self.daemon.ports["mx6"]), timeout=20) as s:
            reply = s.makefile("rb").read()
        self.assertEqual(reply, b"554 5.7.1 No IPv6 from here\r\n")


class Reloading(AccessTest):
    rules = "sender @changing.example reject 550 5.7.1 Not yet\n"

    def mail_reply(self, sender):
        s = self.smtp()
        s.ehlo()
        return s.mail(sender)

    def wait_for(self, sender, expected, timeout=10.0):
        """The rules are looked at once a second: poll until `sender` gets `expected`."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.mail_reply(sender)
            if got == expected or time.monotonic() > deadline:
                return got
            time.sleep(0.2)

    def test_an_edited_file_takes_effect_without_a_restart_and_a_bad_one_is_refused(self):
        self.assertEqual(self.mail_reply("x@changing.example"), (550, b"5.7.1 Not yet"))
        write_rules(self.rules_path, "sender x@changing.example accept\n"
                                     "sender @changing.example tempfail 450 4.7.1 Now it is later\n")
        self.assertEqual(self.wait_for("y@changing.example", (450, b"4.7.1 Now it is later")),
                         (450, b"4.7.1 Now it is later"))
        self.assertEqual(self.mail_reply("x@changing.example"), (250, b"2.1.0 Sender OK"))
        self.assertTrue(self.daemon.log_contains(r"plugin=access re-read .*access: 2 rules"))

        # A bad version: an error naming file:line, and the whole previous rule set stays in force.
        write_rules(self.rules_path, "sender y@changing.example accept\n"
                                     "sender x@changing.example reject 250 fine\n")
        error = rf"plugin=access keeping the previous version: {self.rules_path}:2: reject takes a 5xx code"
        deadline = time.monotonic() + 10.0
        while not self.daemon.log_contains(error, 0.2) and time.monotonic() < deadline:
            self.mail_reply("z@example.net")  # the file is looked at on a lookup
        self.assertTrue(self.daemon.log_contains(error), "\n".join(self.daemon.lines[-20:]))
        self.assertEqual(self.mail_reply("y@changing.example"), (450, b"4.7.1 Now it is later"))
        self.assertEqual(self.mail_reply("x@changing.example"), (250, b"2.1.0 Sender OK"))

        # Fixed again: taken.
        write_rules(self.rules_path, "sender y@changing.example accept\n")
        self.assertEqual(self.wait_for("y@changing.example", (250, b"2.1.0 Sender OK")), (250, b"2.1.0 Sender OK"))


class BadRules(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-access-")
        self.addCleanup(shutil.rmtree, self.work, True)
        with open(os.path.join(self.work, "passwd"), "w") as f:
            f.write("alice:{PLAIN-EQUIVALENT}cHctYWxpY2U=\n")
        self.rules_path = os.path.join(self.work, "access")
        write_rules(self.rules_path, "# fine so far\nsender @bad.example reject\nclient 192.0.2.1/24 reject\n")
        self.config_path = os.path.join(self.work, "mailwright.toml")
        with open(self.config_path, "w") as f:
            f.write(config(self.work, self.rules_path))

    def run_daemon(self, *args):
        return subprocess.run([DAEMON, *args], capture_output=True, text=True, timeout=30, cwd=self.work)

    def test_check_config_names_the_rules_file_and_line(self):
        result = self.run_daemon("--check-config", self.config_path)
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn(f"{self.rules_path}:3: host bits are set after the first 24; did you mean 192.0.2.0/24?",
                      result.stderr)
        write_rules(self.rules_path, "client 192.0.2.0/24 reject\n")
        result = self.run_daemon("--check-config", self.config_path)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_the_daemon_refuses_to_start(self):
        result = self.run_daemon("--config", self.config_path)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"{self.rules_path}:3: host bits are set", result.stderr)
        self.assertNotIn("listening", result.stderr)

    def test_a_missing_rules_key_or_file(self):
        with open(self.config_path, "w") as f:
            f.write(config(self.work, self.rules_path).replace(f'rules = "{self.rules_path}"', ""))
        result = self.run_daemon("--check-config", self.config_path)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("rules", result.stderr)
        os.unlink(self.rules_path)
        with open(self.config_path, "w") as f:
            f.write(config(self.work, self.rules_path))
        result = self.run_daemon("--check-config", self.config_path)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"{self.rules_path}: cannot read the rules file", result.stderr)


if __name__ == "__main__":
    unittest.main()
