"""The commands `./scripts/run` prints before it starts the built-in default (issue 18, point 10): README.md
shows the same ones, and they work: run with bash, as a reader would paste them, against mailwrightd on its
built-in default in a fresh directory, curl reads the welcome message over POP3, swaks sends the demo user a
message over submission, and curl's list then shows both. The script itself (install, build) is not run."""
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


def printed_block():
    """The text between `cat <<'TRY'` and `TRY` in scripts/run: what it prints, as it is (a quoted here-doc)."""
    with open(os.path.join(SOURCE_DIR, "scripts", "run")) as f:
        script = f.read()
    found = re.search(r"^\s*cat <<'TRY'\n(.*?)^TRY$", script, re.M | re.S)
    assert found, "scripts/run prints no TRY block"
    return found.group(1)


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


class TryCommands(unittest.TestCase):
    def test_readme_shows_the_commands_the_script_prints(self):
        printed = commands(printed_block())
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
        pop3, submit, _ = commands(printed_block())
        self.assertIn(f"pop3://127.0.0.1:{listeners['pop3']}/", pop3)
        self.assertIn(f"--port {listeners['submission']} ", submit)

    @unittest.skipUnless(all(port_free(p) for p in DEFAULT_PORTS), "the built-in default's ports are taken")
    def test_the_commands_work_against_the_built_in_default(self):
        work = tempfile.mkdtemp(prefix="mailwright-run-")
        proc = subprocess.Popen([DAEMON, "--demo"], cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            for _ in range(100):  # the default's last listener is lmtp
                line = proc.stdout.readline()
                if not line or "listening listener=lmtp" in line:
                    break
            self.assertIn("listening listener=lmtp", line)
            read_welcome, send, list_mailbox = commands(printed_block())

            def run(command):
                result = subprocess.run(["bash", "-c", command], cwd=work, capture_output=True, text=True,
                                        timeout=60)
                self.assertEqual(result.returncode, 0, f"{command}\n{result.stdout}\n{result.stderr}")
                return result.stdout

            self.assertIn("Subject: Welcome to Mailwright", run(read_welcome))
            self.assertRegex(run(send), r"<~ *250 ")
            listing = run(list_mailbox).splitlines()
            self.assertEqual([line.split()[0] for line in listing], ["1", "2"], listing)
        finally:
            proc.terminate()
            proc.communicate(timeout=30)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
