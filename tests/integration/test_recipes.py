"""Every recipe in docs/operations.md (a ```toml block marked recipe=NAME) passes `mailwrightd --check-config`,
with the files it names made in a temporary directory in place of /etc/mailwright and /var/lib/mailwright:
the documentation cannot drift from the keys and checks the code has."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from certs import make_all
from daemon import DAEMON

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "operations.md")
RECIPE = re.compile(r"^```toml recipe=(\S+)\n(.*?)^```", re.M | re.S)


def recipes():
    with open(DOCS) as f:
        return RECIPE.findall(f.read())


class Recipes(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-recipes-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.certs = os.path.join(self.work, "certs")
        os.mkdir(self.certs)
        make_all(self.certs)

    def make(self, path):
        """A file the recipe names, of the kind its name says."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        name = os.path.basename(path)
        if name.endswith(".pem"):
            shutil.copy(os.path.join(self.certs, "ca.pem" if "ca" in name else "one.pem"), path)
        elif name.endswith(".key"):
            shutil.copy(os.path.join(self.certs, "one.key"), path)
        elif name == "users":
            hashed = subprocess.run([DAEMON, "passwd", "admin"], input="pw", capture_output=True, text=True,
                                    timeout=60, check=True).stdout
            with open(path, "w") as f:
                f.write(hashed)
        else:
            with open(path, "w") as f:
                f.write("secret\n" if name.endswith(".secret") else "")

    def test_there_are_recipes(self):
        self.assertGreaterEqual(len(recipes()), 2)

    def test_each_recipe_is_a_valid_configuration(self):
        for name, text in recipes():
            with self.subTest(recipe=name):
                root = os.path.join(self.work, name)
                text = text.replace("/etc/mailwright/", f"{root}/etc/").replace("/var/lib/mailwright",
                                                                               f"{root}/var")
                for path in set(re.findall(rf'"({re.escape(root)}/etc/[^"]+)"', text)):
                    self.make(path)
                config = os.path.join(root, "mailwright.toml")
                with open(config, "w") as f:
                    f.write(text)
                result = subprocess.run([DAEMON, "--check-config", config], capture_output=True, text=True,
                                        timeout=60)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertIn("configuration is valid", result.stdout)


if __name__ == "__main__":
    unittest.main()
