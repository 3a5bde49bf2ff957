"""Scale-out as docs/scale-out.md lays it out, every part real: PostgreSQL 15 (servers_postgres.Postgres) holding
users (auth/postgres) and mail (mailstore/postgres), two mailwrightd nodes on it, and HAProxy in TCP mode in
front of them with `send-proxy-v2` (servers_haproxy.HAProxy). Clients connect to HAProxy from 127.0.0.2, HAProxy
to the nodes from 127.0.0.1, so a node that logs 127.0.0.2 took it from the PROXY header.

Which node a connection reaches is fixed by the balancer's routes, not by chance: `submission` goes to node A
(B only when A is down), `pop3` to node B, `pop3-a` to node A (B when A is down). The node whose log names the
client's address and port as a session's peer is the one that served it."""
import os
import poplib
import re
import shutil
import signal
import smtplib
import ssl
import tempfile
import time
import unittest
import uuid

from certs import make_all
from daemon import start_in, stop_in
from servers_haproxy import HAProxy
from servers_postgres import Postgres
from test_proxy_protocol import CLIENT, ClientPOP3, client_socket

HERE = os.path.dirname(__file__)
SCHEMAS = [os.path.join(HERE, "..", "..", "contrib", "postgres", name) for name in ("auth.sql", "mailstore.sql")]
USERS = {"alice": "pw-alice", "bob": "pw-bob", "carol": "pw-carol"}
IN_USE = "[IN-USE]"
SYS_TEMP = "[SYS/TEMP]"


def node_config(work, name, conninfo):
    """Node `name`'s file: PostgreSQL for users and mail, listeners that take PROXY headers from HAProxy."""
    proxied = """proxy_protocol = true
proxy_trusted = ["127.0.0.1"]
plaintext_auth = true
auth_mechanisms = ["PLAIN", "LOGIN", "EXTERNAL"]"""
    return f"""
[server]
workers = 2
hostname = "{name}.example.org"
state_dir = "{work}/state"
[log]
level = "info"
[auth]
failure_delay = "200ms"
failure_delay_max = "200ms"
[plugins]
auth = ["postgres-auth"]
[plugin.postgres-auth]
conninfo = "{conninfo}"
# A certificate HAProxy verified comes with its CN only (no DER, so no fingerprint): map the CN to the user then.
certificate_query = "SELECT name FROM users WHERE $1 = '' AND name = $2"
connect_timeout = "2s"
query_timeout = "3s"
reconnect_min = "100ms"
reconnect_max = "500ms"
[plugin.postgres-store]
conninfo = "{conninfo}"
connect_timeout = "2s"
query_timeout = "3s"
reconnect_min = "100ms"
reconnect_max = "500ms"

[[listener]]
name = "submission"
service = "smtp"
port = 0
{proxied}
[listener.smtp]
role = "submission"
local_domains = ["example.org"]

[[listener]]
name = "pop3"
service = "pop3"
port = 0
{proxied}
"""


def message(tag):
    return (f"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: {tag}\r\n\r\n"
            f"sent through the balancer: {tag}\r\n").encode()


def pop3_text(pop, number):
    return b"\r\n".join(pop.retr(number)[1])


class ScaleOut(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.nodes = {}
        try:
            for path in SCHEMAS:
                with open(path) as f:
                    cls.pg.psql(f"SET ROLE {cls.pg.user};\n" + f.read())
            rows = ", ".join(f"('{u}', '{{PLAIN}}{pw}')" for u, pw in USERS.items())
            cls.pg.psql(f"SET ROLE {cls.pg.user}; INSERT INTO users (name, password) VALUES {rows}")
            for name in ("a", "b"):
                work = tempfile.mkdtemp(prefix=f"mailwright-node-{name}-")
                cls.nodes[name] = (work, start_in(work, node_config(work, f"node-{name}", cls.pg.conninfo)))
            cls.certs = tempfile.mkdtemp(prefix="mailwright-scale-out-certs-")
            make_all(cls.certs)
            with open(os.path.join(cls.certs, "one-combined.pem"), "w") as out:
                for name in ("one.pem", "one.key"):
                    with open(os.path.join(cls.certs, name)) as f:
                        out.write(f.read())
            cls.haproxy = HAProxy(cls.routes())
        except BaseException:
            cls.stop_all()
            raise

    @classmethod
    def routes(cls):
        def to(first, listener, options="send-proxy-v2"):
            other = "b" if first == "a" else "a"
            check = "check check-send-proxy inter 200ms fall 1 rise 1"
            return [f"{first} 127.0.0.1:{cls.nodes[first][1].ports[listener]} {options} {check}",
                    f"{other} 127.0.0.1:{cls.nodes[other][1].ports[listener]} {options} {check} backup"]

        # TLS ended at HAProxy: any client certificate let through, its verification result and CN passed on.
        tls = (f"ssl crt {cls.certs}/one-combined.pem ca-file {cls.certs}/ca.pem verify optional "
               "ca-ignore-err all crt-ignore-err all")
        return {"submission": (to("a", "submission"), ""), "pop3": (to("b", "pop3"), ""),
                "pop3-a": (to("a", "pop3"), ""),
                "pop3s": (to("b", "pop3", "send-proxy-v2 send-proxy-v2-ssl-cn"), tls)}

    @classmethod
    def stop_all(cls):
        if getattr(cls, "haproxy", None):
            cls.haproxy.stop()
        for work, daemon in cls.nodes.values():
            if daemon.proc.poll() is None:
                stop_in(work, daemon)
            else:
                daemon.kill()
                shutil.rmtree(work, ignore_errors=True)
        cls.pg.stop()
        if getattr(cls, "certs", None):
            shutil.rmtree(cls.certs, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.stop_all()

    def node(self, name):
        return self.nodes[name][1]

    def submit(self, tag, user="alice", to="bob@example.org"):
        with smtplib.SMTP("127.0.0.1", self.haproxy.ports["submission"], source_address=(CLIENT, 0),
                          timeout=20) as smtp:
            smtp.ehlo("client.example")
            smtp.login(user, USERS[user])
            smtp.sendmail(f"{user}@example.org", [to], message(tag))

    def pop3(self, route="pop3", user="bob"):
        pop = ClientPOP3("127.0.0.1", self.haproxy.ports[route], timeout=20)
        pop.user(user)
        pop.pass_(USERS[user])
        return pop

    def served_by(self, pop):
        """The node whose log names this client connection (CLIENT and its port) as a session's peer."""
        peer = re.escape(f"peer={CLIENT}:{pop.sock.getsockname()[1]} ")
        for name in self.nodes:
            if self.node(name).log_contains(peer, timeout=0.5):
                return name
        return None

    def find(self, pop, tag):
        """The number of the message whose Subject is `tag`, or None."""
        count = len(pop.list()[1])
        for n in range(1, count + 1):
            if f"Subject: {tag}".encode() in pop3_text(pop, n):
                return n
        return None

    def test_a_message_submitted_on_node_a_is_read_on_node_b(self):
        tag = uuid.uuid4().hex
        self.submit(tag)
        self.assertTrue(self.node("a").log_contains(rf"peer={re.escape(CLIENT)}:\d+ message=\S+ accepted"))
        pop = self.pop3("pop3")
        try:
            self.assertEqual(self.served_by(pop), "b")
            self.assertIsNotNone(self.find(pop, tag))
        finally:
            pop.quit()
        self.assertTrue(self.node("b").log_contains(rf"peer={re.escape(CLIENT)}:\d+ .*listener=pop3 connected"))
        # Sessions from HAProxy's own address are its health checks (a PROXY v2 LOCAL header keeps the socket's
        # address); no login, no message, comes from there.
        for name in ("a", "b"):
            self.assertFalse([line for line in self.node(name).lines
                              if re.search(r"peer=127\.0\.0\.1:\d+ .*(logged in|accepted|authentication)", line)],
                             f"node {name} charged HAProxy's address with a client's act")

    def test_failed_logins_are_charged_to_the_real_client_on_both_nodes(self):
        for route, name in (("pop3-a", "a"), ("pop3", "b")):
            pop = ClientPOP3("127.0.0.1", self.haproxy.ports[route], timeout=20)
            pop.user("carol")
            with self.assertRaises(poplib.error_proto):
                pop.pass_("wrong")
            pop.close()
            self.assertTrue(self.node(name).log_contains(
                rf"authentication failed client={re.escape(CLIENT)}\b"), f"node {name}")

    def external(self, cert):
        """AUTH EXTERNAL through HAProxy's TLS frontend with `cert`'s client certificate: the reply line."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(os.path.join(self.certs, "one.pem"))
        ctx.load_cert_chain(os.path.join(self.certs, f"{cert}.pem"), os.path.join(self.certs, f"{cert}.key"))
        with ctx.wrap_socket(client_socket(self.haproxy.ports["pop3s"], timeout=20), server_hostname="one.test") as sock:
            replies = sock.makefile("rb")
            self.assertTrue(replies.readline().startswith(b"+OK"))
            sock.sendall(b"AUTH EXTERNAL =\r\n")
            return replies.readline().decode()

    def test_tls_ended_at_haproxy_external_only_with_a_certificate_haproxy_verified(self):
        self.assertTrue(self.external("alice").startswith("+OK"))
        self.assertTrue(self.node("b").log_contains(rf"peer={re.escape(CLIENT)}:\d+ logged in as alice"))
        self.assertIn("-ERR", self.external("mallory"))
        self.assertTrue(self.node("b").log_contains(r"client-cert-cn=\"mallory\" verified=false"))

    def test_z_node_killed_mid_session_loses_nothing_and_releases_the_lock(self):
        # Named to run last: it kills node A (unittest runs a class's tests in name order).
        tag = uuid.uuid4().hex
        self.submit(tag, to="carol@example.org")
        pop = self.pop3("pop3-a", user="carol")
        self.assertEqual(self.served_by(pop), "a")
        number = self.find(pop, tag)
        self.assertIsNotNone(number)
        pop.dele(number)
        self.node("a").proc.send_signal(signal.SIGKILL)
        self.node("a").proc.wait(10)
        pop.close()
        # HAProxy sees node A gone (its check, or a refused connection: redispatched) and sends carol to B,
        # whose login takes the maildrop lock the dead node's connection held.
        deadline = time.monotonic() + 20
        while True:
            try:
                again = self.pop3("pop3-a", user="carol")
                break
            except (poplib.error_proto, OSError) as e:
                if time.monotonic() > deadline:
                    raise AssertionError(f"carol cannot log in through node B: {e}") from None
                time.sleep(0.2)
        try:
            self.assertEqual(self.served_by(again), "b")
            self.assertIsNotNone(self.find(again, tag), "the message marked deleted on the dead node was lost")
        finally:
            again.quit()

    def test_postgres_restarted_clients_hear_temporary_failures_then_succeed(self):
        self.pg.stop(remove=False)
        try:
            pop = ClientPOP3("127.0.0.1", self.haproxy.ports["pop3"], timeout=20)
            pop.user("bob")
            with self.assertRaises(poplib.error_proto) as refused:
                pop.pass_(USERS["bob"])
            self.assertIn(SYS_TEMP, str(refused.exception))
            pop.close()
            with smtplib.SMTP("127.0.0.1", self.haproxy.ports["submission"], source_address=(CLIENT, 0),
                              timeout=20) as smtp:
                smtp.ehlo("client.example")
                with self.assertRaises(smtplib.SMTPAuthenticationError) as failed:
                    smtp.login("alice", USERS["alice"])
                self.assertEqual(failed.exception.smtp_code // 100, 4)
        finally:
            self.pg.start()
        tag = uuid.uuid4().hex
        deadline = time.monotonic() + 30
        while True:
            try:
                self.submit(tag)
                pop = self.pop3("pop3")
                break
            except (smtplib.SMTPException, poplib.error_proto, OSError) as e:
                if time.monotonic() > deadline:
                    raise AssertionError(f"no success after PostgreSQL came back: {e}") from None
                time.sleep(0.2)
        try:
            self.assertIsNotNone(self.find(pop, tag))
        finally:
            pop.quit()
        for name in ("a", "b"):
            self.assertIsNone(self.node(name).proc.poll(), f"node {name} ended")


if __name__ == "__main__":
    unittest.main()
