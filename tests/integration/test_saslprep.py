"""SASLprep (RFC 4013) in the real daemon: passwords made by `mailwrightd passwd` and logins by clients we did
not write (poplib for USER/PASS, GNU SASL's gsasl for PLAIN, LOGIN and SCRAM-SHA-256), and raw AUTH PLAIN lines
where the exact octets on the wire matter. A password with U+00A0 (no-break space) logs in written with it
and with a plain space; one with U+2168 (ROMAN NUMERAL NINE) with "IX"; RFC 4013 section 3's examples work
as logins; a wrong password and strings SASLprep refuses are refused, the log saying why."""
import base64
import os
import poplib
import shutil
import subprocess
import tempfile
import unittest

from daemon import DAEMON, Daemon
from test_pop3 import sasl_exchange

NBSP = "\u00a0"
FAILED = "-ERR [AUTH] authentication failed\r\n"
# user -> (password given to `mailwrightd passwd`, scheme). SCRAM-SHA-256 lines serve PLAIN and SCRAM alike.
USERS = {
    "nbsp": (f"correct{NBSP}horse", "SCRAM-SHA-256"),
    "nbsp-yescrypt": (f"correct{NBSP}horse", "YESCRYPT"),
    "nine": ("\u2168", "SCRAM-SHA-256"),
    "IX": ("I\u00adX", "SCRAM-SHA-256"),  # RFC 4013 3 #1: SOFT HYPHEN mapped to nothing
    "ordinal": ("\u00aa", "ARGON2ID"),  # #4: NFKC
    "upper": ("USER", "SHA512-CRYPT"),  # #3: case preserved
}


def passwd(user, password, scheme=None):
    args = [DAEMON, "passwd", *(["--scheme", scheme] if scheme else []), user]
    return subprocess.run(args, input=(password + "\n").encode(), capture_output=True, timeout=60)


def config(work):
    return f"""
[auth]
failure_delay = "0s"
failure_delay_max = "0s"
[plugin.passwd-file]
file = "{work}/passwd"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[[listener]]
name = "pop3"
service = "pop3"
port = 0
plaintext_auth = true
auth_mechanisms = ["SCRAM-SHA-256", "PLAIN", "LOGIN"]
"""


class Saslprep(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailwright-saslprep-")
        try:
            lines = []
            for user, (password, scheme) in USERS.items():
                made = passwd(user, password, scheme)
                assert made.returncode == 0, made.stderr
                lines.append(made.stdout.decode())
            with open(os.path.join(cls.work, "passwd"), "w") as f:
                f.write("".join(lines))
            cls.daemon = Daemon(config(cls.work))
        except BaseException:
            shutil.rmtree(cls.work, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            assert cls.daemon.terminate() == 0
        finally:
            shutil.rmtree(cls.work, ignore_errors=True)

    def user_pass(self, user, password):
        """USER/PASS through poplib (UTF-8 on the wire); True when logged in."""
        pop = poplib.POP3("127.0.0.1", self.daemon.ports["pop3"], timeout=10)
        try:
            pop.user(user)
            try:
                pop.pass_(password)
            except poplib.error_proto as e:
                self.assertEqual(e.args[0], FAILED.rstrip("\r\n").encode())
                return False
            pop.quit()  # the maildrop is released before the reply: the next login of the user finds it free
            return True
        finally:
            pop.close()

    def ending(self, c, reply):
        """`reply`, after a QUIT when it was a login (see user_pass)."""
        if reply.startswith("+OK"):
            c.send("QUIT\r\n")
            self.assertTrue(c.line().startswith("+OK"))
        return reply

    def gsasl(self, mechanism, user, password):
        """AUTH `mechanism` with gsasl as the client; the server's final reply."""
        with self.daemon.connect("pop3") as c:
            self.assertTrue(c.line().startswith("+OK"))
            return self.ending(c, sasl_exchange(c.send, c.line, mechanism, user, password))

    def plain(self, message):
        """AUTH PLAIN with exactly these octets (authzid NUL authcid NUL password); the server's reply."""
        with self.daemon.connect("pop3") as c:
            self.assertTrue(c.line().startswith("+OK"))
            c.send(b"AUTH PLAIN " + base64.b64encode(message.encode()) + b"\r\n")
            return self.ending(c, c.line())

    def assert_logs_in(self, reply, user):
        self.assertTrue(reply.startswith(f"+OK {user} has "), reply)

    def test_a_no_break_space_or_a_space(self):
        # `mailwrightd passwd` hashed "correct horse"; SASLprep maps U+00A0 to U+0020 (RFC 4013 2.1).
        for password in (f"correct{NBSP}horse", "correct horse", "correct\u3000horse"):
            for user in ("nbsp", "nbsp-yescrypt"):
                with self.subTest(user=user, password=password):
                    self.assertTrue(self.user_pass(user, password))
                    self.assert_logs_in(self.plain(f"\0{user}\0{password}"), user)
                    self.assert_logs_in(self.gsasl("PLAIN", user, password), user)
                    self.assert_logs_in(self.gsasl("LOGIN", user, password), user)
            with self.subTest(scram=password):
                self.assert_logs_in(self.gsasl("SCRAM-SHA-256", "nbsp", password), "nbsp")
        for password in ("correcthorse", "correct  horse", f"correct{NBSP}horsE", "correct_horse"):
            with self.subTest(wrong=password):
                self.assertFalse(self.user_pass("nbsp", password))
                self.assertEqual(self.plain(f"\0nbsp\0{password}"), FAILED)
                self.assertEqual(self.gsasl("SCRAM-SHA-256", "nbsp", password), FAILED)

    def test_roman_numeral_nine_is_ix(self):
        for password in ("IX", "\u2168", "I\u00adX"):
            with self.subTest(password=password):
                self.assertTrue(self.user_pass("nine", password))
                self.assert_logs_in(self.gsasl("SCRAM-SHA-256", "nine", password), "nine")
                self.assert_logs_in(self.gsasl("PLAIN", "nine", password), "nine")
        self.assertFalse(self.user_pass("nine", "ix"))
        self.assertEqual(self.gsasl("SCRAM-SHA-256", "nine", "ix"), FAILED)

    def test_rfc4013_examples_as_logins(self):
        # #1 and #5: "I<U+00AD>X" and U+2168 both prepare to "IX", as user names and as passwords.
        for name in ("IX", "I\u00adX", "\u2168"):
            with self.subTest(name=name):
                self.assert_logs_in(self.plain(f"\0{name}\0\u2168"), "IX")
                self.assert_logs_in(self.gsasl("SCRAM-SHA-256", name, "IX"), "IX")
        # #3: case is kept: "USER" is not "user".
        self.assert_logs_in(self.plain("\0upper\0USER"), "upper")
        self.assertEqual(self.plain("\0upper\0user"), FAILED)
        # #4: U+00AA prepares to "a".
        self.assert_logs_in(self.plain("\0ordinal\0a"), "ordinal")
        self.assert_logs_in(self.plain("\0ordinal\0\u00aa"), "ordinal")
        # #6 and #7: a prohibited character and a bidirectional string fail as a wrong password does, and the
        # log says why.
        self.assertEqual(self.plain("\0upper\0US\u0007ER"), FAILED)
        self.assertTrue(self.daemon.log_contains(
            r"AUTH PLAIN: PLAIN: the password fails SASLprep: it contains a prohibited character"))
        self.assertEqual(self.plain("\0upper\0\u0627\u0031"), FAILED)
        self.assertTrue(self.daemon.log_contains(
            r"AUTH PLAIN: PLAIN: the password fails SASLprep: it breaks the bidirectional rules"))
        self.assertFalse(self.user_pass("upper", "US\u0007ER"))
        self.assertTrue(self.daemon.log_contains(r"USER/PASS: the password fails SASLprep: it contains a prohibited"))
        with self.daemon.connect("pop3") as c:  # octets that are not UTF-8
            self.assertTrue(c.line().startswith("+OK"))
            c.send(b"AUTH PLAIN " + base64.b64encode(b"\0upper\0US\xffER") + b"\r\n")
            self.assertEqual(c.line(), FAILED)
        self.assertTrue(self.daemon.log_contains(r"PLAIN: the password fails SASLprep: it is not valid UTF-8"))


class PasswdRefuses(unittest.TestCase):
    """`mailwrightd passwd` keeps a stored string: what SASLprep refuses, it refuses, saying why (exit 2)."""

    def test_refusals(self):
        for user, password, why in (
                ("u", "US\u0007ER", "the password fails SASLprep (RFC 4013): it contains a prohibited character"),
                ("u", "\u0627\u0031", "the password fails SASLprep (RFC 4013): it breaks the bidirectional rules"),
                # U+0221 was unassigned in Unicode 3.2: a query may hold it, a stored string may not (RFC 3454 7).
                ("u", "x\u0221", "it contains a code point unassigned in Unicode 3.2, which a stored string may not"),
                ("u", "\u00ad", "it is empty once prepared"),
                ("\u2168", "pw", "logins look the user up as SASLprep prepares the name, IX: give that name")):
            with self.subTest(user=user, password=password):
                result = passwd(user, password)
                self.assertEqual(result.returncode, 2)
                self.assertEqual(result.stdout, b"")
                self.assertIn(why, result.stderr.decode())
        self.assertEqual(passwd("u", "x\u0220").returncode, 0)  # assigned in Unicode 3.2


if __name__ == "__main__":
    unittest.main()
