"""TLS on mailwrightd's listeners, driven by Python's ssl module and openssl s_client: implicit TLS and the
in-place upgrade, the injection cases of the NO STARTTLS study, versions, SNI, client certificates, a
one-byte-at-a-time client, misbehaving peers, and certificate reload. One case needs a client that breaks the
protocol on purpose (a client certificate without a valid CertificateVerify): tls13_raw, our own."""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import tls13_raw
from certs import der_sha256, make_all
from daemon import DAEMON, Client, Daemon

CERTS = tempfile.mkdtemp(prefix="mailwright-certs-")
GREETING = b"220 mailwright echo ready\r\n"


def setUpModule():
    make_all(CERTS)


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


def cert(name):
    return os.path.join(CERTS, name)


def tls_config(tls_extra="", listener_extra="", sni=True, handshake_timeout="5s"):
    sni_table = f"""
[[tls.sni]]
names = ["two.test"]
certificate = "{cert('two.pem')}"
key = "{cert('two.key')}"
""" if sni else ""
    return f"""
[server]
workers = 2
[log]
level = "debug"
[tls]
certificate = "{cert('one.pem')}"
key = "{cert('one.key')}"
handshake_timeout = "{handshake_timeout}"
{tls_extra}
{sni_table}
[[listener]]
name = "plain"
service = "echo"
port = 0
tls = "starttls"
{listener_extra}
[[listener]]
name = "implicit"
service = "echo"
port = 0
tls = "implicit"
{listener_extra}
"""


def client_context(trust=None, min_version=None, max_version=None, cert_name=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if trust:
        ctx.load_verify_locations(cert(trust))
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if min_version:
        ctx.minimum_version = min_version
    if max_version:
        ctx.maximum_version = max_version
    if cert_name:
        ctx.load_cert_chain(cert(cert_name + ".pem"), cert(cert_name + ".key"))
    return ctx


def implicit(daemon, ctx=None, server_hostname="one.test"):
    raw = socket.create_connection(("127.0.0.1", daemon.ports["implicit"]), timeout=10)
    return (ctx or client_context()).wrap_socket(raw, server_hostname=server_hostname)


def read_line(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def read_until_closed(sock):
    received = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return received
        received += chunk


def tlsinfo(sock):
    sock.sendall(b"TLSINFO\r\n")
    return read_line(sock).decode()


class SharedDaemon(unittest.TestCase):
    """One daemon with the standard TLS configuration for all tests of the class."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(tls_config())

    @classmethod
    def tearDownClass(cls):
        assert cls.daemon.terminate() == 0


class Handshakes(SharedDaemon):
    def test_implicit_tls13_then_the_normal_greeting(self):
        with implicit(self.daemon, client_context(trust="one.pem")) as s:
            self.assertEqual(s.version(), "TLSv1.3")
            self.assertEqual(read_line(s), GREETING)  # TLS first, then the protocol from its beginning
            s.sendall(b"hello\r\n")
            self.assertEqual(read_line(s), b"250 hello\r\n")

    def test_implicit_tls12(self):
        ctx = client_context(max_version=ssl.TLSVersion.TLSv1_2)
        with implicit(self.daemon, ctx) as s:
            self.assertEqual(s.version(), "TLSv1.2")
            self.assertEqual(read_line(s), GREETING)
            info = tlsinfo(s)
            self.assertIn("cb-type=tls-unique", info)
            # The server's tls-unique is the one the client computed.
            self.assertIn("cb=" + s.get_channel_binding("tls-unique").hex(), info)

    def test_tls13_exporter_binding_is_per_connection(self):
        bindings = []
        for _ in range(2):
            with implicit(self.daemon) as s:
                read_line(s)
                m = re.search(r"cb-type=tls-exporter cb=([0-9a-f]{64})\r\n$", tlsinfo(s))
                self.assertIsNotNone(m)
                bindings.append(m.group(1))
        self.assertNotEqual(bindings[0], bindings[1])

    def test_starttls_upgrade_and_no_starttls_inside_tls(self):
        with Client("127.0.0.1", self.daemon.ports["plain"]) as c:
            self.assertEqual(c.line(), GREETING.decode())
            c.send("STARTTLS\r\n")
            self.assertEqual(c.line(), "220 go ahead\r\n")
            s = client_context(trust="one.pem").wrap_socket(c.sock, server_hostname="one.test")
            s.sendall(b"hello\r\n")
            self.assertEqual(read_line(s), b"250 hello\r\n")
            s.sendall(b"STARTTLS\r\n")
            self.assertEqual(read_line(s), b"503 TLS is already active\r\n")
        with implicit(self.daemon) as s:
            read_line(s)
            s.sendall(b"STARTTLS\r\n")
            self.assertEqual(read_line(s), b"503 TLS is already active\r\n")

    def test_tls11_and_older_are_refused(self):
        ctx = client_context(max_version=ssl.TLSVersion.TLSv1_1)
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            implicit(self.daemon, ctx)
        for flag in ("-tls1_1", "-tls1"):
            result = subprocess.run(["openssl", "s_client", flag, "-cipher", "ALL:@SECLEVEL=0", "-connect",
                                     f"127.0.0.1:{self.daemon.ports['implicit']}"], input=b"",
                                    capture_output=True, timeout=30)
            self.assertNotEqual(result.returncode, 0)
            self.assertNotIn(GREETING, result.stdout)

    def test_sni_selects_the_certificate(self):
        ctx = client_context()
        ctx.load_verify_locations(cert("one.pem"))
        ctx.load_verify_locations(cert("two.pem"))
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        for name in ("one.test", "two.test"):
            with implicit(self.daemon, ctx, server_hostname=name) as s:  # hostname checked by the client
                self.assertEqual(read_line(s), GREETING)
                self.assertIn(f"sni={name}", tlsinfo(s))
        ctx.check_hostname = False
        with implicit(self.daemon, ctx, server_hostname="other.test") as s:
            subject = dict(x[0] for x in s.getpeercert()["subject"])
            self.assertEqual(subject["commonName"], "one.test")  # an unknown name gets the default

    def test_openssl_s_client_implicit_and_starttls(self):
        for args in (["-connect", f"127.0.0.1:{self.daemon.ports['implicit']}"],
                     ["-starttls", "smtp", "-connect", f"127.0.0.1:{self.daemon.ports['plain']}"]):
            result = subprocess.run(["openssl", "s_client", "-quiet", "-servername", "one.test", *args],
                                    input=b"hello\r\nQUIT\r\n", capture_output=True, timeout=30)
            self.assertIn(b"250 hello\r\n", result.stdout, result.stderr)
            self.assertIn(b"221 bye\r\n", result.stdout)

    def s_client_dialogue(self, *args, steps):
        """openssl s_client against the implicit listener, fed `steps` (text, pause) one after another."""
        proc = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{self.daemon.ports['implicit']}",
                                 *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            for text, pause in steps:
                proc.stdin.write(text)
                proc.stdin.flush()
                time.sleep(pause)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # s_client ended the session itself
        out = proc.stdout.read()
        proc.wait(30)
        return out

    def test_renegotiation_is_refused(self):
        out = self.s_client_dialogue("-tls1_2", steps=[(b"hello\r\n", 0.5), (b"R\n", 1.0), (b"after\r\n", 0.5)])
        self.assertIn(b"250 hello\r\n", out)
        self.assertIn(b"RENEGOTIATING", out)
        self.assertIn(b"alert", out)  # the server answers the renegotiation with an alert and the session ends
        self.assertNotIn(b"250 after", out)

    def test_tls13_key_update_is_followed(self):
        out = self.s_client_dialogue(steps=[(b"hello\r\n", 0.5), (b"k\n", 1.0), (b"after\r\n", 0.5)])
        self.assertIn(b"KEYUPDATE", out)
        self.assertIn(b"250 after\r\n", out)

    def test_resumption_where_no_certificate_is_required(self):
        session_file = os.path.join(CERTS, "resume.session")
        for version in ("-tls1_2", "-tls1_3"):
            common = ["openssl", "s_client", version, "-ign_eof", "-connect",
                      f"127.0.0.1:{self.daemon.ports['implicit']}"]
            first = subprocess.run([*common, "-sess_out", session_file], input=b"QUIT\r\n",
                                   capture_output=True, timeout=30).stdout
            self.assertIn(b"New, TLSv1.", first)
            again = subprocess.run([*common, "-sess_in", session_file], input=b"QUIT\r\n",
                                   capture_output=True, timeout=30).stdout
            self.assertIn(b"Reused, TLSv1.", again)
            self.assertIn(b"220 mailwright echo ready", again)

    def test_garbage_instead_of_client_hello(self):
        with socket.create_connection(("127.0.0.1", self.daemon.ports["implicit"]), timeout=10) as raw:
            raw.sendall(b"HELO attacker\r\n" * 4)
            received = read_until_closed(raw)
            self.assertNotIn(b"220", received)  # at most a TLS alert, then the connection closes
        with implicit(self.daemon) as s:  # everybody else is still served
            self.assertEqual(read_line(s), GREETING)

    def test_vanished_client_mid_handshake(self):
        for _ in range(5):
            raw = socket.create_connection(("127.0.0.1", self.daemon.ports["implicit"]), timeout=10)
            raw.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # the start of a ClientHello
            raw.close()
        with implicit(self.daemon) as s:
            self.assertEqual(read_line(s), GREETING)


class Injection(SharedDaemon):
    """NO STARTTLS (USENIX Security 2021): nothing sent in plaintext after STARTTLS is ever answered."""

    def test_injection_in_the_same_segment(self):
        with Client("127.0.0.1", self.daemon.ports["plain"]) as c:
            c.line()
            c.send("STARTTLS\r\nINJECTED\r\n")
            self.assertEqual(c.line(), "220 go ahead\r\n")
            s = client_context().wrap_socket(c.sock, server_hostname="one.test")
            s.sendall(b"after\r\n")
            self.assertEqual(read_line(s), b"250 after\r\n")  # not "250 INJECTED"
        self.assertTrue(self.daemon.log_contains(r"discarded 10 octets sent before the TLS handshake: possible "
                                                 r"command injection"))

    def test_injection_in_a_second_segment_before_the_client_hello(self):
        raw = socket.create_connection(("127.0.0.1", self.daemon.ports["plain"]), timeout=10)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.assertEqual(read_line(raw), GREETING)
        raw.sendall(b"STARTTLS\r\n")
        time.sleep(0.2)  # a separate segment, after the server has read the first
        raw.sendall(b"INJECTED\r\n")
        self.assertEqual(read_line(raw), b"220 go ahead\r\n")
        try:
            s = client_context().wrap_socket(raw, server_hostname="one.test")
            s.sendall(b"after\r\n")
            reply = read_line(s)
            self.assertNotIn(b"INJECTED", reply)
        except (ssl.SSLError, ConnectionError):
            pass  # the injected bytes broke the handshake: the session ends, nothing was executed
        finally:
            raw.close()

    def test_failed_handshake_never_falls_back_to_plaintext(self):
        with socket.create_connection(("127.0.0.1", self.daemon.ports["plain"]), timeout=10) as raw:
            self.assertEqual(read_line(raw), GREETING)
            raw.sendall(b"STARTTLS\r\n")
            self.assertEqual(read_line(raw), b"220 go ahead\r\n")
            raw.sendall(b"NOOP\r\nhello\r\n")  # plaintext where the ClientHello belongs
            rest = read_until_closed(raw)
            self.assertNotIn(b"250", rest)  # at most a TLS alert; then the connection is closed

    def test_plaintext_reply_never_follows_starttls(self):
        # The upgrade command with commands behind it, and the client never starts TLS: the server must not
        # answer the queued commands in plaintext.
        with socket.create_connection(("127.0.0.1", self.daemon.ports["plain"]), timeout=10) as raw:
            self.assertEqual(read_line(raw), GREETING)
            raw.sendall(b"STARTTLS\r\nNOOP\r\nQUIT\r\n")
            self.assertEqual(read_line(raw), b"220 go ahead\r\n")
            raw.shutdown(socket.SHUT_WR)
            rest = read_until_closed(raw)
            self.assertNotIn(b"250", rest)
            self.assertNotIn(b"221", rest)


class ClientCertificates(unittest.TestCase):
    def run_with(self, policy):
        return Daemon(tls_config(tls_extra=f'client_certificates = "{policy}"\nclient_ca = "{cert("ca.pem")}"'))

    def handshake_fails(self, daemon, ctx):
        try:
            with implicit(daemon, ctx) as s:
                # TLS 1.3 reports a refused client certificate after the client's Finished: on the first read.
                return read_line(s) != GREETING
        except (ssl.SSLError, ConnectionError):
            return True

    def test_required(self):
        daemon = self.run_with("required")
        try:
            self.assertTrue(self.handshake_fails(daemon, client_context()))  # none
            self.assertTrue(self.handshake_fails(daemon, client_context(cert_name="mallory")))  # untrusted
            with implicit(daemon, client_context(cert_name="alice")) as s:
                self.assertEqual(read_line(s), GREETING)
                info = tlsinfo(s)
                self.assertIn("cert=yes verified=yes", info)
                self.assertIn("cn=alice", info)
                self.assertIn("emails=alice@example.org", info)
                self.assertIn("dns=alice.example.org", info)
                self.assertIn("sha256=" + der_sha256(cert("alice.pem")), info)
                self.assertIn("/O=Mailwright Tests/CN=alice", info)
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_resumption_cannot_skip_a_required_certificate(self):
        daemon = self.run_with("required")
        session_file = os.path.join(CERTS, "alice.session")
        try:
            def s_client(*args):
                return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{daemon.ports['implicit']}",
                                       "-ign_eof", *args], input=b"hello\r\nQUIT\r\n", capture_output=True,
                                      timeout=30).stdout

            first = s_client("-cert", cert("alice.pem"), "-key", cert("alice.key"), "-sess_out", session_file)
            self.assertIn(b"250 hello", first)
            for version in ("-tls1_2", "-tls1_3"):
                again = s_client(version, "-sess_in", session_file)  # no certificate this time
                self.assertNotIn(b"220 mailwright", again)
                self.assertNotIn(b"Reused, ", again)
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_a_certificate_without_a_valid_certificate_verify_is_refused(self):
        # SECURITY-CASES 38 (CVE-2022-25640): a TLS 1.3 client that sends somebody's certificate but no
        # CertificateVerify, so proves nothing, must not get a session, let alone one whose certificate counts as
        # verified (which SASL EXTERNAL would accept). tls13_raw is our own minimal client, as no ordinary one
        # can leave the message out; the same client with the message is the control that shows it works.
        for policy in ("required", "optional"):
            with self.subTest(policy=policy):
                daemon = self.run_with(policy)
                try:
                    port = daemon.ports["implicit"]
                    data, alerts = tls13_raw.client_certificate_handshake(port, cert("alice.pem"), cert("alice.key"),
                                                                          request=b"TLSINFO\r\n")
                    self.assertTrue(data.startswith(GREETING), data)
                    self.assertIn(b"cert=yes verified=yes", data)
                    self.assertIn(b"cn=alice", data)
                    self.assertEqual(alerts, [])

                    data, alerts = tls13_raw.client_certificate_handshake(
                        port, cert("alice.pem"), cert("alice.key"), send_certificate_verify=False,
                        request=b"TLSINFO\r\n")
                    self.assertEqual(data, b"")  # no greeting, nothing under the application keys
                    self.assertTrue(daemon.log_contains(r"session=2 .*TLS handshake failed"))

                    # A CertificateVerify signed with another key than the certificate's proves nothing either.
                    data, alerts = tls13_raw.client_certificate_handshake(
                        port, cert("alice.pem"), cert("mallory.key"), request=b"TLSINFO\r\n")
                    self.assertEqual(data, b"")
                    self.assertTrue(daemon.log_contains(r"session=3 .*TLS handshake failed"))
                finally:
                    self.assertEqual(daemon.terminate(), 0)

    def test_optional(self):
        daemon = self.run_with("optional")
        try:
            with implicit(daemon, client_context()) as s:
                self.assertEqual(read_line(s), GREETING)
                self.assertIn("cert=no", tlsinfo(s))
            with implicit(daemon, client_context(cert_name="mallory")) as s:
                self.assertEqual(read_line(s), GREETING)
                self.assertIn("cert=yes verified=no", tlsinfo(s))  # present, but may not authenticate
            with implicit(daemon, client_context(cert_name="alice")) as s:
                self.assertEqual(read_line(s), GREETING)
                self.assertIn("cert=yes verified=yes", tlsinfo(s))
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_not_asked_for(self):
        daemon = Daemon(tls_config())
        try:
            with implicit(daemon, client_context(cert_name="alice")) as s:
                self.assertEqual(read_line(s), GREETING)
                self.assertIn("cert=no", tlsinfo(s))
        finally:
            self.assertEqual(daemon.terminate(), 0)


class Trickle(unittest.TestCase):
    """A client whose every octet travels in a segment of its own, through the handshake and after it."""

    def test_one_byte_at_a_time(self):
        daemon = Daemon(tls_config())
        try:
            raw = socket.create_connection(("127.0.0.1", daemon.ports["implicit"]), timeout=10)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = client_context().wrap_bio(incoming, outgoing, server_hostname="one.test")

            def pump_out():
                data = outgoing.read()
                for i in range(len(data)):
                    raw.sendall(data[i:i + 1])
                    time.sleep(0.0005)

            def pump_in():
                chunk = raw.recv(65536)
                if not chunk:
                    raise ConnectionError("server closed")
                incoming.write(chunk)

            for _ in range(1000):
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    pump_out()
                    pump_in()
            pump_out()

            def read_tls_line():
                received = b""
                for _ in range(1000):
                    if received.endswith(b"\n"):
                        break
                    try:
                        received += tls.read(4096)
                    except ssl.SSLWantReadError:
                        pump_in()
                return received

            self.assertEqual(read_tls_line(), GREETING)
            tls.write(b"slowly but surely\r\n")
            pump_out()
            self.assertEqual(read_tls_line(), b"250 slowly but surely\r\n")
            raw.close()
        finally:
            self.assertEqual(daemon.terminate(), 0)


class Deadlines(unittest.TestCase):
    def test_stalled_handshake_is_dropped(self):
        daemon = Daemon(tls_config(handshake_timeout="1s"))
        try:
            with socket.create_connection(("127.0.0.1", daemon.ports["implicit"]), timeout=10) as raw:
                raw.sendall(b"\x16\x03\x01")  # three octets of a record header, then silence
                self.assertEqual(raw.recv(4096), b"")  # closed by the deadline, well before our 10 s
            self.assertTrue(daemon.log_contains(r"TLS handshake failed: deadline exceeded"))
        finally:
            self.assertEqual(daemon.terminate(), 0)


class ExtendedMasterSecret(unittest.TestCase):
    """RFC 7627 5.4 and RFC 9266 3: tls-unique only with Extended Master Secret. A TLS 1.2 client that turns
    it off gets no SCRAM-*-PLUS: neither in CAPA or EHLO nor when it asks for one."""

    NO_EMS = 0x1  # OpenSSL 3's SSL_OP_NO_EXTENDED_MASTER_SECRET
    SCRAM = '["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]'

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailwright-ems-")
        line = subprocess.run([DAEMON, "passwd", "--scheme", "PLAIN-EQUIVALENT", "alice"], input="pw-alice",
                              capture_output=True, text=True, timeout=60, check=True).stdout
        with open(f"{cls.work}/passwd", "w") as f:
            f.write(line)
        listeners = "".join(f"""
[[listener]]
name = "{name}"
service = "{service}"
port = 0
tls = "implicit"
auth_mechanisms = {cls.SCRAM}
""" for name, service in (("pop3s", "pop3"), ("submissions", "smtp")))
        cls.daemon = Daemon(f"""
[tls]
certificate = "{cert('one.pem')}"
key = "{cert('one.key')}"
[plugin.passwd-file]
file = "{cls.work}/passwd"
[plugin.maildir]
path = "{cls.work}/mail/%u/Maildir"
[plugins]
auth = ["passwd-file"]
{listeners}""")

    @classmethod
    def tearDownClass(cls):
        try:
            assert cls.daemon.terminate() == 0
        finally:
            shutil.rmtree(cls.work, ignore_errors=True)

    def dialogue(self, listener, ems, *commands):
        """The replies to `commands` (every line of each), after the greeting, over TLS 1.2 with or without EMS."""
        ctx = client_context(max_version=ssl.TLSVersion.TLSv1_2)
        if not ems:
            ctx.options |= self.NO_EMS
        raw = socket.create_connection(("127.0.0.1", self.daemon.ports[listener]), timeout=10)
        with ctx.wrap_socket(raw) as s:
            self.assertEqual(s.version(), "TLSv1.2")
            read_line(s)
            replies = []
            for command in commands:
                s.sendall(command.encode() + b"\r\n")
                lines = [read_line(s).decode()]
                while lines[-1][3:4] == "-" or (command == "CAPA" and lines[-1] != ".\r\n"):
                    lines.append(read_line(s).decode())  # SMTP's continuation lines, POP3's multi-line reply
                replies.append("".join(lines))
            return replies

    def test_pop3_offers_and_accepts_plus_only_with_ems(self):
        capa, auth = self.dialogue("pop3s", True, "CAPA", "AUTH SCRAM-SHA-256-PLUS")
        self.assertIn("SASL SCRAM-SHA-256-PLUS SCRAM-SHA-256\r\n", capa)
        self.assertEqual(auth, "+ \r\n")
        capa, auth = self.dialogue("pop3s", False, "CAPA", "AUTH SCRAM-SHA-256-PLUS")
        self.assertIn("SASL SCRAM-SHA-256\r\n", capa)
        self.assertEqual(auth, "-ERR SCRAM-SHA-256-PLUS authentication is not available here\r\n")

    def test_smtp_offers_and_accepts_plus_only_with_ems(self):
        ehlo, auth = self.dialogue("submissions", True, "EHLO client.test", "AUTH SCRAM-SHA-256-PLUS")
        self.assertRegex(ehlo, r"250[- ]AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256\r\n")
        self.assertEqual(auth, "334 \r\n")
        ehlo, auth = self.dialogue("submissions", False, "EHLO client.test", "AUTH SCRAM-SHA-256-PLUS")
        self.assertRegex(ehlo, r"250[- ]AUTH SCRAM-SHA-256\r\n")
        self.assertEqual(auth, "504 5.5.4 Unrecognized authentication type\r\n")


class DevelopmentCertificate(unittest.TestCase):
    def test_generated_at_first_start_and_kept(self):
        work = tempfile.mkdtemp(prefix="mailwright-devcert-")
        config = f"""
[tls]
certificate = "{work}/tls/cert.pem"
key = "{work}/tls/key.pem"
generate_self_signed = true
self_signed_names = ["mail.test", "localhost"]
[[listener]]
name = "implicit"
service = "echo"
port = 0
tls = "implicit"
"""
        try:
            daemon = Daemon(config)
            try:
                self.assertEqual(os.stat(f"{work}/tls/key.pem").st_mode & 0o777, 0o600)
                ctx = client_context()
                ctx.load_verify_locations(f"{work}/tls/cert.pem")
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.check_hostname = True
                with implicit(daemon, ctx, server_hostname="mail.test") as s:  # CN and SAN as asked
                    self.assertEqual(read_line(s), GREETING)
                    self.assertEqual(dict(x[0] for x in s.getpeercert()["subject"])["commonName"], "mail.test")
            finally:
                self.assertEqual(daemon.terminate(), 0)
            with open(f"{work}/tls/cert.pem") as f:
                first = f.read()
            daemon = Daemon(config)  # a second start keeps the certificate it made
            self.assertEqual(daemon.terminate(), 0)
            with open(f"{work}/tls/cert.pem") as f:
                self.assertEqual(f.read(), first)
        finally:
            shutil.rmtree(work, ignore_errors=True)


class Reload(unittest.TestCase):
    def test_sighup_with_a_good_and_a_broken_certificate(self):
        work = tempfile.mkdtemp(prefix="mailwright-reload-")
        live_cert, live_key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
        shutil.copy(cert("one.pem"), live_cert)
        shutil.copy(cert("one.key"), live_key)
        config = tls_config(sni=False).replace(cert("one.pem"), live_cert).replace(cert("one.key"), live_key)
        daemon = Daemon(config)

        def served_cn():
            ctx = client_context()
            ctx.load_verify_locations(cert("one.pem"))
            ctx.load_verify_locations(cert("two.pem"))
            ctx.verify_mode = ssl.CERT_REQUIRED
            with implicit(daemon, ctx) as s:
                read_line(s)
                return dict(x[0] for x in s.getpeercert()["subject"])["commonName"]

        try:
            self.assertEqual(served_cn(), "one.test")
            open_session = implicit(daemon)
            self.assertEqual(read_line(open_session), GREETING)

            shutil.copy(cert("two.pem"), live_cert)
            shutil.copy(cert("two.key"), live_key)
            daemon.proc.send_signal(signal.SIGHUP)
            self.assertTrue(daemon.log_contains(r"listener=implicit TLS certificates reloaded"))
            self.assertEqual(served_cn(), "two.test")
            open_session.sendall(b"still here\r\n")  # the reload dropped nobody
            self.assertEqual(read_line(open_session), b"250 still here\r\n")

            with open(live_cert, "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
            daemon.proc.send_signal(signal.SIGHUP)
            self.assertTrue(daemon.log_contains(r"listener=implicit TLS reload failed, keeping the previous"))
            self.assertEqual(served_cn(), "two.test")
            open_session.close()
        finally:
            self.assertEqual(daemon.terminate(), 0)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
