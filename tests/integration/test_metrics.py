"""The metrics endpoint ([admin] metrics): the real daemon scraped over HTTP with urllib, its text judged by
Prometheus's own `promtool check metrics`, and its counters moved by real clients (poplib, smtplib, ssl):
logins by mechanism and outcome, messages and their octets, connections, sessions, TLS handshakes, refusals
by the connection limit, plugin call latencies. Also: the endpoint's HTTP (404, a request too large, one
request per connection), no endpoint unless configured, a bad address refused by --check-config, and a
taken port refusing the start."""
import os
import poplib
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from certs import make_all
from daemon import DAEMON, RawConnection, insecure_context, start_in, stop_in

ENDPOINT = re.compile(r"metrics endpoint on http://(\S+)/metrics")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')
BLOCKING_THREADS = 3
PER_IP = 3  # [server] max_connections_per_ip


def config(work, admin='[admin]\nmetrics = "127.0.0.1:0"\n'):
    return f"""
[server]
workers = 2
blocking_threads = {BLOCKING_THREADS}
max_connections_per_ip = {PER_IP}
[log]
level = "debug"
[auth]
failure_delay = "0s"
failure_delay_max = "0s"
{admin}
[tls]
certificate = "{work}/one.pem"
key = "{work}/one.key"
[plugin.passwd-file]
file = "{work}/passwd"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[plugins]
auth = ["passwd-file"]

[[listener]]
name = "pop3"
service = "pop3"
port = 0
plaintext_auth = true
[listener.pop3]
apop = true

[[listener]]
name = "pop3s"
service = "pop3"
port = 0
tls = "implicit"

[[listener]]
name = "smtp"
service = "smtp"
port = 0
[listener.smtp]
role = "mx"
local_domains = ["example.org"]

[[listener]]
name = "submission"
service = "smtp"
port = 0
plaintext_auth = true
auth_mechanisms = ["PLAIN"]
[listener.smtp]
role = "submission"
local_domains = ["example.org"]
"""


def parse(text):
    """{(name, ((label, value), ...)): value} for every sample of the exposition."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = tuple(sorted(LABEL.findall(m.group(2) or "")))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def value(samples, name, **labels):
    """A sample's value; 0 for a series not there yet (a child made on first use)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def listening_sockets(pid):
    """The inodes of the TCP sockets process `pid` listens on (each acceptor's descriptors share one)."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for row in f.readlines()[1:]:
                fields = row.split()
                if fields[3] == "0A":  # TCP_LISTEN
                    listening.add(fields[9])
    own = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m and m.group(1) in listening:
            own.add(m.group(1))
    return own


def new_work():
    work = tempfile.mkdtemp(prefix="mailwright-metrics-")
    make_all(work)
    made = subprocess.run([DAEMON, "passwd", "--scheme", "PLAIN-EQUIVALENT", "alice"], input="pw-alice",
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    with open(os.path.join(work, "passwd"), "w") as f:
        f.write(made.stdout)
    return work


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = new_work()
        cls.daemon = start_in(cls.work, config(cls.work))
        found = [m.group(1) for line in cls.daemon.lines for m in [ENDPOINT.search(line)] if m]
        assert len(found) == 1, "\n".join(cls.daemon.lines)
        cls.url = f"http://{found[0]}/metrics"
        cls.host, port = found[0].rsplit(":", 1)
        cls.port = int(port)

    @classmethod
    def tearDownClass(cls):
        assert stop_in(cls.work, cls.daemon) == 0

    def scrape(self):
        with urllib.request.urlopen(self.url, timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertEqual(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
            return r.read().decode()

    def settled(self):
        """A scrape once every session has ended (a session ends just after its client saw its last reply)."""
        for _ in range(100):
            samples = parse(self.scrape())
            if all(v == 0 for (name, _), v in samples.items() if name == "mailwright_connections_open"):
                return samples
            time.sleep(0.1)
        self.fail("sessions still open:\n" + self.scrape())

    def http(self, request):
        """The whole answer to a raw request, read until the server closes."""
        with RawConnection(self.port) as c:
            c.send(request)
            return c.rest()

    def test_the_exposition_passes_promtool(self):
        self.settled()  # every kind of series there: counters with children, histograms, gauges
        text = self.scrape()
        judged = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(judged.returncode, 0, judged.stdout + judged.stderr)
        self.assertEqual(judged.stdout + judged.stderr, "", "promtool reported lint problems")
        families = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
        self.assertGreaterEqual(len(families), 14)
        for name, kind in families:
            self.assertTrue(name.startswith("mailwright_"), name)
            self.assertIn(f"# HELP {name} ", text)
            self.assertEqual(name.endswith("_total"), kind == "counter", name)
        # Every configured listener is there before its first connection.
        samples = parse(text)
        for listener in ("pop3", "pop3s", "smtp", "submission"):
            self.assertIn(("mailwright_connections_accepted_total", (("listener", listener),)), samples)
        self.assertIn(("mailwright_tls_handshakes_total", (("listener", "pop3s"),)), samples)
        self.assertEqual(value(samples, "mailwright_blocking_pool_threads"), BLOCKING_THREADS)
        self.assertIn(("mailwright_blocking_pool_queued_jobs", ()), samples)

    def pop3_sessions(self):
        """POP3 logins with poplib on the plaintext listener: USER/PASS and APOP that work, USER/PASS that fails."""
        p = poplib.POP3("127.0.0.1", self.daemon.ports["pop3"], timeout=10)
        p.user("alice")
        p.pass_("pw-alice")
        p.stat()
        p.quit()
        p = poplib.POP3("127.0.0.1", self.daemon.ports["pop3"], timeout=10)
        p.apop("alice", "pw-alice")
        p.quit()
        p = poplib.POP3("127.0.0.1", self.daemon.ports["pop3"], timeout=10)
        p.user("alice")
        with self.assertRaises(poplib.error_proto):
            p.pass_("wrong")
        p.quit()

    def smtp_sessions(self, message):
        """A message to the MX, and a failed AUTH PLAIN on submission, with smtplib."""
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["smtp"], timeout=10) as s:
            s.sendmail("sender@remote.example", ["alice@example.org"], message)
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["submission"], timeout=10) as s:
            s.ehlo()
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login("alice", "wrong")

    def test_counters_move_as_sessions_run(self):
        before = self.settled()
        self.pop3_sessions()
        message = b"From: sender@remote.example\r\nTo: alice@example.org\r\nSubject: counted\r\n\r\nHello.\r\n"
        self.smtp_sessions(message)
        after = self.settled()

        def moved(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        self.assertEqual(moved("mailwright_logins_total", mechanism="USER", outcome="ok"), 1)
        self.assertEqual(moved("mailwright_logins_total", mechanism="USER", outcome="failed"), 1)
        self.assertEqual(moved("mailwright_logins_total", mechanism="APOP", outcome="ok"), 1)
        self.assertEqual(moved("mailwright_logins_total", mechanism="PLAIN", outcome="failed"), 1)
        self.assertEqual(moved("mailwright_logins_total", mechanism="PLAIN", outcome="ok"), 0)
        self.assertEqual(moved("mailwright_messages_total", service="smtp", outcome="accepted"), 1)
        self.assertEqual(moved("mailwright_message_bytes_total", service="smtp", outcome="accepted"), len(message))
        self.assertEqual(moved("mailwright_messages_total", service="smtp", outcome="refused"), 0)
        self.assertEqual(moved("mailwright_connections_accepted_total", listener="pop3"), 3)
        self.assertEqual(moved("mailwright_connections_accepted_total", listener="smtp"), 1)
        self.assertEqual(moved("mailwright_connections_accepted_total", listener="submission"), 1)
        self.assertEqual(moved("mailwright_sessions_total", protocol="pop3"), 3)
        self.assertEqual(moved("mailwright_sessions_total", protocol="smtp"), 2)  # MX and submission
        self.assertEqual(value(after, "mailwright_sessions_open", protocol="pop3"), 0)
        # The passwd-file backend checked three passwords (USER/PASS twice, AUTH PLAIN once) and gave APOP its
        # secret; the Maildir store opened alice's maildrop twice and took one delivery.
        calls = "mailwright_plugin_call_duration_seconds_count"
        self.assertEqual(moved(calls, plugin="passwd-file", call="verify_password"), 3)
        self.assertEqual(moved(calls, plugin="passwd-file", call="stored_secret"), 1)
        self.assertEqual(moved(calls, plugin="maildir", call="open"), 2)
        self.assertEqual(moved(calls, plugin="maildir", call="begin"), 1)
        buckets = [(float(dict(labels)["le"]), v) for (name, labels), v in after.items()
                   if name == "mailwright_plugin_call_duration_seconds_bucket"
                   and dict(labels)["plugin"] == "passwd-file" and dict(labels)["call"] == "verify_password"]
        buckets.sort()
        self.assertEqual(buckets[-1], (float("inf"), value(after, calls, plugin="passwd-file",
                                                           call="verify_password")))
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets), "buckets are cumulative")

    def test_tls_handshakes_and_their_failures(self):
        before = self.settled()
        with RawConnection(self.daemon.ports["pop3s"], tls=True, ctx=insecure_context()) as c:
            self.assertTrue(c.line().startswith(b"+OK"))
            c.send(b"QUIT\r\n")
            c.rest()
        with RawConnection(self.daemon.ports["pop3s"]) as c:
            c.send(b"USER alice\r\n")  # plaintext where a ClientHello belongs
            c.rest()
        after = self.settled()
        self.assertEqual(value(after, "mailwright_tls_handshakes_total", listener="pop3s")
                         - value(before, "mailwright_tls_handshakes_total", listener="pop3s"), 2)
        self.assertEqual(value(after, "mailwright_tls_handshake_failures_total", listener="pop3s")
                         - value(before, "mailwright_tls_handshake_failures_total", listener="pop3s"), 1)

    def test_connections_refused_by_the_limit_per_address(self):
        before = self.settled()
        held = [RawConnection(self.daemon.ports["pop3"]) for _ in range(PER_IP)]
        try:
            for c in held:
                self.assertTrue(c.line().startswith(b"+OK"))
            during = parse(self.scrape())
            self.assertEqual(value(during, "mailwright_connections_open", listener="pop3"), PER_IP)
            self.assertEqual(value(during, "mailwright_sessions_open", protocol="pop3"), PER_IP)
            with RawConnection(self.daemon.ports["pop3"]) as refused:
                self.assertTrue(refused.line().startswith(b"-ERR"))
        finally:
            for c in held:
                c.close()
        after = self.settled()
        key = dict(listener="pop3", limit="per_ip")
        self.assertEqual(value(after, "mailwright_connections_refused_total", **key)
                         - value(before, "mailwright_connections_refused_total", **key), 1)
        self.assertEqual(value(after, "mailwright_connections_accepted_total", listener="pop3")
                         - value(before, "mailwright_connections_accepted_total", listener="pop3"), PER_IP)

    def test_http_anything_but_get_metrics_is_404(self):
        for request in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /metricsx HTTP/1.1\r\n\r\n",
                        b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"):
            answer = self.http(request)
            self.assertTrue(answer.startswith(b"HTTP/1.1 404 Not Found\r\n"), answer)
            self.assertIn(b"\r\nConnection: close\r\n", answer)
        with self.assertRaises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(f"http://{self.host}:{self.port}/", timeout=10)
        self.assertEqual(raised.exception.code, 404)
        self.assertTrue(self.http(b"nonsense\r\n\r\n").startswith(b"HTTP/1.1 400 "))

    def test_one_request_per_connection_with_its_length(self):
        answer = self.http(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n")
        head, body = answer.split(b"\r\n\r\n", 1)
        self.assertIn(b"\r\nConnection: close", head)
        length = int(re.search(rb"\r\nContent-Length: (\d+)", head).group(1))
        self.assertEqual(len(body), length)  # the second request got no answer: the connection closed

    def test_a_request_over_8_kib_is_refused(self):
        answer = self.http(b"GET /metrics HTTP/1.1\r\nX-Padding: " + b"a" * 9000 + b"\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 431 "), answer[:100])
        # and the endpoint serves the next one as before
        self.scrape()

    def test_the_endpoint_is_one_more_listening_socket(self):
        self.assertEqual(len(listening_sockets(self.daemon.proc.pid)), 5)  # four listeners and the endpoint


class NotConfigured(unittest.TestCase):
    def test_no_admin_table_no_endpoint(self):
        work = new_work()
        daemon = start_in(work, config(work, admin=""))
        try:
            self.assertEqual(len(listening_sockets(daemon.proc.pid)), 4)  # the four listeners, nothing else
            self.assertFalse(any("metrics endpoint" in line for line in daemon.lines))
        finally:
            self.assertEqual(stop_in(work, daemon), 0)


class Checking(unittest.TestCase):
    def check(self, metrics):
        with tempfile.TemporaryDirectory(prefix="mailwright-check-") as work:
            path = os.path.join(work, "mailwright.toml")
            with open(path, "w") as f:
                f.write(f'[admin]\nmetrics = "{metrics}"\n\n[[listener]]\nname = "e"\nservice = "echo"\nport = 0\n')
            result = subprocess.run([DAEMON, "--check-config", path], capture_output=True, text=True, timeout=30,
                                    cwd=work)
            return result.returncode, result.stderr.replace(path, "FILE")

    def test_bad_addresses_are_errors_with_their_place(self):
        for bad in ("localhost:9325", "127.0.0.1", "127.0.0.1:65536", "127.0.0.1:-1", "::1:9325", "[::1]9325",
                    "[::1]:", "127.0.0.1:x", "1.2.3:9325", ":9325"):
            code, stderr = self.check(bad)
            self.assertEqual(code, 2, bad)
            self.assertIn("FILE:2:1: 'metrics' in [admin] must be \"address:port\" with a numeric address", stderr,
                          bad)

    def test_good_addresses_pass(self):
        for good in ("127.0.0.1:9325", "[::1]:9325", "0.0.0.0:0", "9325"):
            code, stderr = self.check(good)
            self.assertEqual(code, 0, f"{good}: {stderr}")

    def test_a_taken_port_stops_the_start(self):
        work = new_work()
        try:
            with socket.socket() as taken:
                taken.bind(("127.0.0.1", 0))
                taken.listen()
                port = taken.getsockname()[1]
                path = os.path.join(work, "mailwright.toml")
                with open(path, "w") as f:
                    f.write(config(work, admin=f'[admin]\nmetrics = "127.0.0.1:{port}"\n'))
                result = subprocess.run([DAEMON, "--config", path], capture_output=True, text=True, timeout=60,
                                        cwd=work)
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertIn(f"mailwrightd: [admin] metrics cannot listen on 127.0.0.1:{port}", result.stderr)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
