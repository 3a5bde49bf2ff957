"""The manual pages (docs/man/*.scd, rendered by scdoc in the build): man(1) shows each one, as a reader's
terminal would at 80 columns, with no warning from groff; each has its NAME and SYNOPSIS; mailwrightd(8)
names every option and subcommand that `mailwrightd --help` lists, mailwrightctl(8) every command of the tool,
and mailwright.toml(5) every table that docs/configuration.md has a section for. And `cmake --install` puts
the pages under share/man and LICENSE and NOTICE under share/doc/mailwright. mailwright.toml(5)'s example is a
valid configuration."""
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import unittest

from certs import make_all
from daemon import DAEMON

MAN_DIR = os.environ["MAILWRIGHT_MAN_DIR"]
BUILD_DIR = os.environ["MAILWRIGHT_BUILD_DIR"]
SOURCE_DIR = os.environ["MAILWRIGHT_SOURCE_DIR"]
PAGES = {"mailwrightd": "8", "mailwrightctl": "8", "mailwright.toml": "5"}


def page_path(name):
    return os.path.join(MAN_DIR, "man" + PAGES[name], f"{name}.{PAGES[name]}")


def render(name):
    """The page as `man -l` shows it, with every groff warning on (`--warnings=w`); returns (text, stderr).
    The text has groff's hyphenation undone and its lines joined, so a name split at a line's end is found."""
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat")
    env.pop("MANPATH", None)
    result = subprocess.run(["man", "--warnings=w", "-l", page_path(name)], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, f"man -l {name}: {result.returncode}\n{result.stderr}"
    return result.stdout, result.stderr


def joined(text):
    return re.sub(r"\s+", " ", re.sub("\u2010\n\\s*", "", text))


class Rendering(unittest.TestCase):
    def test_each_page_renders_without_warnings(self):
        for name, section in PAGES.items():
            with self.subTest(page=name):
                text, errors = render(name)
                self.assertEqual(errors, "", f"groff warned about {name}({section})")
                lines = text.splitlines()
                self.assertIn("NAME", lines)
                self.assertIn("SYNOPSIS", lines)
                self.assertRegex(lines[0], rf"^{re.escape(name)}\({section}\)\s")
                self.assertRegex(joined(text), rf"NAME {re.escape(name)} - \S")
                self.assertTrue(all(len(line) <= 80 for line in lines), f"{name}: a line wider than 80 columns")

    def test_mailwrightd_page_names_every_option_of_its_help(self):
        text = joined(render("mailwrightd")[0])
        listed = set()
        for command in ([DAEMON, "--help"], [DAEMON, "passwd", "--help"]):
            help_text = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout
            listed.update(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", help_text))
            if "Subcommands:" in help_text:
                listed.update(re.findall(r"^  (\w[\w-]*)\s", help_text.split("Subcommands:", 1)[1], re.M))
        self.assertTrue({"--config", "--check-config", "--print-default-config", "--auth-test", "-V", "passwd",
                         "--scheme"} <= listed, listed)
        for option in sorted(listed):
            with self.subTest(option=option):
                self.assertRegex(text, rf"(?<![\w-]){re.escape(option)}(?![\w-])")
        for section in ("OPTIONS", "COMMANDS", "SIGNALS", "FILES", "EXIT STATUS"):
            self.assertIn(f" {section} ", text)
        for signal in ("SIGTERM", "SIGINT", "SIGHUP"):
            self.assertIn(signal, text)
        self.assertIn("/etc/mailwright/mailwright.toml", text)
        self.assertIn("/var/lib/mailwright", text)

    def test_mailwrightctl_page_names_its_commands_and_socket(self):
        text = joined(render("mailwrightctl")[0])
        for command in ("status", "sessions", "kick ID", "kick-user NAME", "reload", "stats", "--socket PATH",
                        "/run/mailwright/control.sock"):
            with self.subTest(command=command):
                self.assertRegex(text, rf"(?<![\w-]){re.escape(command)}(?![\w-])")

    def test_configuration_page_names_every_table_of_the_reference(self):
        text = joined(render("mailwright.toml")[0])
        with open(os.path.join(SOURCE_DIR, "docs", "configuration.md")) as f:
            reference = f.read()
        # "## `[server]`", "## `[plugins]` and `[plugin.<name>]`", "### `[listener.smtp]`"; not the stock
        # plugins' own sections (### `[plugin.maildir]`: ...), which the page lists by name.
        tables = set()
        for heading in re.findall(r"^##+ (.*)$", reference, re.M):
            tables.update(t for t in re.findall(r"`(\[\[?[\w.<>-]+\]\]?)`", heading)
                          if not re.fullmatch(r"\[plugin\.[\w-]+\]", t))
        self.assertIn("[server]", tables)
        self.assertIn("[[listener]]", tables)
        for table in sorted(tables | {"[admin]"}):
            with self.subTest(table=table):
                self.assertIn(table.replace("<name>", "NAME"), text)
        for plugin in re.findall(r"^### `\[plugin\.([\w-]+)\]`", reference, re.M):
            with self.subTest(plugin=plugin):
                self.assertRegex(text, rf"(?<![\w-]){re.escape(plugin)}(?![\w-])")
        for key in ("control_socket", "metrics", "docs/configuration.md"):
            self.assertIn(key, text)


class ExampleConfiguration(unittest.TestCase):
    def test_the_example_of_mailwright_toml_5_is_valid(self):
        """The EXAMPLE of mailwright.toml(5), as a reader copies it from man, passes --check-config, with the
        files it names made in a temporary directory in place of /etc/mailwright, /var/lib and /run."""
        text = render("mailwright.toml")[0]
        example = textwrap.dedent(re.search(r"^EXAMPLE\n(.*?)^SEE ALSO$", text, re.M | re.S).group(1))
        self.assertIn("[[listener]]", example)
        work = tempfile.mkdtemp(prefix="mailwright-man-example-")
        self.addCleanup(shutil.rmtree, work, True)
        for real in ("/etc/mailwright", "/var/lib/mailwright", "/run/mailwright"):
            example = example.replace(real, work + real)
        certs = os.path.join(work, "certs")
        os.mkdir(certs)
        make_all(certs)
        os.makedirs(os.path.join(work, "etc", "mailwright", "tls"))
        shutil.copy(os.path.join(certs, "one.pem"), os.path.join(work, "etc", "mailwright", "tls", "mail.pem"))
        shutil.copy(os.path.join(certs, "one.key"), os.path.join(work, "etc", "mailwright", "tls", "mail.key"))
        line = subprocess.run([DAEMON, "passwd", "alice"], input="pw", capture_output=True, text=True, timeout=60,
                              check=True).stdout
        with open(os.path.join(work, "etc", "mailwright", "users"), "w") as f:
            f.write(line)
        config = os.path.join(work, "mailwright.toml")
        with open(config, "w") as f:
            f.write(example)
        result = subprocess.run([DAEMON, "--check-config", config], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, example + result.stdout + result.stderr)


class Installed(unittest.TestCase):
    def test_install_puts_pages_and_licences_in_place(self):
        prefix = tempfile.mkdtemp(prefix="mailwright-man-")
        try:
            result = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", prefix], capture_output=True,
                                    text=True, timeout=600)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            for name, section in PAGES.items():
                installed = os.path.join(prefix, "share", "man", "man" + section, f"{name}.{section}")
                with open(installed, "rb") as f, open(page_path(name), "rb") as built:
                    self.assertEqual(f.read(), built.read(), installed)
            # man finds them by name under the prefix, as it would under /usr/local.
            env = dict(os.environ, MANPATH=os.path.join(prefix, "share", "man"), MANWIDTH="80", LC_ALL="C.UTF-8")
            shown = subprocess.run(["man", "8", "mailwrightd"], capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(shown.returncode, 0, shown.stderr)
            self.assertIn("mailwrightd - the Mailwright mail daemon", shown.stdout)
            doc = os.path.join(prefix, "share", "doc", "mailwright")
            with open(os.path.join(doc, "LICENSE")) as f:
                licence = f.read()
            self.assertIn("MIT License", licence)
            self.assertIn("Copyright (c) 2026 The Mailwright developers", licence)
            with open(os.path.join(doc, "NOTICE")) as f:
                notice = f.read()
            self.assertIn("GPL-2.0-or-later", notice)
            self.assertIn("commercial wolfSSL licence", notice)
        finally:
            shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
