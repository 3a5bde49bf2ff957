"""Maildir delivery killed at every step: each message is either not acknowledged, or present exactly once
and complete. The helper delivers through a test-only build of the Maildir store (the plugin's sources compiled
with MAILWRIGHT_FAULT_INJECTION); MAILWRIGHT_CRASH_AT ends it (_exit, no cleanup) at the named step, as a
crash or a kill -9 would. The plugin built for use has no crash points: the variable changes nothing there."""
import os
import shutil
import subprocess
import tempfile
import unittest

# The helper loads the maildir plugin that is built for use (and installed), mailwright-maildir.so.
NORMAL_HELPER = os.environ["MAILDIR_DELIVER"]
# The same helper with the store's test-only build linked in, crash points compiled in.
CRASH_POINTS_HELPER = os.environ["MAILDIR_DELIVER_CRASH_POINTS"]
STEPS = ["maildir.after_create", "maildir.after_fsync", "maildir.after_link", "maildir.after_directory_fsync",
         "maildir.after_cleanup"]
MESSAGE = b"Subject: crash test\r\n\r\n" + b"line of the body\r\n" * 5000
STORED = MESSAGE.replace(b"\r\n", b"\n")


class Delivery(unittest.TestCase):
    """Delivers MESSAGE to "victim" through a helper, optionally with MAILWRIGHT_CRASH_AT set."""
    helper = NORMAL_HELPER

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="mailwright-crash-")
        self.pattern = os.path.join(self.root, "%u", "Maildir")
        self.maildir = os.path.join(self.root, "victim", "Maildir")

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def deliver(self, crash_at=None):
        env = dict(os.environ)
        env.pop("MAILWRIGHT_CRASH_AT", None)
        if crash_at:
            env["MAILWRIGHT_CRASH_AT"] = crash_at
        return subprocess.run([self.helper, self.pattern, "victim"], input=MESSAGE, capture_output=True, env=env,
                              timeout=60)

    def delivered(self):
        found = []
        for sub in ("new", "cur"):
            path = os.path.join(self.maildir, sub)
            if os.path.isdir(path):
                found += [os.path.join(path, name) for name in os.listdir(path) if not name.startswith(".")]
        return found


class CrashAtEveryStep(Delivery):
    helper = CRASH_POINTS_HELPER

    def test_each_step(self):
        for step in STEPS:
            with self.subTest(step=step):
                shutil.rmtree(self.root, ignore_errors=True)
                os.makedirs(self.root)
                result = self.deliver(step)
                self.assertEqual(result.returncode, 75, result.stderr)  # it really died there
                self.assertNotIn(b"ACK", result.stdout)
                files = self.delivered()
                self.assertLessEqual(len(files), 1)
                for path in files:
                    with open(path, "rb") as f:
                        self.assertEqual(f.read(), STORED)  # never a partial message
                # The store still works after the crash, and the next delivery is counted once.
                again = self.deliver()
                self.assertEqual(again.stdout, b"ACK\n", again.stderr)
                self.assertEqual(len(self.delivered()), len(files) + 1)

    def test_without_a_crash(self):
        result = self.deliver()
        self.assertEqual(result.stdout, b"ACK\n", result.stderr)
        self.assertEqual(len(self.delivered()), 1)


class NormalPluginHasNoCrashPoints(Delivery):
    """The maildir plugin that is built for use (and installed) has no crash points: with MAILWRIGHT_CRASH_AT
    naming any step, the delivery completes and is acknowledged."""
    helper = NORMAL_HELPER

    def test_each_step(self):
        for step in STEPS:
            with self.subTest(step=step):
                shutil.rmtree(self.root, ignore_errors=True)
                os.makedirs(self.root)
                result = self.deliver(step)
                self.assertEqual((result.returncode, result.stdout), (0, b"ACK\n"), result.stderr)
                files = self.delivered()
                self.assertEqual(len(files), 1)
                with open(files[0], "rb") as f:
                    self.assertEqual(f.read(), STORED)


if __name__ == "__main__":
    unittest.main()
