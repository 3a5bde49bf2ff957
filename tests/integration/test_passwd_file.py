"""The passwd-file auth plugin in the real daemon, with lines made by `mailwrightd passwd`."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from daemon import DAEMON, Daemon


def passwd_line(user, password, scheme):
    result = subprocess.run([DAEMON, "passwd", "--scheme", scheme, user], input=password + "\n",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


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
            lines += passwd_line(user, f"pw-{user}", scheme)
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

                self.write(lines + passwd_line("late", "pw-late", "YESCRYPT"))
                c.send("CHECK late pw-late\r\n")
                self.assertTrue(c.line().startswith("OK late"))  # the changed file was read again

                self.write("this line is broken\n")
                c.send("CHECK yes pw-yes\r\n")
                self.assertTrue(c.line().startswith("OK yes"))  # a broken file keeps the previous users
            self.assertTrue(daemon.log_contains(r"plugin=passwd-file keeping the previous users: .*passwd:1: "))
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_bad_files_stop_the_start(self):
        for text, expected in ((passwd_line("a", "x", "YESCRYPT") + "b:{PLAIN}x\n", "passwd:2: {PLAIN} is for tests"),
                               ("a:nohash\n", "passwd:1: expected user:{SCHEME}data"),
                               ("a:{PLAIN}x\na:{PLAIN}y\n", "passwd:2: user 'a' appears twice")):
            self.write(text)
            with open(os.path.join(self.work, "m.toml"), "w") as f:
                f.write(config(self.path, "allow_plain = true" if "twice" in expected else ""))
            result = subprocess.run([DAEMON, "--config", os.path.join(self.work, "m.toml")], capture_output=True,
                                    text=True, timeout=60)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(expected, result.stderr)

    def test_passwd_command_refuses_bad_input(self):
        for args, stdin in ((["passwd", "--scheme", "MD5", "u"], "x\n"), (["passwd", "a:b"], "x\n"),
                            (["passwd", "u"], "")):
            result = subprocess.run([DAEMON, *args], input=stdin, capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 2, args)


if __name__ == "__main__":
    unittest.main()
