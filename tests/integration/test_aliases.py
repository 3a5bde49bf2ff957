"""The aliases hook plugin (plugins/aliases) in the real mailwrightd, with the passwd-file auth and the Maildir
store, driven by smtplib, swaks and raw lines: aliases, recipient delimiters, catch-alls and postmaster land
in the right Maildirs (read back from disk), one copy per mailbox; unknown addresses and alias loops are
refused at RCPT, before DATA, and the session goes on; LMTP still answers once per recipient."""
import os
import smtplib
import subprocess
import tempfile
import time
import unittest
import uuid

from daemon import DAEMON, maildir_messages, start_in, stop_in

USERS = ["alice", "bob", "carol", "dave", "root", "archive"]

MAP = """# the virtual alias map of the tests
sales@example.org      alice, bob
info@example.org       sales@example.org
alice@example.org      alice@example.org, archive
team@example.org       alice,
    carol
loop1@example.org      loop2@example.org
loop2@example.org      loop1@example.org
ghost@example.org      nobody
postmaster             dave
@example.net           carol
@old.example           @example.org
"""


def config(work, plugin='map = "{work}/virtual"', postmaster="root"):
    plugin = plugin.format(work=work)
    return f"""
[server]
workers = 2
hostname = "mx.example.org"
[log]
level = "debug"
[plugins]
auth = ["passwd-file"]
[plugin.passwd-file]
file = "{work}/passwd"
allow_plain = true
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[plugin.aliases]
{plugin}

[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
local_domains = ["example.org", "example.net", "example.com", "old.example"]
postmaster = "{postmaster}"

[[listener]]
name = "lmtp"
service = "lmtp"
port = 0
[listener.smtp]
local_domains = ["example.org", "example.net", "example.com", "old.example"]
postmaster = "{postmaster}"
"""


def token():
    return uuid.uuid4().hex


def message(tok, to="alias@example.org"):
    return f"From: sender@remote.example\r\nTo: {to}\r\nSubject: {tok}\r\n\r\nHello {tok}.\r\n".encode()


class AliasDaemon(unittest.TestCase):
    """A daemon of the class's own, with the map in `MAP`."""
    MAP = MAP
    PLUGIN = 'map = "{work}/virtual"'

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailwright-aliases-")
        with open(os.path.join(cls.work, "passwd"), "w") as f:
            f.write("".join(f"{u}:{{PLAIN}}pw-{u}\n" for u in USERS))
        cls.write_map(cls.MAP)
        cls.daemon = start_in(cls.work, config(cls.work, cls.PLUGIN))

    @classmethod
    def tearDownClass(cls):
        assert stop_in(cls.work, cls.daemon) == 0

    @classmethod
    def write_map(cls, text):
        # A rename: the daemon never reads half a file, and sees a new inode.
        path = os.path.join(cls.work, "virtual")
        with open(path + ".new", "w") as f:
            f.write(text)
        os.replace(path + ".new", path)

    def copies(self, user, tok):
        """How many messages in user's Maildir (new/ and cur/, on disk) carry tok."""
        return len(maildir_messages(self.work, user, tok.encode()))

    def assertCopies(self, tok, **expected):
        for user in USERS:
            self.assertEqual(self.copies(user, tok), expected.get(user, 0), f"copies for {user}")

    def smtp(self, listener="mx"):
        return smtplib.SMTP("127.0.0.1", self.daemon.ports[listener], local_hostname="client.example", timeout=10)

    def send(self, *recipients):
        tok = token()
        with self.smtp() as s:
            refused = s.sendmail("sender@remote.example", list(recipients), message(tok, recipients[0]))
            self.assertEqual(refused, {})
        return tok


class Resolution(AliasDaemon):
    def test_recipient_delimiter_lands_in_the_user_maildir(self):
        tok = self.send("bob+tag@example.org")
        self.assertCopies(tok, bob=1)
        # An alias with an extension: the alias, without it.
        tok = self.send("sales+newsletter@example.org")
        self.assertCopies(tok, alice=1, bob=1)

    def test_an_alias_with_two_targets_gives_one_copy_to_each(self):
        tok = self.send("sales@example.org")
        self.assertCopies(tok, alice=1, bob=1)
        # The same mailboxes through two recipients, and nested: still one copy each.
        tok = self.send("info@example.org", "sales@example.org", "bob@example.org")
        self.assertCopies(tok, alice=1, bob=1)
        # An address that names itself keeps its own copy; continuation lines are read.
        tok = self.send("alice@example.org")
        self.assertCopies(tok, alice=1, archive=1)
        tok = self.send("team@example.org")
        self.assertCopies(tok, alice=1, carol=1)

    def test_catch_all_and_domain_alias(self):
        tok = self.send("anything@example.net")
        self.assertCopies(tok, carol=1)
        tok = self.send("Someone+X@EXAMPLE.NET")  # domains in any case
        self.assertCopies(tok, carol=1)
        # @old.example is @example.org: sales there is the alias, dave is the user.
        tok = self.send("sales@old.example", "dave@old.example")
        self.assertCopies(tok, alice=1, bob=1, dave=1)

    def test_unknown_address_without_catch_all_is_refused_at_rcpt_before_data(self):
        with self.smtp() as s:
            s.ehlo()
            self.assertEqual(s.mail("sender@remote.example")[0], 250)
            self.assertEqual(s.rcpt("nobody@example.com"),
                             (550, b"5.1.1 <nobody@example.com>: Recipient address rejected: User unknown"))
            # An alias to a user the auth backend does not know is refused the same way, not half delivered.
            self.assertEqual(s.rcpt("ghost@example.org"),
                             (550, b"5.1.1 <ghost@example.org>: Recipient address rejected: User unknown"))
            # No recipient was taken: DATA is refused, nothing is read.
            self.assertEqual(s.docmd("DATA")[0], 503)
        with self.smtp() as s:
            with self.assertRaises(smtplib.SMTPRecipientsRefused):
                s.sendmail("sender@remote.example", ["nobody+x@example.com"], message(token()))

    def test_an_alias_loop_is_refused_cleanly_and_the_session_goes_on(self):
        tok = token()
        with self.smtp() as s:
            s.ehlo()
            self.assertEqual(s.mail("sender@remote.example")[0], 250)
            self.assertEqual(s.rcpt("loop1@example.org"),
                             (550, b"5.4.6 <loop1@example.org>: Recipient address rejected: alias loop"))
            self.assertEqual(s.rcpt("carol@example.org")[0], 250)
            self.assertEqual(s.data(message(tok))[0], 250)
        self.assertCopies(tok, carol=1)
        self.assertTrue(self.daemon.log_contains(
            r"plugin=aliases alias loop for <loop1@example.org>: loop1@example.org \(.*virtual:7\) -> "
            r"loop2@example.org \(.*virtual:8\) -> loop1@example.org"))

    def test_postmaster_of_every_local_domain_reaches_the_mapped_user(self):
        for address in ("postmaster@example.org", "PostMaster@example.net", "POSTMASTER@example.com",
                        "postmaster@old.example", "Postmaster"):
            tok = self.send(address)
            self.assertCopies(tok, dave=1)

    def test_lmtp_answers_each_recipient_with_aliases(self):
        tok = token()
        with smtplib.LMTP("127.0.0.1", self.daemon.ports["lmtp"], local_hostname="client.example", timeout=10) as s:
            self.assertEqual(s.ehlo()[0], 250)
            self.assertEqual(s.mail("sender@remote.example")[0], 250)
            self.assertEqual(s.rcpt("alice@example.org")[0], 250)
            self.assertEqual(s.rcpt("sales@example.org")[0], 250)
            self.assertEqual(s.rcpt("loop2@example.org")[0], 550)
            self.assertEqual(s.rcpt("nobody@example.com")[0], 550)
            self.assertEqual(s.rcpt("carol+lmtp@example.net")[0], 250)
            # One reply per accepted recipient (RFC 2033 4.2), three, each about its mailboxes' delivery.
            replies = [s.data(message(tok))] + [s.getreply() for _ in range(2)]
            for code, text in replies:
                self.assertEqual(code, 250, text)
                self.assertRegex(text, rb"^2\.0\.0 OK [0-9a-f]+ \(\d+ octets\)$")
            self.assertEqual(s.noop(), (250, b"2.0.0 OK"))  # nothing more was pending
        self.assertCopies(tok, alice=1, bob=1, carol=1, archive=1)

    def test_swaks_to_an_alias_and_an_extension(self):
        tok = token()
        result = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(self.daemon.ports["mx"]), "--timeout", "20",
             "--helo", "client.example", "--from", "x@remote.example", "--to",
             "info@example.org,dave+swaks@example.org,whoever@example.net", "--header", f"Subject: swaks {tok}"],
            capture_output=True, timeout=60)
        transcript = result.stdout.decode("utf-8", "replace") + result.stderr.decode("utf-8", "replace")
        self.assertEqual(result.returncode, 0, transcript)
        self.assertRegex(transcript, r"<-  250 2\.0\.0 OK: stored as [0-9a-f]+")
        self.assertCopies(tok, alice=1, bob=1, carol=1, dave=1)
        # And a loop, as swaks reports it: no recipient accepted.
        result = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(self.daemon.ports["mx"]), "--timeout", "20",
             "--helo", "client.example", "--from", "x@remote.example", "--to", "loop2@example.org"],
            capture_output=True, timeout=60)
        transcript = result.stdout.decode("utf-8", "replace")
        self.assertEqual(result.returncode, 24, transcript)  # swaks: no RCPT accepted
        self.assertIn("<** 550 5.4.6 <loop2@example.org>: Recipient address rejected: alias loop", transcript)


class Reloading(AliasDaemon):
    MAP = "@example.net  carol\n"
    PLUGIN = 'map = "{work}/virtual"\nentries = ["info@example.org  bob"]\ndelimiters = "+-"'

    def test_the_map_is_reread_on_change_and_a_bad_one_is_not_taken(self):
        # No postmaster entry: the configured postmaster (root), whatever the catch-all says.
        tok = self.send("postmaster@example.net", "info-x@example.org", "alice-x@example.org")
        self.assertCopies(tok, root=1, bob=1, alice=1)
        self.write_map("@example.net  dave\npostmaster  archive\n")
        time.sleep(1.2)  # the file is looked at once a second
        tok = self.send("x@example.net")  # this RCPT looks, and is resolved with the new map
        self.assertCopies(tok, dave=1)
        self.assertTrue(self.daemon.log_contains(r"plugin=aliases re-read .*virtual: 3 entries"))
        tok = self.send("postmaster@example.net")
        self.assertCopies(tok, archive=1)
        self.write_map("@example.net  dave\nbroken@example.org\n")
        time.sleep(1.2)
        tok = self.send("y@example.net", "postmaster@example.org")
        self.assertCopies(tok, dave=1, archive=1)  # the previous map, whole
        self.assertTrue(self.daemon.log_contains(
            r"plugin=aliases keeping the previous version: .*virtual:2: 'broken@example.org' has no target"))


class BadMap(unittest.TestCase):
    def check(self, plugin, map_text, *expected):
        with tempfile.TemporaryDirectory(prefix="mailwright-aliases-") as work:
            with open(os.path.join(work, "passwd"), "w") as f:
                f.write("alice:{PLAIN}pw\n")
            with open(os.path.join(work, "virtual"), "w") as f:
                f.write(map_text)
            path = os.path.join(work, "mailwright.toml")
            with open(path, "w") as f:
                f.write(config(work, plugin))
            for option in ("--check-config", "--config"):
                result = subprocess.run([DAEMON, option, path], capture_output=True, text=True, timeout=30, cwd=work)
                self.assertNotEqual(result.returncode, 0, result.stderr)
                for text in expected:
                    self.assertIn(text.format(work=work), result.stderr)
                self.assertNotIn("listening", result.stderr)

    def test_a_bad_line_stops_the_daemon_and_check_config_naming_file_and_line(self):
        self.check('map = "{work}/virtual"', "# fine\na@example.org  alice\n\nb@example.org  |/bin/sh\n",
                   "{work}/virtual:4: '|/bin/sh': programs, files and :include: are not alias targets here")
        self.check('map = "{work}/absent"', "", "{work}/absent: cannot read the alias map")

    def test_bad_settings_are_named(self):
        self.check('entries = ["a@example.org"]', "", "entries", "entry 0: 'a@example.org' has no target")
        self.check('map = "{work}/virtual"\ndelimiters = "@"', "", "delimiters", "printable ASCII")
        self.check('delimiters = "+"', "", "'map'", "the alias map to read")

    def test_a_wrong_value_is_one_error_not_two(self):
        with tempfile.TemporaryDirectory(prefix="mailwright-aliases-") as work:
            with open(os.path.join(work, "passwd"), "w") as f:
                f.write("alice:{PLAIN}pw\n")
            path = os.path.join(work, "mailwright.toml")
            with open(path, "w") as f:
                f.write(config(work, "entries = 5"))
            result = subprocess.run([DAEMON, "--check-config", path], capture_output=True, text=True, timeout=30)
            self.assertEqual(result.returncode, 2, result.stderr)
            errors = [line for line in result.stderr.splitlines() if "[plugin.aliases]" in line]
            self.assertEqual(len(errors), 1, result.stderr)
            self.assertIn("'entries' in [plugin.aliases] must be a string or an array of strings, not 5", errors[0])


if __name__ == "__main__":
    unittest.main()
