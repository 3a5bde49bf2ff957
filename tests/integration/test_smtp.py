"""SMTP, submission and LMTP in mailwrightd, driven by clients nobody here wrote: Python's smtplib (and raw
sockets where smtplib cannot say it), swaks, curl and openssl s_client. The daemon runs with the passwd-file
and Maildir plugins on six listeners: an MX with STARTTLS, an MX that normalises bare line ends, submission
with STARTTLS required, submissions (implicit TLS), LMTP, and POP3 to read the messages back.

Tests marked "Regression" found a server bug when they were written; their comment says what went wrong."""
import base64
import os
import poplib
import queue
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

from certs import make_all
from daemon import DAEMON, RawConnection, start_in, stop_in
from daemon import insecure_context as client_context

HOSTNAME = "mx.example.org"
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
GREETING = f"220 {HOSTNAME} ESMTP Mailwright\r\n"
ENHANCED = re.compile(r"^\d{3}[ -]\d\.\d{1,3}\.\d{1,3}")
STORED = re.compile(r"^250 2\.0\.0 OK: stored as [0-9a-f]+\r\n$")
BARE_REFUSED = "550 5.6.11 Message refused: bare <CR> or <LF> in the text; use <CR><LF>\r\n"
NUL_REFUSED = "550 5.6.11 Message refused: a NUL in the text; only BODY=BINARYMIME may carry one\r\n"

CERTS = None  # made by setUpModule
PASSWD = ""
SHARED = None  # the daemon most tests share: (work directory, Daemon)


def password(user):
    return f"pw-{user}"


def smtp_config(work):
    return f"""
[server]
workers = 2
hostname = "{HOSTNAME}"
[log]
level = "debug"
[auth]
failure_delay = "0s"
failure_delay_max = "0s"
[plugin.passwd-file]
file = "{work}/passwd"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[plugins]
auth = ["passwd-file"]
[tls]
certificate = "{cert('one.pem')}"
key = "{cert('one.key')}"

[[listener]]
name = "mx"
service = "smtp"
port = 0
tls = "starttls"
[listener.smtp]
role = "mx"
local_domains = ["example.org"]

[[listener]]
name = "mx-auth"
service = "smtp"
port = 0
tls = "starttls"
plaintext_auth = true
auth_mechanisms = ["SCRAM-SHA-256", "CRAM-MD5", "PLAIN"]
[listener.smtp]
local_domains = ["example.org"]

[[listener]]
name = "mx-auth-clear"
service = "smtp"
port = 0
tls = "starttls"
auth_requires_tls = false
auth_mechanisms = ["SCRAM-SHA-256", "CRAM-MD5", "PLAIN"]
[listener.smtp]
local_domains = ["example.org"]

[[listener]]
name = "mx-legacy"
service = "smtp"
port = 0
tls = "starttls"
[listener.smtp]
local_domains = ["example.org"]
implicit_helo_after_starttls = true

[[listener]]
name = "mx-normalise"
service = "smtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]
bare_line_ends = "normalise"

[[listener]]
name = "submission"
service = "smtp"
port = 0
tls = "starttls"
[listener.smtp]
role = "submission"
local_domains = ["example.org"]
require_tls = true

[[listener]]
name = "submissions"
service = "smtp"
port = 0
tls = "implicit"
[listener.smtp]
role = "submission"
local_domains = ["example.org"]

[[listener]]
name = "lmtp"
service = "lmtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]

[[listener]]
name = "pop3"
service = "pop3"
port = 0
plaintext_auth = true
"""


def new_work():
    work = tempfile.mkdtemp(prefix="mailwright-smtp-")
    with open(os.path.join(work, "passwd"), "w") as f:
        f.write(PASSWD)
    return work


def start_daemon():
    work = new_work()
    return work, start_in(work, smtp_config(work))


def stop_daemon(work, daemon):
    return stop_in(work, daemon)


def setUpModule():
    global CERTS, PASSWD, SHARED
    CERTS = tempfile.mkdtemp(prefix="mailwright-smtp-certs-")
    try:
        make_all(CERTS)
        lines = []
        for user in USERS:
            result = subprocess.run([DAEMON, "passwd", user, "-s", "PLAIN-EQUIVALENT"], input=password(user),
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            lines.append(result.stdout)
        PASSWD = "".join(lines)
        SHARED = start_daemon()
    except BaseException:
        tearDownModule()  # unittest does not call it when setUpModule fails
        raise


def tearDownModule():
    global SHARED
    try:
        if SHARED is not None:
            work, daemon = SHARED
            SHARED = None
            code = stop_daemon(work, daemon)
            assert code == 0, f"mailwrightd exited with {code}"
    finally:
        shutil.rmtree(CERTS, ignore_errors=True)


def cert(name):
    return os.path.join(CERTS, name)


def token():
    return uuid.uuid4().hex


def run(args, stdin=b"", timeout=30):
    return subprocess.run(args, input=stdin, capture_output=True, timeout=timeout)


class Conn(RawConnection):
    """A raw SMTP connection (daemon.RawConnection) with SMTP's replies."""

    def reply(self):
        """One reply, all its lines, as text; every line but EHLO's and 354/334 carries an enhanced code."""
        lines = []
        for _ in range(1000):
            line = self.line().decode("utf-8", "replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                break
        text = "".join(lines)
        if len(lines) == 1 and text and not text.startswith(("220 ", "354 ", "334 ")):
            assert ENHANCED.match(text), f"no enhanced status code: {text!r}"
        return text

    def cmd(self, command):
        self.send(command + "\r\n")
        return self.reply()


def extensions(ehlo_reply):
    """EHLO's reply as {KEYWORD: "arguments"}, the greeting line left out."""
    out = {}
    for line in ehlo_reply.splitlines()[1:]:
        words = line[4:].split(" ", 1)
        out[words[0].upper()] = words[1] if len(words) > 1 else ""
    return out


class SmtpTest(unittest.TestCase):
    """The shared daemon, its Maildirs, and connections to it."""

    @classmethod
    def setUpClass(cls):
        cls.work, cls.daemon = SHARED

    # --- Maildirs -----------------------------------------------------------------------------------------
    @classmethod
    def maildir(cls, user):
        return os.path.join(cls.work, "mail", user, "Maildir")

    @classmethod
    def messages(cls, user):
        """The user's messages as stored (LF line ends)."""
        out = []
        for sub in ("new", "cur"):
            path = os.path.join(cls.maildir(user), sub)
            if os.path.isdir(path):
                for name in sorted(os.listdir(path)):
                    with open(os.path.join(path, name), "rb") as f:
                        out.append(f.read())
        return out

    @classmethod
    def with_token(cls, user, tok):
        tok = tok.encode() if isinstance(tok, str) else tok
        return [m for m in cls.messages(user) if tok in m]

    # --- connections ----------------------------------------------------------------------------------------
    def port(self, listener):
        return self.daemon.ports[listener]

    def connect(self, listener="mx", **kw):
        c = Conn(self.port(listener), tls=listener == "submissions", **kw)
        self.assertEqual(c.reply(), GREETING)
        return c

    def connect_tls(self, listener="mx"):
        """submissions, or another listener after STARTTLS, greeted with EHLO inside TLS."""
        if listener == "submissions":
            c = self.connect("submissions")
        else:
            c = self.connect(listener)
            self.assertTrue(c.cmd("EHLO client.example").startswith("250-"))
            self.assertEqual(c.cmd("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n")
            c.starttls()
        self.assertTrue(c.cmd("EHLO client.example").startswith("250-"))
        return c

    def smtplib_tls(self, listener):
        """An smtplib client in TLS, after EHLO: SMTP_SSL on submissions, STARTTLS elsewhere."""
        if listener == "submissions":
            s = smtplib.SMTP_SSL("127.0.0.1", self.port(listener), local_hostname="client.example", timeout=10,
                                 context=client_context())
        else:
            s = smtplib.SMTP("127.0.0.1", self.port(listener), local_hostname="client.example", timeout=10)
            s.starttls(context=client_context())
        s.ehlo()
        return s


def message(tok, sender="sender@remote.example", to="alice@example.org", extra=b""):
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: test {tok}\r\nMessage-ID: <{tok}@client.example>\r\n\r\n"
            f"Hello from the tests.\r\n").encode() + extra


# --- Python's smtplib ---------------------------------------------------------------------------------------

class Smtplib(SmtpTest):
    def test_plain_send_to_the_mx(self):
        tok = token()
        with smtplib.SMTP("127.0.0.1", self.port("mx"), local_hostname="client.example", timeout=10) as s:
            code, _ = s.ehlo()
            self.assertEqual(code, 250)
            for keyword in ("pipelining", "size", "8bitmime", "enhancedstatuscodes", "smtputf8", "chunking", "dsn",
                            "starttls"):
                self.assertTrue(s.has_extn(keyword), keyword)
            self.assertEqual(s.esmtp_features["size"], "10240000")
            self.assertFalse(s.has_extn("auth"))  # PLAIN and LOGIN only inside TLS
            self.assertFalse(s.has_extn("binarymime"))  # Maildir keeps text, with its own line ends
            refused = s.sendmail("sender@remote.example", ["alice@example.org"], message(tok))
            self.assertEqual(refused, {})
        stored = self.with_token("alice", tok)
        self.assertEqual(len(stored), 1)
        self.assertRegex(stored[0], rb"^Return-Path: <sender@remote\.example>\nReceived: from client\.example \(\[127\.0\.0\.1\]\)\n\tby mx\.example\.org "
                                    rb"\(Mailwright\) with ESMTP id [0-9a-f]+\n\tfor <alice@example\.org>; ")

    def test_dsn_parameters_are_taken_and_bad_ones_refused(self):
        tok = token()
        with smtplib.SMTP("127.0.0.1", self.port("mx"), local_hostname="client.example", timeout=10) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("dsn"))
            refused = s.sendmail("sender@remote.example", ["alice@example.org"], message(tok),
                                 mail_options=["RET=HDRS", f"ENVID={tok}"],
                                 rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;alice+40example.org"])
            self.assertEqual(refused, {})
            s.mail("sender@remote.example")
            code, _ = s.rcpt("alice@example.org", ["NOTIFY=SOMETIMES"])
            self.assertEqual(code, 555)
            code, _ = s.rcpt("alice@example.org", ["NOTIFY=NEVER,SUCCESS"])  # NEVER stands alone (RFC 3461 4.1)
            self.assertEqual(code, 555)
            code, _ = s.rset()
            self.assertEqual(code, 250)
        stored = self.with_token("alice", tok)
        self.assertEqual(len(stored), 1)
        self.assertTrue(stored[0].startswith(b"Return-Path: <sender@remote.example>\n"), stored[0][:80])

    def test_starttls_then_ehlo_shows_auth_and_no_starttls(self):
        for listener, auth_before in (("mx", None), ("submission", None)):
            with self.subTest(listener=listener):
                with smtplib.SMTP("127.0.0.1", self.port(listener), local_hostname="client.example", timeout=10) as s:
                    s.ehlo()
                    self.assertTrue(s.has_extn("starttls"))
                    self.assertFalse(s.has_extn("auth"))
                    code, text = s.starttls(context=client_context())
                    self.assertEqual((code, text), (220, b"2.0.0 Ready to start TLS"))
                    s.ehlo()
                    self.assertFalse(s.has_extn("starttls"))
                    self.assertEqual(s.esmtp_features.get("auth", "").split(), ["PLAIN", "LOGIN"])

    def test_login_with_plain_and_with_login_on_submission(self):
        for mechanism in ("PLAIN", "LOGIN", "LOGIN with the user name as initial response"):
            with self.subTest(mechanism=mechanism):
                tok = token()
                with self.smtplib_tls("submission") as s:
                    if mechanism == "PLAIN":
                        code, text = s.login("alice", password("alice"))  # smtplib picks PLAIN
                    else:
                        s.user, s.password = "alice", password("alice")
                        code, text = s.auth("LOGIN", s.auth_login, initial_response_ok=mechanism != "LOGIN")
                    self.assertEqual((code, text), (235, b"2.7.0 Authentication successful"))
                    s.ehlo()
                    self.assertFalse(s.has_extn("auth"))  # not after authenticating
                    self.assertEqual(s.sendmail("alice@example.org", ["bob@example.org"],
                                                message(tok, "alice@example.org", "bob@example.org")), {})
                stored = self.with_token("bob", tok)
                self.assertEqual(len(stored), 1)
                self.assertIn(b" with ESMTPSA id ", stored[0])

    def test_smtp_ssl_on_submissions(self):
        tok = token()
        with self.smtplib_tls("submissions") as s:
            self.assertFalse(s.has_extn("starttls"))  # never inside TLS
            self.assertEqual(s.esmtp_features["auth"].split(), ["PLAIN", "LOGIN"])
            s.login("carol", password("carol"))
            s.sendmail("carol@example.org", ["alice@example.org", "bob@example.org"],
                       message(tok, "carol@example.org"))
        self.assertEqual(len(self.with_token("alice", tok)), 1)
        self.assertEqual(len(self.with_token("bob", tok)), 1)
        self.assertIn(b" with ESMTPSA id ", self.with_token("alice", tok)[0])

    def test_lmtp_answers_once_per_recipient(self):
        tok = token()
        with smtplib.LMTP("127.0.0.1", self.port("lmtp"), local_hostname="client.example", timeout=10) as s:
            code, text = s.ehlo()  # LHLO
            self.assertEqual(code, 250)
            self.assertEqual(s.docmd("EHLO client.example"), (500, b"5.5.1 This is LMTP: say LHLO"))
            self.assertEqual(s.mail("sender@remote.example")[0], 250)
            self.assertEqual(s.rcpt("alice@example.org")[0], 250)
            self.assertEqual(s.rcpt("nobody@example.org"),
                             (550, b"5.1.1 <nobody@example.org>: Recipient address rejected: User unknown"))
            self.assertEqual(s.rcpt("bob@example.org")[0], 250)
            # smtplib reads one reply after the data; LMTP sends one per accepted recipient (RFC 2033 4.2).
            first = s.data(message(tok))
            second = s.getreply()
            for code, text in (first, second):
                self.assertEqual(code, 250)
                self.assertRegex(text, rb"^2\.0\.0 OK [0-9a-f]+ \(\d+ octets\)$")
            self.assertEqual(s.noop(), (250, b"2.0.0 OK"))  # nothing more was pending
        self.assertEqual(len(self.with_token("alice", tok)), 1)
        self.assertEqual(len(self.with_token("bob", tok)), 1)
        self.assertIn(b" with LMTP id ", self.with_token("alice", tok)[0])

    def test_lmtp_a_recipient_whose_maildir_is_broken_gets_its_own_failure(self):
        # dave's Maildir is a file: the Maildir store fails him permanently, alice is delivered.
        os.makedirs(os.path.dirname(self.maildir("dave")), exist_ok=True)
        with open(self.maildir("dave"), "w") as f:
            f.write("not a directory")
        tok = token()
        try:
            with smtplib.LMTP("127.0.0.1", self.port("lmtp"), local_hostname="client.example", timeout=10) as s:
                s.ehlo()
                s.mail("sender@remote.example")
                s.rcpt("alice@example.org")
                s.rcpt("dave@example.org")
                first = s.data(message(tok))
                second = s.getreply()
                self.assertEqual(first[0], 250)
                self.assertEqual(second, (550, b"5.2.0 Mailbox unavailable"))
        finally:
            os.unlink(self.maildir("dave"))
        self.assertEqual(len(self.with_token("alice", tok)), 1)

    def test_lmtp_a_recipient_failing_temporarily_does_not_fail_the_delivered_ones(self):
        # Regression: RFC 2033 4.2 (one reply per recipient, each about that recipient). heidi's new/ is a file:
        # the Maildir store links alice's copy and reports per_recipient [ok, tempfail] with a summary status of
        # tempfail. The session ignores per-recipient statuses when the summary is tempfail, so both get
        # "451 4.3.0 Message not stored, try again later": the client retries alice, who gets the message twice.
        box = self.maildir("heidi")
        shutil.rmtree(box, ignore_errors=True)
        os.makedirs(os.path.join(box, "tmp"))
        os.makedirs(os.path.join(box, "cur"))
        with open(os.path.join(box, "new"), "w") as f:
            f.write("not a directory")
        tok = token()
        try:
            with smtplib.LMTP("127.0.0.1", self.port("lmtp"), local_hostname="client.example", timeout=10) as s:
                s.ehlo()
                s.mail("sender@remote.example")
                s.rcpt("alice@example.org")
                s.rcpt("heidi@example.org")
                first = s.data(message(tok))
                second = s.getreply()
        finally:
            shutil.rmtree(box, ignore_errors=True)
        self.assertEqual(len(self.with_token("alice", tok)), 1)  # alice's copy was delivered...
        self.assertEqual(first[0], 250)  # ...so her reply must say so
        self.assertEqual(second, (451, b"4.3.0 Mailbox temporarily unavailable"))


# --- swaks ---------------------------------------------------------------------------------------------------

class Swaks(SmtpTest):
    def swaks(self, listener, *args, to="alice@example.org", sender="x@remote.example", tok=None):
        tok = tok or token()
        result = run(["swaks", "--server", "127.0.0.1", "--port", str(self.port(listener)), "--timeout", "20",
                      "--helo", "client.example", "--to", to, "--from", sender,
                      "--header", f"Subject: swaks {tok}", *args], timeout=60)
        return result.returncode, result.stdout.decode("utf-8", "replace") + result.stderr.decode("utf-8", "replace"), tok

    def assertDelivered(self, code, transcript, user, tok):
        self.assertEqual(code, 0, transcript)
        self.assertRegex(transcript, r"<[-~]  250 2\.0\.0 OK: stored as [0-9a-f]+")  # "~": inside TLS
        self.assertEqual(len(self.with_token(user, tok)), 1, transcript)

    def test_plain_to_the_mx(self):
        code, transcript, tok = self.swaks("mx")
        self.assertDelivered(code, transcript, "alice", tok)
        self.assertIn(f"<-  {GREETING.strip()}", transcript)
        self.assertIn("<-  250-PIPELINING", transcript)

    def test_starttls_on_the_mx(self):
        code, transcript, tok = self.swaks("mx", "--tls")
        self.assertDelivered(code, transcript, "alice", tok)
        self.assertIn("<-  220 2.0.0 Ready to start TLS", transcript)
        self.assertIn("TLS started", transcript)
        self.assertIn(b" with ESMTPS id ", self.with_token("alice", tok)[0])

    def test_auth_plain_and_login_on_submission(self):
        for mechanism in ("PLAIN", "LOGIN"):
            with self.subTest(mechanism=mechanism):
                code, transcript, tok = self.swaks("submission", "--tls", "--auth", mechanism, "--auth-user", "bob",
                                                   "--auth-password", password("bob"), to="alice@example.org",
                                                   sender="bob@example.org")
                self.assertDelivered(code, transcript, "alice", tok)
                self.assertIn("<~  235 2.7.0 Authentication successful", transcript)

    def test_auth_without_tls_on_submission_is_not_offered(self):
        code, transcript, tok = self.swaks("submission", "--auth", "PLAIN", "--auth-user", "bob",
                                           "--auth-password", password("bob"), sender="bob@example.org")
        self.assertEqual(code, 28, transcript)  # swaks: error in AUTH (the server did not advertise it)
        self.assertNotRegex(transcript, r"<-  250[- ]AUTH")
        self.assertEqual(self.with_token("alice", tok), [])

    def test_pipelining(self):
        code, transcript, tok = self.swaks("mx", "--pipeline")
        self.assertDelivered(code, transcript, "alice", tok)
        # The batch went out before the replies came back.
        self.assertRegex(transcript, r" -> MAIL FROM:<x@remote\.example>\n -> RCPT TO:<alice@example\.org>\n"
                                     r" -> DATA\n<-  250 2\.1\.0 Sender OK\n<-  250 2\.1\.5 Recipient OK\n<-  354 ")

    def test_tls_on_connect_to_submissions(self):
        code, transcript, tok = self.swaks("submissions", "--tls-on-connect", "--auth", "PLAIN", "--auth-user",
                                           "carol", "--auth-password", password("carol"), sender="carol@example.org")
        self.assertDelivered(code, transcript, "alice", tok)
        self.assertNotIn("STARTTLS", transcript)

    def test_sender_not_owned_and_relay(self):
        code, transcript, tok = self.swaks("submission", "--tls", "--auth", "PLAIN", "--auth-user", "bob",
                                           "--auth-password", password("bob"), sender="alice@example.org")
        self.assertEqual(code, 23, transcript)  # swaks: error in MAIL
        self.assertIn("<~* 553 5.7.1 <alice@example.org>: sender address not owned by user bob", transcript)
        code, transcript, tok = self.swaks("mx", to="someone@remote.example")
        self.assertEqual(code, 24, transcript)  # swaks: no RCPT accepted
        self.assertIn("<** 554 5.7.1 <someone@remote.example>: Relay access denied", transcript)


# --- curl ----------------------------------------------------------------------------------------------------

class Curl(SmtpTest):
    def curl(self, url, user, sender, recipient, tok, *extra):
        with tempfile.NamedTemporaryFile("wb", suffix=".eml") as f:
            f.write(message(tok, sender, recipient, b".a line with a dot\r\n"))
            f.flush()
            result = run(["curl", "--silent", "--show-error", "--verbose", "--max-time", "20", url, "-k",
                          "--mail-from", sender, "--mail-rcpt", recipient, "-u", f"{user}:{password(user)}",
                          "--upload-file", f.name, *extra], timeout=60)
        return result.returncode, result.stderr.decode("utf-8", "replace")

    def test_submission_with_starttls_required(self):
        tok = token()
        code, log = self.curl(f"smtp://127.0.0.1:{self.port('submission')}", "dave", "dave@example.org",
                              "bob@example.org", tok, "--ssl-reqd")
        self.assertEqual(code, 0, log)
        self.assertIn("< 220 2.0.0 Ready to start TLS", log)
        self.assertIn("< 235 2.7.0 Authentication successful", log)
        stored = self.with_token("bob", tok)
        self.assertEqual(len(stored), 1)
        self.assertIn(b"\n.a line with a dot\n", stored[0])

    def test_smtps_on_submissions(self):
        tok = token()
        code, log = self.curl(f"smtps://127.0.0.1:{self.port('submissions')}", "dave", "dave@example.org",
                              "bob@example.org", tok)
        self.assertEqual(code, 0, log)
        self.assertEqual(len(self.with_token("bob", tok)), 1)

    def test_sender_restriction(self):
        tok = token()
        code, log = self.curl(f"smtp://127.0.0.1:{self.port('submission')}", "dave", "erin@example.org",
                              "bob@example.org", tok, "--ssl-reqd")
        self.assertNotEqual(code, 0, log)
        self.assertIn("< 553 5.7.1 <erin@example.org>: sender address not owned by user dave", log)
        self.assertEqual(self.with_token("bob", tok), [])

    def test_wrong_password(self):
        result = run(["curl", "--silent", "--max-time", "20", f"smtps://127.0.0.1:{self.port('submissions')}", "-k",
                      "--mail-from", "dave@example.org", "--mail-rcpt", "bob@example.org", "-u", "dave:wrong",
                      "-T", "/dev/null"], timeout=60)
        self.assertEqual(result.returncode, 67)  # CURLE_LOGIN_DENIED


# --- openssl s_client ----------------------------------------------------------------------------------------

class LineQueue:
    """The lines a subprocess writes on stdout, read by a thread, taken with a timeout."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            self.queue.put(line)
        self.queue.put(None)

    def get(self, timeout=10.0):
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing within {timeout} s") from None

    def reply(self):
        lines = []
        for _ in range(100):
            line = self.get()
            if line is None:
                raise AssertionError(f"s_client ended after {lines!r}")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return "".join(lines)
        raise AssertionError("no end of the reply")


class OpensslStarttls(SmtpTest):
    def test_dialogue_after_starttls(self):
        tok = token()
        proc = subprocess.Popen(["openssl", "s_client", "-starttls", "smtp", "-connect",
                                 f"127.0.0.1:{self.port('submission')}", "-servername", "one.test", "-quiet", "-crlf",
                                 "-name", "client.example"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out = LineQueue(proc.stdout)

        def cmd(line):
            proc.stdin.write(line + "\n")
            proc.stdin.flush()
            return out.reply()

        try:
            # s_client said EHLO and STARTTLS itself; inside TLS the server has forgotten the EHLO.
            self.assertEqual(cmd("MAIL FROM:<erin@example.org>"), "503 5.5.1 Error: send HELO/EHLO first\n")
            ehlo = cmd("EHLO client.example")
            self.assertTrue(ehlo.startswith(f"250-{HOSTNAME} greets client.example\n"), ehlo)
            self.assertIn("250 AUTH PLAIN LOGIN\n", ehlo)
            self.assertNotIn("STARTTLS", ehlo)
            self.assertEqual(cmd("STARTTLS"), "503 5.5.1 TLS is already active\n")
            plain = base64.b64encode(b"\0erin\0" + password("erin").encode()).decode()
            self.assertEqual(cmd("AUTH PLAIN " + plain), "235 2.7.0 Authentication successful\n")
            self.assertEqual(cmd("MAIL FROM:<erin@example.org>"), "250 2.1.0 Sender OK\n")
            self.assertEqual(cmd("RCPT TO:<alice@example.org>"), "250 2.1.5 Recipient OK\n")
            self.assertEqual(cmd("DATA"), "354 End data with <CR><LF>.<CR><LF>\n")
            for line in (f"Subject: s_client {tok}", "", "..stuffed", "body"):
                proc.stdin.write(line + "\n")
            self.assertRegex(cmd("."), r"^250 2\.0\.0 OK: stored as [0-9a-f]+\n$")
            self.assertEqual(cmd("QUIT"), f"221 2.0.0 {HOSTNAME} closing connection\n")
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            proc.stdin.close()
            proc.stdout.close()
            proc.stderr.close()
        stored = self.with_token("alice", tok)
        self.assertEqual(len(stored), 1)
        self.assertTrue(stored[0].endswith(f"Subject: s_client {tok}\n\n.stuffed\nbody\n".encode()), stored[0])
        self.assertIn(b" with ESMTPSA id ", stored[0])


# --- STARTTLS injection and TLS state ------------------------------------------------------------------------

class Injection(SmtpTest):
    def test_commands_sent_with_starttls_are_never_run(self):
        # The STARTTLS case of the NO STARTTLS study (CVE-2011-0411 and its successors).
        with self.connect("mx") as c:
            self.assertTrue(c.cmd("EHLO client.example").startswith("250-"))
            injected = "EHLO injected.example\r\n"
            c.send("STARTTLS\r\n" + injected)  # one segment
            self.assertEqual(c.reply(), "220 2.0.0 Ready to start TLS\r\n")
            c.starttls()  # asserts that nothing followed the 220 in plaintext
            c.sock.settimeout(1.0)
            with self.assertRaises((socket.timeout, TimeoutError)):
                c.sock.recv(1)  # the injected EHLO is never answered
            c.sock.settimeout(10.0)
            self.assertEqual(c.cmd("MAIL FROM:<x@remote.example>"), "503 5.5.1 Error: send HELO/EHLO first\r\n")
            ehlo = c.cmd("EHLO client.example")
            self.assertTrue(ehlo.startswith(f"250-{HOSTNAME} greets client.example\r\n"), ehlo)  # not injected...
            self.assertEqual(c.cmd("MAIL FROM:<x@remote.example>"), "250 2.1.0 Sender OK\r\n")
        self.assertTrue(self.daemon.log_contains(f"discarded {len(injected)} octets sent before the TLS handshake"))

    def test_starttls_only_between_transactions_and_then_greet_again(self):
        with self.connect("mx") as c:
            c.cmd("EHLO client.example")
            self.assertEqual(c.cmd("MAIL FROM:<x@remote.example>"), "250 2.1.0 Sender OK\r\n")
            self.assertEqual(c.cmd("STARTTLS"), "503 5.5.1 Error: STARTTLS is not allowed after MAIL\r\n")
            self.assertEqual(c.cmd("RSET"), "250 2.0.0 OK\r\n")
            self.assertEqual(c.cmd("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n")
            c.starttls()
            self.assertEqual(c.cmd("RCPT TO:<alice@example.org>"), "503 5.5.1 Error: send HELO/EHLO first\r\n")

    def test_mail_right_after_starttls_is_refused_unless_the_listener_is_lenient(self):
        # RFC 3207 4.2: after STARTTLS the client must EHLO again. Some old clients send MAIL at once; a listener
        # may choose to go on as after HELO with the name from before TLS (implicit_helo_after_starttls).
        with self.connect("mx") as c:
            c.cmd("EHLO old-client.example")
            self.assertEqual(c.cmd("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n")
            c.starttls()
            self.assertEqual(c.cmd("MAIL FROM:<x@remote.example>"), "503 5.5.1 Error: send HELO/EHLO first\r\n")
        tok = token()
        with self.connect("mx-legacy") as c:
            c.cmd("EHLO old-client.example")
            self.assertEqual(c.cmd("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n")
            c.starttls()
            self.assertEqual(c.cmd("MAIL FROM:<x@remote.example>"), "250 2.1.0 Sender OK\r\n")
            self.assertEqual(c.cmd("RCPT TO:<grace@example.org>"), "250 2.1.5 Recipient OK\r\n")
            self.assertEqual(c.cmd("DATA"), "354 End data with <CR><LF>.<CR><LF>\r\n")
            c.send(message(tok) + b".\r\n")
            self.assertRegex(c.reply(), STORED)
            # As after HELO: the name from before TLS, and no ESMTP (so no parameters).
            self.assertEqual(c.cmd("MAIL FROM:<x@remote.example> SIZE=10"), "555 5.5.4 Parameters need EHLO\r\n")
        self.assertTrue(self.daemon.log_contains(r"MAIL after STARTTLS without a new EHLO: continuing as after HELO "
                                                 r"old-client\.example"))
        stored = self.with_token("grace", tok)
        self.assertEqual(len(stored), 1)
        self.assertIn(b"Received: from old-client.example", stored[0])
        self.assertIn(b"with SMTP id", stored[0])  # HELO's protocol name (RFC 3848 names no SMTPS)

    def test_no_starttls_inside_tls(self):
        for listener in ("mx", "submission", "submissions"):
            with self.subTest(listener=listener):
                with self.connect_tls(listener) as c:
                    ehlo = c.cmd("EHLO client.example")
                    self.assertNotIn("STARTTLS", ehlo)
                    self.assertIn("AUTH PLAIN LOGIN", ehlo)
                    self.assertEqual(c.cmd("STARTTLS"), "503 5.5.1 TLS is already active\r\n")
                    self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK\r\n")

    def test_authentication_before_starttls_is_forgotten(self):
        plain = base64.b64encode(b"\0ivan\0" + password("ivan").encode()).decode()
        with self.connect("mx") as c:
            c.cmd("EHLO client.example")
            self.assertEqual(c.cmd("AUTH PLAIN " + plain),
                             "538 5.7.11 Encryption required for requested authentication mechanism\r\n")
            self.assertEqual(c.cmd("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n")
            c.starttls()
            c.cmd("EHLO client.example")
            self.assertEqual(c.cmd("AUTH PLAIN " + plain), "235 2.7.0 Authentication successful\r\n")


# --- end to end ----------------------------------------------------------------------------------------------

SMUGGLED = ("MAIL FROM:<evil@remote.example>\r\nRCPT TO:<grace@example.org>\r\nDATA\r\nSubject: smuggled {tok}\r\n"
            "\r\nsecond message")

# (name, fake end of data, holds a bare CR or LF)
SMUGGLING = [
    ("<LF>.<LF>", b"\n.\n", True),
    ("<CR>.<CR>", b"\r.\r", True),
    ("<CR>.<LF>", b"\r.\n", True),
    ("<LF>.<CR>", b"\n.\r", True),
    ("<LF>.<CR><LF>", b"\n.\r\n", True),
    ("<CR><LF>.<LF>", b"\r\n.\n", True),
    ("<CR>.<CR><LF>", b"\r.\r\n", True),
    ("<CR><LF>.<CR>", b"\r\n.\r", True),
    ("<CR><LF><NUL>.<CR><LF>", b"\r\n\0.\r\n", False),
    ("<CR><LF>.<NUL><CR><LF>", b"\r\n.\0\r\n", False),
    ("<LF><NUL>.<CR><LF>", b"\n\0.\r\n", True),
]


class EndToEnd(SmtpTest):
    def retrieve_with_token(self, user, tok):
        """Every message of `user` holding `tok`, as POP3 RETR gives it (lines without CRLF)."""
        pop = poplib.POP3("127.0.0.1", self.port("pop3"), timeout=30)
        try:
            pop.user(user)
            pop.pass_(password(user))
            count, _ = pop.stat()
            found = []
            for n in range(1, count + 1):
                _, lines, _ = pop.retr(n)
                if any(tok.encode() in line for line in lines):
                    found.append(lines)
            pop.quit()
        finally:
            pop.close()
        return found

    def test_submitted_message_comes_back_byte_identical_over_pop3(self):
        tok = token()
        sent = (f"From: erin@example.org\r\nTo: erin@example.org\r\nSubject: e2e {tok}\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").encode() + \
               (b".starts with a dot\r\n..two dots\r\n.\r\n...\r\n. a dot and a space\r\n\r\n\r\n  leading spaces\r\n"
                b"trailing spaces  \r\nFrom the start of a line\r\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\r\n\ttab\r\n" +
                b"x" * 998 + b"\r\nlast line\r\n")
        with self.smtplib_tls("submission") as s:
            s.login("erin", password("erin"))
            self.assertEqual(s.sendmail("erin@example.org", ["erin@example.org"], sent,
                                        mail_options=["BODY=8BITMIME"]), {})
        found = self.retrieve_with_token("erin", tok)
        self.assertEqual(len(found), 1)
        lines = found[0]
        self.assertEqual(lines[0], b"Return-Path: <erin@example.org>")
        self.assertTrue(lines[1].startswith(b"Received: from client.example ([127.0.0.1])"), lines[1])
        at = 2
        while lines[at].startswith(b"\t"):
            at += 1
        self.assertEqual(b"\r\n".join(lines[at:]) + b"\r\n", sent)

    def test_a_large_message_crosses_the_store_pieces_intact(self):
        # The dialogue hands the store 64 KiB pieces whatever the lines: a piece may end inside a line or
        # between its CR and LF, and the Maildir's CRLF-to-LF conversion must not notice. About 1 MiB of
        # lines of every length up to 997 octets, sent over DATA (smtplib) and over BDAT chunks of 100000
        # octets, comes back over POP3 octet for octet.
        body = b"".join((b"." if n % 7 == 0 else b"") + bytes([97 + n % 26]) * (n % 998) + b"\r\n"
                        for n in range(2100))
        self.assertGreater(len(body), 1000000)
        for how in ("DATA", "BDAT"):
            with self.subTest(how=how):
                tok = token()
                sent = f"Subject: large {how} {tok}\r\n\r\n".encode() + body
                if how == "DATA":
                    with smtplib.SMTP("127.0.0.1", self.port("mx"), local_hostname="client.example",
                                      timeout=30) as s:
                        self.assertEqual(s.sendmail("x@remote.example", ["judy@example.org"], sent), {})
                else:
                    with self.connect("mx") as c:
                        c.cmd("EHLO client.example")
                        c.cmd("MAIL FROM:<x@remote.example>")
                        self.assertEqual(c.cmd("RCPT TO:<judy@example.org>"), "250 2.1.5 Recipient OK\r\n")
                        for at in range(0, len(sent), 100000):
                            chunk = sent[at:at + 100000]
                            last = at + 100000 >= len(sent)
                            c.send(b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if last else b"") + chunk)
                            if last:
                                self.assertRegex(c.reply(), STORED)
                            else:
                                self.assertEqual(c.reply(), f"250 2.0.0 {at + len(chunk)} octets received\r\n")
                found = self.retrieve_with_token("judy", tok)
                self.assertEqual(len(found), 1)
                lines = found[0]
                at = lines.index(f"Subject: large {how} {tok}".encode())
                # poplib removes the stuffing dots POP3 adds, as smtplib adds them for DATA.
                self.assertEqual(b"\r\n".join(lines[at:]) + b"\r\n", sent)

    def smuggle(self, listener, ending, split):
        tok = token()
        first = f"Subject: first {tok}\r\n\r\nfirst message".encode()
        data = first + ending + SMUGGLED.format(tok=tok).encode() + b"\r\n.\r\n"
        with self.connect(listener) as c:
            self.assertTrue(c.cmd("EHLO client.example").startswith("250-"))
            self.assertEqual(c.cmd("MAIL FROM:<sender@remote.example>"), "250 2.1.0 Sender OK\r\n")
            self.assertEqual(c.cmd("RCPT TO:<frank@example.org>"), "250 2.1.5 Recipient OK\r\n")
            self.assertEqual(c.cmd("DATA"), "354 End data with <CR><LF>.<CR><LF>\r\n")
            if split:
                c.send(data[:len(first) + 1])
                time.sleep(0.05)
                c.send(data[len(first) + 1:])
            else:
                c.send(data)
            answer = c.reply()
            self.assertEqual(c.cmd("QUIT"), f"221 2.0.0 {HOSTNAME} closing connection\r\n")
            self.assertEqual(c.rest(), b"")  # no second answer, nothing smuggled was run
        return answer, self.with_token("frank", tok), self.with_token("grace", tok)

    def test_smuggling_endings_never_make_two_messages(self):
        for listener in ("mx", "mx-normalise"):
            for name, ending, bare in SMUGGLING:
                for split in (False, True):
                    with self.subTest(listener=listener, ending=name, split=split):
                        answer, first, second = self.smuggle(listener, ending, split)
                        self.assertEqual(second, [])  # never two
                        if bare and listener == "mx":
                            self.assertEqual(answer, BARE_REFUSED)
                            self.assertEqual(first, [])
                        elif b"\0" in ending:
                            self.assertEqual(answer, NUL_REFUSED)  # text holds no NUL (RFC 6152)
                            self.assertEqual(first, [])
                        else:
                            self.assertRegex(answer, STORED)
                            self.assertEqual(len(first), 1)
                            self.assertIn(b"second message\n", first[0])  # it was all one message's text
                            self.assertIn(b"MAIL FROM:<evil@remote.example>\n", first[0])


    def test_a_nul_in_the_text_is_refused_and_nothing_is_stored(self):
        # Regression: "\r\n\0.\r\n" is rightly not the end of the data, but the message was stored with the
        # NUL (RFC 6152 excludes it from text), ready to reach a next hop that reads it as the end.
        for listener in ("mx", "mx-normalise"):
            with self.subTest(listener=listener, client="smtplib"):
                tok = token()
                with smtplib.SMTP("127.0.0.1", self.port(listener), local_hostname="client.example",
                                  timeout=10) as s:
                    with self.assertRaises(smtplib.SMTPDataError) as refused:
                        s.sendmail("sender@remote.example", ["heidi@example.org"],
                                   message(tok, to="heidi@example.org", extra=b"one\r\n\0.\r\ntwo\r\n"))
                    self.assertEqual(refused.exception.smtp_code, 550)
                    self.assertTrue(refused.exception.smtp_error.startswith(b"5.6.11 "), refused.exception)
                    self.assertEqual(s.sendmail("sender@remote.example", ["heidi@example.org"],
                                                message(tok + "-clean", to="heidi@example.org")), {})
                stored = self.with_token("heidi", tok)  # the refused message's token is in the clean one's
                self.assertEqual(len(stored), 1)
                self.assertIn(f"{tok}-clean".encode(), stored[0])
            with self.subTest(listener=listener, client="raw BDAT"):
                tok = token()
                chunk = f"Subject: bdat {tok}\r\n\r\n".encode() + b".\0\r\nafter\r\n"
                with self.connect(listener) as c:
                    c.cmd("EHLO client.example")
                    self.assertEqual(c.cmd("MAIL FROM:<x@remote.example> BODY=8BITMIME"), "250 2.1.0 Sender OK\r\n")
                    self.assertEqual(c.cmd("RCPT TO:<heidi@example.org>"), "250 2.1.5 Recipient OK\r\n")
                    c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
                    self.assertEqual(c.reply(), NUL_REFUSED)
                    self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK\r\n")
                self.assertEqual(self.with_token("heidi", tok), [])


# --- policy over the wire ------------------------------------------------------------------------------------

class Policy(SmtpTest):
    def test_submission_sender_restriction_and_relay(self):
        with self.smtplib_tls("submission") as s:
            s.login("judy", password("judy"))
            with self.assertRaises(smtplib.SMTPSenderRefused) as refused:
                s.sendmail("alice@example.org", ["alice@example.org"], message(token()))
            self.assertEqual(refused.exception.smtp_code, 553)
            self.assertEqual(refused.exception.smtp_error,
                             b"5.7.1 <alice@example.org>: sender address not owned by user judy")
            s.rset()
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as relay:
                s.sendmail("judy@example.org", ["someone@remote.example"], message(token()))
            self.assertEqual(relay.exception.recipients["someone@remote.example"],
                             (550, b"5.7.1 <someone@remote.example>: this server delivers to its own domains only"))

    def test_submission_refuses_a_null_sender(self):
        # Regression: after AUTH, MAIL FROM:<> got 250; the sender ownership check was skipped without a sender.
        with self.smtplib_tls("submission") as s:
            s.login("judy", password("judy"))
            self.assertEqual(s.mail(""), (553, b"5.7.1 <>: a null reverse-path is not accepted from a user"))
            self.assertEqual(s.mail("judy@example.org"), (250, b"2.1.0 Sender OK"))
        with self.connect("mx") as c:  # an MX takes bounces
            c.cmd("EHLO client.example")
            self.assertEqual(c.cmd("MAIL FROM:<>"), "250 2.1.0 Sender OK\r\n")

    def test_submission_requires_tls_then_auth(self):
        with self.connect("submission") as c:
            ehlo = extensions(c.cmd("EHLO client.example"))
            self.assertIn("STARTTLS", ehlo)
            self.assertNotIn("AUTH", ehlo)
            self.assertEqual(c.cmd("MAIL FROM:<judy@example.org>"),
                             "530 5.7.0 Must issue a STARTTLS command first\r\n")
            self.assertEqual(c.cmd("AUTH PLAIN " + base64.b64encode(b"\0judy\0pw-judy").decode()),
                             "530 5.7.0 Must issue a STARTTLS command first\r\n")
            self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK\r\n")
            self.assertEqual(c.cmd("RSET"), "250 2.0.0 OK\r\n")
            self.assertEqual(c.cmd("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n")
            c.starttls()
            c.cmd("EHLO client.example")
            self.assertEqual(c.cmd("MAIL FROM:<judy@example.org>"), "530 5.7.0 Authentication required\r\n")
            self.assertEqual(c.cmd("QUIT"), f"221 2.0.0 {HOSTNAME} closing connection\r\n")

    def test_no_auth_of_any_kind_before_starttls(self):
        # auth_requires_tls, on by default with STARTTLS (SECURITY-CASES 47): not SCRAM or CRAM-MD5 either,
        # and plaintext_auth does not change it; mail to the MX itself still flows before TLS.
        with self.connect("mx-auth") as c:
            self.assertNotIn("AUTH", extensions(c.cmd("EHLO client.example")))
            encryption_required = "538 5.7.11 Encryption required for requested authentication mechanism\r\n"
            self.assertEqual(c.cmd("AUTH SCRAM-SHA-256"), encryption_required)
            self.assertEqual(c.cmd("AUTH CRAM-MD5"), encryption_required)
            self.assertEqual(c.cmd("AUTH PLAIN " + base64.b64encode(b"\0judy\0pw-judy").decode()),
                             encryption_required)
            self.assertEqual(c.cmd("MAIL FROM:<someone@remote.example>"), "250 2.1.0 Sender OK\r\n")
            self.assertEqual(c.cmd("RSET"), "250 2.0.0 OK\r\n")
            self.assertEqual(c.cmd("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n")
            c.starttls()
            self.assertEqual(extensions(c.cmd("EHLO client.example"))["AUTH"], "SCRAM-SHA-256 CRAM-MD5 PLAIN")
            self.assertEqual(c.cmd("AUTH PLAIN " + base64.b64encode(b"\0judy\0pw-judy").decode()),
                             "235 2.7.0 Authentication successful\r\n")
        with self.connect("mx-auth-clear") as c:  # auth_requires_tls = false: as plaintext_auth allows
            self.assertEqual(extensions(c.cmd("EHLO client.example"))["AUTH"], "SCRAM-SHA-256 CRAM-MD5")

    def test_mx_relay_and_unknown_users(self):
        with self.connect("mx") as c:
            self.assertEqual(c.cmd("MAIL FROM:<x@remote.example>"), "503 5.5.1 Error: send HELO/EHLO first\r\n")
            c.cmd("EHLO client.example")
            self.assertEqual(c.cmd("MAIL FROM:<x@remote.example>"), "250 2.1.0 Sender OK\r\n")
            self.assertEqual(c.cmd("RCPT TO:<someone@remote.example>"),
                             "554 5.7.1 <someone@remote.example>: Relay access denied\r\n")
            self.assertEqual(c.cmd("RCPT TO:<nobody@example.org>"),
                             "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown\r\n")
            self.assertEqual(c.cmd("RCPT TO:<../../etc/passwd@example.org>"),
                             "501 5.1.3 Bad recipient address syntax\r\n")
            self.assertEqual(c.cmd("DATA"), "503 5.5.1 Error: DATA is not allowed after MAIL\r\n")
            self.assertEqual(c.cmd("VRFY alice"),
                             "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n")

    def test_one_mailbox_named_twice_is_stored_once_and_acknowledged(self):
        # Regression: the second RCPT resolved to the same user; the Maildir store linked the message in, then
        # failed the second link (EEXIST): one copy stored, and the client told 451, so it retried for days and
        # a copy was stored each time.
        tok = token()
        with self.connect("mx") as c:
            c.cmd("EHLO client.example")
            self.assertEqual(c.cmd("MAIL FROM:<a@b.example>"), "250 2.1.0 Sender OK\r\n")
            self.assertEqual(c.cmd("RCPT TO:<dave@example.org>"), "250 2.1.5 Recipient OK\r\n")
            self.assertEqual(c.cmd("RCPT TO:<dave@EXAMPLE.ORG>"), "250 2.1.5 Recipient OK\r\n")
            self.assertEqual(c.cmd("DATA"), "354 End data with <CR><LF>.<CR><LF>\r\n")
            c.send(message(tok, to="dave@example.org") + b".\r\n")
            self.assertRegex(c.reply(), STORED)
        self.assertEqual(len(self.with_token("dave", tok)), 1)
        # Over LMTP each RCPT still gets its own reply, from the mailbox's one delivery.
        tok = token()
        with smtplib.LMTP("127.0.0.1", self.port("lmtp"), local_hostname="client.example", timeout=10) as s:
            s.ehlo()  # LHLO
            self.assertEqual(s.mail("a@b.example")[0], 250)
            for rcpt in ("dave@example.org", "dave@EXAMPLE.org", "dave@Example.Org"):
                self.assertEqual(s.rcpt(rcpt)[0], 250)
            # smtplib reads one reply after the data; LMTP sends one per accepted recipient (RFC 2033 4.2).
            for code, text in (s.data(message(tok)), s.getreply(), s.getreply()):
                self.assertEqual(code, 250)
                self.assertRegex(text, rb"^2\.0\.0 OK [0-9a-f]+ \(\d+ octets\)$")
            self.assertEqual(s.noop(), (250, b"2.0.0 OK"))  # nothing more was pending
        self.assertEqual(len(self.with_token("dave", tok)), 1)

    def test_bdat_chunks(self):
        tok = token()
        first = f"Subject: bdat {tok}\r\n\r\n.not unstuffed\r\n".encode()
        last = b"..nor this\r\n"
        with self.connect("mx") as c:
            c.cmd("EHLO client.example")
            c.cmd("MAIL FROM:<x@remote.example> BODY=8BITMIME")
            self.assertEqual(c.cmd("RCPT TO:<ivan@example.org>"), "250 2.1.5 Recipient OK\r\n")
            c.send(b"BDAT %d\r\n" % len(first) + first)
            self.assertEqual(c.reply(), f"250 2.0.0 {len(first)} octets received\r\n")
            c.send(b"BDAT %d LAST\r\n" % len(last) + last)
            self.assertRegex(c.reply(), STORED)
            # A BDAT outside a transaction is refused, and its chunk is not taken for commands.
            inner = b"MAIL FROM:<y@remote.example>\r\n"
            c.send(b"BDAT %d\r\n" % len(inner) + inner)
            self.assertEqual(c.reply(), "503 5.5.1 Error: BDAT is not allowed outside a transaction\r\n")
            self.assertEqual(c.cmd("RCPT TO:<ivan@example.org>"),
                             "503 5.5.1 Error: RCPT is not allowed outside a transaction\r\n")
        stored = self.with_token("ivan", tok)
        self.assertEqual(len(stored), 1)
        self.assertTrue(stored[0].endswith(b"\n\n.not unstuffed\n..nor this\n"), stored[0])

    def test_the_error_budget(self):
        with self.connect("mx") as c:
            for _ in range(19):
                self.assertEqual(c.cmd("XYZZY"), "500 5.5.2 Command unrecognized\r\n")
            self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK\r\n")
            self.assertEqual(c.cmd("XYZZY"), "500 5.5.2 Command unrecognized\r\n")
            self.assertEqual(c.reply(), "421 4.7.0 Too many errors, closing the connection\r\n")
            self.assertEqual(c.rest(), b"")

    def test_improper_pipelining_closes_the_connection(self):
        with self.connect("mx") as c:
            c.send("EHLO client.example\r\nMAIL FROM:<x@remote.example>\r\n")
            self.assertEqual(c.reply(), "554 5.5.0 Error: improper command pipelining\r\n")
            self.assertEqual(c.rest(), b"")

    def test_failed_logins_close_the_connection(self):
        with self.connect_tls("submissions") as c:
            wrong = base64.b64encode(b"\0judy\0wrong").decode()
            for _ in range(2):
                self.assertEqual(c.cmd("AUTH PLAIN " + wrong), "535 5.7.8 Authentication credentials invalid\r\n")
            self.assertEqual(c.cmd("AUTH PLAIN " + wrong), "535 5.7.8 Authentication credentials invalid\r\n")
            self.assertEqual(c.reply(), "421 4.7.0 Too many failed authentication attempts, closing the connection\r\n")
            self.assertEqual(c.rest(), b"")


# --- a syntax error must not take the daemon down ------------------------------------------------------------

class SyntaxErrors(unittest.TestCase):
    """On a daemon of its own: the bug below kills the process."""

    @classmethod
    def setUpClass(cls):
        cls.work, cls.daemon = start_daemon()

    @classmethod
    def tearDownClass(cls):
        stop_daemon(cls.work, cls.daemon)  # whether it survived is the test's business

    def test_ehlo_without_a_name_is_refused_and_the_daemon_goes_on(self):
        # Regression (a crash, remotely triggerable before any authentication): a command that parse() flags as a
        # syntax error ("EHLO" alone here; also MAIL, RCPT, AUTH, VRFY, EXPN, BDAT without an argument, DATA,
        # RSET, QUIT, STARTTLS with one) reaches
        #     co_return co_await refuse(c, c.v == verb::starttls ? "..." : fmt::format("501 5.5.4 Syntax error ..."));
        # in dialogue::on_line(); g++ 12 destroys the std::string temporary twice and mailwrightd aborts with
        # "free(): double free detected in tcache 2": every connection of every listener is dropped.
        with Conn(self.daemon.ports["mx"]) as c:
            self.assertEqual(c.reply(), GREETING)
            self.assertEqual(c.cmd("EHLO"), "501 5.5.4 Syntax error in EHLO\r\n")
            self.assertEqual(c.cmd("QUIT"), f"221 2.0.0 {HOSTNAME} closing connection\r\n")
        time.sleep(0.2)
        self.assertIsNone(self.daemon.proc.poll(), "mailwrightd died:\n" + "\n".join(self.daemon.lines[-20:]))
        with Conn(self.daemon.ports["mx"]) as c:
            self.assertEqual(c.reply(), GREETING)


if __name__ == "__main__":
    unittest.main()
