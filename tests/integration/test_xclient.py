"""XCLIENT (Postfix's extension) in the real daemon, driven by Python's smtplib and swaks: a trusted proxy
(127.0.0.1) hears it offered and restarts the session as its client, whose address then names the client in
the Received header and the log, and which the access plugin's client rules judge; LOGIN= lets submission
send as that user without AUTH; a client outside xclient_trusted (127.0.0.2) is not offered it and is refused
with 550; XCLIENT inside a transaction is 503 and malformed arguments 501; a listener without xclient_trusted
answers it as an unknown command.

Postfix itself sends XFORWARD, not XCLIENT, to an smtpd_proxy_filter (smtpd_proxy.c), so there is no
Postfix-in-front test here; swaks speaks XCLIENT as a proxy would."""
import base64
import os
import smtplib
import subprocess
import tempfile
import unittest
import uuid

from daemon import maildir_messages, start_in, stop_in

USERS = ["alice", "bob"]
RULES = "client 192.0.2.66 reject 554 5.7.1 Your network is not welcome here\n"


def config(work):
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
rules = "{work}/access"
[plugins]
auth = ["passwd-file"]

[[listener]]
name = "mx"
service = "smtp"
address = ["127.0.0.1"]
port = 0
[listener.smtp]
local_domains = ["example.org"]
xclient_trusted = ["127.0.0.1", "10.0.0.0/8"]

[[listener]]
name = "submission"
service = "smtp"
address = ["127.0.0.1"]
port = 0
[listener.smtp]
role = "submission"
local_domains = ["example.org"]
xclient_trusted = ["127.0.0.1"]

[[listener]]
name = "plain"
service = "smtp"
address = ["127.0.0.1"]
port = 0
[listener.smtp]
local_domains = ["example.org"]
"""


def message(subject, sender="someone@example.net"):
    return f"From: {sender}\r\nSubject: {subject}\r\n\r\nHello.\r\n"


class Xclient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailwright-xclient-")
        with open(os.path.join(cls.work, "passwd"), "w") as f:
            for user in USERS:
                f.write(f"{user}:{{PLAIN-EQUIVALENT}}{base64.b64encode(f'pw-{user}'.encode()).decode()}\n")
        with open(os.path.join(cls.work, "access"), "w") as f:
            f.write(RULES)
        cls.daemon = start_in(cls.work, config(cls.work))

    @classmethod
    def tearDownClass(cls):
        assert stop_in(cls.work, cls.daemon) == 0

    def smtp(self, listener="mx", source="127.0.0.1", helo="proxy.example"):
        s = smtplib.SMTP("127.0.0.1", self.daemon.ports[listener], local_hostname=helo, timeout=20,
                         source_address=(source, 0))
        self.addCleanup(s.close)
        return s

    def delivered(self, user, subject):
        return maildir_messages(self.work, user, f"Subject: {subject}".encode())

    def test_the_proxys_client_is_named_in_received_and_in_the_log(self):
        subject = f"xclient-{uuid.uuid4().hex}"
        s = self.smtp()
        s.ehlo()
        self.assertTrue(s.has_extn("xclient"))
        self.assertEqual(s.esmtp_features["xclient"], "ADDR PORT NAME HELO LOGIN PROTO")
        code, text = s.docmd("XCLIENT", "ADDR=192.0.2.7 PORT=40001 NAME=client.example HELO=helo.example")
        self.assertEqual((code, text), (220, b"mx.example.org ESMTP Mailwright"))  # greeted anew
        s.ehlo()
        self.assertFalse(s.has_extn("xclient"))  # 192.0.2.7 is not trusted
        s.sendmail("someone@example.net", ["alice@example.org"], message(subject))
        s.quit()
        stored = self.delivered("alice", subject)
        self.assertEqual(len(stored), 1)
        self.assertIn(b"Received: from helo.example (client.example [192.0.2.7])\n", stored[0])
        self.assertNotIn(b"127.0.0.1", stored[0])
        self.assertTrue(self.daemon.log_contains(
            r"session=\d+ peer=127\.0\.0\.1:\d+ XCLIENT: speaking for 192\.0\.2\.7:40001 name=client\.example"))
        self.assertTrue(self.daemon.log_contains(
            r"session=\d+ peer=192\.0\.2\.7:40001 message=\w+ accepted .*client=192\.0\.2\.7 "
            r"from=<someone@example\.net> to=<alice@example\.org>"))

    def test_login_lets_submission_send_as_that_user_without_auth(self):
        subject = f"xclient-login-{uuid.uuid4().hex}"
        s = self.smtp("submission")
        s.ehlo()
        self.assertEqual(s.mail("alice@example.org")[0], 530)  # no AUTH, no XCLIENT: refused
        s.rset()
        self.assertEqual(s.docmd("XCLIENT", "ADDR=192.0.2.8 LOGIN=alice")[0], 220)
        s.ehlo()
        self.assertFalse(s.has_extn("auth"))  # logged in already
        with self.assertRaises(smtplib.SMTPSenderRefused) as refused:
            s.sendmail("bob@example.org", ["bob@example.org"], message(subject, "bob@example.org"))
        self.assertEqual(refused.exception.smtp_code, 553)  # alice may not send as bob
        s.sendmail("alice@example.org", ["bob@example.org"], message(subject, "alice@example.org"))
        s.quit()
        stored = self.delivered("bob", subject)
        self.assertEqual(len(stored), 1)
        self.assertRegex(stored[0], rb"\[192\.0\.2\.8\]\)\n\tby mx\.example\.org \(Mailwright\) with ESMTPA id ")
        self.assertTrue(self.daemon.log_contains(r"session=\d+ peer=192\.0\.2\.8:0 authenticated as alice with XCLIENT"))

    def test_an_untrusted_client_is_not_offered_it_and_is_refused(self):
        subject = f"xclient-untrusted-{uuid.uuid4().hex}"
        s = self.smtp(source="127.0.0.2")
        s.ehlo()
        self.assertFalse(s.has_extn("xclient"))
        self.assertEqual(s.docmd("XCLIENT", "ADDR=192.0.2.9"), (550, b"5.7.0 Error: insufficient authorization"))
        s.sendmail("someone@example.net", ["alice@example.org"], message(subject))  # nothing changed
        s.quit()
        stored = self.delivered("alice", subject)
        self.assertEqual(len(stored), 1)
        self.assertIn(b"Received: from proxy.example ([127.0.0.2])\n", stored[0])

    def test_inside_a_transaction_503_and_malformed_501(self):
        s = self.smtp()
        s.ehlo()
        self.assertEqual(s.docmd("XCLIENT", "ADDR=192.0.2.300")[0:1], (501,))
        self.assertEqual(s.docmd("XCLIENT", "DESTADDR=192.0.2.1"),
                         (501, b"5.5.4 Bad XCLIENT attribute name: DESTADDR"))
        self.assertEqual(s.docmd("XCLIENT", "ADDR"), (501, b"5.5.4 Error: attribute=value expected"))
        self.assertEqual(s.docmd("XCLIENT"), (501, b"5.5.4 Syntax: XCLIENT attribute=value..."))
        self.assertEqual(s.mail("someone@example.net")[0], 250)
        self.assertEqual(s.docmd("XCLIENT", "ADDR=192.0.2.7"),
                         (503, b"5.5.1 Error: XCLIENT is not allowed after MAIL"))
        self.assertEqual(s.rcpt("alice@example.org")[0], 250)  # the transaction goes on
        s.quit()

    def test_an_access_rule_for_the_new_address_applies(self):
        s = self.smtp()
        s.ehlo()
        self.assertEqual(s.docmd("XCLIENT", "ADDR=192.0.2.66"),
                         (554, b"5.7.1 Your network is not welcome here"))
        with self.assertRaises(smtplib.SMTPServerDisconnected):
            s.noop()  # the connection closed, as at connect
        self.assertTrue(self.daemon.log_contains(r"session=\d+ plugin=access .*:1 matches client 192\.0\.2\.66"))

    def test_not_there_without_xclient_trusted(self):
        s = self.smtp("plain")
        s.ehlo()
        self.assertFalse(s.has_extn("xclient"))
        self.assertEqual(s.docmd("XCLIENT", "ADDR=192.0.2.7"), (500, b"5.5.2 Command unrecognized"))
        s.quit()

    def test_swaks_as_the_proxy(self):
        subject = f"xclient-swaks-{uuid.uuid4().hex}"
        result = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(self.daemon.ports["mx"]),
                                 "--timeout", "20", "--helo", "proxy.example", "--from", "someone@example.net",
                                 "--to", "alice@example.org", "--header", f"Subject: {subject}",
                                 "--xclient-addr", "198.51.100.20", "--xclient-name", "swaks.example",
                                 "--xclient-helo", "swaks.example"], capture_output=True, timeout=60)
        transcript = result.stdout.decode("utf-8", "replace")
        self.assertEqual(result.returncode, 0, transcript)
        self.assertIn("<-  220 mx.example.org ESMTP Mailwright", transcript)
        stored = self.delivered("alice", subject)
        self.assertEqual(len(stored), 1, transcript)
        self.assertIn(b"Received: from swaks.example (swaks.example [198.51.100.20])\n", stored[0])


if __name__ == "__main__":
    unittest.main()
