"""Message filters in the real mailwrightd (tests/plugins/verdict_filter.cpp, a hook whose filter answers as its
settings say), driven by smtplib and by raw LMTP lines, the Maildirs read back from disk: a filter's refusal at
the end of the data is heard as given and leaves nothing stored; a discard is heard as success and stores
nothing; a filter that throws is contained (451 4.3.0, logged with the plugin's name) and the session goes on;
LMTP tells each recipient the filter's answer for it, and only the accepted ones get the message."""
import os
import smtplib
import socket
import tempfile
import unittest
import uuid

from daemon import maildir_messages, start_in, stop_in

USERS = ["alice", "bob"]


def config(work):
    return f"""
[server]
workers = 2
hostname = "mx.example.org"
[plugins]
auth = ["passwd-file"]
hooks = ["verdict-filter"]
[plugin.passwd-file]
file = "{work}/passwd"
allow_plain = true
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[plugin.verdict-filter]
refuse_word = "REFUSE-ME"
tempfail_word = "LATER-PLEASE"
discard_word = "DISCARD-ME"
throw_word = "THROW-ME"
remove_field = "X-Secret"
refuse_recipients = ["bob@example.org"]

[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]

[[listener]]
name = "lmtp"
service = "lmtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]
"""


def message(tok, body="Hello."):
    return (f"From: sender@remote.example\r\nTo: alice@example.org\r\nSubject: {tok}\r\nX-Secret: {tok}-secret\r\n"
            f"\r\n{body} {tok}\r\n").encode()


class Filters(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailwright-filters-")
        with open(os.path.join(cls.work, "passwd"), "w") as f:
            f.write("".join(f"{u}:{{PLAIN}}pw-{u}\n" for u in USERS))
        cls.daemon = start_in(cls.work, config(cls.work))

    @classmethod
    def tearDownClass(cls):
        assert stop_in(cls.work, cls.daemon) == 0

    def stored(self, user, tok):
        """The messages in user's Maildir (on disk) that carry tok."""
        self.assertEqual(maildir_messages(self.work, user, tok.encode(), subs=("tmp",)), [], "left in tmp/")
        return maildir_messages(self.work, user, tok.encode())

    def smtp(self):
        return smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], local_hostname="client.example", timeout=10)

    def test_an_accepted_message_carries_the_filters_edits(self):
        tok = uuid.uuid4().hex
        with self.smtp() as s:
            self.assertEqual(s.sendmail("sender@remote.example", ["alice@example.org"], message(tok)), {})
        [text] = self.stored("alice", tok)
        header = text.split(b"\n\n", 1)[0]
        self.assertIn(b"\nX-Verdict-Filter: seen\n", header)
        self.assertNotIn(b"-secret", text)  # the field the filter removed
        self.assertIn(f"Subject: {tok}".encode(), header)

    def test_a_refusal_at_the_end_is_heard_as_given_and_nothing_is_stored(self):
        tok = uuid.uuid4().hex
        with self.smtp() as s:
            with self.assertRaises(smtplib.SMTPDataError) as refused:
                s.sendmail("sender@remote.example", ["alice@example.org"], message(tok, "REFUSE-ME"))
            self.assertEqual(refused.exception.smtp_code, 554)
            self.assertEqual(refused.exception.smtp_error, b"5.7.1 refused by verdict-filter")
            with self.assertRaises(smtplib.SMTPDataError) as later:
                s.sendmail("sender@remote.example", ["alice@example.org"], message(tok, "LATER-PLEASE"))
            self.assertEqual(later.exception.smtp_code, 451)
            # The session goes on: the next message is taken.
            ok = uuid.uuid4().hex
            self.assertEqual(s.sendmail("sender@remote.example", ["alice@example.org"], message(ok)), {})
        self.assertEqual(self.stored("alice", tok), [])
        self.assertEqual(len(self.stored("alice", ok)), 1)
        self.assertTrue(self.daemon.log_contains(r"plugin=verdict-filter refused the message at end for good"))

    def test_a_discarded_message_is_accepted_and_not_stored(self):
        tok = uuid.uuid4().hex
        with self.smtp() as s:
            self.assertEqual(s.sendmail("sender@remote.example", ["alice@example.org"], message(tok, "DISCARD-ME")),
                             {})
        self.assertEqual(self.stored("alice", tok), [])
        self.assertTrue(self.daemon.log_contains(r"plugin=verdict-filter discarded the message"))

    def test_a_filter_that_throws_is_contained(self):
        tok = uuid.uuid4().hex
        with self.smtp() as s:
            with self.assertRaises(smtplib.SMTPDataError) as failed:
                s.sendmail("sender@remote.example", ["alice@example.org"], message(tok, "THROW-ME"))
            self.assertEqual(failed.exception.smtp_code, 451)
            self.assertTrue(failed.exception.smtp_error.startswith(b"4.3.0 "))
            ok = uuid.uuid4().hex
            self.assertEqual(s.sendmail("sender@remote.example", ["alice@example.org"], message(ok)), {})
        self.assertEqual(self.stored("alice", tok), [])
        self.assertEqual(len(self.stored("alice", ok)), 1)
        self.assertTrue(self.daemon.log_contains(r"plugin=verdict-filter .*verdict-filter was told to throw"))

    def test_smtp_refuses_the_whole_message_when_the_filter_refuses_one_recipient(self):
        tok = uuid.uuid4().hex
        with self.smtp() as s:
            with self.assertRaises(smtplib.SMTPDataError) as refused:
                s.sendmail("sender@remote.example", ["alice@example.org", "bob@example.org"], message(tok))
            self.assertEqual(refused.exception.smtp_code, 550)
            self.assertEqual(refused.exception.smtp_error, b"5.7.1 not for bob@example.org")
        self.assertEqual(self.stored("alice", tok), [])  # SMTP hears one answer: nobody has it
        self.assertEqual(self.stored("bob", tok), [])

    def test_lmtp_tells_each_recipient_the_filters_answer(self):
        tok = uuid.uuid4().hex
        with socket.create_connection(("127.0.0.1", self.daemon.ports["lmtp"]), timeout=10) as sock:
            f = sock.makefile("rb")
            self.assertTrue(f.readline().startswith(b"220 "))
            sock.sendall(b"LHLO client.example\r\n")
            while not f.readline().startswith(b"250 "):
                pass
            sock.sendall(b"MAIL FROM:<sender@remote.example>\r\n")
            self.assertTrue(f.readline().startswith(b"250 "))
            for rcpt in (b"alice@example.org", b"bob@example.org"):
                sock.sendall(b"RCPT TO:<" + rcpt + b">\r\n")
                self.assertTrue(f.readline().startswith(b"250 "))
            sock.sendall(b"DATA\r\n")
            self.assertTrue(f.readline().startswith(b"354 "))
            sock.sendall(message(tok) + b".\r\n")
            alice = f.readline()
            bob = f.readline()
            sock.sendall(b"QUIT\r\n")
        self.assertTrue(alice.startswith(b"250 2.0.0 "), alice)
        self.assertEqual(bob, b"550 5.7.1 not for bob@example.org\r\n")
        self.assertEqual(len(self.stored("alice", tok)), 1)
        self.assertEqual(self.stored("bob", tok), [])


if __name__ == "__main__":
    unittest.main()
