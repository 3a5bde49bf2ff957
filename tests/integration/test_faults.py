"""Fault injection through real plugins: mailwrightd runs with faulty-auth and faulty-store (tests/plugins), which
fail the K-th call of PLUGIN concerning a user named "NAME~K~MODE~PLUGIN", by an error status (MODE error) or
an exception (MODE throw: a std::exception; throwint: an int, which is none). For each plugin and K = 1, 2, ... each POP3, SMTP and LMTP dialogue runs once with
its K-th call into that plugin failing, until a dialogue makes fewer than K: every call the dialogue makes has
then failed once, each way.

Every faulty dialogue must end with each command answered in its protocol's form, or the connection closed
cleanly, never a hang; after each one a healthy user's session works, and a session opened before the first
fault still works after the last. At the end the daemon exits cleanly on SIGTERM (under ASan+UBSan, no
LeakSanitizer report: a leak would make the exit code non-zero)."""
import hashlib
import re
import unittest

from daemon import Client, Daemon

MODES = ("error", "throw", "throwint")
MAX_CALLS = 60  # no dialogue here makes this many plugin calls; reaching it means the schedule is not counted

CONFIG = """
[server]
workers = 2
[log]
level = "debug"
[auth]
failure_delay = "0s"
failure_delay_max = "0s"
[plugins]
auth = ["faulty-auth"]
[plugin.faulty-auth]
[plugin.faulty-store]

[[listener]]
name = "pop3"
service = "pop3"
port = 0
plaintext_auth = true
auth_mechanisms = ["PLAIN", "LOGIN", "CRAM-MD5"]
max_auth_failures = 50
[listener.pop3]
apop = true

[[listener]]
name = "smtp"
service = "smtp"
port = 0
[listener.smtp]
role = "mx"
local_domains = ["example.org"]

[[listener]]
name = "lmtp"
service = "lmtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]
"""


class Conn(Client):
    """A daemon.Client that reports the end of the connection instead of raising: line() gives the raw bytes or
    None, send() False."""

    def __init__(self, port):
        super().__init__("127.0.0.1", port)

    def line(self):
        line = self.file.readline()
        return line if line else None

    def send(self, text):
        try:
            super().send(text)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False


POP3_MULTILINE = {"LIST", "UIDL", "RETR", "TOP", "CAPA"}


def pop3_dialogue(port, user, use_apop):
    """Runs a POP3 dialogue as `user`; returns the replies (None where the connection had ended). Raises on a
    reply that is not +OK/-ERR, a multi-line reply that is not well-formed, or a hang (socket timeout)."""
    c = Conn(port)
    replies = []
    try:
        greeting = c.line()
        assert greeting and greeting.startswith(b"+OK "), greeting
        stamp = re.search(rb"<[^>]+>", greeting).group(0)
        if use_apop:
            digest = hashlib.md5(stamp + b"pw").hexdigest()
            login = [f"APOP {user} {digest}"]
        else:
            login = [f"USER {user}", "PASS pw"]
        for command in login + ["STAT", "LIST", "UIDL", "RETR 1", "TOP 2 1", "DELE 1", "RSET", "DELE 2", "NOOP",
                                "QUIT"]:
            if not c.send(command + "\r\n"):
                replies.append(None)
                break
            reply = c.line()
            if reply is None:
                replies.append(None)  # closed: allowed, as long as it is clean
                break
            assert reply.startswith(b"+OK") or reply.startswith(b"-ERR"), (command, reply)
            assert reply.endswith(b"\r\n"), reply
            replies.append(reply)
            if reply.startswith(b"+OK") and command.split()[0] in POP3_MULTILINE:
                for _ in range(10000):
                    more = c.line()
                    if more is None:
                        # A store that fails inside a message leaves the server no reply to give: it closes
                        # the connection without the final dot, so the client cannot take half a message
                        # for all of it.
                        replies.append(None)
                        return replies
                    if more == b".\r\n":
                        break
                else:
                    raise AssertionError(f"{command}: no end of the multi-line reply")
        return replies
    finally:
        c.close()


def pop3_dialogue_stat(port, user):
    """Logs in as `user` (its faults all spent) and returns the number of messages STAT reports."""
    c = Conn(port)
    try:
        assert c.line().startswith(b"+OK")
        for command in (f"USER {user}", "PASS pw", "STAT"):
            c.send(command + "\r\n")
            reply = c.line()
            assert reply and reply.startswith(b"+OK"), (command, reply)
        c.send("QUIT\r\n")
        c.line()
        return int(reply.split()[1])
    finally:
        c.close()


SMTP_REPLY = re.compile(rb"^([2-5]\d\d[ -]\d\.\d{1,3}\.\d{1,3} |354 )")


def smtp_dialogue(port, recipients, greeting_word):
    """MAIL, RCPT for each recipient, DATA, QUIT; returns the replies (None once the connection ended)."""
    c = Conn(port)
    replies = []
    try:
        greeting = c.line()
        assert greeting and greeting.startswith(b"220 "), greeting
        c.send(f"{greeting_word} client.example\r\n")
        for _ in range(50):
            line = c.line()
            assert line and line.startswith(b"250"), line
            if line[3:4] == b" ":
                break
        accepted = 0
        steps = ["MAIL FROM:<sender@remote.example>"] + [f"RCPT TO:<{r}@example.org>" for r in recipients] + ["DATA"]
        for command in steps:
            if command == "DATA" and accepted == 0:
                break
            if not c.send(command + "\r\n"):
                replies.append(None)
                return replies
            reply = c.line()
            if reply is None:
                replies.append(None)
                return replies
            assert SMTP_REPLY.match(reply), (command, reply)
            replies.append(reply)
            if command.startswith("RCPT") and reply.startswith(b"250"):
                accepted += 1
        if accepted and replies[-1].startswith(b"354"):
            c.send("Subject: faults\r\n\r\n" + "a line of the message\r\n" * 40 + ".\r\n")
            # SMTP answers the message once; LMTP once per accepted recipient.
            for _ in range(accepted if greeting_word == "LHLO" else 1):
                reply = c.line()
                if reply is None:
                    replies.append(None)
                    return replies
                assert SMTP_REPLY.match(reply), reply
                replies.append(reply)
        if c.send("QUIT\r\n"):
            reply = c.line()
            assert reply is None or reply.startswith(b"221 "), reply
        return replies
    finally:
        c.close()


def calls(auth, store):
    """The failures every_fault() should have made: each call, each way."""
    return {f"{plugin} {mode} {what}" for plugin, whats in (("auth", auth), ("store", store)) for what in whats
            for mode in MODES}


class FaultyPlugins(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(CONFIG)

    @classmethod
    def tearDownClass(cls):
        code = cls.daemon.terminate()
        leaks = [line for line in cls.daemon.lines if "LeakSanitizer" in line or "AddressSanitizer" in line]
        assert not leaks, "\n".join(leaks)
        assert code == 0, f"mailwrightd exited with {code}"

    def injected_call(self, user):
        """The call the plugins failed for `user`, or None (the dialogue ended before reaching it)."""
        if not self.daemon.log_contains(rf"injected \w+ at call \d+ \(\w+\) for {re.escape(user)}$", timeout=0.5):
            return None
        line = next(l for l in self.daemon.lines if "injected" in l and l.endswith(f" for {user}"))
        return re.search(r"\((\w+)\) for ", line).group(1)

    def injected(self, plugin, mode, k, user):
        pattern = rf"plugin=faulty-{plugin} injected {mode} at call {k} \(\w+\) for {re.escape(user)}$"
        return self.daemon.log_contains(pattern, timeout=0.5)  # logged before the reply was sent

    healthy_runs = 0

    def healthy_pop3(self):
        FaultyPlugins.healthy_runs += 1  # a fresh mailbox each time: the dialogue deletes a message
        replies = pop3_dialogue(self.daemon.ports["pop3"], f"healthy{self.healthy_runs}", use_apop=False)
        self.assertEqual(len(replies), 12, replies)
        self.assertTrue(all(r.startswith(b"+OK") for r in replies), replies)

    def every_fault(self, name, run):
        """Runs `run(user)` with the K-th call into each plugin failing, each way, for K = 1, 2, ... until no fault
        is injected. Returns the calls that failed, "plugin mode what" each."""
        failed = set()
        for plugin in ("auth", "store"):
            for mode in MODES:
                for k in range(1, MAX_CALLS + 1):
                    user = f"{name}~{k}~{mode}~{plugin}"
                    with self.subTest(user=user):
                        run(user)
                        self.healthy_pop3()
                    if not self.injected(plugin, mode, k, user):
                        self.assertGreater(k, 1, "the first call of the dialogue was never counted")
                        break
                    line = next(l for l in self.daemon.lines if "injected" in l and l.endswith(f" for {user}"))
                    failed.add(f"{plugin} {mode} " + re.search(r"\((\w+)\) for ", line).group(1))
                else:
                    self.fail(f"{name}: faults still injected after {MAX_CALLS} calls")
        return failed

    def test_every_plugin_call_of_a_pop3_session_fails_once(self):
        before = Conn(self.daemon.ports["pop3"])  # a session that stays open through all the faults
        try:
            self.assertTrue(before.line().startswith(b"+OK"))
            for command in ("USER steady", "PASS pw", "STAT"):
                before.send(command + "\r\n")
                self.assertTrue(before.line().startswith(b"+OK"), command)

            def run(user):
                replies = pop3_dialogue(self.daemon.ports["pop3"], user, use_apop=False)
                self.assertGreater(len(replies), 0)
                self.assertTrue(all(r is None or r.startswith((b"+OK", b"-ERR")) for r in replies))
                if self.injected_call(user) in ("mark_deleted", "undelete_all"):
                    # Deletion marks that failed: QUIT must say so and delete nothing, though the client
                    # deleted message 2 (DELE 1, RSET, DELE 2).
                    self.assertTrue(replies[-1].startswith(b"-ERR"), replies)
                    again = pop3_dialogue_stat(self.daemon.ports["pop3"], user)
                    self.assertEqual(again, 2)

            store_calls = {"open", "messages", "open_message", "read_some", "mark_deleted", "undelete_all", "commit"}
            self.assertEqual(self.every_fault("pop3-pass", run), calls({"verify_password"}, store_calls))
            self.assertEqual(
                self.every_fault("pop3-apop", lambda user: pop3_dialogue(self.daemon.ports["pop3"], user, use_apop=True)),
                calls({"stored_secret"}, store_calls))
            before.send("RETR 1\r\n")
            self.assertTrue(before.line().startswith(b"+OK"))
            for _ in range(100):
                if before.line() == b".\r\n":
                    break
            before.send("QUIT\r\n")
            self.assertTrue(before.line().startswith(b"+OK"))
        finally:
            before.close()

    def test_every_plugin_call_of_an_smtp_delivery_fails_once(self):
        failed = self.every_fault("smtp", lambda user: smtp_dialogue(self.daemon.ports["smtp"], [user, "healthy"], "EHLO"))
        self.assertEqual(failed, calls({"lookup"}, {"deliver"}))

    def test_every_plugin_call_of_an_lmtp_delivery_fails_once(self):
        def run(user):
            replies = smtp_dialogue(self.daemon.ports["lmtp"], ["healthy", user], "LHLO")
            # The healthy recipient is answered on its own: a failure the store reports for the other does not
            # touch it. (A store that throws has failed the whole call, so then both hear 451.)
            if None not in replies and "~error~" in user:
                self.assertTrue(replies[1].startswith(b"250"), replies)
                self.assertTrue(replies[4].startswith(b"250"), replies)

        self.assertEqual(self.every_fault("lmtp", run), calls({"lookup"}, {"deliver"}))


if __name__ == "__main__":
    unittest.main()
