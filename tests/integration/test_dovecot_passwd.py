"""Dovecot's passwd-files in the real daemon: hashes made by Dovecot's own `doveadm pw` log in (POP3 USER/PASS
with poplib, SCRAM-SHA-256 with GNU SASL's gsasl), lines made by `mailwrightd passwd` are accepted by
`doveadm pw -t`, a file in Dovecot's full format with extra fields logs its users in, and a line that cannot
work is named with its line number by --check-config and at start."""
import os
import poplib
import shutil
import subprocess
import tempfile
import unittest

from daemon import DAEMON, Daemon, passwd_line
from test_pop3 import sasl_exchange

# Every scheme Mailwright reads from Dovecot's files, as `doveadm pw -s` names it.
DOVECOT_SCHEMES = ["CRYPT", "SHA256-CRYPT", "SHA512-CRYPT", "MD5-CRYPT", "BLF-CRYPT", "SSHA", "SSHA256", "SSHA512",
                   "PBKDF2", "PLAIN", "CLEAR", "SCRAM-SHA-256", "ARGON2ID"]


def doveadm(*args, password):
    """doveadm with no configuration at all (-c /dev/null: /etc/dovecot is not read), in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="mailwright-doveadm-") as home:
        return subprocess.run(["doveadm", "-c", "/dev/null", "pw", *args, "-p", password], capture_output=True,
                              text=True, timeout=60, cwd=home, env={**os.environ, "HOME": home})


def doveadm_pw(scheme, password):
    result = doveadm("-s", scheme, password=password)
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("{" + scheme + "}"), line
    return line


def pop3_config(work, extra="", mechanisms='["PLAIN"]'):
    return f"""
[server]
state_dir = "{work}/state"
[auth]
failure_delay = "0s"  # wrong passwords are tried on purpose
[plugin.passwd-file]
file = "{work}/passwd"
{extra}
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[[listener]]
name = "pop3"
service = "pop3"
port = 0
plaintext_auth = true
auth_mechanisms = {mechanisms}
"""


class DovecotPasswd(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-dovecot-")
        self.path = os.path.join(self.work, "passwd")

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def write(self, text):
        with open(self.path, "w") as f:
            f.write(text)

    def start(self, extra="", mechanisms='["PLAIN"]'):
        return Daemon(pop3_config(self.work, extra, mechanisms))

    def login(self, daemon, user, password):
        """POP3 USER/PASS with poplib: True when the server accepted the password."""
        pop = poplib.POP3("127.0.0.1", daemon.ports["pop3"], timeout=10)
        try:
            pop.user(user)
            try:
                pop.pass_(password)
                return True
            except poplib.error_proto:
                return False
        finally:
            try:
                pop.quit()
            except (poplib.error_proto, OSError):
                pop.close()

    def check_config(self, extra=""):
        config = os.path.join(self.work, "m.toml")
        with open(config, "w") as f:
            f.write(pop3_config(self.work, extra))
        return subprocess.run([DAEMON, "--check-config", config], capture_output=True, text=True, timeout=60,
                              cwd=self.work)

    def test_doveadm_hashes_log_in(self):
        users = {scheme.lower(): scheme for scheme in DOVECOT_SCHEMES}
        self.write("".join(f"{user}:{doveadm_pw(scheme, 'pw-' + user)}\n" for user, scheme in users.items()))
        daemon = self.start("allow_plain = true")
        try:
            for user, scheme in users.items():
                with self.subTest(scheme=scheme):
                    self.assertTrue(self.login(daemon, user, f"pw-{user}"), scheme)
                    self.assertFalse(self.login(daemon, user, f"pw-{user}x"), scheme)
            self.assertFalse(self.login(daemon, "nobody", "pw-crypt"))
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_unprefixed_hashes_read_as_default_scheme(self):
        crypt = doveadm_pw("SHA512-CRYPT", "pw-bare")[len("{SHA512-CRYPT}"):]
        ssha = doveadm_pw("SSHA512", "pw-salted")[len("{SSHA512}"):]
        self.write(f"bare:{crypt}:1000:1000::/home/bare::\n")
        daemon = self.start()  # default_scheme = "CRYPT", as Dovecot's passwd-file
        try:
            self.assertTrue(self.login(daemon, "bare", "pw-bare"))
            self.assertFalse(self.login(daemon, "bare", "pw-bar"))
        finally:
            self.assertEqual(daemon.terminate(), 0)
        self.write(f"salted:{ssha}\n")
        daemon = self.start('default_scheme = "SSHA512"')
        try:
            self.assertTrue(self.login(daemon, "salted", "pw-salted"))
            self.assertFalse(self.login(daemon, "salted", "pw-salteD"))
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_plaintext_lines_are_accepted_with_a_warning(self):
        self.write(f"clear:{doveadm_pw('CLEAR', 'pw-clear')}\nplain:{doveadm_pw('PLAIN', 'pw-plain')}\n")
        daemon = self.start()
        try:
            self.assertTrue(self.login(daemon, "clear", "pw-clear"))
            self.assertTrue(self.login(daemon, "plain", "pw-plain"))
            self.assertTrue(daemon.log_contains(r"plugin=passwd-file .*/passwd: 2 users with the password in the "
                                                r"clear"))
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_doveadm_scram_through_gsasl(self):
        self.write(f"scram:{doveadm_pw('SCRAM-SHA-256', 'pw-scram')}:1000:1000::/home/scram::userdb_quota_rule="
                   f"*:storage=1G\n")
        daemon = self.start(mechanisms='["SCRAM-SHA-256"]')
        try:
            for password, expected in (("pw-scram", "+OK"), ("pw-wrong", "-ERR")):
                with daemon.connect("pop3") as c:
                    self.assertTrue(c.line().startswith("+OK"))
                    reply = sasl_exchange(c.send, c.line, "SCRAM-SHA-256", "scram", password)
                    self.assertTrue(reply.startswith(expected), (password, reply))
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_mailwright_lines_pass_doveadm_pw_t(self):
        for args, prefix in (((), "{CRYPT}$y$"), (("--scheme", "YESCRYPT"), "{CRYPT}$y$"),
                             (("--scheme", "SHA512-CRYPT"), "{SHA512-CRYPT}$6$"),
                             (("--scheme", "BLF-CRYPT"), "{BLF-CRYPT}$2b$"),
                             (("--scheme", "ARGON2ID"), "{ARGON2ID}$argon2id$"),
                             (("--scheme", "SCRAM-SHA-256"), "{SCRAM-SHA-256}4096,")):
            with self.subTest(args=args):
                line = passwd_line("u", "pw-mailwright", *args).strip()
                self.assertTrue(line.startswith("u:" + prefix), line)
                stored = line[len("u:"):]
                right = doveadm("-t", stored, password="pw-mailwright")
                self.assertEqual(right.returncode, 0, right.stderr + right.stdout)
                self.assertIn("(verified)", right.stdout + right.stderr)
                wrong = doveadm("-t", stored, password="pw-mailwrighT")
                self.assertNotEqual(wrong.returncode, 0, wrong.stdout)

    def test_old_mailwright_lines_still_log_in(self):
        # {YESCRYPT} and SCRAM keys with colons, as `mailwrightd passwd` wrote them before.
        yes = passwd_line("y", "pw-yes").strip()[len("y:{CRYPT}"):]
        scram = passwd_line("s", "pw-scram", "--scheme", "SCRAM-SHA-256").strip()[len("s:"):].replace(",", ":")
        self.write(f"yes:{{YESCRYPT}}{yes}\nscram:{scram}\n")
        daemon = self.start(mechanisms='["SCRAM-SHA-256", "PLAIN"]')
        try:
            self.assertTrue(self.login(daemon, "yes", "pw-yes"))
            self.assertTrue(self.login(daemon, "scram", "pw-scram"))
            self.assertFalse(self.login(daemon, "scram", "pw-scraM"))
            with daemon.connect("pop3") as c:
                self.assertTrue(c.line().startswith("+OK"))
                reply = sasl_exchange(c.send, c.line, "SCRAM-SHA-256", "scram", "pw-scram")
                self.assertTrue(reply.startswith("+OK"), reply)
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_full_dovecot_format(self):
        sha = doveadm_pw("SHA512-CRYPT", "pw-alice")
        blf = doveadm_pw("BLF-CRYPT", "pw-bob")
        pbkdf2 = doveadm_pw("PBKDF2", "pw-carol")
        self.write("# users, as Dovecot's passwd-file has them\n"
                   f"alice:{sha}:1000:1000::/home/alice::\n"
                   f"bob:{blf}:1001:1001:Bob B:/home/bob:/bin/false:userdb_mail=maildir:~/Maildir "
                   "userdb_quota_rule=*:storage=1G nodelay\n"
                   f"carol:{pbkdf2}:vmail:vmail::/srv/mail/carol:::maildir:~/Maildir\n"
                   f"dave:{doveadm_pw('SSHA256', 'pw-dave')}::::::\n")
        checked = self.check_config()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        daemon = self.start()
        try:
            for user in ("alice", "bob", "carol", "dave"):
                self.assertTrue(self.login(daemon, user, f"pw-{user}"), user)
                self.assertFalse(self.login(daemon, user, f"pw-{user}!"), user)
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_lines_that_cannot_work_are_named(self):
        good = doveadm_pw("SHA512-CRYPT", "pw-good")
        self.write(f"good:{good}:1000:1000::/home/good::\n"
                   "# a comment\n"
                   f"open::1000:1000::/home/open::nopassword\n"
                   f"netted:{good}:1000:1000::/home/netted::allow_nets=192.0.2.0/24\n"
                   f"cut:{good[:40]}:1000:1000::/home/cut::\n"
                   f"proxied:{good}:::::: proxy host=192.0.2.1\n"
                   f"odd:{{SHA1.HEX}}abcdef\n"
                   f"good:{good}\n")
        expected = [(3, "extra field nopassword"), (4, "extra field allow_nets"), (5, "the hash is cut short or damaged"),
                    (6, "extra field proxy"), (7, "unknown password scheme {SHA1.HEX}"),
                    (8, "user 'good' appears twice")]
        checked = self.check_config()
        self.assertEqual(checked.returncode, 2)
        self.assertEqual(checked.stdout, "")
        for number, why in expected:
            self.assertIn(f"{self.path}:{number}: {why}", checked.stderr)
        self.assertNotIn(f"{self.path}:1:", checked.stderr)
        started = subprocess.run([DAEMON, "--config", os.path.join(self.work, "m.toml")], capture_output=True,
                                 text=True, timeout=60, cwd=self.work)
        self.assertNotEqual(started.returncode, 0)
        for number, why in expected:
            self.assertIn(f"{self.path}:{number}: {why}", started.stderr)

    def test_a_bad_default_scheme_is_a_config_error(self):
        self.write(f"good:{doveadm_pw('SHA512-CRYPT', 'pw-good')}\n")
        checked = self.check_config('default_scheme = "ROT13"')
        self.assertEqual(checked.returncode, 2)
        self.assertIn("default_scheme", checked.stderr)


if __name__ == "__main__":
    unittest.main()
