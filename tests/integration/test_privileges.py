"""[server] user and group: started as root, mailwrightd binds its ports and reads its TLS key (in a directory
only root may enter), then becomes the user for good. Checked from outside: every id in /proc/PID/status of
every thread, no capability left, the owner of the files of a message delivered with smtplib and of state_dir,
and that the daemon still serves SMTP and TLS. And the refusals: an unknown user or group (at start and by
--check-config), a start as another user that is not root; a start as the configured user changes nothing.
And the systemd unit's CapabilityBoundingSet is enough for two starts, and CAP_CHOWN in it is needed.

The account is nobody/nogroup, which every Debian system has: what is checked needs no other."""
import grp
import os
import pwd
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from certs import make_all
from daemon import DAEMON, Daemon, echo_config, insecure_context

USER = "nobody"
NOBODY = pwd.getpwnam(USER)
GROUP = grp.getgrgid(NOBODY.pw_gid).gr_name
NO_SUCH_USER = "mailwright-no-such-user"


def as_root_only(test):
    return unittest.skipUnless(os.geteuid() == 0, "needs root: the daemon must start as root to change user")(test)


def ids_of(pid):
    """{"Uid": [...], "Gid": [...], "Groups": [...], "CapEff": ...} of every thread of `pid`."""
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        threads[tid] = {key: fields[key].split() for key in ("Uid", "Gid", "Groups", "CapPrm", "CapEff", "CapAmb")}
    return threads


def run_daemon(*args, **kwargs):
    return subprocess.run([DAEMON, *args], capture_output=True, text=True, timeout=60, **kwargs)


@as_root_only
class DropToUser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The work directory may be entered by the user (0711), but the TLS key lies in one only root may
        # enter: the daemon must read it before it changes user.
        cls.work = tempfile.mkdtemp(prefix="mailwright-privileges-")
        os.chmod(cls.work, 0o711)
        cls.keys = os.path.join(cls.work, "keys")
        os.mkdir(cls.keys, 0o700)
        make_all(cls.keys)
        cls.state = os.path.join(cls.work, "state")
        passwd = os.path.join(cls.work, "passwd")
        made = subprocess.run([DAEMON, "passwd", "bob"], input="pw-bob", capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        with open(passwd, "w") as f:
            f.write(made.stdout)
        os.chmod(passwd, 0o644)
        cls.daemon = Daemon(f"""
[server]
workers = 2
user = "{USER}"
state_dir = "{cls.state}"
[tls]
certificate = "{cls.keys}/one.pem"
key = "{cls.keys}/one.key"
[plugin.passwd-file]
file = "{passwd}"
[plugin.maildir]
path = "{cls.state}/mail/%u/Maildir"
[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
role = "mx"
local_domains = ["example.org"]
[[listener]]
name = "echo-tls"
service = "echo"
port = 0
tls = "implicit"
""")

    @classmethod
    def tearDownClass(cls):
        time.sleep(0.2)  # let the blocking pool go idle (see test_pop3.py)
        code = cls.daemon.terminate()
        shutil.rmtree(cls.work, ignore_errors=True)
        assert code == 0, f"mailwrightd exited with {code}"

    def test_every_thread_has_the_users_ids_and_no_capability(self):
        uid, gid = str(NOBODY.pw_uid), str(NOBODY.pw_gid)
        groups = sorted(str(g) for g in os.getgrouplist(USER, NOBODY.pw_gid))
        threads = ids_of(self.daemon.proc.pid)
        self.assertGreaterEqual(len(threads), 3)  # the control thread and two workers at least
        for tid, ids in threads.items():
            with self.subTest(thread=tid):
                self.assertEqual(ids["Uid"], [uid] * 4)  # real, effective, saved, file system
                self.assertEqual(ids["Gid"], [gid] * 4)
                self.assertEqual(sorted(ids["Groups"]), groups)  # root's supplementary groups are gone
                for cap in ("CapPrm", "CapEff", "CapAmb"):
                    self.assertEqual(int(ids[cap][0], 16), 0, cap)

    def test_the_log_says_so_once(self):
        self.assertTrue(self.daemon.log_contains(
            rf"running as user={USER} uid={NOBODY.pw_uid} group={GROUP} gid={NOBODY.pw_gid} "))
        self.assertFalse(any("running as root" in line for line in self.daemon.lines))

    def test_delivered_mail_and_state_belong_to_the_user(self):
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], timeout=10) as mx:
            self.assertEqual(mx.sendmail("alice@sender.example", ["bob@example.org"],
                                         b"Subject: owned\r\n\r\nwho owns me?\r\n"), {})
        maildir = os.path.join(self.state, "mail", "bob", "Maildir")
        new = os.path.join(maildir, "new")
        files = os.listdir(new)
        self.assertEqual(len(files), 1)
        for path in (self.state, os.path.join(self.state, "scram-stand-in.key"), os.path.join(self.state, "mail"),
                     maildir, new, os.path.join(maildir, "cur"), os.path.join(maildir, "tmp"),
                     os.path.join(new, files[0])):
            with self.subTest(path=path):
                st = os.lstat(path)
                self.assertEqual((st.st_uid, st.st_gid), (NOBODY.pw_uid, NOBODY.pw_gid))

    def test_tls_still_served_with_the_key_root_read(self):
        with socket.create_connection(("127.0.0.1", self.daemon.ports["echo-tls"]), timeout=10) as raw:
            with insecure_context().wrap_socket(raw, server_hostname="one.test") as tls:
                self.assertTrue(tls.recv(100).startswith(b"220 "))
                self.assertEqual(tls.getpeercert(binary_form=True),
                                 ssl.PEM_cert_to_DER_cert(open(os.path.join(self.keys, "one.pem")).read()))


def unit_capabilities():
    """CapabilityBoundingSet of contrib/systemd/mailwright.service, as setpriv(1) names them."""
    unit = os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "systemd", "mailwright.service")
    with open(unit) as f:
        m = re.search(r"^CapabilityBoundingSet=(.*)$", f.read(), re.M)
    return [cap.lower().removeprefix("cap_") for cap in m.group(1).split()]


@as_root_only
@unittest.skipUnless(shutil.which("setpriv"), "no setpriv (util-linux)")
class UnitCapabilities(unittest.TestCase):
    """Root with only the unit's capabilities (setpriv --bounding-set, as systemd's CapabilityBoundingSet): a
    first start gives state_dir to the user, a second one finds it the user's (mode 0700, where root without
    CAP_DAC_* may not look) and starts as well; without CAP_CHOWN the first cannot."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-privileges-")
        os.chmod(self.work, 0o711)
        self.addCleanup(shutil.rmtree, self.work, True)
        self.config = os.path.join(self.work, "mailwright.toml")
        with open(self.config, "w") as f:
            f.write(echo_config(server=f'state_dir = "{self.work}/state"\nuser = "{USER}"'))

    def start(self, capabilities):
        bounding = ",".join(["-all"] + [f"+{cap}" for cap in capabilities])
        proc = subprocess.Popen(["setpriv", f"--bounding-set={bounding}", DAEMON, "--config", self.config],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        lines = []
        for _ in range(50):
            line = proc.stderr.readline()
            lines.append(line)
            if not line or "listening listener=echo" in line:
                break
        if proc.poll() is None:
            proc.terminate()
        code = proc.wait(30)
        lines += proc.stderr.readlines()
        proc.stderr.close()
        return code, "".join(lines)

    def test_two_starts_with_the_units_capabilities(self):
        capabilities = unit_capabilities()
        self.assertEqual(capabilities, ["net_bind_service", "setuid", "setgid", "chown"])
        for start in ("first", "second"):
            with self.subTest(start=start):
                code, log = self.start(capabilities)
                self.assertEqual(code, 0, log)
                self.assertIn(f"running as user={USER} ", log)
                self.assertIn("listening listener=echo", log)
        st = os.stat(os.path.join(self.work, "state", "scram-stand-in.key"))
        self.assertEqual(st.st_uid, NOBODY.pw_uid)

    def test_without_cap_chown_state_dir_cannot_be_given(self):
        code, log = self.start([cap for cap in unit_capabilities() if cap != "chown"])
        self.assertNotEqual(code, 0)
        self.assertIn(f"giving state_dir {self.work}/state to user {USER}: Operation not permitted", log)


@as_root_only
class Refusals(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-privileges-")
        os.chmod(self.work, 0o711)
        self.addCleanup(shutil.rmtree, self.work, True)

    def config(self, server):
        path = os.path.join(self.work, "mailwright.toml")
        with open(path, "w") as f:
            f.write(echo_config(server=f'state_dir = "{self.work}/state"\n{server}'))
        os.chmod(path, 0o644)
        return path

    def test_an_unknown_user_is_refused_at_start_and_by_check_config(self):
        config = self.config(f'user = "{NO_SUCH_USER}"')
        message = f'[server] user "{NO_SUCH_USER}": no such user on this system'
        started = run_daemon("--config", config)
        self.assertNotEqual(started.returncode, 0)
        self.assertIn(message, started.stderr)
        self.assertNotIn("listening", started.stderr)  # it never served
        checked = run_daemon("--check-config", config)
        self.assertEqual(checked.returncode, 2)
        self.assertIn(f"{config}: {message}", checked.stderr)
        self.assertEqual(checked.stdout, "")

    def test_an_unknown_group_is_refused(self):
        config = self.config(f'user = "{USER}"\ngroup = "mailwright-no-such-group"')
        for args in (["--config", config], ["--check-config", config]):
            with self.subTest(args=args[0]):
                result = run_daemon(*args)
                self.assertNotEqual(result.returncode, 0)
                self.assertIn('[server] group "mailwright-no-such-group": no such group', result.stderr)

    def test_a_start_as_another_user_cannot_change_user(self):
        config = self.config('user = "root"')
        result = run_daemon("--config", config, user=NOBODY.pw_uid, group=NOBODY.pw_gid, extra_groups=[])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('[server] user is "root" (uid 0', result.stderr)
        self.assertIn(f"was started as uid {NOBODY.pw_uid} gid {NOBODY.pw_gid}, not as root: only root can change "
                      "to another account", result.stderr)

    def test_naming_the_user_it_runs_as_changes_nothing(self):
        os.mkdir(os.path.join(self.work, "state"))
        os.chown(os.path.join(self.work, "state"), NOBODY.pw_uid, NOBODY.pw_gid)
        config = self.config(f'user = "{USER}"')
        proc = subprocess.Popen([DAEMON, "--config", config], user=NOBODY.pw_uid, group=NOBODY.pw_gid,
                                extra_groups=[], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            lines = []
            for _ in range(50):
                line = proc.stderr.readline()
                lines.append(line)
                if not line or "listening listener=echo" in line:
                    break
            log = "".join(lines)
            self.assertIn("listening listener=echo", log)
            self.assertNotIn("running as", log)  # no change, and no warning: it is not root
            self.assertEqual(ids_of(proc.pid)[str(proc.pid)]["Uid"], [str(NOBODY.pw_uid)] * 4)
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(30), 0)
            proc.stderr.close()

    def test_root_without_user_is_warned_about_once(self):
        daemon = Daemon(echo_config())
        try:
            warnings = [line for line in daemon.lines if "running as root" in line]
            self.assertEqual(len(warnings), 1, "\n".join(daemon.lines))
            self.assertRegex(warnings[0], r" warn(ing)? running as root: .*set \[server\] user")
        finally:
            self.assertEqual(daemon.terminate(), 0)


if __name__ == "__main__":
    unittest.main()
