"""The framework's SMTP client (smtp::client::session, driven by smtp_client_probe) against our own daemon over
STARTTLS: verified against the certificate the daemon generated, by name; refused for a wrong name, a wrong pin
and a CA that did not sign the certificate; accepted for the right pin and with verification off; implicit
TLS. Then a
delivery with AUTH (SCRAM-SHA-256) over TLS into the Maildir, and LMTP."""
import os
import re
import subprocess
import tempfile
import unittest
import uuid

from certs import der_sha256, make_all
from daemon import DAEMON, maildir_messages, start_in, stop_in

PROBE = os.environ.get("SMTP_CLIENT_PROBE", "smtp_client_probe")
WORK = None
DAEMON_RUNNING = None
CERTS = None


def config(work):
    return f"""
[server]
workers = 1
hostname = "mx.example.org"
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
certificate = "{work}/tls/cert.pem"
key = "{work}/tls/key.pem"
generate_self_signed = true
self_signed_names = ["mail.test", "localhost"]

[[listener]]
name = "mx"
service = "smtp"
port = 0
tls = "starttls"
auth_mechanisms = ["SCRAM-SHA-256", "PLAIN"]
[listener.smtp]
local_domains = ["example.org"]

[[listener]]
name = "smtps"
service = "smtp"
port = 0
tls = "implicit"
[listener.smtp]
local_domains = ["example.org"]

[[listener]]
name = "lmtp"
service = "lmtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]
"""


def setUpModule():
    global WORK, DAEMON_RUNNING, CERTS
    WORK = tempfile.mkdtemp(prefix="mailwright-smtp-client-")
    CERTS = os.path.join(WORK, "certs")
    os.makedirs(CERTS)
    make_all(CERTS)
    result = subprocess.run([DAEMON, "passwd", "alice", "-s", "PLAIN-EQUIVALENT"], input="pw-alice",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    with open(os.path.join(WORK, "passwd"), "w") as f:
        f.write(result.stdout)
    DAEMON_RUNNING = start_in(WORK, config(WORK))


def tearDownModule():
    if DAEMON_RUNNING is not None:
        assert stop_in(WORK, DAEMON_RUNNING) == 0


def probe(*args, listener="mx", to=("alice@example.org",), subject=None):
    command = [PROBE, "127.0.0.1", str(DAEMON_RUNNING.ports[listener]), *args, "--from", "probe@example.net",
               "--subject", subject or uuid.uuid4().hex]
    for rcpt in to:
        command += ["--to", rcpt]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout, result.stderr


def daemon_cert():
    return os.path.join(WORK, "tls", "cert.pem")


class Verification(unittest.TestCase):
    def test_verified_by_name_against_the_daemons_certificate(self):
        code, out, err = probe("--starttls", "--ca", daemon_cert(), "--name", "mail.test")
        self.assertEqual(code, 0, out + err)
        self.assertIn("opened encrypted=1", out)
        self.assertRegex(out, r"final 250 2\.0\.0 ")

    def test_implicit_tls_verified_by_name(self):
        code, out, err = probe("--implicit", "--ca", daemon_cert(), "--name", "localhost", listener="smtps")
        self.assertEqual(code, 0, out + err)
        self.assertIn("opened encrypted=1", out)

    def test_a_name_the_certificate_does_not_carry_is_refused(self):
        code, out, err = probe("--starttls", "--ca", daemon_cert(), "--name", "other.test")
        self.assertEqual(code, 1, out + err)
        self.assertRegex(out, r"^failed 451 4\.7\.5 TLS with 127\.0\.0\.1:\d+ failed")

    def test_a_ca_that_did_not_sign_it_is_refused(self):
        code, out, err = probe("--starttls", "--ca", os.path.join(CERTS, "ca.pem"), "--name", "mail.test")
        self.assertEqual(code, 1, out + err)
        self.assertRegex(out, r"^failed 451 4\.7\.5 ")

    def test_the_right_pin_passes_alone(self):
        # The pin decides alone: no CA file, and a name the certificate does not carry.
        pin = "sha256:" + der_sha256(daemon_cert())
        code, out, err = probe("--starttls", "--pin", pin, "--name", "other.test")
        self.assertEqual(code, 0, out + err)
        self.assertIn("opened encrypted=1", out)

    def test_a_wrong_pin_is_refused(self):
        pin = "sha256:" + der_sha256(os.path.join(CERTS, "one.pem"))
        code, out, err = probe("--starttls", "--pin", pin, "--ca", daemon_cert(), "--name", "mail.test")
        self.assertEqual(code, 1, out + err)
        self.assertRegex(out, r"^failed 451 4\.7\.5 .*not the pinned one")

    def test_a_malformed_pin_is_a_configuration_error(self):
        code, out, err = probe("--starttls", "--pin", "md5:00")
        self.assertEqual(code, 1, out + err)
        self.assertRegex(out, r"^failed 451 4\.3\.5 ")

    def test_without_verification_any_certificate_passes_with_a_warning(self):
        code, out, err = probe("--starttls", "--no-verify")
        self.assertEqual(code, 0, out + err)
        self.assertIn("without certificate verification", err)


class Delivery(unittest.TestCase):
    def test_auth_scram_over_starttls_into_the_maildir(self):
        subject = "client-" + uuid.uuid4().hex
        code, out, err = probe("--starttls", "--ca", daemon_cert(), "--name", "localhost", "--user", "alice",
                               "--password", "pw-alice", subject=subject)
        self.assertEqual(code, 0, out + err)
        self.assertIn("> AUTH SCRAM-SHA-256", err)
        self.assertNotIn("pw-alice", err)
        messages = maildir_messages(WORK, "alice", subject.encode())
        self.assertEqual(len(messages), 1)
        # Stuffed on the way out, unstuffed by the server: the line arrives as it was written.
        self.assertRegex(messages[0], rb"\n\.a line with a dot\r?\n")

    def test_a_wrong_password_is_the_servers_refusal(self):
        code, out, err = probe("--starttls", "--ca", daemon_cert(), "--name", "mail.test", "--user", "alice",
                               "--password", "wrong")
        self.assertEqual(code, 1, out + err)
        self.assertRegex(out, r"^failed 535 5\.7\.8 ")

    def test_lmtp_answers_per_recipient(self):
        subject = "lmtp-" + uuid.uuid4().hex
        code, out, err = probe("--lmtp", listener="lmtp", to=("alice@example.org", "nobody@example.org"),
                               subject=subject)
        self.assertRegex(out, r"rcpt 250 ")
        self.assertRegex(out, r"rcpt 550 5\.1\.1 ")
        finals = re.findall(r"^final (\d{3})", out, re.M)
        self.assertEqual(finals, ["250", "550"], out + err)
        self.assertEqual(len(maildir_messages(WORK, "alice", subject.encode())), 1)


if __name__ == "__main__":
    unittest.main()
