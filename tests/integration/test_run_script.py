"""The commands `./scripts/run` ends its start-up output with (issue 18, point 10): mailwrightd --demo prints
them last, once it serves; README.md shows the same ones, and they work: run with bash, as a reader would
paste them, against that daemon in a fresh directory, curl reads the welcome message over POP3, swaks sends
the demo user a message over submission, and curl's list then shows both. The script itself (install, build)
is not run: it ends in `exec mailwrightd --demo`, which is checked."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

from daemon import DAEMON

SOURCE_DIR = os.environ["MAILWRIGHT_SOURCE_DIR"]
DEFAULT_PORTS = (7007, 7993, 1110, 1995, 2525, 1587, 1465, 2424)


def run_script():
    with open(os.path.join(SOURCE_DIR, "scripts", "run")) as f:
        return f.read()


def commands(text):
    """The shell commands in `text` (a here-doc, or README.md's sh blocks): lines that start with curl or swaks,
    backslash continuations joined, a trailing comment dropped, white space made single."""
    text = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in text.splitlines():
        line = line.strip()
        if re.match(r"(curl|swaks) ", line):
            found.append(" ".join(re.sub(r"\s+#.*$", "", line).split()))
    return found


def readme_run_section():
    with open(os.path.join(SOURCE_DIR, "README.md")) as f:
        readme = f.read()
    section = re.search(r"^## What `\./scripts/run` gives you\n(.*?)^## ", readme, re.M | re.S)
    assert section, "README.md has no section on ./scripts/run"
    return "\n".join(re.findall(r"```sh\n(.*?)```", section.group(1), re.S))


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@unittest.skipUnless(all(port_free(p) for p in DEFAULT_PORTS), "the built-in default's ports are taken")
class TryCommands(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        """mailwrightd --demo in a fresh directory, read until it has said all it says at start."""
        cls.work = tempfile.mkdtemp(prefix="mailwright-run-")
        cls.proc = subprocess.Popen([DAEMON, "--demo"], cwd=cls.work, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        cls.output = []
        for _ in range(200):
            line = cls.proc.stdout.readline()
            cls.output.append(line)
            if not line or line.startswith("Stop it with Ctrl-C."):
                break

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.communicate(timeout=30)
        shutil.rmtree(cls.work, ignore_errors=True)

    def printed_block(self):
        """What the daemon printed after its last `listening` line: the block, last of its start-up output."""
        last = max(i for i, line in enumerate(self.output) if "listening listener=" in line)
        block = "".join(self.output[last + 1:])
        self.assertTrue(block.rstrip().endswith("Stop it with Ctrl-C."), "".join(self.output))
        return block

    def test_the_script_runs_the_demo(self):
        self.assertRegex(run_script(), r"(?m)^exec build/release/examples/mailwrightd/mailwrightd --demo \"\$@\"$")

    def test_readme_shows_the_commands_the_daemon_prints_last(self):
        printed = commands(self.printed_block())
        self.assertEqual(len(printed), 3, printed)
        self.assertEqual([c.split()[0] for c in printed], ["curl", "swaks", "curl"])
        shown = commands(readme_run_section())
        for command in printed:
            with self.subTest(command=command):
                self.assertIn(command, shown)

    def test_the_ports_are_the_built_in_defaults(self):
        default = subprocess.run([DAEMON, "--print-default-config"], capture_output=True, text=True, timeout=30,
                                 check=True).stdout
        listeners = {m.group(1): int(m.group(2)) for m in
                     re.finditer(r'^name = "([\w-]+)"\n(?:(?!\[\[).*\n)*?port = (\d+)', default, re.M)}
        pop3, submit, _ = commands(self.printed_block())
        self.assertIn(f"pop3://127.0.0.1:{listeners['pop3']}/", pop3)
        self.assertIn(f"--port {listeners['submission']} ", submit)

    def test_the_commands_work_against_the_built_in_default(self):
        read_welcome, send, list_mailbox = commands(self.printed_block())

        def run(command):
            result = subprocess.run(["bash", "-c", command], cwd=self.work, capture_output=True, text=True,
                                    timeout=60)
            self.assertEqual(result.returncode, 0, f"{command}\n{result.stdout}\n{result.stderr}")
            return result.stdout

        self.assertIn("Subject: Welcome to Mailwright", run(read_welcome))
        self.assertRegex(run(send), r"<~ *250 ")
        listing = run(list_mailbox).splitlines()
        self.assertEqual([line.split()[0] for line in listing], ["1", "2"], listing)


if __name__ == "__main__":
    unittest.main()
