"""The SDK as a plugin author uses it: install Mailwright into a temporary prefix, build the out-of-tree
example plugin against it with find_package(Mailwright), and load that plugin into mailwrightd."""
import os
import shutil
import subprocess
import tempfile
import unittest

from daemon import DAEMON

BUILD_DIR = os.environ["MAILWRIGHT_BUILD_DIR"]
SOURCE_DIR = os.environ["MAILWRIGHT_SOURCE_DIR"]


class OutOfTreePlugin(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-sdk-")

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def run_checked(self, *command):
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        self.assertEqual(result.returncode, 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}")
        return result

    def test_plugin_built_against_the_installed_sdk_authenticates(self):
        prefix = os.path.join(self.work, "prefix")
        build = os.path.join(self.work, "build")
        self.run_checked("cmake", "--install", BUILD_DIR, "--prefix", prefix)
        self.assertTrue(os.path.exists(os.path.join(prefix, "lib", "cmake", "Mailwright", "MailwrightConfig.cmake")))
        self.run_checked("cmake", "-S", os.path.join(SOURCE_DIR, "examples", "out_of_tree_plugin"), "-B", build,
                         "-G", "Ninja", f"-DCMAKE_PREFIX_PATH={prefix}")
        self.run_checked("cmake", "--build", build)
        plugin_dir = os.path.join(build, "plugins")
        self.assertTrue(os.path.exists(os.path.join(plugin_dir, "mailwright-example-auth.so")))

        config = os.path.join(self.work, "mailwright.toml")
        with open(config, "w") as f:
            f.write(f"""
[plugins]
path = ["{plugin_dir}"]
[plugin.example-auth]
users = ["alice:correct horse"]
[[listener]]
name = "e"
service = "echo"
""")
        accepted = subprocess.run([DAEMON, "--config", config, "--auth-test", "alice"], input="correct horse\n",
                                  capture_output=True, text=True, timeout=60)
        self.assertEqual(accepted.returncode, 0, accepted.stderr)
        self.assertIn("alice: accepted as alice", accepted.stdout)
        for user, password in (("alice", "battery staple"), ("bob", "correct horse")):
            rejected = subprocess.run([DAEMON, "--config", config, "--auth-test", user], input=password + "\n",
                                      capture_output=True, text=True, timeout=60)
            self.assertEqual(rejected.returncode, 1, rejected.stderr)
            self.assertIn(f"{user}: rejected", rejected.stdout)


if __name__ == "__main__":
    unittest.main()
