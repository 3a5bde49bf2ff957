"""The PROXY protocol in front of mailwrightd, with the real HAProxy (Debian's) sending it: v1 (`send-proxy`)
and v2 (`send-proxy-v2`) to POP3 and SMTP, TLS ended at HAProxy with its SSL facts (`send-proxy-v2-ssl-cn`)
for EXTERNAL, and TCP passthrough to implicit TLS. The client connects from 127.0.0.2, HAProxy to the daemon
from 127.0.0.1, so the daemon's log and the mail show which address it took for the client's. Peers that are
not trusted, headers that never end and headers that are wrong are closed without a byte answered, and the
per-address connection limit counts the client a header names, not the proxy."""
import os
import poplib
import re
import shutil
import smtplib
import socket
import ssl
import tempfile
import unittest

from certs import make_all
from daemon import maildir_messages, passwd_line, start_in, stop_in
from servers import HAProxy

CLIENT = "127.0.0.2"  # the client's source address; HAProxy's own is 127.0.0.1
WORK = None
CERTS = None
DAEMON = None
PROXY = None


def config(work, certs):
    proxy = 'proxy_protocol = true\nproxy_trusted = ["127.0.0.1"]\nproxy_timeout = "1s"'
    return f"""
[server]
workers = 2
max_connections_per_ip = 3
[log]
level = "debug"
[auth]
failure_delay = "0s"
failure_delay_max = "0s"
[plugin.passwd-file]
file = "{work}/passwd"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[plugin.cert]
map = "cn"
[plugins]
auth = ["passwd-file", "cert"]
[tls]
certificate = "{certs}/one.pem"
key = "{certs}/one.key"

[[listener]]
name = "pop3-proxied"
service = "pop3"
port = 0
plaintext_auth = true
{proxy}

[[listener]]
name = "smtp-proxied"
service = "smtp"
port = 0
{proxy}
[listener.smtp]
role = "mx"
local_domains = ["example.org"]

[[listener]]
name = "pop3-tls-at-proxy"
service = "pop3"
port = 0
tls = "starttls"
auth_mechanisms = ["PLAIN", "EXTERNAL"]
{proxy}

[[listener]]
name = "pop3s-proxied"
service = "pop3"
port = 0
tls = "implicit"
plaintext_auth = true
{proxy}

[[listener]]
name = "pop3-untrusted"
service = "pop3"
port = 0
plaintext_auth = true
proxy_protocol = true
proxy_trusted = ["127.0.0.3"]
"""


def setUpModule():
    global WORK, CERTS, DAEMON, PROXY
    WORK = tempfile.mkdtemp(prefix="mailwright-proxy-")
    CERTS = os.path.join(WORK, "certs")
    os.makedirs(CERTS)
    make_all(CERTS)
    with open(os.path.join(CERTS, "one-combined.pem"), "w") as out:
        for name in ("one.pem", "one.key"):
            with open(os.path.join(CERTS, name)) as f:
                out.write(f.read())
    with open(os.path.join(WORK, "passwd"), "w") as f:
        f.write(passwd_line("alice", "pw-alice") + passwd_line("bob", "pw-bob"))
    DAEMON = start_in(WORK, config(WORK, CERTS))
    try:
        to = DAEMON.ports
        tls_bind = (f"ssl crt {CERTS}/one-combined.pem ca-file {CERTS}/ca.pem verify optional "
                    "ca-ignore-err all crt-ignore-err all")
        PROXY = HAProxy({
            "v1": (f"127.0.0.1:{to['pop3-proxied']} send-proxy", ""),
            "v2": (f"127.0.0.1:{to['pop3-proxied']} send-proxy-v2 proxy-v2-options crc32c", ""),
            "smtp": (f"127.0.0.1:{to['smtp-proxied']} send-proxy-v2", ""),
            "tls": (f"127.0.0.1:{to['pop3-tls-at-proxy']} send-proxy-v2 send-proxy-v2-ssl-cn "
                    "proxy-v2-options ssl-cipher,authority,crc32c", tls_bind),
            "passthrough": (f"127.0.0.1:{to['pop3s-proxied']} send-proxy-v2", ""),
        })
    except BaseException:
        stop_in(WORK, DAEMON)
        raise


def tearDownModule():
    if PROXY is not None:
        PROXY.stop()
    if DAEMON is not None:
        stop_in(WORK, DAEMON)
    shutil.rmtree(WORK, ignore_errors=True)


def client_socket(port, timeout=10.0):
    """A TCP connection to 127.0.0.1:port from CLIENT."""
    return socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(CLIENT, 0))


class ClientPOP3(poplib.POP3):
    """poplib's client, connecting from CLIENT."""

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(CLIENT, 0))


class LineClient:
    """Lines over a socket (TLS or not): send(), line()."""

    def __init__(self, sock):
        self.sock = sock
        self.file = sock.makefile("rb")

    def line(self):
        return self.file.readline().decode("utf-8", "replace")

    def send(self, text):
        self.sock.sendall(text.encode())

    def command(self, text):
        self.send(text + "\r\n")
        return self.line()

    def capa(self):
        first = self.command("CAPA")
        assert first.startswith("+OK"), first
        lines = []
        while (line := self.line()) != ".\r\n":
            assert line, "connection closed in CAPA"
            lines.append(line.rstrip("\r\n"))
        return lines

    def close(self):
        self.file.close()
        self.sock.close()


def tls_client(port, cert=None):
    """POP3 over TLS to HAProxy's TLS frontend, from CLIENT, with a client certificate when `cert` is named."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(CERTS, "one.pem"))
    if cert:
        ctx.load_cert_chain(os.path.join(CERTS, f"{cert}.pem"), os.path.join(CERTS, f"{cert}.key"))
    sock = ctx.wrap_socket(client_socket(port), server_hostname="one.test")
    c = LineClient(sock)
    greeting = c.line()
    assert greeting.startswith("+OK"), greeting
    return c


def session_of(pattern):
    """The session id of the last log line matching `pattern` (waited for)."""
    assert DAEMON.log_contains(pattern), pattern + "\n" + "\n".join(DAEMON.lines[-40:])
    for line in reversed(list(DAEMON.lines)):
        m = re.search(pattern, line)
        if m:
            return re.search(r"session=(\d+)", line).group(1)
    return None


def closed_without_a_byte(sock):
    """Whether the peer closed `sock` without sending anything (a reset counts as closed)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


class ThroughHAProxy(unittest.TestCase):

    def pop3_login(self, route, password="pw-alice"):
        pop = ClientPOP3("127.0.0.1", PROXY.ports[route], timeout=10)
        try:
            pop.user("alice")
            pop.pass_(password)
            pop.stat()
        finally:
            pop.quit()

    def test_pop3_behind_send_proxy_v1_sees_the_client(self):
        self.pop3_login("v1")
        session = session_of(r"peer=127\.0\.0\.2:\d+ listener=pop3-proxied PROXY v1 from proxy=127\.0\.0\.1:\d+")
        self.assertTrue(DAEMON.log_contains(rf"session={session} peer=127\.0\.0\.2:\d+ logged in as alice"))

    def test_pop3_behind_send_proxy_v2_sees_the_client(self):
        self.pop3_login("v2")
        session = session_of(r"peer=127\.0\.0\.2:\d+ listener=pop3-proxied PROXY v2 from proxy=127\.0\.0\.1:\d+")
        self.assertTrue(DAEMON.log_contains(rf"session={session} peer=127\.0\.0\.2:\d+ logged in as alice"))
        self.assertTrue(DAEMON.log_contains(rf"session={session} peer=127\.0\.0\.2:\d+ listener=pop3-proxied connected"))

    def test_a_failed_login_names_the_real_client(self):
        with self.assertRaises(poplib.error_proto):
            self.pop3_login("v2", password="wrong")
        self.assertTrue(DAEMON.log_contains(r"peer=127\.0\.0\.2:\d+ authentication failed client=127\.0\.0\.2 "
                                            r"mechanism=USER listener=pop3-proxied user=alice"))

    def test_smtp_behind_send_proxy_v2_records_the_client(self):
        smtp = smtplib.SMTP("127.0.0.1", PROXY.ports["smtp"], timeout=10, source_address=(CLIENT, 0),
                            local_hostname="client.example")
        try:
            smtp.sendmail("sender@example.net", ["bob@example.org"],
                          b"From: sender@example.net\r\nSubject: proxied\r\n\r\nthrough HAProxy\r\n")
        finally:
            smtp.quit()
        [message] = maildir_messages(WORK, "bob", b"through HAProxy")
        received = re.search(rb"Received: from [^\n]*\n[^\n]*", message).group(0)
        self.assertIn(b"Received: from client.example ([127.0.0.2])", received)
        self.assertNotIn(b"127.0.0.1", received)
        self.assertTrue(DAEMON.log_contains(r"peer=127\.0\.0\.2:\d+ listener=smtp-proxied PROXY v2"))

    def test_implicit_tls_behind_tcp_passthrough(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(os.path.join(CERTS, "one.pem"))
        c = LineClient(ctx.wrap_socket(client_socket(PROXY.ports["passthrough"]), server_hostname="one.test"))
        try:
            self.assertTrue(c.line().startswith("+OK"))
            self.assertTrue(c.command("USER alice").startswith("+OK"))
            self.assertTrue(c.command("PASS pw-alice").startswith("+OK"))
            self.assertTrue(c.command("QUIT").startswith("+OK"))
        finally:
            c.close()
        session = session_of(r"peer=127\.0\.0\.2:\d+ listener=pop3s-proxied PROXY v2 from proxy=127\.0\.0\.1")
        self.assertTrue(DAEMON.log_contains(rf"session={session} peer=127\.0\.0\.2:\d+ TLS established"))


class TLSEndedAtHAProxy(unittest.TestCase):
    """HAProxy ends TLS (`verify optional`, any certificate let through) and tells the daemon about it in v2's
    SSL TLV; the daemon's listener has STARTTLS and requires TLS before authentication."""

    def test_a_verified_certificate_logs_in_with_external(self):
        c = tls_client(PROXY.ports["tls"], cert="alice")
        try:
            sasl = [line for line in c.capa() if line.startswith("SASL ")]
            self.assertEqual(sorted(sasl[0].split()), ["EXTERNAL", "PLAIN", "SASL"])  # TLS, so PLAIN too
            self.assertTrue(c.command("STLS").startswith("-ERR"))  # already in TLS
            self.assertTrue(c.command("AUTH EXTERNAL =").startswith("+OK"))
            self.assertTrue(c.command("QUIT").startswith("+OK"))
        finally:
            c.close()
        session = session_of(r"listener=pop3-tls-at-proxy PROXY v2 from proxy=127\.0\.0\.1:\d+ tls=TLSv1\.3 "
                             r"cipher=\S+ sni=one\.test client-cert-cn=\"alice\" verified=true")
        self.assertTrue(DAEMON.log_contains(rf"session={session} peer=127\.0\.0\.2:\d+ logged in as alice"))

    def test_no_certificate_no_external_but_passwords_in_tls(self):
        c = tls_client(PROXY.ports["tls"])
        try:
            self.assertIn("SASL PLAIN", c.capa())
            self.assertTrue(c.command("AUTH EXTERNAL =").startswith("-ERR"))
            self.assertTrue(c.command("USER alice").startswith("+OK"))
            self.assertTrue(c.command("PASS pw-alice").startswith("+OK"))
            c.command("QUIT")
        finally:
            c.close()

    def test_an_unverified_certificate_gets_no_external(self):
        c = tls_client(PROXY.ports["tls"], cert="mallory")
        try:
            self.assertIn("SASL PLAIN", c.capa())
            self.assertTrue(c.command("AUTH EXTERNAL =").startswith("-ERR"))
            c.command("QUIT")
        finally:
            c.close()
        self.assertTrue(DAEMON.log_contains(r"PROXY v2 from proxy=127\.0\.0\.1:\d+ tls=\S+ cipher=\S+ sni=one\.test "
                                            r"client-cert-cn=\"mallory\" verified=false"))

    def test_without_a_proxy_there_is_no_tls_to_claim(self):
        # Only a trusted proxy may say the client used TLS: a client that reaches the listener itself (from
        # 127.0.0.2) is closed before its header is read.
        with socket.create_connection(("127.0.0.1", DAEMON.ports["pop3-tls-at-proxy"]), timeout=10,
                                      source_address=(CLIENT, 0)) as s:
            s.sendall(b"PROXY TCP4 192.0.2.1 127.0.0.1 1 2\r\n")
            self.assertTrue(closed_without_a_byte(s))


class RefusedBeforeAByte(unittest.TestCase):

    def test_an_untrusted_peer_is_closed_at_once(self):
        with socket.create_connection(("127.0.0.1", DAEMON.ports["pop3-untrusted"]), timeout=10) as s:
            self.assertTrue(closed_without_a_byte(s))
        self.assertTrue(DAEMON.log_contains(r"peer=127\.0\.0\.1:\d+ listener=pop3-untrusted refused: not a trusted "
                                            r"PROXY protocol sender"))

    def test_a_header_that_never_ends_is_closed_after_proxy_timeout(self):
        with socket.create_connection(("127.0.0.1", DAEMON.ports["pop3-proxied"]), timeout=10) as s:
            s.sendall(b"PROXY TCP4 192.0.2.1 ")
            self.assertTrue(closed_without_a_byte(s))  # proxy_timeout is 1 s, the socket waits up to 10
        self.assertTrue(DAEMON.log_contains(r"listener=pop3-proxied PROXY header refused: no complete header in "
                                            r"time; connection closed"))

    def test_a_malformed_header_is_closed(self):
        with socket.create_connection(("127.0.0.1", DAEMON.ports["pop3-proxied"]), timeout=10) as s:
            s.sendall(b"PROXY TCP4 192.0.2.1 127.0.0.1 01 110\r\n")
            self.assertTrue(closed_without_a_byte(s))
        self.assertTrue(DAEMON.log_contains(r"listener=pop3-proxied PROXY header refused: v1: a port is not a "
                                            r"decimal number"))

    def test_a_client_speaking_pop3_first_is_closed(self):
        with socket.create_connection(("127.0.0.1", DAEMON.ports["pop3-proxied"]), timeout=10) as s:
            s.sendall(b"USER alice\r\n")
            self.assertTrue(closed_without_a_byte(s))
        self.assertTrue(DAEMON.log_contains(r"PROXY header refused: neither a PROXY v1 line nor a v2 signature"))


    def test_the_octets_after_a_header_are_the_clients(self):
        # Header and first command in one write: the command is answered, not lost.
        with socket.create_connection(("127.0.0.1", DAEMON.ports["pop3-proxied"]), timeout=10) as s:
            s.sendall(b"PROXY TCP4 198.51.100.7 127.0.0.1 4711 110\r\nCAPA\r\n")
            f = s.makefile("rb")
            self.assertTrue(f.readline().startswith(b"+OK"))  # the greeting
            self.assertTrue(f.readline().startswith(b"+OK"))  # CAPA's answer
        self.assertTrue(DAEMON.log_contains(r"peer=198\.51\.100\.7:4711 listener=pop3-proxied PROXY v1 from "
                                            r"proxy=127\.0\.0\.1:\d+"))


class RealClientLimits(unittest.TestCase):

    def test_the_per_address_limit_counts_the_client_the_header_names(self):
        # All from 127.0.0.1, the proxy: three connections for 198.51.100.9 are served, a fourth is refused by
        # max_connections_per_ip = 3, and one for 198.51.100.10 is served.
        def proxied(client):
            s = socket.create_connection(("127.0.0.1", DAEMON.ports["pop3-proxied"]), timeout=10)
            s.sendall(f"PROXY TCP4 {client} 127.0.0.1 4000 110\r\n".encode())
            return s, s.makefile("rb").readline()

        held = []
        try:
            for _ in range(3):
                held.append(proxied("198.51.100.9"))
                self.assertTrue(held[-1][1].startswith(b"+OK"), held[-1][1])
            held.append(proxied("198.51.100.9"))
            self.assertEqual(held[-1][1],
                             b"-ERR [SYS/TEMP] too many connections from your address, try again later\r\n")
            held.append(proxied("198.51.100.10"))
            self.assertTrue(held[-1][1].startswith(b"+OK"), held[-1][1])
        finally:
            for s, _ in held:
                s.close()
        self.assertTrue(DAEMON.log_contains(r"peer=198\.51\.100\.9:4000 listener=pop3-proxied refused: too many "
                                            r"connections from this address"))


if __name__ == "__main__":
    unittest.main()
