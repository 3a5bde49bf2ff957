"""The headers plugin (plugins/headers) in mailwrightd, driven by Python's smtplib: Authentication-Results with
the AUTH user and TLS on a submission listener after STARTTLS and AUTH, `none` on an MX, the client
certificate's subject, forged Authentication-Results for our authserv-id removed and another server's kept,
the client's Received fields removed from authenticated submissions only when configured, and LMTP (a
trusted MTA's) left alone. Every check reads the stored Maildir file from disk."""
import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import unittest
import uuid

from certs import make_all
from daemon import DAEMON, maildir_messages, start_in, stop_in
from daemon import insecure_context as client_context

HOSTNAME = "mx.example.org"
USERS = ["alice", "bob"]
TLS_COMMENT = rb"\(TLSv1\.[23] [A-Z0-9_-]+\)"

CERTS = None  # made by setUpModule
PASSWD = ""


def password(user):
    return f"pw-{user}"


def cert(name):
    return os.path.join(CERTS, name)


def headers_config(work, plugin_settings):
    return f"""
[server]
workers = 1
hostname = "{HOSTNAME}"
[auth]
failure_delay = "0s"
failure_delay_max = "0s"
[plugin.passwd-file]
file = "{work}/passwd"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[plugin.headers]
{plugin_settings}
[plugins]
auth = ["passwd-file"]
hooks = ["headers"]
[tls]
certificate = "{cert('one.pem')}"
key = "{cert('one.key')}"

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
name = "submission-certs"
service = "smtp"
port = 0
tls = "starttls"
[listener.smtp]
role = "submission"
local_domains = ["example.org"]
[listener.tls_options]
client_certificates = "optional"
client_ca = "{cert('ca.pem')}"

[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
role = "mx"
local_domains = ["example.org"]

[[listener]]
name = "lmtp"
service = "lmtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]
"""


def setUpModule():
    global CERTS, PASSWD
    CERTS = tempfile.mkdtemp(prefix="mailwright-headers-certs-")
    try:
        make_all(CERTS)
        lines = []
        for user in USERS:
            result = subprocess.run([DAEMON, "passwd", user, "-s", "PLAIN-EQUIVALENT"], input=password(user),
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            lines.append(result.stdout)
        PASSWD = "".join(lines)
    except BaseException:
        tearDownModule()  # unittest does not call it when setUpModule fails
        raise


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


def message(tok, extra_fields="", sender="alice@example.org"):
    return (f"{extra_fields}From: {sender}\r\nTo: bob@example.org\r\nSubject: test {tok}\r\n"
            f"Message-ID: <{tok}@client.example>\r\n\r\nHello from the tests.\r\n").encode()


FORGED = ("Authentication-Results: mx.example.org; auth=pass smtp.auth=mallory\r\n"
          "authentication-results: (folded, and in capitals)\r\n MX.EXAMPLE.ORG;\r\n\tauth=pass smtp.auth=root\r\n"
          "Authentication-Results: \"mx.example.org\"; dkim=pass header.d=example.org\r\n")
FOREIGN = "Authentication-Results: relay.example.net; spf=pass smtp.mailfrom=example.net\r\n"
CLIENT_RECEIVED = "Received: from laptop.lan ([192.168.1.20]) by relay.lan; Fri, 4 Dec 2026 10:00:00 +0000\r\n"


class HeadersTest(unittest.TestCase):
    """A daemon with the headers plugin configured by `settings`, its Maildirs, and smtplib clients."""

    settings = ""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailwright-headers-")
        with open(os.path.join(cls.work, "passwd"), "w") as f:
            f.write(PASSWD)
        cls.daemon = start_in(cls.work, headers_config(cls.work, cls.settings))

    @classmethod
    def tearDownClass(cls):
        code = stop_in(cls.work, cls.daemon)
        assert code == 0, f"mailwrightd exited with {code}"

    def stored(self, user, tok):
        """The one message carrying `tok` in the user's Maildir, as stored on disk (LF line ends)."""
        found = maildir_messages(self.work, user, tok.encode())
        self.assertEqual(len(found), 1, f"messages with {tok}")
        return found[0]

    def header_block(self, user, tok):
        return self.stored(user, tok).split(b"\n\n", 1)[0] + b"\n"

    def authentication_results(self, block):
        """Every Authentication-Results field of the block, unfolded."""
        unfolded = re.sub(rb"\n[ \t]", b" ", block)
        return [line for line in unfolded.split(b"\n") if line.lower().startswith(b"authentication-results")]

    def submit(self, listener, tok, extra_fields, user="alice", ctx=None):
        with smtplib.SMTP("127.0.0.1", self.daemon.ports[listener], local_hostname="client.example",
                          timeout=10) as s:
            s.starttls(context=ctx or client_context())
            s.ehlo()
            if user:
                s.login(user, password(user))
            sender = f"{user or 'alice'}@example.org"  # submission takes only the user's own addresses
            self.assertEqual(s.sendmail(sender, ["bob@example.org"], message(tok, extra_fields, sender)), {})
        return self.header_block("bob", tok)


class StripReceived(HeadersTest):
    """authserv_id left to the listener's host name; strip_received on."""

    settings = "strip_received = true"

    def test_submission_carries_auth_user_and_tls_and_loses_the_forged(self):
        tok = uuid.uuid4().hex
        block = self.submit("submission", tok, FORGED + FOREIGN + CLIENT_RECEIVED)
        fields = self.authentication_results(block)
        ours = [f for f in fields if f.lower().startswith(b"authentication-results: mx.example.org")]
        self.assertEqual(len(ours), 1, fields)
        self.assertRegex(ours[0], rb"^Authentication-Results: mx\.example\.org; auth=pass smtp\.auth=alice "
                                  + TLS_COMMENT + rb"$")
        self.assertNotIn(b"mallory", block)
        self.assertNotIn(b"root", block)
        self.assertNotIn(b"dkim=pass", block)
        # Another server's field is kept as it came.
        self.assertIn(FOREIGN.replace("\r\n", "\n").encode(), block)
        self.assertEqual(len(fields), 2, fields)
        # The client's Received went; the server's own stayed, first, above Authentication-Results.
        self.assertNotIn(b"laptop.lan", block)
        self.assertRegex(block, rb"^Return-Path: <alice@example\.org>\nReceived: from client\.example "
                                rb"\(\[127\.0\.0\.1\]\)\n(\t[^\n]*\n)*Authentication-Results: mx\.example\.org; "
                                rb"auth=pass")
        self.assertTrue(self.daemon.log_contains(r"plugin=headers removed 3 forged Authentication-Results"))

    def test_client_certificate_subject_in_a_comment(self):
        ctx = client_context()
        ctx.load_cert_chain(cert("alice.pem"), cert("alice.key"))
        tok = uuid.uuid4().hex
        block = self.submit("submission-certs", tok, "", ctx=ctx)
        [field] = self.authentication_results(block)
        self.assertRegex(field, rb"^Authentication-Results: mx\.example\.org; auth=pass smtp\.auth=alice "
                                + TLS_COMMENT + rb" \(client certificate verified: [^()]*CN ?= ?alice[^()]*\)$")

    def test_mx_without_auth_says_none_and_keeps_received(self):
        tok = uuid.uuid4().hex
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], local_hostname="client.example", timeout=10) as s:
            extra = FORGED + FOREIGN + CLIENT_RECEIVED
            self.assertEqual(s.sendmail("sender@remote.example", ["bob@example.org"], message(tok, extra)), {})
        block = self.header_block("bob", tok)
        fields = self.authentication_results(block)
        self.assertEqual(fields, [b"Authentication-Results: mx.example.org; none", FOREIGN.strip().encode()])
        self.assertIn(b"laptop.lan", block)  # not an authenticated submission: nothing private to hide

    def test_lmtp_is_left_alone_by_default(self):
        # The LMTP client is the site's own MTA: an Authentication-Results for our id from it is genuine.
        tok = uuid.uuid4().hex
        genuine = "Authentication-Results: mx.example.org; dkim=pass header.d=example.org\r\n"
        with smtplib.LMTP("127.0.0.1", self.daemon.ports["lmtp"], local_hostname="mta.example", timeout=10) as s:
            self.assertEqual(s.sendmail("sender@remote.example", ["bob@example.org"], message(tok, genuine)), {})
        block = self.header_block("bob", tok)
        self.assertEqual(self.authentication_results(block), [genuine.strip().encode()])


class OwnAuthservId(HeadersTest):
    """authserv_id set; strip_received left off."""

    settings = 'authserv_id = "auth.example.net"'

    def test_the_configured_id_is_written_and_its_forgeries_removed(self):
        tok = uuid.uuid4().hex
        forged = "Authentication-Results: Auth.Example.Net (forged); auth=pass smtp.auth=mallory\r\n"
        other = "Authentication-Results: mx.example.org; dkim=pass header.d=example.org\r\n"
        block = self.submit("submission", tok, forged + other + CLIENT_RECEIVED, user="bob")
        fields = self.authentication_results(block)
        self.assertEqual(len(fields), 2, fields)
        self.assertRegex(fields[0], rb"^Authentication-Results: auth\.example\.net; auth=pass smtp\.auth=bob "
                                    + TLS_COMMENT + rb"$")
        self.assertEqual(fields[1], other.strip().encode())  # the host name is not our id here
        self.assertNotIn(b"mallory", block)
        self.assertIn(b"laptop.lan", block)  # strip_received is off


class BadSettings(unittest.TestCase):
    """Settings the plugin cannot use stop `--check-config` with the key's position and what would be right."""

    def check(self, settings):
        work = tempfile.mkdtemp(prefix="mailwright-headers-bad-")
        try:
            path = os.path.join(work, "mailwright.toml")
            with open(path, "w") as f:
                f.write(headers_config(work, settings))
            with open(os.path.join(work, "passwd"), "w") as f:
                f.write(PASSWD)
            return subprocess.run([DAEMON, "--check-config", path], capture_output=True, text=True,
                                  timeout=60, cwd=work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_an_authserv_id_that_is_no_token(self):
        result = self.check('authserv_id = "mail example;org"')
        self.assertNotEqual(result.returncode, 0)
        self.assertRegex(result.stderr, r"mailwright\.toml:\d+:\d+: .*authserv_id")

    def test_an_unknown_service(self):
        result = self.check('services = ["smtp", "pop3"]')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('"smtp", "submission" and "lmtp"', result.stderr)

    def test_an_unknown_key(self):
        result = self.check("strip_recieved = true")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("strip_recieved", result.stderr)

    def test_good_settings(self):
        result = self.check('authserv_id = "mail.example.org"\nstrip_received = true\nservices = ["lmtp"]')
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
