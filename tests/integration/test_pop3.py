"""POP3 in mailwrightd, driven by clients nobody here wrote: Python's poplib (and raw sockets where poplib
cannot say it), curl, openssl s_client and GNU SASL's gsasl for SCRAM. The daemon runs with the passwd-file,
cert and Maildir plugins on three listeners: STLS, implicit TLS, and plaintext with passwords allowed."""
import base64
import os
import poplib
import queue
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from certs import make_all
from daemon import DAEMON, Daemon, RawConnection

CERTS = None  # made by setUpModule
MECHANISMS = ('["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN", "LOGIN", '
              '"CRAM-MD5", "EXTERNAL"]')
# Every user has the password pw-<user>, but "spacey", whose password has spaces. "hashed" is stored as a real
# password hash (YESCRYPT); the others as {PLAIN-EQUIVALENT}, which APOP, CRAM-MD5 and SCRAM (as well as
# USER/PASS) need. Tests that change a maildrop use a user of their own.
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "ken", "leo", "mia",
         "ned", "olga", "pat", "quinn", "spacey", "hashed"]
PASSWD = []  # the lines, made once by `mailwrightd passwd`

GREETING = re.compile(r"^\+OK Mailwright POP3 server ready( <[^<>@\s]+@[^<>\s]+>)?\r\n$")
NOT_IN_AUTHORIZATION = "-ERR {} is not allowed in the AUTHORIZATION state\r\n"

# Messages as a Maildir stores them (LF line ends); POP3 sends and counts them with CRLF.
SIMPLE = (b"From: sender@example.org\nTo: alice@example.org\nSubject: first\nMessage-ID: <first@example.org>\n"
          b"\nHello.\nA second line of the body.\nAnd a third.\n")
DOTS = (b"From: sender@example.org\nTo: alice@example.org\nSubject: dots\n\n.starts with a dot\n..two dots\n.\n"
        b"after a lone dot\n. a dot and a space\n...\nlast line\n")
BIG = (b"From: sender@example.org\nTo: alice@example.org\nSubject: big\n\n" +
       b"".join(b"%s line %05d of a message larger than the server's 64 KiB write buffer\n" %
                (b"." if i % 7 == 0 else b"", i) for i in range(3000)))
STANDARD = [SIMPLE, DOTS, BIG]


def crlf(message):
    return message.replace(b"\n", b"\r\n")


def password(user):
    return "correct horse battery staple" if user == "spacey" else f"pw-{user}"


def setUpModule():
    global CERTS
    CERTS = tempfile.mkdtemp(prefix="mailwright-pop3-certs-")
    PASSWD.clear()
    try:
        make_all(CERTS)
        for user in USERS:
            scheme = "YESCRYPT" if user == "hashed" else "PLAIN-EQUIVALENT"
            result = subprocess.run([DAEMON, "passwd", "--scheme", scheme, user], input=password(user),
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            PASSWD.append(result.stdout)
    except BaseException:
        tearDownModule()  # unittest does not call it when setUpModule fails
        raise


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


def cert(name):
    return os.path.join(CERTS, name)


def pop3_config(work, failure_delay="0s", pop3_extra="", pop3s_extra="", plain_extra=""):
    """Three POP3 listeners: "pop3" (STLS, APOP), "pop3s" (implicit TLS), "pop3-plain" (no TLS, passwords in the
    clear allowed). Both TLS listeners ask for client certificates signed by the test CA, for EXTERNAL."""
    tls_options = f"""[listener.tls_options]
client_certificates = "optional"
client_ca = "{cert('ca.pem')}"
"""
    return f"""
[server]
workers = 2
[log]
level = "debug"
[auth]
failure_delay = "{failure_delay}"
failure_delay_max = "{failure_delay}"
[plugin.passwd-file]
file = "{work}/passwd"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[plugin.cert]
map = "san_email"
strip_domain = true
[plugins]
auth = ["passwd-file", "cert"]
[tls]
certificate = "{cert('one.pem')}"
key = "{cert('one.key')}"

[[listener]]
name = "pop3"
service = "pop3"
port = 0
tls = "starttls"
auth_mechanisms = {MECHANISMS}
{tls_options}
[listener.pop3]
apop = true
{pop3_extra}

[[listener]]
name = "pop3s"
service = "pop3"
port = 0
tls = "implicit"
auth_mechanisms = {MECHANISMS}
{tls_options}
{"[listener.pop3]" if pop3s_extra else ""}
{pop3s_extra}

[[listener]]
name = "pop3-scram"
service = "pop3"
port = 0
tls = "starttls"
auth_requires_tls = false
auth_mechanisms = {MECHANISMS}

[[listener]]
name = "pop3-plain"
service = "pop3"
port = 0
auth_mechanisms = ["PLAIN", "LOGIN"]
plaintext_auth = true
{plain_extra}
"""


def client_context(cert_name=None, max_version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if max_version:
        ctx.maximum_version = max_version
    if cert_name:
        ctx.load_cert_chain(cert(cert_name + ".pem"), cert(cert_name + ".key"))
    return ctx


def maildir(work, user):
    return os.path.join(work, "mail", user, "Maildir")


def seed(work, user, messages=STANDARD):
    """Replaces the user's Maildir with `messages`, oldest first; returns their file names."""
    shutil.rmtree(maildir(work, user), ignore_errors=True)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir(work, user), sub))
    return [deliver(work, user, message, 1700000000 + i) for i, message in enumerate(messages)]


def deliver(work, user, message, stamp=None):
    """Writes a message into new/ as a delivery agent would: into tmp/, then renamed."""
    stamp = stamp or int(time.time())
    name = f"{stamp}.M{stamp % 1000000}P{os.getpid()}.test"
    tmp = os.path.join(maildir(work, user), "tmp", name)
    with open(tmp, "wb") as f:
        f.write(message)
    os.rename(tmp, os.path.join(maildir(work, user), "new", name))
    return name


def stored(work, user):
    """The names of the user's messages (without the info part a reader adds), sorted."""
    names = []
    for sub in ("new", "cur"):
        path = os.path.join(maildir(work, user), sub)
        if os.path.isdir(path):
            names += [n.split(":")[0] for n in os.listdir(path) if not n.startswith(".")]
    return sorted(names)


def new_work():
    """A temporary directory with the passwd file; the Maildirs go under it."""
    work = tempfile.mkdtemp(prefix="mailwright-pop3-")
    with open(os.path.join(work, "passwd"), "w") as f:
        f.write("".join(PASSWD))
    return work


class Conn(RawConnection):
    """A raw POP3 connection (daemon.RawConnection) with POP3's replies."""

    def text(self):
        return self.line().decode("utf-8", "replace")

    def multiline(self):
        """The lines of a multi-line reply after its status line, up to and without the final ".\r\n"."""
        lines = []
        for _ in range(100000):
            line = self.line()
            if line == b".\r\n":
                return lines
            if not line.endswith(b"\n"):
                raise AssertionError(f"the connection closed inside a multi-line reply after {lines[-3:]!r}")
            lines.append(line)
        raise AssertionError("no end of the multi-line reply")

    def cmd(self, command):
        self.send(command + "\r\n")
        return self.text()


class Pop3Test(unittest.TestCase):
    """One daemon for all tests of a class, with its own passwd file and Maildirs."""

    @classmethod
    def setUpClass(cls):
        cls.work = new_work()
        try:
            cls.daemon = Daemon(pop3_config(cls.work))
        except BaseException:
            shutil.rmtree(cls.work, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            assert cls.daemon.terminate() == 0
        finally:
            shutil.rmtree(cls.work, ignore_errors=True)

    # --- Maildirs -----------------------------------------------------------------------------------------
    @classmethod
    def maildir(cls, user):
        return maildir(cls.work, user)

    @classmethod
    def seed(cls, user, messages=STANDARD):
        return seed(cls.work, user, messages)

    @classmethod
    def deliver(cls, user, message, stamp=None):
        return deliver(cls.work, user, message, stamp)

    @classmethod
    def stored(cls, user):
        return stored(cls.work, user)

    # --- connections ----------------------------------------------------------------------------------------
    def port(self, listener="pop3"):
        return self.daemon.ports[listener]

    def connect(self, listener="pop3", **kw):
        """A raw connection, its greeting checked."""
        c = Conn(self.port(listener), tls=listener == "pop3s", **kw)
        self.assertRegex(c.text(), GREETING)
        return c

    def connect_tls(self, listener="pop3", ctx=None):
        """pop3s, or pop3 after STLS: a TLS connection in the AUTHORIZATION state."""
        if listener == "pop3s":
            return self.connect("pop3s", ctx=ctx)
        c = self.connect(listener)
        self.assertEqual(c.cmd("STLS"), "+OK begin TLS negotiation\r\n")
        c.starttls(ctx)
        return c

    def login(self, user, listener="pop3"):
        c = self.connect(listener) if listener == "pop3-plain" else self.connect_tls(listener)
        self.assertEqual(c.cmd(f"USER {user}"), "+OK send PASS\r\n")
        self.assertRegex(c.cmd(f"PASS {password(user)}"), rf"^\+OK {user} has \d+ messages? \(\d+ octets\)\r\n$")
        return c

    def login_after_drop(self, user, listener="pop3"):
        """A login right after a connection of the same user was dropped: the server releases the maildrop
        when it reads the end of that connection, which may take a moment; until then it says [IN-USE]."""
        for _ in range(50):
            c = self.connect(listener) if listener == "pop3-plain" else self.connect_tls(listener)
            self.assertEqual(c.cmd(f"USER {user}"), "+OK send PASS\r\n")
            reply = c.cmd(f"PASS {password(user)}")
            if "[IN-USE]" not in reply:
                self.assertRegex(reply, rf"^\+OK {user} has \d+ messages? \(\d+ octets\)\r\n$")
                return c
            c.close()
            time.sleep(0.1)
        self.fail(f"the maildrop of {user} stayed locked after its connection was dropped")

    # --- expectations ---------------------------------------------------------------------------------------
    def assertLoggedIn(self, reply, user, messages=STANDARD):
        count = len(messages)
        octets = sum(len(crlf(m)) for m in messages)
        self.assertEqual(reply, f"+OK {user} has {count} message{'' if count == 1 else 's'} ({octets} octets)\r\n")

    def capabilities(self, c):
        """CAPA on a raw connection: {name: [arguments]}."""
        self.assertEqual(c.cmd("CAPA"), "+OK capability list follows\r\n")
        caps = {}
        for line in c.multiline():
            words = line.decode().split()
            caps[words[0]] = words[1:]
        return caps


def lines_of(message):
    """A message as poplib returns it: lines without their CRLF, dot-stuffing removed."""
    return crlf(message).split(b"\r\n")[:-1]


def run(args, stdin=b"", timeout=30):
    return subprocess.run(args, input=stdin, capture_output=True, timeout=timeout)


class LineQueue:
    """The lines a subprocess writes on stdout, read by a thread, taken with a timeout."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            self.queue.put(line)
        self.queue.put(None)

    def get(self, timeout=10.0):
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing within {timeout} s") from None


class GsaslClient:
    """GNU SASL's command line client on pipes: it prints each base64 client message on a line of its own and
    reads each base64 server challenge from a line of standard input. Channel bindings, when given, are the
    answers to its prompts (tls-exporter, then, if that was empty, tls-unique). gsasl 2.2 refuses a non-PLUS
    mechanism when it has a binding, so the downgrade case ("y" flag) is written by hand below."""

    PROMPT = re.compile(r"Enter base64 encoded [\w-]+ channel binding: ")

    def __init__(self, mechanism, user, secret, tls_exporter=None, tls_unique=None, authzid=None):
        self.mechanism = mechanism
        args = ["gsasl", "--client", "--quiet", "--mechanism", mechanism, "--authentication-id", user,
                "--password", secret]
        if authzid:
            args += ["--authorization-id", authzid]
        bindings = tls_exporter is not None or tls_unique is not None
        if not bindings:
            args.append("--no-cb")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.out = LineQueue(self.proc.stdout)
        if bindings:
            self.write(base64.b64encode(tls_exporter or b"").decode())
            if not tls_exporter:  # asked only when there is no tls-exporter binding
                self.write(base64.b64encode(tls_unique or b"").decode())

    def write(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def message(self):
        """gsasl's next client message (base64; "" for an empty one)."""
        for _ in range(5):
            line = self.out.get()
            if line is None:
                self.proc.wait(10)
                raise AssertionError(f"gsasl ended ({self.proc.returncode}): {self.proc.stderr.read().strip()}")
            line = self.PROMPT.sub("", line.rstrip("\n"))
            if line != self.mechanism:  # it names the mechanism first, even with --quiet
                return line
        raise AssertionError("gsasl printed no client message")

    def close(self):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc.stderr.close()
        self.proc.stdout.close()


def sasl_exchange(send, receive, mechanism, user, secret, **bindings):
    """AUTH `mechanism` with gsasl answering every challenge; returns the server's final reply."""
    client = GsaslClient(mechanism, user, secret, **bindings)
    try:
        send(f"AUTH {mechanism}\r\n")
        reply = receive()
        for _ in range(10):
            if not reply.startswith("+ "):
                return reply
            challenge = reply[2:].rstrip("\r\n")
            if challenge:  # an empty first challenge: the client speaks first
                client.write(challenge)
            send(client.message() + "\r\n")
            reply = receive()
        raise AssertionError("the SASL exchange did not end")
    finally:
        client.close()


class SClient:
    """openssl s_client -starttls pop3 (or on pop3s) on pipes, the keying material for RFC 9266's tls-exporter
    channel binding printed; protocol lines are the ones that start with "+" or "-ERR"."""

    def __init__(self, port, starttls=True, extra=()):
        args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-nocommands", "-keymatexport",
                "EXPORTER-Channel-Binding", "-keymatexportlen", "32", *extra]
        if starttls:
            args += ["-starttls", "pop3"]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.out = LineQueue(self.proc.stdout)
        self.exporter = None
        self.greeting = None
        try:
            for _ in range(500):
                line = self.out.get()
                if line is None:
                    raise AssertionError("s_client ended before the handshake completed")
                m = re.search(r"Keying material: ([0-9A-F]{64})", line)
                if m:
                    self.exporter = bytes.fromhex(m.group(1))
                    if starttls:
                        break
                if not starttls and line.startswith("+OK"):
                    self.greeting = line
                    break
        except BaseException:
            self.close()
            raise

    def send(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def receive(self):
        for _ in range(500):
            line = self.out.get()
            if line is None:
                return ""
            if line.startswith(("+", "-ERR")):
                return line.rstrip("\r\n") + "\r\n"  # read as text: the CR was taken with the line end
        raise AssertionError("no protocol line from s_client")

    def close(self):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc.stdout.close()


class Poplib(Pop3Test):
    """Python's poplib: the whole TRANSACTION dialogue, implicit TLS, STLS, APOP, CAPA before and after TLS."""

    def test_user_pass_and_every_transaction_command_on_the_plaintext_listener(self):
        names = self.seed("carol")
        p = poplib.POP3("127.0.0.1", self.port("pop3-plain"), timeout=10)
        try:
            self.assertRegex(p.getwelcome().decode() + "\r\n", GREETING)
            self.assertNotIn(b"<", p.getwelcome())  # APOP is not enabled on this listener: no timestamp
            self.assertEqual(p.user("carol"), b"+OK send PASS")
            self.assertEqual(p.pass_(password("carol")),
                             f"+OK carol has 3 messages ({sum(len(crlf(m)) for m in STANDARD)} octets)".encode())
            sizes = [len(crlf(m)) for m in STANDARD]
            self.assertEqual(p.stat(), (3, sum(sizes)))
            resp, listing, _ = p.list()
            self.assertEqual(resp, f"+OK 3 messages ({sum(sizes)} octets)".encode())
            self.assertEqual(listing, [f"{i + 1} {size}".encode() for i, size in enumerate(sizes)])
            self.assertEqual(p.list(2), f"+OK 2 {sizes[1]}".encode())
            resp, uids, _ = p.uidl()
            self.assertEqual(uids, [f"{i + 1} {name}".encode() for i, name in enumerate(names)])  # the base names
            self.assertEqual(p.uidl(3), f"+OK 3 {names[2]}".encode())
            for number, message in enumerate(STANDARD, 1):
                resp, lines, _ = p.retr(number)
                self.assertEqual(resp, f"+OK {len(crlf(message))} octets".encode())
                self.assertEqual(lines, lines_of(message), number)  # dot-stuffing undone by poplib
            resp, lines, _ = p.top(1, 1)
            self.assertEqual(lines, lines_of(SIMPLE)[:6])  # the header, the blank line, one body line
            resp, lines, _ = p.top(2, 0)
            self.assertEqual(lines, lines_of(DOTS)[:4])
            resp, lines, _ = p.top(2, 100)
            self.assertEqual(lines, lines_of(DOTS))  # more lines than the body has: the whole message
            self.assertEqual(p.dele(1), b"+OK message 1 deleted")
            self.assertEqual(p.stat(), (2, sum(sizes[1:])))
            self.assertEqual(p.list()[1], [f"{i + 1} {size}".encode() for i, size in enumerate(sizes) if i != 0])
            for attempt in (lambda: p.retr(1), lambda: p.dele(1), lambda: p.list(1), lambda: p.top(1, 0)):
                with self.assertRaises(poplib.error_proto) as e:
                    attempt()
                self.assertEqual(e.exception.args[0], b"-ERR message 1 is deleted")
            self.assertEqual(p.rset(), f"+OK maildrop has 3 messages ({sum(sizes)} octets)".encode())
            self.assertEqual(p.stat(), (3, sum(sizes)))
            self.assertTrue(p.noop().startswith(b"+OK"))
            self.assertEqual(p.dele(2), b"+OK message 2 deleted")
            self.assertEqual(p.quit(), b"+OK bye")
        finally:
            p.close()
        self.assertEqual(self.stored("carol"), [names[0], names[2]])  # QUIT in TRANSACTION: UPDATE

    def test_pop3_ssl_on_the_implicit_tls_listener(self):
        self.seed("alice")
        p = poplib.POP3_SSL("127.0.0.1", self.port("pop3s"), context=client_context(), timeout=10)
        try:
            self.assertRegex(p.getwelcome().decode() + "\r\n", GREETING)
            caps = p.capa()
            self.assertNotIn("STLS", caps)  # TLS is already there
            self.assertIn("USER", caps)
            self.assertIn("PLAIN", caps["SASL"])
            p.user("alice")
            p.pass_(password("alice"))
            self.assertEqual(p.stat(), (3, sum(len(crlf(m)) for m in STANDARD)))
            self.assertEqual(p.retr(2)[1], lines_of(DOTS))
            self.assertEqual(p.retr(3)[1], lines_of(BIG))
            p.quit()
        finally:
            p.close()

    def test_capa_before_and_after_stls_then_user_pass_with_a_hashed_password(self):
        self.seed("hashed")
        p = poplib.POP3("127.0.0.1", self.port("pop3"), timeout=10)
        try:
            before = p.capa()
            self.assertIn("STLS", before)
            self.assertNotIn("USER", before)  # no login of any kind before TLS on this listener
            self.assertNotIn("SASL", before)
            for cap in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"):
                self.assertIn(cap, before)
            self.assertEqual(p.stls(client_context()), b"+OK begin TLS negotiation")
            after = p.capa()
            self.assertNotIn("STLS", after)
            self.assertIn("USER", after)
            self.assertEqual(after["SASL"], ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1",
                                             "CRAM-MD5", "PLAIN", "LOGIN"])  # no client certificate: no EXTERNAL
            p.user("hashed")
            self.assertEqual(p.pass_(password("hashed")), f"+OK hashed has 3 messages "
                             f"({sum(len(crlf(m)) for m in STANDARD)} octets)".encode())
            self.assertEqual(p.retr(1)[1], lines_of(SIMPLE))
            in_transaction = p.capa()
            for cap in ("USER", "SASL", "STLS"):
                self.assertNotIn(cap, in_transaction)
            p.quit()
        finally:
            p.close()

    def test_wrong_password_is_refused_with_the_auth_response_code(self):
        for user, secret in (("hashed", "pw-wrong"), ("alice", "pw-bob"), ("nobody", "pw-nobody")):
            p = poplib.POP3("127.0.0.1", self.port("pop3-plain"), timeout=10)
            try:
                p.user(user)
                with self.assertRaises(poplib.error_proto) as e:
                    p.pass_(secret)
                self.assertEqual(e.exception.args[0], b"-ERR [AUTH] authentication failed")
            finally:
                p.close()

    def test_apop_after_stls_and_the_greeting_timestamp(self):
        self.seed("alice")
        p = poplib.POP3("127.0.0.1", self.port("pop3"), timeout=10)
        try:
            m = re.fullmatch(rb"\+OK Mailwright POP3 server ready (<[^<>@\s]+@[^<>\s]+>)", p.getwelcome())
            self.assertIsNotNone(m, p.getwelcome())  # RFC 1939 7: a msg-id style timestamp
            p.stls(client_context())
            self.assertLoggedIn(p.apop("alice", password("alice")).decode() + "\r\n", "alice")
            self.assertEqual(p.stat()[0], 3)
            p.quit()
        finally:
            p.close()

    def test_apop_with_a_wrong_secret_or_a_hashed_password_fails(self):
        for user, secret in (("alice", "pw-wrong"), ("hashed", password("hashed"))):
            p = poplib.POP3("127.0.0.1", self.port("pop3"), timeout=10)
            try:
                p.stls(client_context())
                with self.assertRaises(poplib.error_proto) as e:
                    p.apop(user, secret)
                self.assertEqual(e.exception.args[0], b"-ERR [AUTH] authentication failed", user)
            finally:
                p.close()

    def test_apop_timestamp_is_unique_per_connection_and_only_where_enabled(self):
        stamps = set()
        for _ in range(3):
            p = poplib.POP3("127.0.0.1", self.port("pop3"), timeout=10)
            stamps.add(re.search(rb"<.*>", p.getwelcome()).group(0))
            p.close()
        self.assertEqual(len(stamps), 3)
        with Conn(self.port("pop3s"), tls=True) as c:
            self.assertEqual(c.text(), "+OK Mailwright POP3 server ready\r\n")
            self.assertEqual(c.cmd("APOP alice " + "0" * 32), "-ERR APOP is not available on this server\r\n")


class Curl(Pop3Test):
    """curl 7.88's POP3: STLS with --ssl-reqd, implicit TLS, its SASL mechanisms, APOP, EXTERNAL with a client
    certificate, a custom command."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for user in ("alice", "bob"):
            cls.seed(user)

    def curl(self, path="", *args, listener="pop3", user="alice", secret=None):
        command = ["curl", "--silent", "--show-error", "--verbose", "--max-time", "20", "--noproxy", "*", "-k"]
        if listener == "pop3":
            command.append("--ssl-reqd")  # STLS, and no fallback to plaintext
        if user is not None:
            command += ["-u", f"{user}:{password(user) if secret is None else secret}"]
        scheme = "pop3s" if listener == "pop3s" else "pop3"
        command += [*args, f"{scheme}://127.0.0.1:{self.port(listener)}/{path}"]
        return run(command)

    def listing(self, messages=STANDARD):
        return b"".join(b"%d %d\r\n" % (i, len(crlf(m))) for i, m in enumerate(messages, 1))

    def test_list_after_stls(self):
        result = self.curl()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, self.listing())
        self.assertIn(b"> STLS", result.stderr)
        self.assertIn(b"< +OK begin TLS negotiation", result.stderr)

    def test_retrieve_every_message_byte_identical(self):
        for number, message in enumerate(STANDARD, 1):
            result = self.curl(str(number))
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout, crlf(message), number)  # curl removes the dot-stuffing

    def test_implicit_tls(self):
        result = self.curl("2", listener="pop3s")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, crlf(DOTS))
        self.assertNotIn(b"> STLS", result.stderr)

    def test_sasl_plain_login_and_cram_md5(self):
        for mechanism in ("PLAIN", "LOGIN", "CRAM-MD5"):
            result = self.curl("", "--login-options", f"AUTH={mechanism}")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(f"> AUTH {mechanism}".encode(), result.stderr)
            self.assertEqual(result.stdout, self.listing())
            if mechanism == "PLAIN":  # and with the initial response on the AUTH line (RFC 5034 4)
                result = self.curl("1", "--login-options", "AUTH=PLAIN", "--sasl-ir")
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertRegex(result.stderr, rb"> AUTH PLAIN [A-Za-z0-9+/=]+\r\n")
                self.assertEqual(result.stdout, crlf(SIMPLE))
            wrong = self.curl("", "--login-options", f"AUTH={mechanism}", user="bob", secret="pw-wrong")
            self.assertEqual(wrong.returncode, 67, wrong.stderr)  # CURLE_LOGIN_DENIED
            self.assertIn(b"< -ERR [AUTH] authentication failed", wrong.stderr)

    def test_apop(self):
        result = self.curl("", "--login-options", "AUTH=+APOP")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"> APOP alice ", result.stderr)
        self.assertEqual(result.stdout, self.listing())

    def test_external_with_a_client_certificate(self):
        # curl sends the user name of -u as EXTERNAL's authorization identity; the certificate maps to alice.
        # (Without a user name curl 7.88 answers the empty challenge with "=", which RFC 5034's grammar allows
        # only as an initial response; the server refuses it as malformed base64.)
        for listener in ("pop3", "pop3s"):
            result = self.curl("1", "--cert", cert("alice.pem"), "--key", cert("alice.key"), "--login-options",
                               "AUTH=EXTERNAL", listener=listener, secret="")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(b"> AUTH EXTERNAL", result.stderr)
            self.assertIn(b"< +OK alice has 3 messages", result.stderr)
            self.assertEqual(result.stdout, crlf(SIMPLE))

    def test_external_cannot_act_as_another_user(self):
        result = self.curl("", "--cert", cert("alice.pem"), "--key", cert("alice.key"), "--login-options",
                           "AUTH=EXTERNAL", user="bob", secret="")
        self.assertEqual(result.returncode, 67, result.stderr)
        self.assertIn(b"< -ERR [AUTH] authentication failed", result.stderr)

    def test_external_without_a_verified_certificate_fails(self):
        for cert_args in ([], ["--cert", cert("mallory.pem"), "--key", cert("mallory.key")]):
            result = self.curl("", *cert_args, "--login-options", "AUTH=EXTERNAL", secret="")
            self.assertEqual(result.returncode, 67, result.stderr)  # not offered: curl gives up
            self.assertNotIn(b"EXTERNAL", re.search(rb"< SASL [^\r\n]*", result.stderr).group(0))
            self.assertNotIn(b"< +OK alice has", result.stderr)

    def test_dele_as_a_custom_command(self):
        names = self.seed("dave")
        result = self.curl("1", "--request", "DELE", "--head", user="dave")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"< +OK message 1 deleted", result.stderr)
        self.assertEqual(self.stored("dave"), names[1:])
        self.assertEqual(self.curl(user="dave").stdout, self.listing(STANDARD[1:]))


class OpensslStarttls(Pop3Test):
    """openssl s_client: its own STLS (-starttls pop3) and implicit TLS, the dialogue through its stdin."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seed("bob")

    def s_client(self, *args, stdin):
        result = run(["openssl", "s_client", "-quiet", "-nocommands", *args], stdin=stdin)
        return result.stdout, result.stderr

    def test_starttls_capa_user_pass_stat_quit(self):
        out, err = self.s_client("-starttls", "pop3", "-connect", f"127.0.0.1:{self.port('pop3')}",
                                 stdin=b"CAPA\r\nUSER bob\r\nPASS pw-bob\r\nSTAT\r\nQUIT\r\n")
        self.assertIn(b"+OK capability list follows\r\n", out, err)
        capa = out.split(b"+OK capability list follows\r\n")[1].split(b"\r\n.\r\n")[0].split(b"\r\n")
        self.assertIn(b"USER", capa)  # inside TLS
        self.assertNotIn(b"STLS", capa)
        self.assertIn(b"SASL SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN", capa)
        total = sum(len(crlf(m)) for m in STANDARD)
        self.assertTrue(out.endswith(b"+OK send PASS\r\n+OK bob has 3 messages (%d octets)\r\n+OK 3 %d\r\n"
                                     b"+OK bye\r\n" % (total, total)), out)

    def test_implicit_tls_retr_shows_the_dot_stuffing_on_the_wire(self):
        out, err = self.s_client("-connect", f"127.0.0.1:{self.port('pop3s')}",
                                 stdin=b"USER bob\r\nPASS pw-bob\r\nRETR 2\r\nQUIT\r\n")
        stuffed = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines_of(DOTS))
        self.assertIn(b"+OK %d octets\r\n" % len(crlf(DOTS)) + stuffed + b".\r\n+OK bye\r\n", out, err)
        self.assertTrue(out.startswith(b"+OK Mailwright POP3 server ready\r\n"), out)

    def test_starttls_with_tls12(self):
        out, err = self.s_client("-tls1_2", "-starttls", "pop3", "-connect", f"127.0.0.1:{self.port('pop3')}",
                                 stdin=b"USER bob\r\nPASS pw-bob\r\nLIST 1\r\nQUIT\r\n")
        self.assertIn(b"+OK 1 %d\r\n+OK bye\r\n" % len(crlf(SIMPLE)), out, err)


class Gsasl(Pop3Test):
    """SCRAM (RFC 5802, 7677) with GNU SASL's client: SHA-256 and SHA-1, with and without channel binding
    (tls-unique over TLS 1.2 from Python's ssl; tls-exporter over TLS 1.3 from openssl s_client's exporter)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seed("alice")

    def scram(self, c, mechanism, user="alice", secret=None, **bindings):
        return sasl_exchange(c.send, c.text, mechanism, user, password(user) if secret is None else secret,
                             **bindings)

    def test_scram_sha_256_after_stls(self):
        with self.connect_tls("pop3") as c:
            self.assertLoggedIn(self.scram(c, "SCRAM-SHA-256"), "alice")
            self.assertEqual(c.cmd("STAT"), f"+OK 3 {sum(len(crlf(m)) for m in STANDARD)}\r\n")
            self.assertEqual(c.cmd("QUIT"), "+OK bye\r\n")

    def test_scram_sha_256_and_sha_1_on_implicit_tls(self):
        for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
            with self.connect_tls("pop3s") as c:
                self.assertLoggedIn(self.scram(c, mechanism), "alice")
                self.assertEqual(c.cmd("QUIT"), "+OK bye\r\n")

    def test_no_login_of_any_kind_before_stls(self):
        # SCRAM never reveals the password, but the mail it unlocks would be read in the clear: a STARTTLS
        # listener allows no login before STLS (auth_requires_tls, on by default there; SECURITY-CASES 47).
        # Regression: CAPA offered SCRAM before STLS and a whole SCRAM login, and then the mail, went in clear.
        refusal = "-ERR [AUTH] authentication is not allowed without TLS: use STLS first\r\n"
        with self.connect("pop3") as c:
            self.assertEqual(c.cmd("AUTH SCRAM-SHA-256"), refusal)
            self.assertEqual(c.cmd("AUTH CRAM-MD5"), refusal)
            self.assertEqual(c.cmd("APOP alice 0123456789abcdef0123456789abcdef"), refusal)
            self.assertEqual(c.cmd("STAT"), NOT_IN_AUTHORIZATION.format("STAT"))
            self.assertEqual(c.cmd("STLS"), "+OK begin TLS negotiation\r\n")
            c.starttls()
            self.assertLoggedIn(self.scram(c, "SCRAM-SHA-256"), "alice")
            c.cmd("QUIT")

    def test_scram_without_tls_where_the_listener_allows_it(self):
        # auth_requires_tls = false: SCRAM (which never reveals the password) works before STLS.
        with self.connect("pop3-scram") as c:
            self.assertLoggedIn(self.scram(c, "SCRAM-SHA-256"), "alice")
            c.cmd("QUIT")

    def test_scram_with_a_wrong_password_or_an_unknown_user(self):
        for user, secret in (("alice", "pw-wrong"), ("nobody", "pw-nobody")):
            with self.connect_tls("pop3") as c:
                self.assertEqual(self.scram(c, "SCRAM-SHA-256", user=user, secret=secret),
                                 "-ERR [AUTH] authentication failed\r\n")

    def test_scram_authorization_identity(self):
        with self.connect_tls("pop3s") as c:
            self.assertEqual(self.scram(c, "SCRAM-SHA-256", authzid="bob"), "-ERR [AUTH] authentication failed\r\n")
            self.assertLoggedIn(self.scram(c, "SCRAM-SHA-256", authzid="alice"), "alice")
            c.cmd("QUIT")

    def test_scram_for_a_user_with_only_a_password_hash_fails(self):
        with self.connect_tls("pop3") as c:  # a YESCRYPT hash cannot give SCRAM's keys
            self.assertEqual(self.scram(c, "SCRAM-SHA-256", user="hashed"), "-ERR [AUTH] authentication failed\r\n")

    def test_scram_sha_256_plus_with_tls_unique_over_tls12(self):
        ctx = client_context(max_version=ssl.TLSVersion.TLSv1_2)
        for listener in ("pop3", "pop3s"):
            with self.connect_tls(listener, ctx) as c:
                binding = c.sock.get_channel_binding("tls-unique")
                self.assertLoggedIn(self.scram(c, "SCRAM-SHA-256-PLUS", tls_unique=binding), "alice")
                c.cmd("QUIT")

    def test_scram_sha_1_plus_with_tls_unique_over_tls12(self):
        ctx = client_context(max_version=ssl.TLSVersion.TLSv1_2)
        with self.connect_tls("pop3s", ctx) as c:
            binding = c.sock.get_channel_binding("tls-unique")
            self.assertLoggedIn(self.scram(c, "SCRAM-SHA-1-PLUS", tls_unique=binding), "alice")
            c.cmd("QUIT")

    def test_scram_sha_256_plus_with_tls_exporter_over_tls13(self):
        for listener in ("pop3", "pop3s"):
            s = SClient(self.port(listener), starttls=listener == "pop3")
            try:
                self.assertEqual(len(s.exporter or b""), 32)
                reply = sasl_exchange(s.send, s.receive, "SCRAM-SHA-256-PLUS", "alice", password("alice"),
                                      tls_exporter=s.exporter)
                self.assertLoggedIn(reply, "alice")
                s.send("QUIT\r\n")
                self.assertEqual(s.receive(), "+OK bye\r\n")
            finally:
                s.close()

    def test_scram_plus_with_the_channel_binding_of_another_connection_fails(self):
        ctx = client_context(max_version=ssl.TLSVersion.TLSv1_2)
        with self.connect_tls("pop3s", ctx) as other:
            stale = other.sock.get_channel_binding("tls-unique")
            with self.connect_tls("pop3s", ctx) as c:  # a man in the middle would relay exactly this
                self.assertEqual(self.scram(c, "SCRAM-SHA-256-PLUS", tls_unique=stale),
                                 "-ERR [AUTH] authentication failed\r\n")

    def test_scram_downgrade_is_detected(self):
        # The gs2 flag "y" says "I could bind, but I think the server cannot". Inside TLS this server offers the
        # -PLUS variants, so a "y" means someone removed them from the list the client saw (RFC 5802 6): the
        # exchange must fail at once. Without TLS there is nothing to bind to, and "y" is fine.
        client_first = base64.b64encode(b"y,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL").decode()
        with self.connect_tls("pop3s") as c:
            self.assertEqual(c.cmd(f"AUTH SCRAM-SHA-256 {client_first}"), "-ERR [AUTH] authentication failed\r\n")
        self.assertTrue(self.daemon.log_contains(r"AUTH SCRAM-SHA-256: SCRAM: channel binding downgrade detected"))
        with self.connect("pop3-scram") as c:
            reply = c.cmd(f"AUTH SCRAM-SHA-256 {client_first}")
            self.assertRegex(base64.b64decode(reply[2:]).decode(), r"^r=fyko\+d2lbbFgONRv9qkxdawL[^,]+,s=[^,]+,i=\d+$")
            self.assertEqual(c.cmd("*"), "-ERR authentication cancelled\r\n")

    def test_scram_plus_is_not_offered_without_tls(self):
        with self.connect("pop3-scram") as c:
            self.assertEqual(c.cmd("AUTH SCRAM-SHA-256-PLUS"),
                             "-ERR SCRAM-SHA-256-PLUS authentication is not available here\r\n")


class Injection(Pop3Test):
    """NO STARTTLS (USENIX Security 2021) for POP3: nothing the client sent before the handshake is executed,
    nothing is answered in plaintext after "+OK begin TLS negotiation"."""

    def test_stls_and_capa_in_one_segment(self):
        with self.connect("pop3") as c:
            c.send("STLS\r\nCAPA\r\n")
            self.assertEqual(c.text(), "+OK begin TLS negotiation\r\n")
            c.starttls()
            c.sock.settimeout(1.0)
            with self.assertRaises(socket.timeout):  # the injected CAPA is not answered, inside TLS or out
                c.sock.recv(4096)
            c.sock.settimeout(10.0)
            caps = self.capabilities(c)
            self.assertIn("USER", caps)
            self.assertNotIn("STLS", caps)
        self.assertTrue(self.daemon.log_contains(
            r"discarded 6 octets sent before the TLS handshake: possible command injection"))

    def test_user_injected_in_a_second_segment_before_the_handshake(self):
        self.seed("olga")
        with self.connect("pop3") as c:
            c.send("STLS\r\n")
            time.sleep(0.2)  # a segment of its own, after the server has read the first
            c.send("USER olga\r\n")
            self.assertEqual(c.text(), "+OK begin TLS negotiation\r\n")
            if c.buf:
                # The server took the injected line for the start of a ClientHello and answered with a TLS alert
                # record (content type 21): the session ends, nothing was executed.
                self.assertEqual(c.buf[:1], b"\x15")
                self.assertNotIn(b"+OK", c.rest())
            else:
                try:
                    c.starttls()
                    # If the handshake survived the injected octets, USER was never run: PASS finds no user.
                    self.assertEqual(c.cmd(f"PASS {password('olga')}"), NOT_IN_AUTHORIZATION.format("PASS"))
                except (ssl.SSLError, ConnectionError):
                    pass  # the injected octets broke the handshake
        self.assertFalse(self.daemon.log_contains(r"logged in as olga", timeout=0.5))

    def test_commands_after_stls_are_never_answered_in_plaintext(self):
        self.seed("olga")
        with self.connect("pop3") as c:
            c.send(f"STLS\r\nUSER olga\r\nPASS {password('olga')}\r\nSTAT\r\nQUIT\r\n")
            self.assertEqual(c.text(), "+OK begin TLS negotiation\r\n")
            c.sock.shutdown(socket.SHUT_WR)  # and the client never starts TLS
            self.assertEqual(c.rest(), b"")  # at most a TLS alert would do; plaintext replies must not come
        self.assertFalse(self.daemon.log_contains(r"logged in as olga", timeout=0.5))

    def test_commands_before_stls_are_answered_and_the_rest_discarded(self):
        with self.connect("pop3") as c:
            c.send("CAPA\r\nSTLS\r\nNOOP\r\n")
            self.assertEqual(c.text(), "+OK capability list follows\r\n")
            self.assertIn(b"STLS\r\n", c.multiline())
            self.assertEqual(c.text(), "+OK begin TLS negotiation\r\n")
            c.starttls()
            self.assertEqual(c.cmd("QUIT"), "+OK bye\r\n")  # not the answer to the plaintext NOOP


class StateMachine(Pop3Test):
    """RFC 1939's states over the wire: what is refused where, and that refusals change nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for user in ("alice", "bob"):
            cls.seed(user)

    def test_transaction_commands_are_refused_before_authentication(self):
        # Four per connection: the fifth bad command would close it (max_bad_commands).
        for listener, commands in (("pop3", ["STAT", "LIST", "RETR 1", "DELE 1"]),
                                   ("pop3s", ["UIDL", "TOP 1 1", "NOOP", "RSET"])):
            with self.connect(listener) as c:
                for command in commands:
                    self.assertEqual(c.cmd(command), NOT_IN_AUTHORIZATION.format(command.split()[0]))
                self.assertEqual(c.cmd("CAPA"), "+OK capability list follows\r\n")  # still there
                c.multiline()
        with self.connect("pop3-plain") as c:
            self.assertEqual(c.cmd("USER bob"), "+OK send PASS\r\n")
            self.assertEqual(c.cmd("LIST 1"), "-ERR LIST is not allowed in the AUTHORIZATION (after USER) state\r\n")
            self.assertEqual(c.cmd("USER bob"), "+OK send PASS\r\n")
            self.assertLoggedIn(c.cmd(f"PASS {password('bob')}"), "bob")  # the refusals changed nothing
            self.assertEqual(c.cmd("QUIT"), "+OK bye\r\n")

    def test_implicit_tls_does_not_replace_authentication(self):
        # Even with a client certificate that maps to alice, the session starts in AUTHORIZATION; the
        # certificate logs in only when the client asks for EXTERNAL.
        with self.connect("pop3s", ctx=client_context("alice")) as c:
            self.assertEqual(c.cmd("STAT"), NOT_IN_AUTHORIZATION.format("STAT"))
            self.assertEqual(c.cmd("RETR 1"), NOT_IN_AUTHORIZATION.format("RETR"))
            caps = self.capabilities(c)
            self.assertIn("EXTERNAL", caps["SASL"])
            self.assertNotIn("STLS", caps)
            self.assertEqual(c.cmd("STAT"), NOT_IN_AUTHORIZATION.format("STAT"))
            self.assertLoggedIn(c.cmd("AUTH EXTERNAL ="), "alice")  # "=": an empty initial response (RFC 5034)
            self.assertEqual(c.cmd("STAT"), f"+OK 3 {sum(len(crlf(m)) for m in STANDARD)}\r\n")
            c.cmd("QUIT")
        with self.connect_tls("pop3", ctx=client_context("alice")) as c:  # after STLS; an empty response line
            self.assertEqual(c.cmd("AUTH EXTERNAL"), "+ \r\n")
            self.assertLoggedIn(c.cmd(""), "alice")
            c.cmd("QUIT")

    def test_external_needs_a_certificate_that_verified(self):
        for name in (None, "mallory"):  # none, and one signed by nobody the server trusts
            with self.connect("pop3s", ctx=client_context(name)) as c:
                self.assertNotIn("EXTERNAL", self.capabilities(c)["SASL"])
                self.assertEqual(c.cmd("AUTH EXTERNAL ="), "-ERR EXTERNAL authentication is not available here\r\n")

    def test_stls_inside_tls_is_refused(self):
        with self.connect_tls("pop3") as c:
            self.assertEqual(c.cmd("STLS"), "-ERR TLS is already active\r\n")
            self.assertEqual(c.cmd("CAPA"), "+OK capability list follows\r\n")  # the session goes on, inside TLS
            self.assertNotIn(b"STLS\r\n", c.multiline())
        with self.connect("pop3s") as c:
            self.assertEqual(c.cmd("STLS"), "-ERR TLS is already active\r\n")
            self.assertEqual(c.cmd("USER alice"), "+OK send PASS\r\n")
            self.assertLoggedIn(c.cmd(f"PASS {password('alice')}"), "alice")
            self.assertEqual(c.cmd("STLS"), "-ERR STLS is not allowed in the TRANSACTION state\r\n")
            c.cmd("QUIT")
        with self.connect("pop3-plain") as c:
            self.assertEqual(c.cmd("STLS"), "-ERR STLS is not available on this listener\r\n")
            self.assertNotIn("STLS", self.capabilities(c))

    def test_pass_takes_the_rest_of_the_line(self):
        with self.connect("pop3-plain") as c:  # RFC 1939 7: spaces may be part of the password
            self.assertEqual(c.cmd("USER spacey"), "+OK send PASS\r\n")
            self.assertEqual(c.cmd("PASS correct horse battery staple"), "+OK spacey has 0 messages (0 octets)\r\n")
            c.cmd("QUIT")

    def test_pass_without_user(self):
        with self.connect("pop3-plain") as c:
            self.assertEqual(c.cmd(f"PASS {password('alice')}"), NOT_IN_AUTHORIZATION.format("PASS"))
            self.assertEqual(c.cmd("STAT"), NOT_IN_AUTHORIZATION.format("STAT"))  # not logged in

    def test_plaintext_passwords_are_refused_before_stls(self):
        with self.connect("pop3-scram") as c:  # SCRAM before STLS allowed; passwords in the clear are not
            caps = self.capabilities(c)
            self.assertNotIn("USER", caps)
            for mechanism in ("PLAIN", "LOGIN"):
                self.assertNotIn(mechanism, caps["SASL"])
            refusal = "-ERR [AUTH] plaintext authentication is not allowed without TLS: use STLS first\r\n"
            self.assertEqual(c.cmd("USER alice"), refusal)
            self.assertEqual(c.cmd(f"PASS {password('alice')}"), NOT_IN_AUTHORIZATION.format("PASS"))
            plain = base64.b64encode(f"\0alice\0{password('alice')}".encode()).decode()
            self.assertEqual(c.cmd(f"AUTH PLAIN {plain}"), "-ERR PLAIN authentication is not available here\r\n")
            self.assertEqual(c.cmd("AUTH LOGIN"), "-ERR LOGIN authentication is not available here\r\n")
            self.assertEqual(c.cmd("STLS"), "+OK begin TLS negotiation\r\n")  # the way in is still open
            c.starttls()
            self.assertEqual(c.cmd("USER alice"), "+OK send PASS\r\n")
            self.assertLoggedIn(c.cmd(f"PASS {password('alice')}"), "alice")
            c.cmd("QUIT")

    def test_failed_pass_starts_authorization_over(self):
        with self.connect_tls("pop3") as c:
            self.assertEqual(c.cmd("USER alice"), "+OK send PASS\r\n")
            self.assertEqual(c.cmd("PASS pw-wrong"), "-ERR [AUTH] authentication failed\r\n")
            self.assertEqual(c.cmd(f"PASS {password('alice')}"), NOT_IN_AUTHORIZATION.format("PASS"))
            self.assertEqual(c.cmd("USER alice"), "+OK send PASS\r\n")
            self.assertLoggedIn(c.cmd(f"PASS {password('alice')}"), "alice")
            c.cmd("QUIT")

    def test_a_second_user_replaces_the_first_and_keywords_ignore_case(self):
        with self.connect_tls("pop3s") as c:
            self.assertEqual(c.cmd("USER bob"), "+OK send PASS\r\n")
            self.assertEqual(c.cmd("user alice"), "+OK send PASS\r\n")
            self.assertLoggedIn(c.cmd(f"pAsS {password('alice')}"), "alice")
            self.assertEqual(c.cmd("stat"), f"+OK 3 {sum(len(crlf(m)) for m in STANDARD)}\r\n")
            self.assertEqual(c.cmd("quit"), "+OK bye\r\n")

    def test_quit_in_authorization_closes(self):
        with self.connect("pop3") as c:
            self.assertEqual(c.cmd("QUIT"), "+OK bye\r\n")
            self.assertEqual(c.rest(), b"")

    def test_argument_errors_in_transaction(self):
        with self.login("alice", "pop3s") as c:
            self.assertEqual(c.cmd("RETR 0"), "-ERR invalid message number 0\r\n")
            self.assertEqual(c.cmd("RETR 4"), "-ERR no message 4\r\n")
            self.assertEqual(c.cmd("DELE -1"), "-ERR invalid message number -1\r\n")
            self.assertEqual(c.cmd("TOP 1 x"), "-ERR invalid line count\r\n")
            self.assertEqual(c.cmd("LIST 1 2"), "-ERR syntax error in LIST\r\n")
            self.assertEqual(c.cmd("RETR"), "-ERR syntax error in RETR\r\n")
            self.assertEqual(c.cmd("USER bob"), "-ERR USER is not allowed in the TRANSACTION state\r\n")
            self.assertEqual(c.cmd("STAT"), f"+OK 3 {sum(len(crlf(m)) for m in STANDARD)}\r\n")  # nothing changed
            self.assertEqual(c.cmd("QUIT"), "+OK bye\r\n")
        self.assertEqual(len(self.stored("alice")), 3)

    def test_auth_lists_mechanisms_and_cancel_is_not_a_failure(self):
        with self.connect_tls("pop3s") as c:
            self.assertEqual(c.cmd("AUTH"), "+OK\r\n")
            self.assertEqual(c.multiline(), [b"SCRAM-SHA-256-PLUS\r\n", b"SCRAM-SHA-256\r\n", b"SCRAM-SHA-1-PLUS\r\n",
                                             b"SCRAM-SHA-1\r\n", b"CRAM-MD5\r\n", b"PLAIN\r\n", b"LOGIN\r\n"])
            for _ in range(4):  # more than max_auth_failures: a cancelled exchange is not a failed login
                self.assertEqual(c.cmd("AUTH PLAIN"), "+ \r\n")
                self.assertEqual(c.cmd("*"), "-ERR authentication cancelled\r\n")
            plain = base64.b64encode(f"\0alice\0{password('alice')}".encode()).decode()
            self.assertLoggedIn(c.cmd(f"AUTH plain {plain}"), "alice")
            c.cmd("QUIT")

    def test_auth_plain_authorization_identity(self):
        with self.connect_tls("pop3s") as c:
            as_bob = base64.b64encode(f"bob\0alice\0{password('alice')}".encode()).decode()
            self.assertEqual(c.cmd(f"AUTH PLAIN {as_bob}"), "-ERR [AUTH] authentication failed\r\n")
            as_herself = base64.b64encode(f"alice\0alice\0{password('alice')}".encode()).decode()
            self.assertLoggedIn(c.cmd(f"AUTH PLAIN {as_herself}"), "alice")
            c.cmd("QUIT")

    def test_utf8_user_names_need_the_utf8_command(self):
        with self.connect("pop3-plain") as c:
            self.assertEqual(c.cmd("USER j\u00fcrgen"),
                             "-ERR [UTF8] a UTF-8 user name needs the UTF8 command first\r\n")
            self.assertEqual(c.cmd("UTF8"), "+OK UTF8 enabled\r\n")
            self.assertEqual(c.cmd("USER j\u00fcrgen"), "+OK send PASS\r\n")
            self.assertEqual(c.cmd("PASS pw-j\u00fcrgen"), "-ERR [AUTH] authentication failed\r\n")
            c.send(b"USER j\xc3\r\n")  # not UTF-8
            self.assertEqual(c.text(), "-ERR [AUTH] the user name is not valid UTF-8\r\n")


class Maildrop(Pop3Test):
    """The maildrop over sessions: UPDATE only on QUIT, the lock, deliveries during a session, stable UIDs."""

    def test_dele_then_a_dropped_connection_deletes_nothing(self):
        names = self.seed("erin")
        c = self.login("erin")
        self.assertEqual(c.cmd("DELE 1"), "+OK message 1 deleted\r\n")
        self.assertEqual(c.cmd("DELE 2"), "+OK message 2 deleted\r\n")
        c.close()  # no QUIT: no UPDATE state (RFC 1939 6)
        with self.login_after_drop("erin", "pop3s") as c:  # also proves the lock was released
            self.assertEqual(c.cmd("STAT"), f"+OK 3 {sum(len(crlf(m)) for m in STANDARD)}\r\n")
            c.cmd("QUIT")
        self.assertEqual(self.stored("erin"), names)

    def test_dele_then_quit_removes_the_files(self):
        names = self.seed("frank")
        with self.login("frank", "pop3-plain") as c:
            self.assertEqual(c.cmd("DELE 1"), "+OK message 1 deleted\r\n")
            self.assertEqual(c.cmd("DELE 3"), "+OK message 3 deleted\r\n")
            self.assertEqual(self.stored("frank"), names)  # only marked, until QUIT
            self.assertEqual(c.cmd("QUIT"), "+OK bye\r\n")
            self.assertEqual(c.rest(), b"")
        self.assertEqual(self.stored("frank"), [names[1]])
        with self.login("frank", "pop3-plain") as c:
            self.assertEqual(c.cmd("LIST"), f"+OK 1 message ({len(crlf(DOTS))} octets)\r\n")
            self.assertEqual(c.multiline(), [f"1 {len(crlf(DOTS))}\r\n".encode()])  # renumbered in a new session
            c.cmd("QUIT")

    def test_rset_then_quit_deletes_nothing(self):
        names = self.seed("pat")
        with self.login("pat", "pop3-plain") as c:
            c.cmd("DELE 1")
            c.cmd("DELE 2")
            self.assertEqual(c.cmd("RSET"), f"+OK maildrop has 3 messages "
                                            f"({sum(len(crlf(m)) for m in STANDARD)} octets)\r\n")
            self.assertEqual(c.cmd("QUIT"), "+OK bye\r\n")
        self.assertEqual(self.stored("pat"), names)

    def test_a_second_session_of_the_same_user_gets_in_use(self):
        self.seed("grace")
        with self.login("grace", "pop3-plain") as first:
            for listener in ("pop3-plain", "pop3s"):
                with (self.connect(listener) if listener == "pop3-plain" else self.connect_tls(listener)) as second:
                    self.assertEqual(second.cmd("USER grace"), "+OK send PASS\r\n")
                    self.assertEqual(second.cmd(f"PASS {password('grace')}"),
                                     "-ERR [IN-USE] the maildrop is in use by another session\r\n")
                    self.assertEqual(second.cmd("STAT"), NOT_IN_AUTHORIZATION.format("STAT"))
            self.assertEqual(first.cmd("STAT"), f"+OK 3 {sum(len(crlf(m)) for m in STANDARD)}\r\n")
            self.assertEqual(first.cmd("QUIT"), "+OK bye\r\n")
        with self.login("grace", "pop3-plain") as again:  # QUIT released it
            again.cmd("QUIT")

    def test_an_abruptly_closed_session_releases_the_lock(self):
        self.seed("heidi")
        c = self.login("heidi")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()  # linger 0: a reset, not even a FIN
        with self.login_after_drop("heidi") as again:
            self.assertEqual(again.cmd("STAT"), f"+OK 3 {sum(len(crlf(m)) for m in STANDARD)}\r\n")
            again.cmd("QUIT")

    def test_a_delivery_during_a_session_shows_in_the_next_one(self):
        names = self.seed("ivan")
        total = sum(len(crlf(m)) for m in STANDARD)
        late = b"From: late@example.org\nSubject: late\n\nDelivered during a session.\n"
        with self.login("ivan", "pop3s") as c:
            added = self.deliver("ivan", late, 1700000100)
            self.assertEqual(c.cmd("STAT"), f"+OK 3 {total}\r\n")  # the numbering is fixed for the session
            self.assertEqual(c.cmd("LIST 4"), "-ERR no message 4\r\n")
            self.assertEqual(c.cmd("UIDL"), "+OK unique-id listing follows\r\n")
            self.assertEqual(c.multiline(), [f"{i} {n}\r\n".encode() for i, n in enumerate(names, 1)])
            self.assertEqual(c.cmd("DELE 1"), "+OK message 1 deleted\r\n")
            self.assertEqual(c.cmd("QUIT"), "+OK bye\r\n")
        self.assertEqual(self.stored("ivan"), sorted(names[1:] + [added]))  # UPDATE removed only what was seen
        with self.login("ivan", "pop3s") as c:
            self.assertEqual(c.cmd("STAT"), f"+OK 3 {total - len(crlf(SIMPLE)) + len(crlf(late))}\r\n")
            self.assertEqual(c.cmd("UIDL 3"), f"+OK 3 {added}\r\n")
            self.assertEqual(c.cmd("RETR 3"), f"+OK {len(crlf(late))} octets\r\n")
            self.assertEqual(b"".join(c.multiline()), crlf(late))
            c.cmd("QUIT")

    def test_uidl_is_stable_across_sessions(self):
        names = self.seed("judy")

        def uidl(c):
            self.assertEqual(c.cmd("UIDL"), "+OK unique-id listing follows\r\n")
            return [line.decode().split() for line in c.multiline()]

        with self.login("judy", "pop3s") as c:
            first = uidl(c)
            self.assertEqual(c.cmd("DELE 2"), "+OK message 2 deleted\r\n")
            self.assertEqual(uidl(c), [first[0], first[2]])  # a deleted message is not listed
            self.assertEqual(c.cmd("UIDL 2"), "-ERR message 2 is deleted\r\n")
        with self.login_after_drop("judy", "pop3-plain") as c:
            self.assertEqual(uidl(c), first)  # after a dropped session: the same list
            self.assertEqual(c.cmd("DELE 1"), "+OK message 1 deleted\r\n")
            c.cmd("QUIT")
        with self.login("judy") as c:
            self.assertEqual(uidl(c), [["1", first[1][1]], ["2", first[2][1]]])  # numbers move, UIDs do not
            c.cmd("QUIT")
        self.assertEqual([uid for _, uid in first], names)

    def test_messages_without_a_final_line_end_and_an_empty_one(self):
        odd = [b"Subject: no final line end\n\nlast line", b"Subject: dot\n\n.", b"no header at all\n", b""]
        self.seed("quinn", odd)
        p = poplib.POP3("127.0.0.1", self.port("pop3-plain"), timeout=10)
        try:
            p.user("quinn")
            p.pass_(password("quinn"))
            self.assertEqual(p.retr(1)[1], [b"Subject: no final line end", b"", b"last line"])
            self.assertEqual(p.retr(2)[1], [b"Subject: dot", b"", b"."])  # a last "." without LF, stuffed
            self.assertEqual(p.retr(3)[1], [b"no header at all"])
            self.assertEqual(p.retr(4)[1], [])
            self.assertEqual(p.top(1, 0)[1], [b"Subject: no final line end", b""])
            self.assertEqual(p.stat()[0], 4)  # every reply was framed: the dialogue is still in step
            p.quit()
        finally:
            p.close()

    def test_a_message_removed_by_another_program_during_the_session(self):
        self.seed("ned")
        with self.login("ned", "pop3-plain") as c:
            cur = os.path.join(self.maildir("ned"), "cur")
            victim = sorted(os.listdir(cur))[0]
            os.unlink(os.path.join(cur, victim))
            self.assertEqual(c.cmd("RETR 1"), "-ERR [SYS/PERM] the message is gone\r\n")
            self.assertEqual(c.cmd("RETR 2"), f"+OK {len(crlf(DOTS))} octets\r\n")
            c.multiline()
            self.assertEqual(c.cmd("DELE 1"), "+OK message 1 deleted\r\n")
            self.assertEqual(c.cmd("QUIT"), "+OK bye\r\n")  # deleting what is already gone is not an error
        self.assertEqual(len(self.stored("ned")), 2)


class Limits(Pop3Test):
    """Failed logins, bad commands, line lengths, pipelining (RFC 2449), the failure delay, the autologout
    timer and LOGIN-DELAY."""

    def test_the_third_failed_login_closes_the_connection(self):
        with self.connect_tls("pop3") as c:
            self.assertEqual(c.cmd("USER ken"), "+OK send PASS\r\n")
            self.assertEqual(c.cmd("PASS pw-wrong"), "-ERR [AUTH] authentication failed\r\n")
            wrong_plain = base64.b64encode(b"\0ken\0pw-wrong").decode()
            self.assertEqual(c.cmd(f"AUTH PLAIN {wrong_plain}"), "-ERR [AUTH] authentication failed\r\n")
            self.assertEqual(c.cmd("APOP ken " + "0" * 32),  # every kind of login counts
                             "-ERR [AUTH] authentication failed; too many failures, closing\r\n")
            self.assertEqual(c.rest(), b"")
        with self.connect("pop3-plain") as c:
            for _ in range(2):
                c.cmd("USER ken")
                self.assertEqual(c.cmd("PASS pw-wrong"), "-ERR [AUTH] authentication failed\r\n")
            c.cmd("USER ken")
            self.assertEqual(c.cmd(f"PASS {password('ken')}"), "+OK ken has 0 messages (0 octets)\r\n")
            c.cmd("QUIT")  # two failures and a success: still open, and the right password works

    def test_the_fifth_bad_command_closes_the_connection(self):
        with self.connect("pop3-plain") as c:
            self.assertEqual(c.cmd("FOO"), "-ERR unknown command\r\n")
            self.assertEqual(c.cmd(""), "-ERR unknown command\r\n")
            self.assertEqual(c.cmd("STAT"), NOT_IN_AUTHORIZATION.format("STAT"))
            self.assertEqual(c.cmd("CAPA now"), "-ERR syntax error in CAPA\r\n")
            self.assertEqual(c.cmd("XTND XMIT"), "-ERR unknown command; too many bad commands, closing\r\n")
            self.assertEqual(c.rest(), b"")

    def test_a_255_octet_command_line_is_accepted(self):
        with self.connect("pop3-plain") as c:
            line = "USER " + "u" * 248 + "\r\n"
            self.assertEqual(len(line), 255)  # RFC 2449 4: 255 octets including the CRLF
            c.send(line)
            self.assertEqual(c.text(), "+OK send PASS\r\n")
            line = "PASS " + "p" * 248 + "\r\n"
            c.send(line)
            self.assertEqual(c.text(), "-ERR [AUTH] authentication failed\r\n")

    def test_an_overlong_line_is_refused_not_executed(self):
        self.seed("mia")
        with self.login("mia", "pop3-plain") as c:
            c.send("DELE 1" + " " * 1100 + "\r\nDELE 2\r\n")
            self.assertEqual(c.text(), "-ERR line too long\r\n")
            self.assertEqual(c.text(), "+OK message 2 deleted\r\n")
            self.assertEqual(c.cmd("LIST 1"), f"+OK 1 {len(crlf(SIMPLE))}\r\n")  # message 1 was not deleted
            self.assertEqual(c.cmd("RSET"), f"+OK maildrop has 3 messages "
                                            f"({sum(len(crlf(m)) for m in STANDARD)} octets)\r\n")
            c.cmd("QUIT")

    def test_pipelined_commands_are_answered_in_order(self):
        self.seed("leo")
        sizes = [len(crlf(m)) for m in STANDARD]
        with self.connect("pop3-plain") as c:
            c.send(f"USER leo\r\nPASS {password('leo')}\r\nSTAT\r\nLIST\r\nQUIT\r\n")
            self.assertEqual(c.text(), "+OK send PASS\r\n")
            self.assertLoggedIn(c.text(), "leo")
            self.assertEqual(c.text(), f"+OK 3 {sum(sizes)}\r\n")
            self.assertEqual(c.text(), f"+OK 3 messages ({sum(sizes)} octets)\r\n")
            self.assertEqual(c.multiline(), [f"{i} {size}\r\n".encode() for i, size in enumerate(sizes, 1)])
            self.assertEqual(c.text(), "+OK bye\r\n")
            self.assertEqual(c.rest(), b"")
        with self.login("leo", "pop3-plain") as c:  # a long burst: every reply, none merged or lost
            c.send("NOOP\r\n" * 300 + "STAT\r\n")
            for _ in range(300):
                self.assertTrue(c.text().startswith("+OK"))
            self.assertEqual(c.text(), f"+OK 3 {sum(sizes)}\r\n")
            c.cmd("QUIT")
        with self.login("leo", "pop3s") as c:  # over TLS, with multi-line replies larger than one write
            c.send("RETR 3\r\nTOP 2 1\r\nRETR 1\r\nDELE 3\r\nSTAT\r\nRSET\r\nQUIT\r\n")
            self.assertEqual(c.text(), f"+OK {sizes[2]} octets\r\n")
            self.assertEqual(len(c.multiline()), len(lines_of(BIG)))
            self.assertEqual(c.text(), "+OK top of message follows\r\n")
            self.assertEqual(c.multiline(), [b"From: sender@example.org\r\n", b"To: alice@example.org\r\n",
                                             b"Subject: dots\r\n", b"\r\n", b"..starts with a dot\r\n"])
            self.assertEqual(c.text(), f"+OK {sizes[0]} octets\r\n")
            self.assertEqual(b"".join(c.multiline()), crlf(SIMPLE))
            self.assertEqual(c.text(), "+OK message 3 deleted\r\n")
            self.assertEqual(c.text(), f"+OK 2 {sizes[0] + sizes[1]}\r\n")
            self.assertEqual(c.text(), f"+OK maildrop has 3 messages ({sum(sizes)} octets)\r\n")
            self.assertEqual(c.text(), "+OK bye\r\n")

    def test_failed_logins_wait_for_the_failure_delay(self):
        work = new_work()
        try:
            daemon = Daemon(pop3_config(work, failure_delay="200ms"))
            try:
                for user in ("alice", "nobody"):  # an unknown user waits as long as a wrong password
                    with Conn(daemon.ports["pop3-plain"]) as c:
                        c.line()
                        c.cmd(f"USER {user}")
                        start = time.monotonic()
                        self.assertEqual(c.cmd("PASS pw-wrong"), "-ERR [AUTH] authentication failed\r\n")
                        self.assertGreaterEqual(time.monotonic() - start, 0.19, user)
            finally:
                self.assertEqual(daemon.terminate(), 0)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_autologout_deletes_nothing(self):
        work = new_work()
        try:
            daemon = Daemon(pop3_config(work, plain_extra='read_timeout = "1s"'))
            try:
                names = seed(work, "alice")
                with Conn(daemon.ports["pop3-plain"]) as c:
                    c.line()
                    c.cmd("USER alice")
                    self.assertLoggedIn(c.cmd(f"PASS {password('alice')}"), "alice")
                    self.assertEqual(c.cmd("DELE 1"), "+OK message 1 deleted\r\n")
                    start = time.monotonic()
                    self.assertEqual(c.text(), "-ERR autologout: idle for too long\r\n")  # RFC 1939 3
                    self.assertGreaterEqual(time.monotonic() - start, 0.9)
                    self.assertEqual(c.rest(), b"")
                self.assertEqual(stored(work, "alice"), names)  # no UPDATE state
            finally:
                self.assertEqual(daemon.terminate(), 0)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def with_login_delay(self, check):
        """Runs check(session) against a daemon whose pop3 and pop3s listeners both say LOGIN-DELAY 60;
        session(listener) opens a TLS connection in AUTHORIZATION."""
        work = new_work()
        try:
            daemon = Daemon(pop3_config(work, pop3_extra='login_delay = "60s"', pop3s_extra='login_delay = "60s"'))
            try:
                def session(listener):
                    c = Conn(daemon.ports[listener], tls=listener == "pop3s")
                    c.line()
                    if listener == "pop3":
                        c.cmd("STLS")
                        c.starttls()
                    return c

                check(session)
            finally:
                self.assertEqual(daemon.terminate(), 0)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_login_delay(self):
        def check(session):
            with session("pop3") as c:
                self.assertEqual(self.capabilities(c)["LOGIN-DELAY"], ["60"])  # RFC 2449 6.8
                c.cmd("USER ivan")
                self.assertEqual(c.cmd(f"PASS {password('ivan')}"), "+OK ivan has 0 messages (0 octets)\r\n")
                self.assertEqual(c.cmd("QUIT"), "+OK bye\r\n")
            with session("pop3") as c:
                c.cmd("USER ivan")
                self.assertEqual(c.cmd(f"PASS {password('ivan')}"),
                                 "-ERR [LOGIN-DELAY] wait 60 seconds between logins\r\n")
                self.assertEqual(c.cmd("STAT"), NOT_IN_AUTHORIZATION.format("STAT"))
                c.cmd("USER judy")  # another user is not delayed
                self.assertEqual(c.cmd(f"PASS {password('judy')}"), "+OK judy has 0 messages (0 octets)\r\n")
                c.cmd("QUIT")

        self.with_login_delay(check)

    def test_login_delay_holds_across_listeners(self):
        # One last-login table for every listener: a user must not dodge LOGIN-DELAY by switching ports.
        def check(session):
            with session("pop3") as c:
                c.cmd("USER ivan")
                self.assertEqual(c.cmd(f"PASS {password('ivan')}"), "+OK ivan has 0 messages (0 octets)\r\n")
                self.assertEqual(c.cmd("QUIT"), "+OK bye\r\n")
            with session("pop3s") as c:
                c.cmd("USER ivan")
                self.assertEqual(c.cmd(f"PASS {password('ivan')}"),
                                 "-ERR [LOGIN-DELAY] wait 60 seconds between logins\r\n")

        self.with_login_delay(check)


class Shutdown(unittest.TestCase):
    """SIGTERM with POP3 sessions open: they are told, nothing pending is deleted, the daemon exits 0."""

    def setUp(self):
        self.work = new_work()

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def test_graceful_shutdown_with_a_dele_pending(self):
        names = seed(self.work, "alice")
        daemon = Daemon(pop3_config(self.work))
        try:
            with Conn(daemon.ports["pop3s"], tls=True) as c:
                c.line()
                c.cmd("USER alice")
                c.cmd(f"PASS {password('alice')}")
                self.assertEqual(c.cmd("DELE 1"), "+OK message 1 deleted\r\n")
                self.assertEqual(daemon.terminate(), 0)
                self.assertEqual(c.text(), "-ERR [SYS/TEMP] server shutting down, try again later\r\n")
                self.assertEqual(c.rest(), b"")
        finally:
            daemon.kill()
        self.assertEqual(stored(self.work, "alice"), names)

    def test_sigterm_while_logins_are_checked_exits_cleanly(self):
        # Regression: the pool-side half of io::offload() used to be compiled into the plugin, and shutdown
        # could dlclose the plugin while a pool thread was still returning into its code (SIGSEGV at exit).
        # A race, so several rounds: SIGTERM while password hashes are being checked, and right after.
        for attempt in range(20):
            daemon = Daemon(pop3_config(self.work))
            try:
                clients = [Conn(daemon.ports["pop3-plain"]) for _ in range(4)]
                for c in clients:
                    c.line()
                    c.send("USER hashed\r\nPASS pw-wrong\r\n")
                if attempt % 2:
                    for c in clients:
                        self.assertEqual(c.line(), b"+OK send PASS\r\n")
                        self.assertEqual(c.line(), b"-ERR [AUTH] authentication failed\r\n")
                else:
                    time.sleep(0.005)  # the checks are under way (a YESCRYPT check takes some 20 ms)
                self.assertEqual(daemon.terminate(), 0, f"round {attempt + 1}")
                for c in clients:
                    self.assertTrue(c.rest().endswith(b"-ERR [SYS/TEMP] server shutting down, try again later\r\n"))
                    c.close()
            finally:
                daemon.kill()


if __name__ == "__main__":
    unittest.main()
