"""The SDK as a plugin author uses it: install Mailwright into a temporary prefix, build the out-of-tree
examples against it with find_package(Mailwright), and load them into mailwrightd: the auth plugin
(examples/out_of_tree_plugin) answers --auth-test, and the message filter (examples/out_of_tree_filter) tags
the Subject of a message sent with smtplib and refuses one whose body holds the configured word; the SQLite
mailstore (examples/sqlite_store) and the sender hook (examples/out_of_tree_hook) take mail from smtplib and
serve it to poplib. And the installed daemon on its own: the prefix copied elsewhere, the original removed and the build tree hidden, it
still finds its stock plugins beside its library."""
import glob
import os
import poplib
import re
import shutil
import smtplib
import sqlite3
import subprocess
import tempfile
import time
import unittest
import uuid

from daemon import DAEMON, Daemon, passwd_line

BUILD_DIR = os.environ["MAILWRIGHT_BUILD_DIR"]
SOURCE_DIR = os.environ["MAILWRIGHT_SOURCE_DIR"]

WORK = None  # made by setUpModule: the SDK's prefix, shared by every class that runs in this process


def setUpModule():
    global WORK
    WORK = tempfile.mkdtemp(prefix="mailwright-sdk-")


def tearDownModule():
    shutil.rmtree(WORK, ignore_errors=True)


def run_checked(*command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result


def installed_sdk():
    """The prefix `cmake --install` filled, installed once per process (each class needs it)."""
    prefix = os.path.join(WORK, "prefix")
    if not os.path.exists(prefix):
        run_checked("cmake", "--install", BUILD_DIR, "--prefix", prefix)
    assert os.path.exists(os.path.join(prefix, "lib", "cmake", "Mailwright", "MailwrightConfig.cmake"))
    return prefix


def build_example(example, *options, build_name=None):
    """Builds examples/<example> against the installed SDK, as its author would; returns its plugin folder."""
    prefix = installed_sdk()
    build = os.path.join(WORK, build_name or example)
    run_checked("cmake", "-S", os.path.join(SOURCE_DIR, "examples", example), "-B", build, "-G", "Ninja",
                f"-DCMAKE_PREFIX_PATH={prefix}", *options)
    run_checked("cmake", "--build", build)
    return os.path.join(build, "plugins")


class OutOfTreePlugin(unittest.TestCase):
    def test_plugin_built_against_the_installed_sdk_authenticates(self):
        plugin_dir = build_example("out_of_tree_plugin")
        self.assertTrue(os.path.exists(os.path.join(plugin_dir, "mailwright-example-auth.so")))

        config = os.path.join(WORK, "example-auth.toml")
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


class PinnedStandard(unittest.TestCase):
    """mailwright_add_plugin() builds with the SDK's C++ standard, whatever the plugin's project asks for."""

    def test_a_project_of_another_standard_still_makes_a_plugin_the_host_loads(self):
        plugin_dir = build_example("out_of_tree_plugin", "-DCMAKE_CXX_STANDARD=23", build_name="std23")
        config = os.path.join(WORK, "std23.toml")
        with open(config, "w") as f:
            f.write(f'[plugins]\npath = ["{plugin_dir}"]\n[plugin.example-auth]\nusers = ["alice:pw"]\n'
                    '[[listener]]\nname = "e"\nservice = "echo"\n')
        result = subprocess.run([DAEMON, "--check-config", config], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, f"{config}: configuration is valid\n")

    def test_a_std_flag_stops_the_configure_saying_why(self):
        build = os.path.join(WORK, "stdflag")
        result = subprocess.run(["cmake", "-S", os.path.join(SOURCE_DIR, "examples", "out_of_tree_plugin"), "-B",
                                 build, "-G", "Ninja", f"-DCMAKE_PREFIX_PATH={installed_sdk()}",
                                 "-DCMAKE_CXX_FLAGS=-std=c++23"], capture_output=True, text=True, timeout=600)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("-std=c++23 in the compiler flags would override the C++ standard the Mailwright SDK was "
                      "built with (C++20)", " ".join(result.stderr.split()))


class OutOfTreeFilter(unittest.TestCase):
    """The subject-tag filter in [plugins] hooks of a daemon with an MX listener; the Maildir read from disk."""

    @classmethod
    def setUpClass(cls):
        plugin_dir = build_example("out_of_tree_filter")
        assert os.path.exists(os.path.join(plugin_dir, "mailwright-subject-tag.so"))
        cls.mail = os.path.join(WORK, "mail")
        passwd = os.path.join(WORK, "passwd")
        with open(passwd, "w") as f:
            f.write(run_checked(DAEMON, "passwd", "bob", input="pw-bob").stdout)
        cls.daemon = Daemon(f"""
[server]
workers = 1
[plugin.passwd-file]
file = "{passwd}"
[plugin.maildir]
path = "{cls.mail}/%u/Maildir"
[plugin.subject-tag]
tag = "[ext]"
refuse = "lottery"
[plugins]
path = ["{plugin_dir}"]
hooks = ["subject-tag"]
[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
role = "mx"
local_domains = ["example.org"]
""")

    @classmethod
    def tearDownClass(cls):
        time.sleep(0.2)  # let the blocking pool go idle (see test_pop3.py)
        code = cls.daemon.terminate()
        assert code == 0, f"mailwrightd exited with {code}"

    def send(self, tok, subject, body):
        text = (f"From: alice@example.net\r\nTo: bob@example.org\r\n{subject}Message-ID: <{tok}@client.example>\r\n"
                f"\r\n{body}\r\n").encode()
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], local_hostname="client.example", timeout=10) as s:
            return s.sendmail("alice@example.net", ["bob@example.org"], text)

    def stored(self, tok):
        """Every message in bob's Maildir that carries `tok`, as stored on disk."""
        new = os.path.join(self.mail, "bob", "Maildir", "new")
        found = []
        for name in sorted(os.listdir(new)) if os.path.isdir(new) else []:
            with open(os.path.join(new, name), "rb") as f:
                text = f.read()
            if tok.encode() in text:
                found.append(text)
        return found

    def test_the_subject_is_tagged(self):
        tok = uuid.uuid4().hex
        self.assertEqual(self.send(tok, "Subject: quarterly\r\n figures\r\n", "Hello."), {})
        stored = self.stored(tok)
        self.assertEqual(len(stored), 1)
        header = stored[0].split(b"\n\n", 1)[0]
        self.assertIn(b"\nSubject: [ext] quarterly figures\n", header + b"\n")  # unfolded, then tagged
        self.assertEqual(header.count(b"Subject:"), 1)  # the client's field was removed

    def test_a_message_without_a_subject_gets_the_tag_alone(self):
        tok = uuid.uuid4().hex
        self.assertEqual(self.send(tok, "", "Hello."), {})
        stored = self.stored(tok)
        self.assertEqual(len(stored), 1)
        self.assertIn(b"\nSubject: [ext]\n", stored[0].split(b"\n\n", 1)[0] + b"\n")

    def test_a_body_with_the_word_is_refused_and_not_stored(self):
        tok = uuid.uuid4().hex
        with self.assertRaises(smtplib.SMTPDataError) as refused:
            self.send(tok, "Subject: news\r\n", "You won the lottery!")
        self.assertEqual(refused.exception.smtp_code, 554)
        self.assertIn(b"5.7.1", refused.exception.smtp_error)
        self.assertEqual(self.stored(tok), [])


class OutOfTreeStore(unittest.TestCase):
    """The sqlite-store mailstore and the sender-domains hook, both built against the installed SDK, in one
    daemon: messages delivered with smtplib are rows of the database, and poplib lists, reads, cuts (TOP) and
    deletes them; a second session of the same user hears [IN-USE]; a sender of a listed domain is refused."""

    @classmethod
    def setUpClass(cls):
        store_dir = build_example("sqlite_store")
        hook_dir = build_example("out_of_tree_hook")
        cls.database = os.path.join(WORK, "mail.sqlite")
        passwd = os.path.join(WORK, "sqlite-passwd")
        with open(passwd, "w") as f:
            f.write("".join(passwd_line(user, f"pw-{user}") for user in ("bob", "carol", "dave")))
        cls.config = f"""
[server]
workers = 2
state_dir = "{os.path.join(WORK, 'sqlite-state')}"
[auth]
failure_delay = "0s"
[plugin.passwd-file]
file = "{passwd}"
[plugin.sqlite-store]
database = "{cls.database}"
[plugin.sender-domains]
domains = ["Spam.Example"]
[plugins]
path = ["{store_dir}", "{hook_dir}"]
hooks = ["sender-domains"]
[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
role = "mx"
local_domains = ["example.org"]
[[listener]]
name = "pop3"
service = "pop3"
port = 0
auth_mechanisms = ["PLAIN"]
plaintext_auth = true
"""
        cls.daemon = Daemon(cls.config)

    @classmethod
    def tearDownClass(cls):
        time.sleep(0.2)  # let the blocking pool go idle (see test_pop3.py)
        code = cls.daemon.terminate()
        assert code == 0, f"mailwrightd exited with {code}"

    def send(self, sender, recipients, subject, body):
        text = (f"From: {sender}\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n\r\n{body}").encode()
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], local_hostname="client.example", timeout=10) as s:
            return s.sendmail(sender, recipients, text)

    def pop3(self, user):
        p = poplib.POP3("127.0.0.1", self.daemon.ports["pop3"], timeout=10)
        self.addCleanup(p.close)
        p.user(user)
        p.pass_(f"pw-{user}")
        return p

    def rows(self, user):
        with sqlite3.connect(self.database) as db:
            return [text for (text,) in db.execute("SELECT text FROM messages WHERE user = ? ORDER BY id", (user,))]

    def test_messages_are_stored_listed_read_cut_and_deleted(self):
        """bob's maildrop: only this test delivers to him."""
        tok = uuid.uuid4().hex
        self.assertEqual(self.send("alice@example.net", ["bob@example.org"], f"one {tok}",
                                   "first line\r\n.a leading dot\r\nthird line\r\n"), {})
        self.assertEqual(self.send("alice@example.net", ["bob@example.org"], f"two {tok}", "short\r\n"), {})
        stored = [row for row in self.rows("bob") if tok in row]
        self.assertEqual(len(stored), 2)  # rows of the database, with the trace fields the server wrote
        self.assertTrue(stored[0].startswith("Return-Path: <alice@example.net>\r\nReceived: "))

        p = self.pop3("bob")
        count, total = p.stat()
        self.assertEqual(count, 2)
        listed = [tuple(map(int, line.split())) for line in p.list()[1]]
        uids = [line.split()[1] for line in p.uidl()[1]]
        self.assertEqual(len(set(uids)), 2)
        bodies = []
        for number, size in listed:
            _, lines, octets = p.retr(number)
            self.assertEqual(octets, size)  # LIST's size is what RETR sends (unstuffed, CRLF line ends)
            bodies.append(b"\r\n".join(lines))
        self.assertEqual(total, sum(size for _, size in listed))
        self.assertIn(f"Subject: one {tok}".encode(), bodies[0])
        self.assertIn(b"\r\n.a leading dot\r\n", bodies[0])  # stuffed on the wire, unstuffed by poplib
        head = bodies[0].split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        self.assertEqual(p.top(1, 0)[1], head + [b""])
        self.assertEqual(p.top(1, 2)[1], head + [b"", b"first line", b".a leading dot"])
        self.assertEqual(p.top(2, 50)[1], bodies[1].split(b"\r\n"))  # more lines asked than there are

        with self.assertRaises(poplib.error_proto) as busy:
            self.pop3("bob")  # the first session still holds the maildrop
        self.assertIn(b"[IN-USE]", busy.exception.args[0])

        p.dele(1)
        p.quit()
        self.assertEqual([row for row in self.rows("bob") if tok in row], stored[1:])
        again = self.pop3("bob")
        self.assertEqual(again.stat()[0], 1)
        self.assertEqual([line.split()[1] for line in again.uidl()[1]], uids[1:])  # the same UID as before
        again.quit()

    def test_a_message_for_two_users_is_stored_for_each(self):
        tok = uuid.uuid4().hex
        self.assertEqual(self.send("alice@example.net", ["carol@example.org", "dave@example.org"], tok, "hi\r\n"), {})
        for user in ("carol", "dave"):
            self.assertEqual(len([row for row in self.rows(user) if tok in row]), 1)

    def test_a_sender_of_a_listed_domain_is_refused_in_the_hooks_words(self):
        with self.assertRaises(smtplib.SMTPSenderRefused) as refused:
            self.send("eve@SPAM.example", ["bob@example.org"], "offer", "buy\r\n")
        self.assertEqual(refused.exception.smtp_code, 550)
        self.assertEqual(refused.exception.smtp_error, b"5.7.1 mail from spam.example is not accepted here")
        self.assertTrue(self.daemon.log_contains(
            r"session=\d+ plugin=sender-domains refused mail for good \(eve@SPAM\.example\): mail from "
            r"spam\.example is not accepted here"))

    def test_check_config_creates_no_database(self):
        elsewhere = os.path.join(WORK, "never-made.sqlite")
        config = os.path.join(WORK, "sqlite-check.toml")
        with open(config, "w") as f:
            f.write(self.config.replace(self.database, elsewhere))
        checked = subprocess.run([DAEMON, "--check-config", config], capture_output=True, text=True, timeout=60)
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertEqual(checked.stdout, f"{config}: configuration is valid\n")
        self.assertFalse(os.path.exists(elsewhere))



def can_hide(directory):
    """Whether this process may mount a tmpfs over `directory` in a private mount namespace (root, or a kernel
    that lets unprivileged users map themselves to root; containers often allow neither)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount -t tmpfs none "$0"',
                            directory], capture_output=True, timeout=30)
    return probe.returncode == 0


class InstalledDaemon(unittest.TestCase):
    """mailwrightd as installed, after the install moved: `cmake --install` into one prefix, that prefix copied
    to another path and removed, the build tree hidden by a tmpfs mounted over it in a private mount namespace
    where that can be done. The stock plugins (passwd-file, maildir, aliases, headers) must be found beside the
    installed libmailwright, through no path the build configured."""

    @classmethod
    def setUpClass(cls):
        first = os.path.join(WORK, "first-prefix")
        run_checked("cmake", "--install", BUILD_DIR, "--prefix", first)
        cls.prefix = os.path.join(WORK, "moved-prefix")
        run_checked("cp", "-a", first, cls.prefix)
        shutil.rmtree(first)
        assert not os.path.realpath(cls.prefix).startswith(os.path.realpath(BUILD_DIR) + os.sep)
        cls.plugins = os.path.join(cls.prefix, "lib", "mailwright", "plugins")
        daemon = os.path.join(cls.prefix, "bin", "mailwrightd")
        cls.hidden = can_hide(BUILD_DIR)
        cls.program = [daemon]
        if cls.hidden:
            cls.program = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                           'mount -t tmpfs none "$0" && exec "$@"', BUILD_DIR, daemon]
        cls.mail = os.path.join(WORK, "installed-mail")
        passwd = os.path.join(WORK, "installed-passwd")
        with open(passwd, "w") as f:
            f.write(run_checked(*cls.program, "passwd", "bob", input="pw-bob").stdout)
        cls.config = f"""
[server]
workers = 1
state_dir = "{os.path.join(WORK, 'installed-var')}"
[plugin.passwd-file]
file = "{passwd}"
[plugin.maildir]
path = "{cls.mail}/%u/Maildir"
[plugins]
hooks = ["aliases", "headers"]
[plugin.aliases]
entries = ["info@example.org  bob"]
[plugin.headers]
[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
role = "mx"
local_domains = ["example.org"]
"""
        cls.daemon = Daemon(cls.config, program=cls.program)

    @classmethod
    def tearDownClass(cls):
        time.sleep(0.2)  # let the blocking pool go idle (see test_pop3.py)
        code = cls.daemon.terminate()
        assert code == 0, f"mailwrightd exited with {code}"

    def assert_loaded_beside_the_library(self, log):
        """Each stock plugin's "loaded from" line names the moved prefix's plugin directory."""
        for name in ("passwd-file", "maildir", "aliases", "headers"):
            m = re.search(rf"plugin={name} kind=\S+ version=\S+ loaded from (\S+)", log)
            self.assertIsNotNone(m, f"no loading line for {name}:\n{log}")
            self.assertEqual(m.group(1), os.path.join(self.plugins, f"mailwright-{name}.so"))
        self.assertNotIn(BUILD_DIR, log)

    def test_the_build_tree_is_out_of_reach(self):
        if not self.hidden:
            self.skipTest("no private mount namespace here: the build tree is not hidden, only unused")
        listing = run_checked("unshare", "-m", "--propagation", "private", "sh", "-c",
                              'mount -t tmpfs none "$0" && ls -A "$0"', BUILD_DIR).stdout
        self.assertEqual(listing, "")

    def test_check_config_finds_the_stock_plugins(self):
        config = os.path.join(WORK, "installed.toml")
        with open(config, "w") as f:
            f.write(self.config)
        checked = subprocess.run([*self.program, "--check-config", config], capture_output=True, text=True,
                                 timeout=60)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        self.assertIn("configuration is valid", checked.stdout)
        self.assert_loaded_beside_the_library(checked.stdout + checked.stderr)

    def test_the_service_files_are_installed(self):
        """The systemd unit (ExecStart: the configured prefix's binary), the sysusers.d entry, the example."""
        with open(os.path.join(self.prefix, "lib", "systemd", "system", "mailwright.service")) as f:
            self.assertRegex(f.read(), r"\nType=notify\n(.|\n)*\nExecStart=/\S*/bin/mailwrightd\n")
        with open(os.path.join(self.prefix, "lib", "sysusers.d", "mailwright.conf")) as f:
            self.assertIn("\nu mailwright ", f.read())
        with open(os.path.join(self.prefix, "share", "doc", "mailwright", "mailwright.toml.example")) as f:
            self.assertIn('user = "mailwright"', f.read())

    def test_the_daemon_runs_the_installed_library_and_plugins(self):
        self.assert_loaded_beside_the_library("\n".join(self.daemon.lines))
        with open(f"/proc/{self.daemon.proc.pid}/maps") as f:
            mapped = {line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6}
        libraries = [path for path in mapped if "/libmailwright.so" in path]
        self.assertEqual(libraries, glob.glob(os.path.join(self.prefix, "lib", "libmailwright.so.*.*.*")))
        self.assertEqual([path for path in mapped if path.startswith(BUILD_DIR)], [])

    def test_a_message_is_delivered_through_the_alias_with_authentication_results(self):
        tok = uuid.uuid4().hex
        text = (f"From: alice@example.net\r\nTo: info@example.org\r\nSubject: hi\r\n"
                f"Message-ID: <{tok}@client.example>\r\n\r\nHello.\r\n").encode()
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], local_hostname="client.example", timeout=10) as s:
            self.assertEqual(s.sendmail("alice@example.net", ["info@example.org"], text), {})
        new = os.path.join(self.mail, "bob", "Maildir", "new")
        stored = [open(os.path.join(new, name), "rb").read() for name in os.listdir(new)]
        stored = [m for m in stored if tok.encode() in m]
        self.assertEqual(len(stored), 1)
        self.assertIn(b"\nAuthentication-Results: ", stored[0].split(b"\n\n", 1)[0])


if __name__ == "__main__":
    unittest.main()
