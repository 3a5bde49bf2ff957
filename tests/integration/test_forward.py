"""The forward store (plugins/forward) in mailwrightd in front of real servers from Debian packages, started on
loopback by servers.py: Dovecot's LMTP (a message lands byte for byte apart from the trace fields; each
recipient hears what Dovecot answered for it; Dovecot stopped before or during a message: the client hears 4xx
and nothing is acknowledged that Dovecot did not take), and a private Postfix as the smarthost of a submission
listener (STARTTLS verified against its certificate, AUTH through Dovecot's SASL: Postfix's Received field
shows TLS and ESMTPSA). Clients are smtplib and raw sockets."""
import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest
import uuid

from certs import make_all
from daemon import DAEMON, Client, start_in, stop_in
from daemon import insecure_context as client_context
from servers import Dovecot, Postfix

DOVECOT_USERS = {"alice": "a-pw", "bob": "b-pw", "carol": "c-pw", "dave": "d-pw", "postmaster": "p-pw"}
OUR_USERS = ["alice", "bob", "carol", "dave", "erin", "postmaster"]  # erin: known here, unknown to Dovecot


def passwd_lines(users):
    lines = []
    for user in users:
        result = subprocess.run([DAEMON, "passwd", user, "-s", "PLAIN-EQUIVALENT"], input=f"pw-{user}",
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        lines.append(result.stdout)
    return "".join(lines)


def message(token, size=2000):
    """Over 1 KiB (Dovecot's over-quota users refuse it), lines starting with dots (stuffed on the way out)."""
    body = "".join(f"line {i} of {token}\r\n" + (".dot line\r\n" if i % 7 == 0 else "")
                   for i in range(size // 20 + 1))
    return (f"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: forward {token}\r\n"
            f"Message-ID: <{token}@client.example>\r\n\r\n{body}").encode()


def trace_prefix_only(prefix):
    """Whether `prefix` (what precedes the client's message in a stored file) is trace fields alone."""
    fields = re.split(rb"\r?\n(?![ \t])", prefix.rstrip(b"\r\n"))
    names = [f.split(b":", 1)[0].lower() for f in fields if f]
    return bool(names) and all(n in (b"return-path", b"delivered-to", b"received") for n in names), names


class Lmtp(Client):
    """daemon.Client with SMTP/LMTP replies: the last line of a multi-line reply."""

    def __init__(self, port):
        super().__init__("127.0.0.1", port, timeout=20)

    def reply(self):
        while True:
            line = self.line()
            if not line:
                raise ConnectionError("closed")
            if line[3:4] != "-":
                return line.rstrip("\r\n")

    def command(self, line):
        self.send(line + "\r\n")
        return self.reply()


class InFrontOfDovecot(unittest.TestCase):
    """mailwrightd's MX and LMTP listeners, every message handed to Dovecot's LMTP by the forward store."""

    def setUp(self):
        self.dovecot = Dovecot(DOVECOT_USERS, quota_tempfail=("carol",), quota_permfail=("dave",))
        self.addCleanup(lambda: self.dovecot.stop() if self.dovecot.dir else None)
        self.work = tempfile.mkdtemp(prefix="mailwright-forward-")
        with open(os.path.join(self.work, "passwd"), "w") as f:
            f.write(passwd_lines(OUR_USERS))
        self.daemon = start_in(self.work, f"""
[server]
workers = 2
hostname = "mx.example.org"
[log]
level = "info"
[plugin.passwd-file]
file = "{self.work}/passwd"
[plugin.forward.hops.dovecot]
address = "127.0.0.1:{self.dovecot.lmtp_port}"
protocol = "lmtp"
max_connections = 4
connect_timeout = "5s"
command_timeout = "20s"
[[plugin.forward.routes]]
match = "example.org"
hop = "dovecot"
[plugins]
auth = ["passwd-file"]

[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]

[[listener]]
name = "lmtp"
service = "lmtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]
""")
        self.addCleanup(stop_in, self.work, self.daemon)

    def test_message_lands_byte_identical_but_for_trace_fields(self):
        token = uuid.uuid4().hex
        text = message(token, size=300_000)  # several 64 KiB pieces
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], timeout=30) as s:
            refused = s.sendmail("sender@example.net", ["alice@example.org"], text)
        self.assertEqual(refused, {})
        stored = [m for m in self.dovecot.maildir_messages("alice") if token.encode() in m]
        self.assertEqual(len(stored), 1)
        kept = text.replace(b"\r\n", b"\n")  # Dovecot keeps Maildir files with LF line ends
        self.assertTrue(stored[0].endswith(kept), "the client's message, unchanged, ends the stored file")
        only_trace, names = trace_prefix_only(stored[0][:-len(kept)])
        self.assertTrue(only_trace, names)
        self.assertIn(b"by mx.example.org (Mailwright)", stored[0])
        self.assertEqual(names.count(b"return-path"), 1, "a relay adds no Return-Path of its own")

    def test_each_recipient_hears_what_dovecot_answered(self):
        token = uuid.uuid4().hex
        c = Lmtp(self.daemon.ports["lmtp"])
        try:
            self.assertTrue(c.reply().startswith("220"))
            self.assertTrue(c.command("LHLO client.example").startswith("250"))
            self.assertTrue(c.command("MAIL FROM:<sender@example.net>").startswith("250"))
            for user in ("alice", "carol", "dave", "erin"):
                self.assertTrue(c.command(f"RCPT TO:<{user}@example.org>").startswith("250"), user)
            self.assertTrue(c.command("DATA").startswith("354"))
            c.send(message(token).replace(b"\r\n.", b"\r\n..") + b".\r\n")
            answers = [c.reply() for _ in range(4)]
            c.command("QUIT")
        finally:
            c.close()
        self.assertRegex(answers[0], r"^250 ")
        self.assertRegex(answers[1], r"^452 4\.2\.2 .*Quota exceeded")
        self.assertRegex(answers[2], r"^552 5\.2\.2 .*Quota exceeded")
        self.assertRegex(answers[3], r"^550 5\.1\.1 .*doesn't exist")
        self.assertEqual(len([m for m in self.dovecot.maildir_messages("alice") if token.encode() in m]), 1)

    def test_smtp_one_reply_a_recipient_refused_at_rcpt_stores_for_none(self):
        # Dovecot refuses erin at RCPT after alice was accepted: SMTP has one reply, so the message goes to nobody
        # (alice would otherwise get it again each time the client retries for erin).
        token = uuid.uuid4().hex
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], timeout=30) as s:
            with self.assertRaises(smtplib.SMTPDataError) as caught:
                s.sendmail("sender@example.net", ["alice@example.org", "erin@example.org"], message(token))
        self.assertEqual(caught.exception.smtp_code, 550)
        self.assertTrue(caught.exception.smtp_error.startswith(b"5.1.1"), caught.exception.smtp_error)
        time.sleep(0.5)
        self.assertEqual([m for m in self.dovecot.maildir_messages("alice") if token.encode() in m], [])

    def test_postmaster_without_a_domain_reaches_its_mailbox(self):
        token = uuid.uuid4().hex
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], timeout=30) as s:
            self.assertEqual(s.sendmail("sender@example.net", ["Postmaster"], message(token)), {})
        self.assertEqual(len([m for m in self.dovecot.maildir_messages("postmaster") if token.encode() in m]), 1)

    def test_dovecot_down_the_client_hears_4xx(self):
        self.dovecot.stop(remove=False)
        token = uuid.uuid4().hex
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], timeout=30) as s:
            with self.assertRaises(smtplib.SMTPDataError) as caught:
                s.sendmail("sender@example.net", ["alice@example.org"], message(token))
        self.assertEqual(caught.exception.smtp_code // 100, 4)
        self.assertTrue(caught.exception.smtp_error.startswith(b"4.4."), caught.exception.smtp_error)
        self.dovecot.start()
        self.assertEqual([m for m in self.dovecot.maildir_messages("alice") if token.encode() in m], [])

    def test_dovecot_stopped_mid_message_nothing_is_acknowledged(self):
        token = uuid.uuid4().hex
        text = message(token, size=200_000)
        c = Lmtp(self.daemon.ports["mx"])
        try:
            self.assertTrue(c.reply().startswith("220"))
            self.assertTrue(c.command("EHLO client.example").startswith("250"))
            self.assertTrue(c.command("MAIL FROM:<sender@example.net>").startswith("250"))
            self.assertTrue(c.command("RCPT TO:<alice@example.org>").startswith("250"))
            self.assertTrue(c.command("DATA").startswith("354"))
            stuffed = text.replace(b"\r\n.", b"\r\n..")
            c.send(stuffed[:100_000])
            time.sleep(0.5)  # the first pieces are on their way to Dovecot
            self.dovecot.stop(remove=False)
            c.send(stuffed[100_000:] + b".\r\n")
            answer = c.reply()
        finally:
            c.close()
        self.assertRegex(answer, r"^4\d\d 4\.")
        self.dovecot.start()
        self.assertEqual([m for m in self.dovecot.maildir_messages("alice") if token.encode() in m], [])

    def test_idle_connections_do_not_hold_up_a_shutdown(self):
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], timeout=30) as s:
            s.sendmail("sender@example.net", ["bob@example.org"], message(uuid.uuid4().hex))
        started = time.monotonic()
        self.assertEqual(self.daemon.terminate(), 0)
        self.assertLess(time.monotonic() - started, 5.0, "a pooled connection kept a worker from ending")

    def test_connections_are_reused(self):
        for _ in range(6):
            with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], timeout=30) as s:
                s.sendmail("sender@example.net", ["bob@example.org"], message(uuid.uuid4().hex))
        self.assertEqual(len(self.dovecot.maildir_messages("bob")), 6)
        # Dovecot names each LMTP connection by a session id; its transactions on one connection add :T2, :T3.
        sessions = set(re.findall(r"lmtp\(bob\)<\d+><([^>:]+)[^>]*>: Info: .*saved mail", self.dovecot.log()))
        self.assertGreaterEqual(len(sessions), 1)
        self.assertLessEqual(len(sessions), 2, "at most one connection per worker thread, reused")


class Smarthost(unittest.TestCase):
    """A submission listener that relays for its authenticated users through Postfix (STARTTLS, AUTH through
    Dovecot's SASL), which delivers to Dovecot."""

    def setUp(self):
        self.certs = tempfile.mkdtemp(prefix="mailwright-forward-certs-")
        self.addCleanup(shutil.rmtree, self.certs, True)
        make_all(self.certs)
        users = dict(DOVECOT_USERS, relay="relay-secret")
        self.dovecot = Dovecot(users)
        self.addCleanup(lambda: self.dovecot.stop() if self.dovecot.dir else None)
        # Without CHUNKING the client sends DATA, dot-stuffed: test_smuggled_ending_stays_in_its_message.
        self.postfix = Postfix(self.dovecot, main_cf={"message_size_limit": "100000",
                                                      "smtpd_discard_ehlo_keywords": "chunking"})
        self.addCleanup(lambda: self.postfix.stop() if self.postfix.dir else None)
        self.work = tempfile.mkdtemp(prefix="mailwright-smarthost-")
        with open(os.path.join(self.work, "passwd"), "w") as f:
            f.write(passwd_lines(["alice"]))
        with open(os.path.join(self.work, "relay.secret"), "w") as f:
            f.write("relay-secret\n")
        self.daemon = start_in(self.work, f"""
[server]
workers = 1
hostname = "submit.mailwright.test"
[log]
level = "info"
[plugin.passwd-file]
file = "{self.work}/passwd"
[plugin.forward.hops.smarthost]
address = "127.0.0.1:{self.postfix.port}"
tls = "starttls"
ca_file = "{self.postfix.cert}"
server_name = "smarthost.example.net"
user = "relay"
password_file = "{self.work}/relay.secret"
[[plugin.forward.routes]]
match = "*"
hop = "smarthost"
[plugins]
auth = ["passwd-file"]
[tls]
certificate = "{self.certs}/one.pem"
key = "{self.certs}/one.key"

[[listener]]
name = "submission"
service = "smtp"
port = 0
tls = "starttls"
[listener.smtp]
role = "submission"
local_domains = ["mailwright.test"]
relay = "authenticated"
require_tls = true

[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
local_domains = ["mailwright.test"]
""")
        self.addCleanup(stop_in, self.work, self.daemon)

    def test_submission_goes_out_through_the_smarthost_over_tls_with_auth(self):
        token = uuid.uuid4().hex
        text = (f"From: alice@mailwright.test\r\nTo: bob@example.org\r\nSubject: out {token}\r\n\r\n"
                f"Sent through the smarthost.\r\n").encode()
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["submission"], timeout=30) as s:
            s.starttls(context=client_context())
            s.login("alice", "pw-alice")
            self.assertEqual(s.sendmail("alice@mailwright.test", ["bob@example.org"], text), {})
        stored = []
        deadline = time.monotonic() + 20  # Postfix took it (250 was heard); its queue hands it to Dovecot
        while not stored and time.monotonic() < deadline:
            time.sleep(0.2)
            stored = [m for m in self.dovecot.maildir_messages("bob") if token.encode() in m]
        self.assertEqual(len(stored), 1, self.postfix.log()[-3000:])
        self.assertRegex(stored[0], rb"using TLSv1\.[23] with cipher")
        self.assertRegex(stored[0], rb"by smarthost\.example\.net \(Postfix\) with ESMTPSA")
        self.assertIn(b"by submit.mailwright.test (Mailwright) with ESMTPSA", stored[0])

    def test_the_smarthosts_refusal_reaches_the_client(self):
        big = b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n" * 1 + (b"y" * 70 + b"\r\n") * 2000
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["submission"], timeout=30) as s:
            s.starttls(context=client_context())
            s.login("alice", "pw-alice")
            with self.assertRaises(smtplib.SMTPDataError) as caught:
                s.sendmail("alice@mailwright.test", ["bob@example.org"], big)
        self.assertEqual(caught.exception.smtp_code, 552)  # Postfix's message_size_limit, as Postfix said it
        self.assertTrue(caught.exception.smtp_error.startswith(b"5.3.4"), caught.exception.smtp_error)

    def test_smuggled_ending_stays_in_its_message(self):
        # SECURITY-CASES 11 for a relay: BDAT carries "<CRLF>.<CRLF>" and commands after it as message text; sent
        # on with DATA they must be dot-stuffed, or the smarthost would see a second message.
        token = uuid.uuid4().hex
        body = (f"Subject: smuggle {token}\r\n\r\nfirst\r\n.\r\nMAIL FROM:<alice@mailwright.test>\r\n"
                f"RCPT TO:<carol@example.org>\r\nDATA\r\nSubject: smuggled {token}\r\n\r\nsecond\r\n.\r\n"
                ).encode()
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["submission"], timeout=30) as s:
            s.starttls(context=client_context())
            s.login("alice", "pw-alice")
            self.assertEqual(s.mail("alice@mailwright.test")[0], 250)
            self.assertEqual(s.rcpt("bob@example.org")[0], 250)
            s.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
            code, text = s.getreply()
        self.assertEqual(code, 250, text)
        stored = []
        deadline = time.monotonic() + 20
        while not stored and time.monotonic() < deadline:
            time.sleep(0.2)
            stored = [m for m in self.dovecot.maildir_messages("bob") if token.encode() in m]
        self.assertEqual(len(stored), 1, self.postfix.log()[-3000:])
        self.assertIn(b"\nMAIL FROM:<alice@mailwright.test>\n", stored[0])  # text, unstuffed again by Postfix
        time.sleep(1.5)  # a smuggled second message would have reached carol by now
        self.assertEqual([m for m in self.dovecot.maildir_messages("carol") if token.encode() in m], [])

    def test_nobody_relays_without_authenticating(self):
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], timeout=30) as s:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as caught:
                s.sendmail("someone@example.net", ["bob@example.org"], b"Subject: relay?\r\n\r\nno\r\n")
        code, text = caught.exception.recipients["bob@example.org"]
        self.assertEqual(code, 554)
        self.assertIn(b"5.7.1", text)


if __name__ == "__main__":
    unittest.main()
