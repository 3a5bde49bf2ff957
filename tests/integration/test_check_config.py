"""mailwrightd --check-config as a script uses it: nothing created or changed, nothing on stdout but the verdict,
and each mistake in a plugin's table or library reported once, first, where it stands (issue 24, items 2-4)."""
import hashlib
import os
import re
import subprocess
import tempfile
import unittest

from daemon import DAEMON

# An error line: "file:line:column: ...", "file: ..." or "mailwrightd: ...".
ERROR_LINE = re.compile(r"^(\S+?:\d+:\d+: |mailwrightd: |\S+: )")
# A log line (framework/src/log/log.cpp): "2026-01-02T03:04:05.678+0000 info plugin=... loaded from ...".
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\S+ (trace|debug|info|warning|error|critical) ")


def errors_in(stderr):
    """stderr without the log lines: what the check reports as wrong."""
    return [line for line in stderr.splitlines() if not LOG_LINE.match(line)]


def snapshot(root):
    """Every directory and file under root: its mode, and a file's size, mtime and content digest."""
    seen = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            entry = (st.st_mode, st.st_mtime_ns if not os.path.isdir(path) else None)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    entry += (st.st_size, hashlib.sha256(f.read()).hexdigest())
            seen[os.path.relpath(path, root)] = entry
    return seen


def default_config():
    """The built-in default, with a plugin that creates a file in init() unless the host is only checking."""
    text = subprocess.run([DAEMON, "--print-default-config"], capture_output=True, text=True, timeout=30,
                          check=True).stdout
    text = text.replace('hooks = ["aliases", "headers"]',
                        'hooks = ["aliases", "headers"]\nauth = ["passwd-file", "throwing"]')
    return text + '\n[plugin.throwing]\ntouch = "var/made-by-init"\n'


class Checking(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="mailwright-check-")
        self.work = self.dir.name

    def tearDown(self):
        self.dir.cleanup()

    def run_daemon(self, *args, stdin=None):
        return subprocess.run([DAEMON, *args], capture_output=True, text=True, timeout=60, cwd=self.work,
                              input=stdin)

    def write(self, name, text):
        path = os.path.join(self.work, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def state_as_a_start_leaves_it(self):
        """var/ as the built-in default's first start makes it: passwd, the demo Maildir, a certificate."""
        line = self.run_daemon("passwd", "demo", stdin="secret\n").stdout
        self.write("var/passwd", line)
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(self.work, "var/mail/demo/Maildir", sub))
        self.write("var/mail/demo/Maildir/new/1.welcome", "Subject: hi\r\n\r\nhello\r\n")
        os.makedirs(os.path.join(self.work, "var/tls"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", "var/tls/key.pem", "-out", "var/tls/cert.pem", "-subj", "/CN=localhost",
                        "-days", "2"], cwd=self.work, check=True, capture_output=True, timeout=60)

    def test_a_valid_check_changes_nothing_and_prints_only_its_verdict(self):
        self.state_as_a_start_leaves_it()
        config = self.write("mailwright.toml", default_config())
        before = snapshot(self.work)
        result = self.run_daemon("--check-config", config)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, f"{config}: configuration is valid\n")
        # The plugin-loading lines are logs: on stderr, as a start's are, and nothing else is there.
        self.assertIn("plugin=passwd-file kind=auth", result.stderr)
        self.assertEqual(errors_in(result.stderr), [])
        self.assertEqual(snapshot(self.work), before)
        # The same plugins outside a check (--auth-test initialises them as a start does) do make the file:
        # what the check left alone, it left alone because it was a check.
        result = self.run_daemon("--config", config, "--auth-test", "demo", stdin="secret\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.work, "var/made-by-init")))

    def test_a_failing_check_in_an_empty_directory_creates_nothing_and_says_why_once(self):
        # The default before its first start: no var/passwd yet. The passwd-file plugin's failure is the one
        # error; the plugins after it (aliases, headers, throwing) never ran and are not "unknown keys".
        config = self.write("mailwright.toml", default_config())
        before = snapshot(self.work)
        result = self.run_daemon("--check-config", config)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")
        lines = errors_in(result.stderr)
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn("plugin 'passwd-file' failed to initialise", lines[0])
        self.assertNotIn("unknown key", result.stderr)
        self.assertEqual(snapshot(self.work), before)


class PluginErrors(unittest.TestCase):
    """Each mistake once, first: stderr holds exactly the lines the mistake explains."""

    def check(self, tables):
        with tempfile.TemporaryDirectory(prefix="mailwright-check-") as work:
            path = os.path.join(work, "mailwright.toml")
            with open(path, "w") as f:
                f.write(tables + '\n[[listener]]\nname = "e"\nservice = "echo"\nport = 0\n')
            result = subprocess.run([DAEMON, "--check-config", path], capture_output=True, text=True, timeout=30,
                                    cwd=work)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")
        lines = errors_in(result.stderr)
        for line in lines:
            self.assertRegex(line, ERROR_LINE)
        return [line.replace(path, "FILE") for line in lines]

    def test_a_plugin_for_another_standard_is_one_line_naming_it(self):
        lines = self.check('[plugin.static-users]\nusers = ["alice:secret"]\n[plugin.wrong-std]\n'
                           '[plugin.aliases]\nentries = ["postmaster alice"]\n')
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("plugin 'wrong-std' is for ABI", lines[0])
        self.assertIn("built with C++23 (202100L) where this host has C++20 (202002L); build it with -std=c++20",
                      lines[0])
        self.assertNotIn("rebuild it with this Mailwright SDK", lines[0])

    def test_a_missing_plugin_is_one_line(self):
        lines = self.check('[plugin.static-users]\nusers = ["alice:secret"]\n[plugin.ghost]\nkey = 1\n')
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("no mailwright-ghost.so in the plugin search path", lines[0])

    def test_a_failing_init_is_one_line(self):
        # A passwd file that is not there, and another plugin table with keys after it.
        lines = self.check('[plugin.passwd-file]\nfile = "no-such-passwd"\n'
                           '[plugin.aliases]\nentries = ["postmaster alice"]\n')
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("plugin 'passwd-file' failed to initialise", lines[0])

    def test_a_wrong_type_is_one_error_where_it_stands(self):
        lines = self.check('[plugin.passwd-file]\nfile = 5\n')
        self.assertEqual(lines, ["FILE:2:8: 'file' in [plugin.passwd-file] must be a string, not 5"])
        # access asks for its rules file with invalid() when the getter gives nothing: still one error.
        lines = self.check('[plugin.access]\n\nrules = ["a", "b"]\n')
        self.assertEqual(lines, ["FILE:3:9: 'rules' in [plugin.access] must be a string, not an array"])

    def test_a_missing_key_is_one_error_at_its_table(self):
        lines = self.check('# users\n[plugin.passwd-file]\nallow_plain = false\n')
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r"^FILE:2:1: 'file' in \[plugin\.passwd-file\]: the passwd file to read")


if __name__ == "__main__":
    unittest.main()
