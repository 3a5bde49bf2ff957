"""The pam auth plugin (auth/pam) in the real daemon, against Linux-PAM with a service file of the test's own in a
temporary confdir (pam_start_confdir): pam_userdb over a Berkeley DB the test makes with db5.3_load, holding
SHA-512 crypt hashes from `openssl passwd -6`, so no system account is made and nothing under /etc is touched.
poplib (USER/PASS, AUTH PLAIN) and smtplib (AUTH PLAIN and LOGIN on a submission listener) log in; a wrong
password, an unknown user and a locked account hear the same words; only PLAIN and LOGIN are offered, as PAM
keeps no secrets for CRAM-MD5 or SCRAM; a broken stack is a temporary failure."""
import base64
import grp
import os
import poplib
import shutil
import smtplib
import subprocess
import tempfile
import threading
import time
import unittest

from daemon import DAEMON, start_in, stop_in

MODULE_DIRS = ("/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security")
MECHANISMS = '["SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"]'
USERS = {"alice": "pw-alice", "carol": "pw-carol"}  # carol's account is locked (pam_succeed_if in `account`)


def crypt_hash(password):
    result = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n", capture_output=True,
                            text=True, timeout=30, check=True)
    return result.stdout.strip()


def make_pam_work(test):
    """A directory with users.db (pam_userdb's, in the format of the libdb it links) and pam.d/ holding the
    services "mailwright-test" (pam_userdb, carol locked) and "broken" (a module that does not exist)."""
    if not any(os.path.exists(os.path.join(d, "pam_userdb.so")) for d in MODULE_DIRS):
        test.skipTest("pam_userdb.so is not installed (Debian package libpam-modules)")
    if shutil.which("db5.3_load") is None:
        test.skipTest("db5.3_load is not installed (Debian package db5.3-util; scripts/install-deps)")
    work = tempfile.mkdtemp(prefix="mailwright-pam-")
    pairs = "".join(f"{user}\n{crypt_hash(password)}\n" for user, password in USERS.items())
    subprocess.run(["db5.3_load", "-T", "-t", "hash", os.path.join(work, "users.db")], input=pairs, text=True,
                   timeout=30, check=True)
    os.makedirs(os.path.join(work, "pam.d"))
    userdb = f"pam_userdb.so db={work}/users crypt=crypt"  # pam_userdb adds the ".db"
    with open(os.path.join(work, "pam.d", "mailwright-test"), "w") as f:
        f.write(f"auth required {userdb}\n"
                "account required pam_succeed_if.so quiet user notin carol\n"
                f"account required {userdb}\n")
    with open(os.path.join(work, "pam.d", "broken"), "w") as f:
        f.write("auth required pam_no_such_module.so\naccount required pam_permit.so\n")
    return work


def config(work, service="mailwright-test", pam_extra="", server=""):
    return f"""
[server]
state_dir = "{work}/state"
{server}
[log]
level = "debug"
[auth]
failure_delay = "100ms"
failure_delay_max = "100ms"
[plugin.pam]
service = "{service}"
confdir = "{work}/pam.d"
{pam_extra}
[plugin.maildir]
path = "{work}/mail/%u/Maildir"

[[listener]]
name = "pop3"
service = "pop3"
port = 0
plaintext_auth = true
max_auth_failures = 20
auth_mechanisms = {MECHANISMS}

[[listener]]
name = "submission"
service = "smtp"
port = 0
plaintext_auth = true
max_auth_failures = 20
auth_mechanisms = {MECHANISMS}
[listener.smtp]
role = "submission"
local_domains = ["example.org"]

[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]
"""


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


class Pam(unittest.TestCase):
    def setUp(self):
        self.work = make_pam_work(self)
        # Eight checks may be pending at once (test_logins_at_once): none is turned away for being too many.
        self.daemon = start_in(self.work, config(self.work, pam_extra="max_pending = 8"))

    def tearDown(self):
        self.assertEqual(stop_in(self.work, self.daemon), 0)

    def pop3(self):
        return poplib.POP3("127.0.0.1", self.daemon.ports["pop3"], timeout=10)

    def submission(self):
        smtp = smtplib.SMTP("127.0.0.1", self.daemon.ports["submission"], local_hostname="client.example",
                            timeout=10)
        smtp.ehlo()
        return smtp

    def test_pop3_user_pass_and_sasl_plain(self):
        pop = self.pop3()
        pop.user("alice")
        self.assertTrue(pop.pass_("pw-alice").startswith(b"+OK alice has "))
        self.assertEqual(pop.stat(), (0, 0))
        pop.quit()
        pop = self.pop3()
        self.assertTrue(pop._shortcmd("AUTH PLAIN " + plain("alice", "pw-alice")).startswith(b"+OK"))
        self.assertEqual(pop.stat(), (0, 0))
        pop.quit()

    def test_logins_at_once(self):
        # Checks run side by side on the blocking pool, each with its own PAM handle (the sanitizer lanes watch).
        # Over submission: POP3 would lock alice's maildrop for the first session.
        codes = []

        def login(password):
            smtp = self.submission()
            smtp.user, smtp.password = "alice", password
            try:
                codes.append(smtp.auth("PLAIN", smtp.auth_plain)[0])
            except smtplib.SMTPAuthenticationError as refused:
                codes.append(refused.smtp_code)
            smtp.quit()

        threads = [threading.Thread(target=login, args=("pw-alice" if i % 2 else "wrong",)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(sorted(codes), [235] * 4 + [535] * 4)

    def test_smtp_auth_plain_and_login(self):
        for mechanism in ("PLAIN", "LOGIN"):
            smtp = self.submission()
            smtp.user, smtp.password = "alice", "pw-alice"
            code, _ = smtp.auth(mechanism, smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login)
            self.assertEqual(code, 235, mechanism)
            self.assertEqual(smtp.mail("alice@example.org")[0], 250)  # the user's own address, after AUTH
            smtp.quit()

    def test_only_plain_and_login_are_offered(self):
        # CRAM-MD5 and SCRAM need stored secrets, which PAM does not give out: configured, but not offered.
        pop = self.pop3()
        sasl = [line for line in pop.capa().items() if line[0] == "SASL"]
        self.assertEqual(sasl, [("SASL", ["PLAIN", "LOGIN"])])
        pop.quit()
        smtp = self.submission()
        self.assertEqual(smtp.esmtp_features.get("auth", "").split(), ["PLAIN", "LOGIN"])
        self.assertEqual(smtp.docmd("AUTH", "CRAM-MD5")[0], 504)
        smtp.quit()

    def test_wrong_password_unknown_user_and_locked_account_hear_the_same(self):
        attempts = (("alice", "wrong"), ("nosuchuser", "pw-alice"), ("carol", "pw-carol"), ("al\x01ice", "pw-alice"))
        pop = self.pop3()
        for user, password in attempts[:3]:
            pop.user(user)
            with self.assertRaises(poplib.error_proto) as refused:
                pop.pass_(password)
            self.assertEqual(str(refused.exception), "b'-ERR [AUTH] authentication failed'", user)
        for user, password in attempts:
            with self.assertRaises(poplib.error_proto) as refused:
                pop._shortcmd("AUTH PLAIN " + plain(user, password))
            self.assertEqual(str(refused.exception), "b'-ERR [AUTH] authentication failed'", repr(user))
        pop.quit()
        smtp = self.submission()
        for user, password in attempts:
            for mechanism in ("PLAIN", "LOGIN"):
                smtp.user, smtp.password = user, password
                with self.assertRaises(smtplib.SMTPAuthenticationError) as refused:
                    smtp.auth(mechanism, smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login)
                self.assertEqual((refused.exception.smtp_code, refused.exception.smtp_error),
                                 (535, b"5.7.8 Authentication credentials invalid"), (repr(user), mechanism))
        smtp.quit()
        for mechanism, listener, user in (("USER", "pop3", "alice"), ("USER", "pop3", "nosuchuser"),
                                          ("USER", "pop3", "carol"), ("PLAIN", "pop3", "carol"),
                                          ("PLAIN", "submission", "nosuchuser"), ("LOGIN", "submission", "alice")):
            self.assertTrue(self.daemon.log_contains(
                rf"authentication failed client=127\.0\.0\.1 mechanism={mechanism} listener={listener} user={user}$"),
                (mechanism, listener, user))
        # Nobody got in: the right password of a locked account is refused by pam_acct_mgmt. Only the log says
        # which step refused (plugin=pam's debug lines); a control character never reaches PAM.
        for step, user in (("pam_acct_mgmt: .*", "carol"), ("pam_authenticate: User not .*", "nosuchuser"),
                           ("pam_authenticate: Authentication failure", "alice")):
            self.assertTrue(self.daemon.log_contains(rf"plugin=pam refused: {step} user={user}$"), user)
        self.assertTrue(self.daemon.log_contains(r"authentication failed .* user=al\\x01ice$"))
        self.assertFalse(self.daemon.log_contains(r"plugin=pam .*user=al\\x01ice", timeout=0.2))
        self.assertFalse(self.daemon.log_contains(r"(logged in|authenticated) as carol", timeout=0.2))

    def test_recipients_are_not_looked_up_by_default(self):
        # lookup = "none": PAM cannot tell whether a user exists, so no local recipient is known.
        smtp = smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], local_hostname="client.example", timeout=10)
        smtp.ehlo()
        smtp.mail("someone@elsewhere.example")
        self.assertEqual(smtp.rcpt("alice@example.org")[0], 550)
        smtp.quit()


class Settings(unittest.TestCase):
    def setUp(self):
        self.work = make_pam_work(self)

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def test_a_broken_stack_is_a_temporary_failure(self):
        daemon = start_in(self.work, config(self.work, service="broken"))
        try:
            pop = poplib.POP3("127.0.0.1", daemon.ports["pop3"], timeout=10)
            pop.user("alice")
            with self.assertRaises(poplib.error_proto) as refused:
                pop.pass_("pw-alice")
            self.assertTrue(str(refused.exception).startswith("b'-ERR [SYS/TEMP] "), str(refused.exception))
            pop.quit()
            smtp = smtplib.SMTP("127.0.0.1", daemon.ports["submission"], local_hostname="client.example", timeout=10)
            smtp.ehlo()
            smtp.user, smtp.password = "alice", "pw-alice"
            with self.assertRaises(smtplib.SMTPAuthenticationError) as refused:
                smtp.auth("PLAIN", smtp.auth_plain)
            self.assertEqual(refused.exception.smtp_code, 454)
            smtp.quit()
            self.assertTrue(daemon.log_contains(r"plugin=pam cannot decide: pam_authenticate: .* user=alice$"))
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_checks_beyond_max_pending_are_a_temporary_failure(self):
        # A stack that holds the PAM transaction for 3 s (pam_exec of a script that says when it started).
        started = os.path.join(self.work, "started")
        script = os.path.join(self.work, "slow.sh")
        with open(script, "w") as f:
            f.write(f"#!/bin/sh\ntouch {started}\nsleep 3\n")
        os.chmod(script, 0o755)
        with open(os.path.join(self.work, "pam.d", "slow"), "w") as f:
            f.write(f"auth required pam_exec.so quiet {script}\n"
                    f"auth required pam_userdb.so db={self.work}/users crypt=crypt\n"
                    "account required pam_permit.so\n")
        daemon = start_in(self.work, config(self.work, service="slow", pam_extra="max_pending = 1"))
        try:
            first = []

            def login():
                pop = poplib.POP3("127.0.0.1", daemon.ports["pop3"], timeout=20)
                pop.user("alice")
                first.append(pop.pass_("pw-alice"))
                pop.quit()

            thread = threading.Thread(target=login)
            thread.start()
            for _ in range(200):
                if os.path.exists(started):
                    break
                time.sleep(0.05)
            self.assertTrue(os.path.exists(started))
            smtp = smtplib.SMTP("127.0.0.1", daemon.ports["submission"], local_hostname="client.example", timeout=10)
            smtp.ehlo()
            smtp.user, smtp.password = "alice", "pw-alice"
            with self.assertRaises(smtplib.SMTPAuthenticationError) as refused:
                smtp.auth("PLAIN", smtp.auth_plain)
            self.assertEqual(refused.exception.smtp_code, 454)
            smtp.quit()
            thread.join(30)
            self.assertTrue(first and first[0].startswith(b"+OK alice has "), first)  # the first one got in
            self.assertTrue(daemon.log_contains(r"plugin=pam max_pending = 1 checks are pending already: "))
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_lookup_passwd_knows_accounts_in_the_uid_range(self):
        # root is uid 0 everywhere; with min_uid = max_uid = 0 it is the one account that receives mail.
        daemon = start_in(self.work, config(self.work, pam_extra='lookup = "passwd"\nmin_uid = 0\nmax_uid = 0'))
        try:
            smtp = smtplib.SMTP("127.0.0.1", daemon.ports["mx"], local_hostname="client.example", timeout=10)
            smtp.ehlo()
            smtp.mail("someone@elsewhere.example")
            for user, code in (("root", 250), ("nobody", 550), ("nosuchuser", 550)):
                self.assertEqual(smtp.rcpt(f"{user}@example.org")[0], code, user)
            smtp.quit()
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_bad_settings_are_refused(self):
        for extra, expected in (('confdir = "relative/pam.d"', "confdir"), ('lookup = "ldap"', "lookup"),
                                ('service = "../passwd"', "service"), ("min_uid = 10\nmax_uid = 5", "max_uid"),
                                ("max_pending = 0", "max_pending")):
            path = os.path.join(self.work, "m.toml")
            with open(path, "w") as f:
                f.write(config(self.work).replace('[plugin.pam]\n', f"[plugin.pam]\n{extra}\n", 1)
                        .replace(f'confdir = "{self.work}/pam.d"\n', "", 1 if "confdir" in extra else 0))
            result = subprocess.run([DAEMON, "--check-config", path], capture_output=True, text=True, timeout=30,
                                    cwd=self.work)
            self.assertEqual(result.returncode, 2, extra)
            self.assertIn(expected, result.stderr, extra)


@unittest.skipUnless(os.geteuid() == 0, "needs root: the daemon must start as root to change user")
class UnprivilegedPamUnix(unittest.TestCase):
    """pam_unix in a daemon that runs as nobody ([server] user): unix_chkpwd checks only the password of the
    user who runs it, so without group shadow no system account can be checked; with it they can. The account
    tried is daemon (uid 1, on every Debian system, no password: `*`), with a wrong password only. (pam_unix
    answers a plain failure for root itself, so root would prove nothing here.)"""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-pam-unix-")
        os.chmod(self.work, 0o711)  # nobody must reach pam.d
        os.makedirs(os.path.join(self.work, "pam.d"), mode=0o755)
        with open(os.path.join(self.work, "pam.d", "unix"), "w") as f:
            f.write("auth required pam_unix.so\naccount required pam_unix.so\n")
        os.chmod(os.path.join(self.work, "pam.d", "unix"), 0o644)

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def start(self, group):
        return start_in(self.work, config(self.work, service="unix", server=f'user = "nobody"\n{group}'))

    def pass_reply(self, daemon, user):
        pop = poplib.POP3("127.0.0.1", daemon.ports["pop3"], timeout=10)
        pop.user(user)
        with self.assertRaises(poplib.error_proto) as refused:
            pop.pass_("not-the-password")
        pop.quit()
        return str(refused.exception)

    def test_without_group_shadow_a_system_account_cannot_be_checked(self):
        daemon = self.start("")
        try:
            self.assertTrue(daemon.log_contains(r"plugin=pam .*/pam.d/unix uses pam_unix, which cannot check other "
                                                r"users' passwords without reading /etc/shadow"))
            # PAM_AUTHINFO_UNAVAIL: cannot tell now. An unknown name pam_unix still refuses (PAM_USER_UNKNOWN).
            self.assertTrue(self.pass_reply(daemon, "daemon").startswith("b'-ERR [SYS/TEMP] "))
            self.assertTrue(daemon.log_contains(r"plugin=pam cannot decide: pam_authenticate: .*"
                                                r"may the daemon's user read /etc/shadow\?\) user=daemon$"))
            self.assertEqual(self.pass_reply(daemon, "nosuchuser"), "b'-ERR [AUTH] authentication failed'")
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_with_group_shadow_a_wrong_password_is_refused(self):
        if "shadow" not in [g.gr_name for g in grp.getgrall()]:
            self.skipTest("this system has no group shadow")
        daemon = self.start('group = "shadow"')
        try:
            for user in ("daemon", "nosuchuser"):
                self.assertEqual(self.pass_reply(daemon, user), "b'-ERR [AUTH] authentication failed'", user)
            self.assertFalse(daemon.log_contains(r"uses pam_unix, which cannot check", timeout=0.2))
        finally:
            self.assertEqual(daemon.terminate(), 0)


if __name__ == "__main__":
    unittest.main()
