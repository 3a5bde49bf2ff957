"""The installed layout. With no --config mailwrightd reads SYSCONFDIR/mailwright/mailwright.toml (the path
`--help` names, fixed at build time), and with --demo its built-in demonstration; with neither and no such
file it refuses to start and creates nothing (it used to serve the demo with its state in the working
directory: /var/passwd under systemd). Every path in a file there must be absolute: --check-config and a
start report each relative one with file:line:column. Those checks put the file at the real installed path
inside a private mount namespace (a tmpfs over SYSCONFDIR/mailwright or SYSCONFDIR), so the system's own
directories are never touched.

The example production configuration (examples/mailwrightd/mailwright.toml.example) passes --check-config
once the files it names exist. A test machine has neither Let's Encrypt's certificate, nor
/etc/mailwright/passwd, nor (usually) the user mailwright, and --check-config loads the certificates, so the
example is checked twice, honestly: as shipped, where the only error must be one of those missing things;
and as a copy with those paths pointing at generated files (and the user at nobody when mailwright does not
exist), where it must be valid, also from the installed location."""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from certs import make_all
from daemon import DAEMON, LISTENING

SOURCE = os.path.join(os.path.dirname(__file__), "..", "..")
EXAMPLE = os.path.abspath(os.path.join(SOURCE, "examples", "mailwrightd", "mailwright.toml.example"))


def installed_config():
    """The default configuration file, as `mailwrightd --help` names it."""
    text = subprocess.run([DAEMON, "--help"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"--config\s.*\(default: (\S+)\)", text)
    assert m, text
    return m.group(1)


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def mount_point(config_dir):
    """Where a tmpfs may stand in for the installed configuration directory: the directory itself, or
    SYSCONFDIR unless it is /etc (which the daemon needs for the user database). None when neither exists."""
    if os.path.isdir(config_dir):
        return config_dir
    sysconfdir = os.path.dirname(config_dir)
    if os.path.isdir(sysconfdir) and os.path.realpath(sysconfdir) != "/etc":
        return sysconfdir
    return None


def can_mount(target):
    if target is None or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount -t tmpfs none "$0"',
                            target], capture_output=True, timeout=30)
    return probe.returncode == 0


class Example(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-layout-")
        self.addCleanup(shutil.rmtree, self.work, True)

    def test_as_shipped_only_what_this_machine_lacks_is_wrong(self):
        result = subprocess.run([DAEMON, "--check-config", EXAMPLE], capture_output=True, text=True, timeout=60,
                                cwd=self.work)
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        last = result.stderr.strip().splitlines()[-1]
        if not user_exists("mailwright"):
            self.assertEqual(last, f'{EXAMPLE}: [server] user "mailwright": no such user on this system (make one: '
                                   "useradd --system --no-create-home --shell /usr/sbin/nologin mailwright)")
        else:
            self.assertRegex(last, r"/etc/mailwright/passwd|/etc/letsencrypt/live/mail\.example\.org/")
        self.assertEqual(os.listdir(self.work), [])

    def test_with_its_files_present_it_is_valid(self):
        result = subprocess.run([DAEMON, "--check-config", example_copy(self.work)], capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("configuration is valid", result.stdout)


def example_copy(work):
    """The example with its files made under `work`: certificate and key (generated), the passwd file."""
    certs = os.path.join(work, "certs")
    os.makedirs(certs, exist_ok=True)
    make_all(certs)
    passwd = os.path.join(work, "passwd")
    made = subprocess.run([DAEMON, "passwd", "alice"], input="pw-alice", capture_output=True, text=True,
                          timeout=60, check=True)
    with open(passwd, "w") as f:
        f.write(made.stdout)
    with open(EXAMPLE) as f:
        text = f.read()
    for old, new in (("/etc/letsencrypt/live/mail.example.org/fullchain.pem", f"{certs}/one.pem"),
                     ("/etc/letsencrypt/live/mail.example.org/privkey.pem", f"{certs}/one.key"),
                     ("/etc/mailwright/passwd", passwd), ("/var/lib/mailwright", f"{work}/var")):
        assert old in text, old
        text = text.replace(old, new)
    if not user_exists("mailwright"):
        text = text.replace('user = "mailwright"', 'user = "nobody"')
    path = os.path.join(work, "example.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


class DefaultConfiguration(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-layout-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.installed = installed_config()

    def test_no_file_and_no_demo_is_refused_and_creates_nothing(self):
        if os.path.exists(self.installed):
            self.skipTest(f"{self.installed} exists on this machine")
        result = subprocess.run([DAEMON], capture_output=True, text=True, timeout=30, cwd=self.work)
        self.assertEqual(result.returncode, 2)
        self.assertIn(f"mailwrightd: no configuration: {self.installed} does not exist", result.stderr)
        self.assertIn("--demo", result.stderr)
        self.assertEqual(os.listdir(self.work), [])  # no ./var: the demo did not start in its place


class InstalledLocation(unittest.TestCase):
    """The file at the installed path, in a private mount namespace."""

    @classmethod
    def setUpClass(cls):
        cls.installed = installed_config()
        cls.target = mount_point(os.path.dirname(cls.installed))
        if not can_mount(cls.target):
            raise unittest.SkipTest(f"cannot mount a tmpfs for {os.path.dirname(cls.installed)} here (needs root "
                                    "and a private mount namespace, and an existing SYSCONFDIR other than /etc)")

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-layout-")
        self.addCleanup(shutil.rmtree, self.work, True)

    def installed_run(self, source, *args, popen=False):
        """mailwrightd with `source` as the installed configuration, seen only by it."""
        command = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                   'mount -t tmpfs none "$1" && mkdir -p "$2" && cp "$3" "$4" && shift 4 && exec "$@"', "sh",
                   self.target, os.path.dirname(self.installed), source, self.installed, DAEMON, *args]
        if popen:
            return subprocess.Popen(command, cwd=self.work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
        return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=self.work)

    def write(self, text):
        path = os.path.join(self.work, "source.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_the_example_with_absolute_paths_is_valid_there(self):
        result = self.installed_run(example_copy(self.work), "--check-config", self.installed)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(result.stdout, f"{self.installed}: configuration is valid\n")

    def test_relative_paths_are_refused_with_their_place(self):
        source = self.write('[server]\nstate_dir = "var"\n[tls]\ncertificate = "tls/cert.pem"\n'
                            'key = "/etc/mailwright/key.pem"\n[[listener]]\nname = "e"\nservice = "echo"\nport = 0\n')
        expected = [f"{self.installed}:2:13: 'state_dir' in [server] must be an absolute path in an installed "
                    "configuration, not \"var\"",
                    f"{self.installed}:4:15: 'certificate' in [tls] must be an absolute path in an installed "
                    "configuration, not \"tls/cert.pem\""]
        for args in (["--check-config", self.installed], []):  # checked, and started with no --config
            with self.subTest(args=args):
                result = self.installed_run(source, *args)
                self.assertEqual(result.returncode, 2, result.stderr)
                for line in expected:
                    self.assertIn(line, result.stderr)
                self.assertEqual(os.listdir(self.work), ["source.toml"])  # no ./var

    def test_started_without_config_it_serves_the_installed_file(self):
        source = self.write(f'[server]\nworkers = 1\nstate_dir = "{self.work}/state"\n'
                            '[[listener]]\nname = "e"\nservice = "echo"\nport = 0\n')
        proc = self.installed_run(source, popen=True)
        try:
            lines = []
            for _ in range(50):
                line = proc.stderr.readline()
                lines.append(line)
                if not line or "listening listener=e " in line:
                    break
            log = "".join(lines)
            self.assertIn(f"starting with {self.installed}", log)
            port = int(LISTENING.search(log).group(3))
            with socket.create_connection(("127.0.0.1", port), timeout=10) as echo:  # it serves that file
                replies = echo.makefile("rb")
                self.assertEqual(replies.readline(), b"220 mailwright echo ready\r\n")
                echo.sendall(b"installed\r\n")
                self.assertEqual(replies.readline(), b"250 installed\r\n")
        finally:
            # ThreadSanitizer's runtime can drop a SIGTERM that arrives in the first moments after start-up
            # (about one start in five on a loaded machine in the TSan lane; never in the release build); the
            # daemon itself handles it from the moment it says "listening". stop_in in daemon.py waits too.
            time.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(30), 0)
            proc.stderr.close()


if __name__ == "__main__":
    unittest.main()
