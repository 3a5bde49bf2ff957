"""The passwd-file auth plugin in the real daemon, with lines made by `mailwrightd passwd`."""
import base64
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from daemon import DAEMON, Daemon, passwd_line


def scheme_line(user, password, scheme):
    return passwd_line(user, password, "--scheme", scheme)


def config(path, extra=""):
    return f"""
[plugin.passwd-file]
file = "{path}"
{extra}
[plugin.authcheck]
[[listener]]
name = "check"
service = "authcheck"
port = 0
"""


def pop3_config(work, mechanisms='["PLAIN"]'):
    """A plaintext POP3 listener that allows passwords in the clear, with its state in `work`/state."""
    return f"""
[server]
state_dir = "{work}/state"
[plugin.passwd-file]
file = "{work}/passwd"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[[listener]]
name = "pop3"
service = "pop3"
port = 0
plaintext_auth = true
auth_mechanisms = {mechanisms}
"""


class PasswdFile(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-passwd-")
        self.path = os.path.join(self.work, "passwd")

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def write(self, text):
        tmp = self.path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.path)  # a new inode: the change is seen even within one second

    def test_every_scheme_and_rereading(self):
        lines = "# users\n"
        for user, scheme in (("yes", "YESCRYPT"), ("sha", "SHA512-CRYPT"), ("blf", "BLF-CRYPT"),
                             ("argon", "ARGON2ID"), ("scram", "SCRAM-SHA-256"), ("equiv", "PLAIN-EQUIVALENT")):
            lines += scheme_line(user, f"pw-{user}", scheme)
        self.write(lines)
        daemon = Daemon(config(self.path))
        try:
            with daemon.connect("check") as c:
                self.assertEqual(c.line(), "READY\r\n")
                for user in ("yes", "sha", "blf", "argon", "scram", "equiv"):
                    c.send(f"CHECK {user} pw-{user}\r\nCHECK {user} wrong\r\n")
                    self.assertTrue(c.line().startswith(f"OK {user}"), user)
                    self.assertEqual(c.line(), "NO\r\n")
                c.send("CHECK nobody pw-yes\r\n")
                self.assertEqual(c.line(), "NO\r\n")

                self.write(lines + scheme_line("late", "pw-late", "YESCRYPT"))
                c.send("CHECK late pw-late\r\n")
                self.assertTrue(c.line().startswith("OK late"))  # the changed file was read again

                self.write("this line is broken\n")
                c.send("CHECK yes pw-yes\r\n")
                self.assertTrue(c.line().startswith("OK yes"))  # a broken file keeps the previous users
            self.assertTrue(daemon.log_contains(r"plugin=passwd-file keeping the previous users: .*passwd:1: "))
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_bad_files_stop_the_start(self):
        for text, expected in ((scheme_line("a", "x", "YESCRYPT") + "b:{NOPE}x\n", "passwd:2: unknown password scheme"),
                               ("a:nohash\n", "passwd:1: the hash is cut short or damaged"),
                               ("a:{PLAIN}x\na:{PLAIN}y\n", "passwd:2: user 'a' appears twice")):
            self.write(text)
            with open(os.path.join(self.work, "m.toml"), "w") as f:
                f.write(config(self.path, "allow_plain = true" if "twice" in expected else ""))
            result = subprocess.run([DAEMON, "--config", os.path.join(self.work, "m.toml")], capture_output=True,
                                    text=True, timeout=60, cwd=self.work)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(expected, result.stderr)

    def test_scram_salt_of_an_unknown_user_survives_a_restart(self):
        # A real user's salt stays across restarts; an unknown user's made-up one must too, or watching one
        # restart tells them apart (RFC 5802 9).
        self.write(scheme_line("known", "pw-known", "SCRAM-SHA-256"))
        client_first = base64.b64encode(b"n,,n=nosuchuser,r=abc").decode()
        salts = []
        for _ in range(2):
            daemon = Daemon(pop3_config(self.work, '["SCRAM-SHA-256"]'))
            try:
                with daemon.connect("pop3") as c:
                    self.assertTrue(c.line().startswith("+OK"))
                    c.send(f"AUTH SCRAM-SHA-256 {client_first}\r\n")
                    reply = c.line()
                    self.assertTrue(reply.startswith("+ "), reply)
                    m = re.fullmatch(r"r=abc[^,]+,s=([^,]+),i=4096", base64.b64decode(reply[2:]).decode())
                    self.assertIsNotNone(m, reply)
                    salts.append(m.group(1))
                    c.send("*\r\n")
                    self.assertEqual(c.line(), "-ERR authentication cancelled\r\n")
            finally:
                self.assertEqual(daemon.terminate(), 0)
        self.assertEqual(salts[0], salts[1])
        key = os.path.join(self.work, "state", "scram-stand-in.key")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        self.assertEqual(os.path.getsize(key), 32)

    def test_a_bad_scram_stand_in_key_stops_the_start(self):
        os.makedirs(os.path.join(self.work, "state"))
        key = os.path.join(self.work, "state", "scram-stand-in.key")
        with open(os.path.join(self.work, "m.toml"), "w") as f:
            f.write(pop3_config(self.work))
        self.write(scheme_line("known", "pw-known", "YESCRYPT"))
        for size, mode in ((31, 0o600), (32, 0o644)):
            with open(key, "wb") as f:
                f.write(b"k" * size)
            os.chmod(key, mode)
            result = subprocess.run([DAEMON, "--config", os.path.join(self.work, "m.toml")], capture_output=True,
                                    text=True, timeout=60, cwd=self.work)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(f"{key}: the SCRAM stand-in key must be", result.stderr)

    def test_a_password_with_nul_never_matches_a_crypt_hash(self):
        # crypt(3) reads a C string: "pw-carol\0junk" must not pass for pw-carol.
        self.write(scheme_line("carol", "pw-carol", "SHA512-CRYPT") + scheme_line("dave", "pw-dave", "YESCRYPT"))
        daemon = Daemon(pop3_config(self.work))
        try:
            for user in ("carol", "dave"):
                for password, accepted in ((f"pw-{user}\0junk", False), (f"pw-{user}\0", False),
                                           (f"pw-{user}", True)):
                    with daemon.connect("pop3") as c:
                        self.assertTrue(c.line().startswith("+OK"))
                        c.send(f"USER {user}\r\n")
                        self.assertEqual(c.line(), "+OK send PASS\r\n")
                        c.send(b"PASS " + password.encode() + b"\r\n")
                        reply = c.line()
                        self.assertEqual(reply.startswith(f"+OK {user} has "), accepted, (password, reply))
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_passwd_command_refuses_bad_input(self):
        for args, stdin in ((["passwd", "--scheme", "MD5", "u"], "x\n"), (["passwd", "a:b"], "x\n"),
                            (["passwd", "u"], ""), (["passwd", "--scheme", "SHA512-CRYPT", "u"], "pw\0x\n")):
            result = subprocess.run([DAEMON, *args], input=stdin, capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 2, args)


if __name__ == "__main__":
    unittest.main()
