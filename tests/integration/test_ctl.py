"""mailwrightctl against the real daemon over its control socket ([admin] control_socket): status, sessions
of real poplib and smtplib clients with their user and protocol state, kick and kick-user ending exactly those
sessions, reload, stats; the socket's mode, a second daemon on the same socket, a stale socket left by a daemon
that is gone, and the tool's errors."""
import base64
import json
import os
import poplib
import re
import shutil
import smtplib
import socket
import stat
import subprocess
import tempfile
import time
import unittest

from daemon import DAEMON, Daemon, RawConnection

CTL = os.environ.get("MAILWRIGHTCTL", "mailwrightctl")
USERS = {"alice": "pw-alice", "bob": "pw-bob"}


def config(work, server="", plugins=""):
    return f"""
[server]
workers = 2
state_dir = "{work}/state"
{server}
[log]
level = "debug"
[auth]
failure_delay = "0s"
[admin]
control_socket = "{work}/control.sock"
[plugin.passwd-file]
file = "{work}/passwd"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
{plugins}

[[listener]]
name = "pop3"
service = "pop3"
address = ["127.0.0.1"]
port = 0
auth_mechanisms = ["PLAIN"]
plaintext_auth = true

[[listener]]
name = "smtp"
service = "smtp"
address = ["127.0.0.1"]
port = 0
auth_requires_tls = false
plaintext_auth = true
auth_mechanisms = ["PLAIN"]
[listener.smtp]
local_domains = ["example.org"]
"""


def new_work():
    work = tempfile.mkdtemp(prefix="mailwright-ctl-")
    lines = []
    for user, password in USERS.items():
        made = subprocess.run([DAEMON, "passwd", user, "-s", "PLAIN-EQUIVALENT"], input=password,
                              capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        lines.append(made.stdout)
    with open(os.path.join(work, "passwd"), "w") as f:
        f.write("".join(lines))
    return work


def ctl(socket_path, *args, **options):
    return subprocess.run([CTL, "--socket", socket_path, *args], capture_output=True, text=True, timeout=60,
                          **options)


def eventually(check, timeout=10.0):
    """Whether check() becomes true within timeout (polled; the daemon acts on its own threads)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


class ControlTest(unittest.TestCase):
    """One daemon for all tests of a class."""

    @classmethod
    def setUpClass(cls):
        cls.work = new_work()
        cls.socket = os.path.join(cls.work, "control.sock")
        try:
            cls.daemon = Daemon(config(cls.work))
        except BaseException:
            shutil.rmtree(cls.work, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            assert cls.daemon.terminate() == 0
        finally:
            shutil.rmtree(cls.work, ignore_errors=True)

    def ctl(self, *args, **options):
        return ctl(self.socket, *args, **options)

    def ask(self, *args):
        """The daemon's reply to a command (--json), checked to succeed."""
        done = self.ctl("--json", *args)
        self.assertEqual(done.returncode, 0, done.stderr)
        reply = json.loads(done.stdout)
        self.assertIs(reply["ok"], True)
        return reply

    def sessions(self):
        return {s["peer"]: s for s in self.ask("sessions")["sessions"]}

    def pop3(self, user):
        p = poplib.POP3("127.0.0.1", self.daemon.ports["pop3"], timeout=10)
        p.user(user)
        p.pass_(USERS[user])
        self.addCleanup(p.close)
        return p

    def smtp(self, user=None):
        s = smtplib.SMTP("127.0.0.1", self.daemon.ports["smtp"], timeout=10)
        s.ehlo("client.example")
        if user:
            s.login(user, USERS[user])
        self.addCleanup(s.close)
        return s

    def raw_pop3(self, user):
        """A POP3 session logged in over a raw socket: what the server sends after a kick can be read exactly."""
        c = RawConnection(self.daemon.ports["pop3"])
        self.addCleanup(c.close)
        self.assertTrue(c.line().startswith(b"+OK"))
        c.send(f"USER {user}\r\n")
        self.assertTrue(c.line().startswith(b"+OK"))
        c.send(f"PASS {USERS[user]}\r\n")
        self.assertTrue(c.line().startswith(b"+OK"))
        return c

    def raw_smtp(self, user):
        """An SMTP session authenticated over a raw socket."""
        c = RawConnection(self.daemon.ports["smtp"])
        self.addCleanup(c.close)
        self.assertTrue(c.line().startswith(b"220 "))
        c.send("EHLO client.example\r\n")
        for _ in range(100):
            if c.line().startswith(b"250 "):
                break
        token = base64.b64encode(f"\0{user}\0{USERS[user]}".encode()).decode()
        c.send(f"AUTH PLAIN {token}\r\n")
        self.assertTrue(c.line().startswith(b"235 "))
        return c


def peer(client_socket):
    host, port = client_socket.getsockname()[:2]
    return f"{host}:{port}"


class Control(ControlTest):
    def test_socket_is_a_socket_with_mode_0600(self):
        st = os.lstat(self.socket)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, os.geteuid())

    def test_status_lists_listeners_and_plugins(self):
        reply = self.ask("status")
        self.assertEqual({(l["name"], l["address"]) for l in reply["listeners"]},
                         {("pop3", f"127.0.0.1:{self.daemon.ports['pop3']}"),
                          ("smtp", f"127.0.0.1:{self.daemon.ports['smtp']}")})
        self.assertEqual({(p["name"], p["kind"]) for p in reply["plugins"]},
                         {("passwd-file", "auth"), ("maildir", "mailstore")})
        self.assertEqual(reply["pid"], self.daemon.proc.pid)
        self.assertRegex(reply["version"], r"^\d+\.\d+\.\d+")
        self.assertGreaterEqual(reply["uptime_seconds"], 0)

        shown = self.ctl("status")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertRegex(shown.stdout, rf"^mailwrightd {re.escape(reply['version'])}, pid {self.daemon.proc.pid}, up ")
        self.assertRegex(shown.stdout, rf"\n  pop3 +127\.0\.0\.1:{self.daemon.ports['pop3']}\n")
        self.assertRegex(shown.stdout, rf"\n  smtp +127\.0\.0\.1:{self.daemon.ports['smtp']}\n")
        self.assertRegex(shown.stdout, r"\n  passwd-file +auth +")
        self.assertRegex(shown.stdout, r"\n  maildir +mailstore +")

    def test_sessions_show_user_and_protocol_state(self):
        p = self.pop3("alice")
        s = self.smtp()
        s.mail("sender@example.com")
        listed = self.sessions()
        mine = listed[peer(p.sock)]
        self.assertEqual((mine["listener"], mine["user"], mine["state"]), ("pop3", "alice", "TRANSACTION"))
        theirs = listed[peer(s.sock)]
        self.assertEqual((theirs["listener"], theirs["user"], theirs["state"]), ("smtp", "", "mail"))
        self.assertGreaterEqual(mine["age_seconds"], 0)

        shown = self.ctl("sessions")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertTrue(shown.stdout.startswith("ID"), shown.stdout)
        self.assertRegex(shown.stdout, rf"\n{mine['id']} +pop3 +{re.escape(peer(p.sock))} +alice +TRANSACTION +\d")
        self.assertRegex(shown.stdout, rf"\n{theirs['id']} +smtp +{re.escape(peer(s.sock))} +- +mail +\d")

    def test_states_follow_the_dialogue(self):
        c = RawConnection(self.daemon.ports["pop3"])
        self.addCleanup(c.close)
        c.line()
        self.assertEqual(self.sessions()[peer(c.sock)]["state"], "AUTHORIZATION")
        s = self.smtp("bob")
        self.assertEqual((self.sessions()[peer(s.sock)]["user"], self.sessions()[peer(s.sock)]["state"]),
                         ("bob", "greeted"))
        s.mail("bob@example.org")
        s.rcpt("alice@example.org")
        self.assertEqual(self.sessions()[peer(s.sock)]["state"], "rcpt")

    def test_kick_ends_that_session_and_no_other(self):
        kicked = self.raw_pop3("alice")
        other = self.pop3("bob")
        s = self.smtp()
        target = self.sessions()[peer(kicked.sock)]["id"]

        done = self.ctl("kick", str(target))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, f"session {target} asked to end\n")
        # The client hears a goodbye without asking, and the connection closes.
        self.assertTrue(kicked.line().startswith(b"-ERR "))
        self.assertEqual(kicked.line(), b"")
        self.assertTrue(eventually(lambda: all(x["id"] != target for x in self.sessions().values())))

        self.assertTrue(other.noop().startswith(b"+OK"))
        self.assertEqual(s.noop()[0], 250)
        listed = self.sessions()
        self.assertIn(peer(other.sock), listed)
        self.assertIn(peer(s.sock), listed)
        self.assertTrue(self.daemon.log_contains(rf"session={target} .*kicked by the administrator"))

    def test_kick_of_an_unknown_session_fails(self):
        done = self.ctl("kick", "987654321")
        self.assertEqual(done.returncode, 1)
        self.assertIn("no session 987654321", done.stderr)
        self.assertEqual(done.stdout, "")
        raw = self.ctl("--json", "kick", "987654321")
        self.assertEqual(raw.returncode, 1)
        self.assertIs(json.loads(raw.stdout)["ok"], False)

    def test_kick_user_ends_every_session_of_that_user(self):
        pop = self.raw_pop3("alice")
        smtp = self.raw_smtp("alice")
        other = self.pop3("bob")
        self.assertEqual(self.sessions()[peer(smtp.sock)]["user"], "alice")

        done = self.ctl("kick-user", "alice")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, "2 sessions of alice asked to end\n")
        self.assertTrue(pop.line().startswith(b"-ERR "))
        self.assertEqual(pop.line(), b"")
        self.assertTrue(smtp.line().startswith(b"421 "))
        self.assertEqual(smtp.line(), b"")
        self.assertTrue(eventually(lambda: all(x["user"] != "alice" for x in self.sessions().values())))
        self.assertTrue(other.noop().startswith(b"+OK"))

        nobody = self.ctl("kick-user", "carol")
        self.assertEqual(nobody.returncode, 0, nobody.stderr)
        self.assertEqual(nobody.stdout, "0 sessions of carol asked to end\n")

    def test_reload_replies(self):
        done = self.ctl("reload")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, f"configuration reloaded from {self.daemon.config_path}\n")
        self.assertEqual(self.ask("reload")["message"], f"configuration reloaded from {self.daemon.config_path}")
        self.assertTrue(self.daemon.log_contains(r"control: reloading"))

    def test_reload_that_does_not_take_says_why(self):
        with open(self.daemon.config_path) as f:
            good = f.read()
        self.addCleanup(self.restore_config, good)
        with open(self.daemon.config_path, "w") as f:
            f.write(good.replace('failure_delay = "0s"', 'failure_delay = "soon"'))
        done = self.ctl("reload")
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stdout, "")
        self.assertRegex(done.stderr, rf"^mailwrightctl: {re.escape(self.daemon.config_path)}:\d+:\d+: ")
        self.assertIn("failure_delay", done.stderr)
        self.assertEqual(self.ask("status")["pid"], self.daemon.proc.pid)  # the running configuration serves on

    def restore_config(self, text):
        with open(self.daemon.config_path, "w") as f:
            f.write(text)

    def test_stats_prints_numbers(self):
        p = self.pop3("bob")
        reply = self.ask("stats")
        self.assertGreaterEqual(reply["sessions"]["open"], 1)
        self.assertGreaterEqual(reply["sessions"]["by_listener"]["pop3"], 1)
        self.assertIn("smtp", reply["sessions"]["by_listener"])
        self.assertEqual(reply["sessions"]["open"], sum(reply["sessions"]["by_listener"].values()))
        # The metrics registry's samples, as the metrics endpoint serves them, without histogram buckets.
        metrics = reply["metrics"]
        self.assertGreaterEqual(metrics['mailwright_connections_accepted_total{listener="pop3"}'], 1)
        self.assertGreaterEqual(metrics['mailwright_connections_open{listener="pop3"}'], 1)
        self.assertGreaterEqual(metrics['mailwright_logins_total{mechanism="USER",outcome="ok"}'], 1)
        self.assertFalse([name for name in metrics if "_bucket" in name])
        self.assertTrue(all(isinstance(v, (int, float)) for v in metrics.values()), metrics)
        shown = self.ctl("stats")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertRegex(shown.stdout, r"\nuptime +\d+")
        self.assertRegex(shown.stdout, r"\nsessions open +[1-9]\d*\n")
        self.assertRegex(shown.stdout, r"\nsessions open on pop3 +[1-9]\d*\n")
        self.assertRegex(shown.stdout, r'\nmailwright_connections_accepted_total\{listener="pop3"\} +[1-9]\d*\n')
        p.quit()

    def test_several_clients_and_requests(self):
        with socket.socket(socket.AF_UNIX) as idle, socket.socket(socket.AF_UNIX) as busy:
            idle.settimeout(30)
            busy.settimeout(30)
            idle.connect(self.socket)  # says nothing: must not hold the others up
            busy.connect(self.socket)
            self.assertEqual(self.ctl("status").returncode, 0)
            busy.sendall(b"stats\nsessions\r\nnonsense\n")
            replies = b""
            while replies.count(b"\n") < 3:
                chunk = busy.recv(65536)
                self.assertNotEqual(chunk, b"", replies)
                replies += chunk
            answers = [json.loads(line) for line in replies.decode().splitlines()]
            self.assertIn("uptime_seconds", answers[0])
            self.assertIn("sessions", answers[1])
            self.assertIs(answers[2]["ok"], False)
            self.assertIn("unknown request", answers[2]["error"])

    def test_long_request_is_refused(self):
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(30)
            c.connect(self.socket)
            c.sendall(b"kick-user " + b"x" * 4000)
            reply = c.makefile("rb").readline()
            self.assertEqual(json.loads(reply), {"ok": False, "error": "request too long"})

    def test_silent_client_is_closed_after_the_deadline(self):
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(60)
            c.connect(self.socket)
            c.sendall(b"stat")  # an unfinished request
            self.assertEqual(c.recv(100), b"")  # closed by the daemon (control_protocol.hpp: 10 s)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to run mailwrightctl as another user")
    def test_other_users_are_denied(self):
        os.chmod(self.work, 0o755)  # only the socket's own mode keeps them out
        self.addCleanup(os.chmod, self.work, 0o700)

        def as_nobody():
            os.setgid(65534)
            os.setgroups([])
            os.setuid(65534)

        done = self.ctl("status", preexec_fn=as_nobody)
        self.assertEqual(done.returncode, 2)
        self.assertIn(f"permission denied on {self.socket}", done.stderr)

    def test_bad_usage(self):
        for args in ([], ["kick"], ["kick", "abc"], ["kick-user"], ["frobnicate"], ["status", "extra"]):
            done = self.ctl(*args)
            self.assertNotEqual(done.returncode, 0, args)
            self.assertNotEqual(done.stderr.strip(), "", args)
            self.assertEqual(done.stdout, "", args)

    def test_missing_socket(self):
        done = ctl(os.path.join(self.work, "nothing-here.sock"), "status")
        self.assertEqual(done.returncode, 2)
        self.assertIn("is mailwrightd running? is [admin] control_socket set?", done.stderr)


class KickBusySession(unittest.TestCase):
    """A kicked session that cannot hear the request to stop (it waits in a plugin call) is closed."""

    def setUp(self):
        self.work = new_work()
        self.addCleanup(shutil.rmtree, self.work, True)
        # shutdown_grace: the session still waits in the plugin when the daemon stops.
        self.daemon = Daemon(config(self.work, server='shutdown_grace = "2s"', plugins="""
[plugin.slow-hook]
wait_sender = "wait@example.net"
mail_wait = "60s"
"""))
        self.addCleanup(self.daemon.terminate)

    def test_session_busy_in_a_plugin_call_is_closed(self):
        c = RawConnection(self.daemon.ports["smtp"], timeout=30)
        self.addCleanup(c.close)
        self.assertTrue(c.line().startswith(b"220 "))
        c.send("HELO client.example\r\n")
        self.assertTrue(c.line().startswith(b"250 "))
        c.send("MAIL FROM:<wait@example.net>\r\n")
        self.assertTrue(self.daemon.log_contains(r"plugin=slow-hook waiting at MAIL", 10))
        socket_path = os.path.join(self.work, "control.sock")
        listed = json.loads(ctl(socket_path, "--json", "sessions").stdout)["sessions"]
        target = [s["id"] for s in listed if s["peer"] == peer(c.sock)]
        self.assertEqual(len(target), 1, listed)

        self.assertEqual(ctl(socket_path, "kick", str(target[0])).returncode, 0)
        self.assertEqual(c.rest(), b"")  # no reply to MAIL ever comes: the connection is closed
        self.assertTrue(self.daemon.log_contains(
            rf"session={target[0]} .*did not end within 5 s of a kick; connection closed"))


class SecondDaemon(unittest.TestCase):
    """The socket's life: one daemon per socket, a stale socket replaced, anything else left alone, gone at
    exit."""

    def setUp(self):
        self.work = new_work()
        self.addCleanup(shutil.rmtree, self.work, True)
        self.socket = os.path.join(self.work, "control.sock")
        self.config_path = os.path.join(self.work, "second.toml")
        with open(self.config_path, "w") as f:
            f.write(config(self.work))

    def start_again(self):
        """A daemon on the same configuration, which must refuse to start: its stderr."""
        done = subprocess.run([DAEMON, "--config", self.config_path], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        self.assertNotEqual(done.returncode, 0, done.stderr)
        return done.stderr

    def test_second_daemon_refuses_while_the_first_runs(self):
        first = Daemon(config(self.work))
        try:
            self.assertIn(f"another daemon is running: it answers on the control socket {self.socket}",
                          self.start_again())
            self.assertEqual(ctl(self.socket, "--json", "status").returncode, 0)
            self.assertEqual(json.loads(ctl(self.socket, "--json", "status").stdout)["pid"], first.proc.pid)
        finally:
            self.assertEqual(first.terminate(), 0)
        self.assertFalse(os.path.lexists(self.socket), "the socket is removed at exit")

    def test_stale_socket_is_replaced(self):
        with socket.socket(socket.AF_UNIX) as left:
            left.bind(self.socket)  # a socket file nobody listens on, as a killed daemon leaves it
        d = Daemon(config(self.work))
        try:
            self.assertTrue(d.log_contains(r"replaced the one a daemon that is gone left behind"))
            self.assertEqual(stat.S_IMODE(os.lstat(self.socket).st_mode), 0o600)
            self.assertEqual(ctl(self.socket, "status").returncode, 0)
        finally:
            self.assertEqual(d.terminate(), 0)

    def test_killed_daemon_leaves_a_socket_the_next_one_replaces(self):
        d = Daemon(config(self.work))
        d.kill()  # SIGKILL: no chance to remove anything
        self.assertTrue(os.path.lexists(self.socket))
        done = ctl(self.socket, "status")
        self.assertEqual(done.returncode, 2)
        self.assertIn("nobody answers", done.stderr)
        again = Daemon(config(self.work))
        try:
            self.assertEqual(ctl(self.socket, "status").returncode, 0)
        finally:
            self.assertEqual(again.terminate(), 0)

    def test_something_else_than_a_socket_is_left_alone(self):
        with open(self.socket, "w") as f:
            f.write("precious\n")
        self.assertIn("exists and is not a socket", self.start_again())
        with open(self.socket) as f:
            self.assertEqual(f.read(), "precious\n")


if __name__ == "__main__":
    unittest.main()
