"""The lines an administrator reads (docs/operations.md, "Logs"), as the real daemon writes them for clients
nobody here wrote (smtplib, poplib): each accepted message on one key=value line with every field; each refusal
with its reply code; each failed login, POP3 and SMTP alike, in the one form that contrib/fail2ban's filter
matches, judged by Debian's fail2ban-regex on the daemon's own log (a forged user name " client=6.6.6.6"
included); the same in JSON ([log] format), every line a JSON object. The outputs ([log] output): syslog and
journald through a datagram socket of the test's own where a private mount namespace can put it at the path
glibc and libsystemd use; without one, a start falls back to stderr and says so. A reload keeps them (the
level follows)."""
import base64
import json
import os
import poplib
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
import unittest

from certs import make_all
from daemon import DAEMON, Client, insecure_context, start_in, stop_in

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILTER = os.path.join(SOURCE, "contrib", "fail2ban", "filter.d", "mailwright.conf")
JAIL = os.path.join(SOURCE, "contrib", "fail2ban", "jail.d", "mailwright.conf")
FORGED = "x client=6.6.6.6"  # a user name that tries to name another client address
USERS = ["alice", "bob", "carol"]
TEXT_LINE = re.compile(r"^\S+ (?:trace|debug|info|warning|error|critical) (.*)$")


def config(work, log=""):
    return f"""
[server]
workers = 1
hostname = "mx.example.org"
[log]
level = "info"
{log}
[auth]
failure_delay = "0s"
[tls]
certificate = "{work}/one.pem"
key = "{work}/one.key"
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
refuse_recipients = ["bob@example.org"]

[[listener]]
name = "submission"
service = "smtp"
port = 0
tls = "starttls"
[listener.smtp]
role = "submission"
local_domains = ["example.org"]
require_tls = true

[[listener]]
name = "mx"
service = "smtp"
port = 0
plaintext_auth = true
max_auth_failures = 10
auth_mechanisms = ["PLAIN", "LOGIN"]
[listener.smtp]
local_domains = ["example.org"]

[[listener]]
name = "lmtp"
service = "lmtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]

[[listener]]
name = "pop3"
service = "pop3"
port = 0
plaintext_auth = true
max_auth_failures = 10
[listener.pop3]
apop = true
"""


def new_work(prefix):
    work = tempfile.mkdtemp(prefix=prefix)
    make_all(work)
    with open(os.path.join(work, "passwd"), "w") as f:
        f.write("".join(f"{u}:{{PLAIN}}pw-{u}\n" for u in USERS))
    return work


def fields(message):
    """A key=value log message as {key: [values]}; the words before the first key are under ""."""
    out = {}
    for word in message.split(" "):
        key, eq, value = word.partition("=")
        if eq:
            out.setdefault(key, []).append(value)
        else:
            out.setdefault("", []).append(word)
    return out


def message(subject, body="Hello."):
    return f"From: alice@example.org\r\nTo: alice@example.org\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode()


def failed_logins(ports):
    """Failed logins of every kind, POP3 and SMTP, each with its user name; the expected (mechanism, listener,
    user) of each, in order."""
    pop = poplib.POP3("127.0.0.1", ports["pop3"], timeout=10)
    for user in ("alice", "nosuchuser"):  # a wrong password, an unknown user: the same line
        pop.user(user)
        with unittest.TestCase().assertRaises(poplib.error_proto):
            pop.pass_("wrong")
    with unittest.TestCase().assertRaises(poplib.error_proto):
        pop.apop("alice", "wrong")
    forged = base64.b64encode(b"\0" + FORGED.encode() + b"\0wrong").decode()
    with unittest.TestCase().assertRaises(poplib.error_proto):
        pop._shortcmd("AUTH PLAIN " + forged)
    pop.quit()
    smtp = smtplib.SMTP("127.0.0.1", ports["mx"], local_hostname="client.example", timeout=10)
    smtp.ehlo()
    for mechanism, user in (("PLAIN", "alice"), ("LOGIN", "nosuchuser"), ("PLAIN", FORGED)):
        smtp.user, smtp.password = user, "wrong"
        with unittest.TestCase().assertRaises(smtplib.SMTPAuthenticationError):
            smtp.auth(mechanism, smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login)
    smtp.user, smtp.password = "alice", "pw-alice"
    smtp.auth("PLAIN", smtp.auth_plain)  # a success: no failed-login line
    smtp.quit()
    return [("USER", "pop3", "alice"), ("USER", "pop3", "nosuchuser"), ("APOP", "pop3", "alice"),
            ("PLAIN", "pop3", FORGED), ("PLAIN", "mx", "alice"), ("LOGIN", "mx", "nosuchuser"),
            ("PLAIN", "mx", FORGED)]


def fail2ban_filter_dir(work):
    """A directory with the shipped filter and the common.conf of Debian's fail2ban it includes."""
    directory = os.path.join(work, "fail2ban", "filter.d")
    os.makedirs(directory, exist_ok=True)
    shutil.copy("/etc/fail2ban/filter.d/common.conf", directory)
    shutil.copy(FILTER, directory)
    return os.path.join(directory, "mailwright.conf")


def fail2ban_hosts(test, work, lines, name):
    """The addresses fail2ban-regex finds with the shipped filter in `lines`, written to a log file."""
    if shutil.which("fail2ban-regex") is None:
        test.skipTest("fail2ban-regex is not installed (Debian package fail2ban; scripts/install-deps)")
    log = os.path.join(work, name)
    with open(log, "w") as f:
        f.write("\n".join(lines) + "\n")
    result = subprocess.run(["fail2ban-regex", "-o", "ip", log, fail2ban_filter_dir(work)], capture_output=True,
                            text=True, timeout=120)
    test.assertEqual(result.returncode, 0, result.stdout + result.stderr)
    return result.stdout.split()


class AdminLines(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = new_work("mailwright-loglines-")
        cls.daemon = start_in(cls.work, config(cls.work))

    @classmethod
    def tearDownClass(cls):
        assert stop_in(cls.work, cls.daemon) == 0

    def lines_with(self, pattern):
        """The messages (time and level cut) of the log lines that match `pattern`, once one does."""
        self.assertTrue(self.daemon.log_contains(pattern), "\n".join(self.daemon.lines))
        return [TEXT_LINE.match(line).group(1) for line in list(self.daemon.lines) if re.search(pattern, line)]

    def test_an_accepted_message_is_one_line_with_every_field(self):
        body = message("accepted")
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["submission"], local_hostname="client.example",
                          timeout=10) as s:
            s.starttls(context=insecure_context())
            s.login("alice", "pw-alice")
            self.assertEqual(s.mail("alice@example.org")[0], 250)
            self.assertEqual(s.rcpt("alice@example.org")[0], 250)
            self.assertEqual(s.rcpt("carol@example.org")[0], 250)
            code, text = s.data(body)
        self.assertEqual(code, 250, text)
        message_id = re.search(rb"stored as ([0-9a-f]+)", text).group(1).decode()
        [line] = self.lines_with(rf" message={message_id} accepted ")
        self.assertRegex(line, r"^session=\d+ peer=127\.0\.0\.1:\d+ message=[0-9a-f]+ accepted ")
        got = fields(line)
        self.assertEqual(got["message"], [message_id])
        self.assertEqual(got["size"], [str(len(body))])  # the octets of the message, as it was sent
        self.assertEqual(got["tls"], ["TLSv1.3"])
        self.assertEqual(got["user"], ["alice"])
        self.assertEqual(got["client"], ["127.0.0.1"])
        self.assertEqual(got["from"], ["<alice@example.org>"])
        self.assertEqual(got["to"], ["<alice@example.org>", "<carol@example.org>"])

    def test_each_refusal_is_one_line_with_its_codes(self):
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["submission"], local_hostname="client.example",
                          timeout=10) as s:
            s.ehlo()
            self.assertEqual(s.mail("alice@example.org")[0], 530)  # require_tls: STARTTLS first
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], local_hostname="client.example", timeout=10) as s:
            s.ehlo()
            self.assertEqual(s.docmd("DATA")[0], 503)  # no transaction
            self.assertEqual(s.mail("someone@remote.example")[0], 250)
            self.assertEqual(s.rcpt("nobody@example.org")[0], 550)
            self.assertEqual(s.rcpt("someone@elsewhere.example")[0], 554)  # no relaying
            self.assertEqual(s.rcpt("alice@example.org")[0], 250)
            self.assertEqual(s.data(message("refused", "REFUSE-ME"))[0], 554)  # the filter's verdict
        [submission] = self.lines_with(r" refused MAIL ")
        self.assertRegex(submission, r"^session=\d+ peer=127\.0\.0\.1:\d+ refused MAIL code=530 enhanced=5\.7\.0 "
                                     r"tls=none client=127\.0\.0\.1 reply=Must issue a STARTTLS command first$")
        mx = self.lines_with(r" refused message ")[-1].split(" ")[0]  # the last one of the session
        refusals = self.lines_with(rf"^\S+ \S+ {mx} .* refused ")
        self.assertEqual(len(refusals), 4, "\n".join(refusals))  # one line per refusal, no more
        self.assertRegex(refusals[0], r" refused DATA code=503 enhanced=5\.5\.1 tls=none client=127\.0\.0\.1 reply=")
        self.assertRegex(refusals[1], r" refused RCPT code=550 enhanced=5\.1\.1 message=[0-9a-f]+ tls=none "
                                      r"client=127\.0\.0\.1 from=<someone@remote\.example> to=<nobody@example\.org> "
                                      r"reply=<nobody@example\.org>: Recipient address rejected: User unknown$")
        self.assertRegex(refusals[2], r" refused RCPT code=554 enhanced=5\.7\.1 .* to=<someone@elsewhere\.example> ")
        self.assertRegex(refusals[3], r" refused message code=554 enhanced=5\.7\.1 message=[0-9a-f]+ tls=none "
                                      r"client=127\.0\.0\.1 from=<someone@remote\.example> to=<alice@example\.org> "
                                      r"reply=")

    def test_lmtp_names_each_recipient_by_its_outcome(self):
        with Client("127.0.0.1", self.daemon.ports["lmtp"]) as c:
            self.assertTrue(c.line().startswith("220 "))
            c.send("LHLO client.example\r\n")
            for _ in range(20):
                if not c.line().startswith("250-"):
                    break
            for command in ("MAIL FROM:<someone@remote.example>", "RCPT TO:<alice@example.org>",
                            "RCPT TO:<bob@example.org>", "DATA"):
                c.send(command + "\r\n")
                self.assertRegex(c.line(), r"^(250|354) ")
            c.send(message("lmtp") + b".\r\n")
            self.assertRegex(c.line(), r"^250 ")  # alice
            self.assertRegex(c.line(), r"^550 5\.7\.1 ")  # bob: the filter refuses him
            c.send("QUIT\r\n")
        [accepted] = self.lines_with(r" accepted .* from=<someone@remote\.example> to=<alice@example\.org>$")
        message_id = fields(accepted)["message"][0]
        self.assertEqual(fields(accepted)["to"], ["<alice@example.org>"])  # only the recipient that has it
        [refused] = self.lines_with(rf" refused message .* message={message_id} ")
        self.assertRegex(refused, r" refused message code=550 enhanced=5\.7\.1 .* to=<bob@example\.org> reply=")

    def test_failed_logins_are_one_line_each_and_fail2ban_finds_only_the_client(self):
        expected = failed_logins(self.daemon.ports)
        self.lines_with(rf" authentication failed .* listener=mx user={re.escape(FORGED)}$")  # the last one
        found = self.lines_with(r" authentication failed ")
        got = []
        for line in found:
            m = re.match(r"^session=\d+ peer=127\.0\.0\.1:\d+ authentication failed client=127\.0\.0\.1 "
                         r"mechanism=(\S+) listener=(\S+) user=(.*)$", line)
            self.assertIsNotNone(m, line)
            got.append(m.groups())
        self.assertEqual(got, expected)
        # An unknown user and a wrong password leave the same line but for the name.
        self.assertEqual(found[0].replace("user=alice", "user=?"), found[1].replace("user=nosuchuser", "user=?"))
        # fail2ban-regex with the shipped filter, on the log as the daemon wrote it: one match per failed login,
        # and every one the real client, whatever user name it tried.
        hosts = fail2ban_hosts(self, self.work, list(self.daemon.lines), "stderr.log")
        self.assertEqual(hosts, ["127.0.0.1"] * len(expected))
        # The same lines as syslog writes them (output = "syslog": no time or level of ours), and as a syslog
        # or journal reader sees the stderr of a unit (our time and level inside its line).
        syslogged, journalled = [], []
        for line in self.daemon.lines:
            syslogged.append("Dec  4 09:00:00 mx mailwrightd[4242]: " + TEXT_LINE.match(line).group(1))
            journalled.append("Dec  4 09:00:00 mx mailwrightd[4242]: " + line)
        self.assertEqual(fail2ban_hosts(self, self.work, syslogged, "syslog.log"), ["127.0.0.1"] * len(expected))
        self.assertEqual(fail2ban_hosts(self, self.work, journalled, "journal.log"), ["127.0.0.1"] * len(expected))

    def test_the_shipped_jail_loads_in_fail2ban(self):
        if shutil.which("fail2ban-client") is None:
            self.skipTest("fail2ban is not installed (scripts/install-deps)")
        # Debian's configuration with our jail and filter, and without Debian's own jails (their logs are absent).
        etc = os.path.join(self.work, "fail2ban-etc")
        shutil.copytree("/etc/fail2ban", etc)
        for name in os.listdir(os.path.join(etc, "jail.d")):
            os.remove(os.path.join(etc, "jail.d", name))
        shutil.copy(JAIL, os.path.join(etc, "jail.d"))
        shutil.copy(FILTER, os.path.join(etc, "filter.d"))
        test = subprocess.run(["fail2ban-client", "-c", etc, "-t"], capture_output=True, text=True, timeout=120)
        self.assertEqual(test.returncode, 0, test.stdout + test.stderr)
        dump = subprocess.run(["fail2ban-client", "-c", etc, "-d"], capture_output=True, text=True, timeout=120)
        self.assertIn("['add', 'mailwright', 'systemd']", dump.stdout)
        self.assertIn("['set', 'mailwright', 'addjournalmatch', '_SYSTEMD_UNIT=mailwright.service']", dump.stdout)


class JsonFormat(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = new_work("mailwright-logjson-")
        cls.daemon = start_in(cls.work, config(cls.work, 'format = "json"'))

    @classmethod
    def tearDownClass(cls):
        assert stop_in(cls.work, cls.daemon) == 0

    def test_every_line_is_a_json_object_with_the_session_as_fields(self):
        hostile = 'x","session":999,"peer":"6.6.6.6\\'  # tries to close the string and add fields
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], local_hostname="client.example", timeout=10) as s:
            s.ehlo()
            s.user, s.password = hostile, "wrong"
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.auth("PLAIN", s.auth_plain)
            s.sendmail("someone@remote.example", ["alice@example.org"], message("json"))
        self.assertTrue(self.daemon.log_contains(r'"message":"message=[0-9a-f]+ accepted '))
        objects = [json.loads(line) for line in list(self.daemon.lines)]
        for o in objects:
            self.assertLessEqual({"time", "level", "message"}, set(o), o)
            self.assertRegex(o["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
        [failed] = [o for o in objects if o["message"].startswith("authentication failed ")]
        self.assertIsInstance(failed["session"], int)
        self.assertRegex(failed["peer"], r"^127\.0\.0\.1:\d+$")
        self.assertEqual(failed["level"], "info")
        # The message is the text line's, escapes and all (the backslash written as \\), and user= is last.
        self.assertEqual(failed["message"], "authentication failed client=127.0.0.1 mechanism=PLAIN listener=mx "
                                            "user=" + hostile.replace("\\", "\\\\"))
        [accepted] = [o for o in objects if " accepted " in o["message"]]
        self.assertEqual(accepted["session"], failed["session"])
        got = fields(accepted["message"])
        self.assertEqual((got["from"], got["to"], got["tls"]), (["<someone@remote.example>"],
                                                                ["<alice@example.org>"], ["none"]))
        # The shipped filter reads JSON lines too.
        self.assertEqual(fail2ban_hosts(self, self.work, list(self.daemon.lines), "json.log"), ["127.0.0.1"])


def check_config(work, log):
    path = os.path.join(work, f"check-{abs(hash(log))}.toml")
    with open(path, "w") as f:
        f.write(config(work, log))
    return subprocess.run([DAEMON, "--check-config", path], capture_output=True, text=True, timeout=60), path


def in_namespace(work, mounts):
    """A command prefix that runs a program in a private mount namespace after `mounts` (shell), or None when
    this process cannot make one (not root, and no user namespaces; containers often allow neither)."""
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        return None
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", "set -e\n" + mounts + '\nexec "$@"', work]


class Datagrams:
    """A unix datagram socket at `path`, each datagram kept as it arrives."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.received = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        while not self._stop.is_set():
            try:
                self.received.append(self.sock.recv(65536))
            except socket.timeout:
                continue

    def wait_for(self, pattern, timeout=10.0):
        """The first datagram that matches `pattern` (bytes), waiting for it."""
        deadline = threading.Event()
        for _ in range(int(timeout / 0.05)):
            for d in list(self.received):
                if re.search(pattern, d):
                    return d
            deadline.wait(0.05)
        raise AssertionError(f"no datagram matches {pattern!r}: {self.received[-20:]!r}")

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


class Outputs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = new_work("mailwright-logout-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_check_config_takes_every_output_and_format_and_refuses_others(self):
        for log in ('output = "stderr"', 'output = "syslog"', 'output = "journald"', 'format = "text"',
                    'format = "json"\noutput = "journald"'):
            result, _ = check_config(self.work, log)
            self.assertEqual(result.returncode, 0, log + "\n" + result.stderr)
        result, path = check_config(self.work, 'output = "file"')
        self.assertEqual(result.returncode, 2)
        line = config(self.work, 'output = "file"').split("\n").index('output = "file"') + 1
        self.assertIn(f"{path}:{line}:10: 'output' in [log] must be one of \"stderr\", \"syslog\", \"journald\", "
                      f"not \"file\"", result.stderr)
        result, path = check_config(self.work, 'format = "xml"')
        self.assertEqual(result.returncode, 2)
        self.assertIn("'format' in [log] must be one of \"text\", \"json\", not \"xml\"", result.stderr)

    def test_a_reload_keeps_format_and_output_and_says_so(self):
        daemon = start_in(self.work, config(self.work))
        try:
            self.assertTrue(daemon.reload(config(self.work, 'format = "json"\noutput = "journald"')))
            self.assertTrue(daemon.log_contains(r"warning reload: \[log\] format and output changed; it takes effect "
                                                r"at the next restart"))
            with Client("127.0.0.1", daemon.ports["pop3"]) as c:
                self.assertTrue(c.line().startswith("+OK"))
                c.send("USER bob\r\nPASS wrong\r\nQUIT\r\n")
                for _ in range(3):
                    c.line()
            # Still text, still on stderr.
            self.assertTrue(daemon.log_contains(r"^\S+ info session=\d+ .* authentication failed .* user=bob$"))
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def start_without(self, output, socket_path):
        """The daemon with `output` where its socket is missing: it says so, and logs on stderr instead."""
        if os.path.exists(socket_path):
            self.skipTest(f"{socket_path} exists here: lines would go there, not to stderr")
        daemon = start_in(self.work, config(self.work, f'output = "{output}"'))
        try:
            self.assertTrue(daemon.log_contains(rf'warning \[log\] output = "{output}", but {socket_path} does not '
                                                r"exist: logging to stderr instead"))
            with Client("127.0.0.1", daemon.ports["pop3"]) as c:
                self.assertTrue(c.line().startswith("+OK"))
                c.send("USER alice\r\nPASS wrong\r\nQUIT\r\n")
                self.assertTrue(c.line().startswith("+OK"))
                self.assertTrue(c.line().startswith("-ERR"))
            self.assertTrue(daemon.log_contains(r" authentication failed client=127\.0\.0\.1 mechanism=USER "))
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_journald_missing_falls_back_to_stderr(self):
        self.start_without("journald", "/run/systemd/journal/socket")

    def test_syslog_missing_falls_back_to_stderr(self):
        self.start_without("syslog", "/dev/log")

    def run_with_socket(self, output, mounts, socket_path):
        """The daemon with `output`, in a namespace where `mounts` put the test's datagram socket (at
        `socket_path`, outside) where the output sends; its datagrams after a failed POP3 login."""
        program = in_namespace(self.work, mounts)
        if program is None:
            self.skipTest("no private mount namespace here: the socket cannot be put where the output sends")
        received = Datagrams(socket_path)
        path = os.path.join(self.work, f"{output}.toml")
        with open(path, "w") as f:
            f.write(config(self.work, f'output = "{output}"'))
        proc = subprocess.Popen([*program, DAEMON, "--config", path], cwd=self.work, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            listening = received.wait_for(rb"listening listener=pop3 address=127\.0\.0\.1:(\d+) ")
            port = int(re.search(rb"address=127\.0\.0\.1:(\d+) ", listening).group(1))
            with Client("127.0.0.1", port) as c:
                self.assertTrue(c.line().startswith("+OK"))
                c.send("USER alice\r\nPASS wrong\r\nQUIT\r\n")
                for _ in range(3):
                    c.line()
            return received.wait_for(rb"authentication failed client=127\.0\.0\.1 mechanism=USER listener=pop3 "
                                     rb"user=alice")
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=30)
            received.close()
            self.assertEqual(proc.returncode, 0, err)
            self.assertEqual(err, "", "nothing on stderr: every line went to the output")

    def test_syslog_lines_reach_dev_log(self):
        # /dev/log, as glibc's syslog() knows it, is the test's socket: the rest of /dev as it was, the
        # device nodes the daemon opens bound into a copy mounted over it.
        mounts = ('mkdir -p "$0/dev"\n'
                  'for n in null zero random urandom; do touch "$0/dev/$n"; mount --bind "/dev/$n" "$0/dev/$n"; done\n'
                  'touch "$0/dev/log"; mount --bind "$0/syslog.sock" "$0/dev/log"\n'
                  'mount --rbind "$0/dev" /dev')
        line = self.run_with_socket("syslog", mounts, os.path.join(self.work, "syslog.sock"))
        # RFC 3164 as glibc writes it: <facility mail (2) * 8 + info (6)>, the time, ident[pid]: the message
        # alone, escaped, without our time and level.
        self.assertRegex(line, rb"^<22>\w{3} [ \d]\d \d\d:\d\d:\d\d mailwrightd\[\d+\]: session=\d+ "
                               rb"peer=127\.0\.0\.1:\d+ authentication failed client=127\.0\.0\.1 mechanism=USER "
                               rb"listener=pop3 user=alice$")

    def test_journald_lines_reach_the_journal_socket(self):
        mounts = ('mount -t tmpfs none /run\nmkdir -p /run/systemd/journal\n'
                  'touch /run/systemd/journal/socket\nmount --bind "$0/journal.sock" /run/systemd/journal/socket')
        entry = self.run_with_socket("journald", mounts, os.path.join(self.work, "journal.sock"))
        # The journal's native protocol: one FIELD=value per line (no value here holds a newline).
        got = dict(line.split(b"=", 1) for line in entry.rstrip(b"\n").split(b"\n"))
        self.assertRegex(got[b"MESSAGE"], rb"^session=\d+ peer=127\.0\.0\.1:\d+ authentication failed "
                                          rb"client=127\.0\.0\.1 mechanism=USER listener=pop3 user=alice$")
        self.assertEqual(got[b"PRIORITY"], b"6")
        self.assertEqual(got[b"SYSLOG_IDENTIFIER"], b"mailwrightd")


if __name__ == "__main__":
    unittest.main()
