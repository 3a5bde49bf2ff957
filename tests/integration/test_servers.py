"""The harnesses of servers.py on their own, driven by standard-library clients: Dovecot delivers over LMTP into
its Maildirs and answers per recipient (4xx, 5xx), authenticates on its auth socket and can be stopped and
started again; the private Postfix relays for clients authenticated through Dovecot after STARTTLS, into
Dovecot's Maildir, with a Received field showing TLS and ESMTPSA; OpenDKIM listens with a key that
verify_dkim checks; rspamd starts in bounded time and rejects GTUBE over its HTTP API; PostgreSQL takes the
test role's password login over TCP, refuses a wrong one, and keeps its data and port across a restart; HAProxy
passes a connection on with a PROXY v1 line naming the client before its octets. Each test also checks
that stopping a server leaves no process and no directory behind."""
import base64
import os
import re
import smtplib
import socket
import subprocess
import time
import unittest
import uuid

from daemon import insecure_context
from milter_client import MilterClient
from servers import GTUBE, Dovecot, HAProxy, OpenDKIM, Postfix, Postgres, Rspamd, accepts, sign_dkim, verify_dkim
from servers_base import group_members

USERS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw"}


def message(token, size=2000, sender="alice@example.org", to="bob@example.org"):
    """A message over 1 KiB (above the over-quota users' quota) that holds `token`."""
    body = "".join(f"line {i} of the test message {token}\r\n" for i in range(size // 40 + 1))
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: test {token}\r\nMessage-ID: <{token}@example.org>\r\n"
            f"Date: Fri, 04 Dec 2026 12:00:00 +0000\r\n\r\n{body}").encode()


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def owner(pid):
    """The real uid of a process."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))


def children(pid):
    """The pids whose parent is pid."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        except (OSError, ValueError, IndexError):
            pass
    return found


class StopChecks:
    def assert_stops_cleanly(self, server):
        """stop() ends the process and its whole process group, and removes the directory."""
        pgid, directory = server.proc.pid, server.dir
        server.stop()
        self.assertIsNotNone(server.proc.poll())
        self.assertEqual(group_members(pgid), [], "processes of the server's group are left")
        self.assertFalse(os.path.exists(directory))


def lmtp_deliver(port, recipients, data, sender="alice@example.org"):
    """One LMTP transaction: ({rcpt: RCPT reply}, {accepted rcpt: reply after DATA}) as (code, text)."""
    with smtplib.LMTP("127.0.0.1", port, timeout=20) as client:
        client.ehlo("client.example")
        client.mail(sender)
        at_rcpt = {rcpt: client.rcpt(rcpt) for rcpt in recipients}
        accepted = [rcpt for rcpt, (code, _) in at_rcpt.items() if code == 250]
        client.putcmd("data")
        code, text = client.getreply()
        assert code == 354, (code, text)
        client.send(data.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
        return at_rcpt, {rcpt: client.getreply() for rcpt in accepted}


class DovecotHarness(StopChecks, unittest.TestCase):
    def setUp(self):
        self.dovecot = Dovecot(users=USERS, quota_tempfail=["carol"], quota_permfail=["dave"])
        self.addCleanup(self.dovecot.stop)

    def test_lmtp_delivery_lands_in_maildir_with_and_without_domain(self):
        token = uuid.uuid4().hex
        at_rcpt, at_data = lmtp_deliver(self.dovecot.lmtp_port, ["alice@example.org", "bob"], message(token))
        self.assertEqual({rcpt: code for rcpt, (code, _) in at_data.items()}, {"alice@example.org": 250, "bob": 250})
        for user in ("alice", "bob"):
            stored = self.dovecot.maildir_messages(user)
            self.assertEqual(len(stored), 1, user)
            self.assertIn(token.encode(), stored[0])
            self.assertIn(b"by lmtp.example.org with LMTP", stored[0])

    def test_per_recipient_tempfail_permfail_and_unknown_user(self):
        at_rcpt, at_data = lmtp_deliver(self.dovecot.lmtp_port, ["alice@example.org", "carol@example.org",
                                                                 "dave@example.org", "nobody@example.org"],
                                        message(uuid.uuid4().hex))
        code, text = at_rcpt["nobody@example.org"]
        self.assertEqual(code, 550)
        self.assertRegex(text, rb"^5\.1\.1 <nobody@example\.org> User doesn't exist")
        self.assertEqual(at_data["alice@example.org"][0], 250)
        self.assertEqual(at_data["carol@example.org"],
                         (452, b"4.2.2 <carol@example.org> Quota exceeded (mailbox for user is full)"))
        self.assertEqual(at_data["dave@example.org"],
                         (552, b"5.2.2 <dave@example.org> Quota exceeded (mailbox for user is full)"))
        self.assertEqual(len(self.dovecot.maildir_messages("alice")), 1)
        self.assertEqual(self.dovecot.maildir_messages("carol") + self.dovecot.maildir_messages("dave"), [])

    def auth(self, mechanism, response):
        """One exchange on the auth socket in Dovecot's auth protocol (what Postfix speaks): the reply line."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(self.dovecot.auth_socket)
            stream = sock.makefile("rwb")
            stream.write(f"VERSION\t1\t2\nCPID\t{os.getpid()}\n".encode())
            stream.flush()
            while not stream.readline().startswith(b"DONE"):
                pass
            resp = base64.b64encode(response).decode()
            stream.write(f"AUTH\t1\t{mechanism}\tservice=smtp\tresp={resp}\n".encode())
            stream.flush()
            return stream.readline().decode().rstrip("\n").split("\t")

    def test_auth_socket_checks_passwords_and_strips_the_domain(self):
        self.assertEqual(self.auth("PLAIN", b"\0alice\0alice-pw")[:2], ["OK", "1"])
        reply = self.auth("PLAIN", b"\0Alice@example.org\0alice-pw")
        self.assertEqual(reply[:2], ["OK", "1"])
        self.assertIn("user=alice", reply)
        self.assertEqual(self.auth("PLAIN", b"\0alice\0wrong")[0], "FAIL")

    def test_stop_mid_test_then_start_again(self):
        lmtp_deliver(self.dovecot.lmtp_port, ["alice"], message("before"))
        self.dovecot.stop(remove=False)
        self.assertFalse(accepts(self.dovecot.lmtp_port))
        with self.assertRaises(OSError):
            smtplib.LMTP("127.0.0.1", self.dovecot.lmtp_port, timeout=5)
        self.dovecot.start()
        lmtp_deliver(self.dovecot.lmtp_port, ["alice"], message("after"))
        stored = self.dovecot.maildir_messages("alice")
        self.assertEqual(len(stored), 2)
        self.assertIn(b"before", b"".join(stored))

    def test_runs_mail_as_the_mail_user_and_stops_cleanly(self):
        lmtp_deliver(self.dovecot.lmtp_port, ["alice"], message("owner"))
        new = os.path.join(self.dovecot.dir, "mail", "alice", "Maildir", "new")
        self.assertEqual({os.stat(os.path.join(new, n)).st_uid for n in os.listdir(new)},
                         {int(subprocess.check_output(["id", "-u", "mail"]))})
        self.assert_stops_cleanly(self.dovecot)


RECEIVED_TLS = re.compile(rb"Received: from client\.example \(unknown \[127\.0\.0\.1\]\)\n"
                          rb"\t\(using (TLSv1\.[23]) with cipher \S+ .*?\n"
                          rb"(?:\t .*\n)*?\t\(No client certificate requested\)\n"
                          rb"\tby smarthost\.example\.net \(Postfix\) with ESMTPSA id \w+\n"
                          rb"\tfor <bob@example\.org>;")


class PostfixHarness(StopChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = Dovecot(users=USERS)
        cls.addClassCleanup(cls.dovecot.stop)
        cls.postfix = Postfix(cls.dovecot)
        cls.addClassCleanup(cls.postfix.stop)

    def client(self):
        client = smtplib.SMTP("127.0.0.1", self.postfix.port, local_hostname="client.example", timeout=20)
        self.addCleanup(client.close)
        return client

    def test_postfix_check_passes_and_listens_on_loopback_only(self):
        self.assertEqual(self.postfix.check_output, "")
        self.assertEqual(self.postfix._postfix("check"), "")
        main_cf = open(os.path.join(self.postfix.config_dir, "main.cf")).read()
        self.assertIn("\ninet_interfaces = 127.0.0.1\n", main_cf)
        master_cf = open(os.path.join(self.postfix.config_dir, "master.cf")).read()
        self.assertTrue(all(line.split()[4] == "n" for line in master_cf.splitlines()
                            if line and not line.startswith("#")), "a service runs chrooted")

    def test_starttls_login_relays_into_dovecot_with_received_showing_tls(self):
        token = uuid.uuid4().hex
        client = self.client()
        client.starttls(context=insecure_context())
        client.ehlo()
        self.assertIn("PLAIN", client.esmtp_features["auth"])
        client.login("alice@example.org", "alice-pw")
        self.assertEqual(client.sendmail("alice@example.org", ["bob@example.org"], message(token)), {})
        client.quit()
        stored = wait_for(lambda: [m for m in self.dovecot.maildir_messages("bob") if token.encode() in m])
        self.assertEqual(len(stored), 1, self.postfix.log())
        match = RECEIVED_TLS.search(stored[0])
        self.assertIsNotNone(match, stored[0][:1200])
        print("\nPostfix's Received field:\n" + match.group(0).decode())

    def test_auth_refused_before_starttls(self):
        client = self.client()
        client.ehlo()
        self.assertNotIn("auth", client.esmtp_features)
        code, text = client.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice\0alice-pw").decode())
        self.assertEqual(code, 503, text)
        self.assertIn(b"authentication not enabled", text)

    def test_relay_refused_without_auth_and_wrong_password_refused(self):
        client = self.client()
        client.starttls(context=insecure_context())
        client.ehlo()
        with self.assertRaises(smtplib.SMTPAuthenticationError) as refused:
            client.login("alice", "wrong")
        self.assertEqual(refused.exception.smtp_code, 535)
        client.mail("alice@example.org")
        code, text = client.rcpt("bob@example.org")
        self.assertEqual(code, 554, text)
        self.assertIn(b"Relay access denied", text)

    def test_dovecot_down_defers_and_delivers_after_restart(self):
        dovecot = Dovecot(users=USERS)
        self.addCleanup(dovecot.stop)
        # Without Dovecot there is no SASL either: this instance relays for loopback clients (main_cf).
        postfix = Postfix(dovecot, main_cf={"smtpd_relay_restrictions": "permit_mynetworks, reject"})
        self.addCleanup(postfix.stop)
        dovecot.stop(remove=False)
        token = uuid.uuid4().hex
        with smtplib.SMTP("127.0.0.1", postfix.port, local_hostname="client.example", timeout=20) as client:
            client.sendmail("bob@example.org", ["alice@example.org"], message(token))
        self.assertTrue(wait_for(lambda: "Connection refused" in postfix.queue()), postfix.queue())
        dovecot.start()
        postfix.flush()
        self.assertTrue(wait_for(lambda: dovecot.maildir_messages("alice")), postfix.log())
        self.assertIn(token.encode(), dovecot.maildir_messages("alice")[0])
        self.assert_stops_cleanly(postfix)


class OpenDkimHarness(StopChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.opendkim = OpenDKIM()
        cls.addClassCleanup(cls.opendkim.stop)

    def test_listens_as_the_opendkim_user(self):
        self.assertTrue(accepts(self.opendkim.port))
        self.assertEqual(owner(self.opendkim.proc.pid), int(subprocess.check_output(["id", "-u", "opendkim"])))

    def test_txt_record_holds_the_public_half_of_the_key(self):
        der = subprocess.run(["openssl", "pkey", "-in", self.opendkim.key_file, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True, timeout=30).stdout
        self.assertEqual(re.search(r"\bp=([A-Za-z0-9+/=]+)", self.opendkim.txt).group(1),
                         base64.b64encode(der).decode())
        self.assertRegex(self.opendkim.txt, r"^v=DKIM1; h=sha256; k=rsa; p=")

    def test_verify_dkim_accepts_a_signature_and_refuses_a_changed_body(self):
        original = message(uuid.uuid4().hex)
        signed = sign_dkim(original, self.opendkim)
        self.assertTrue(signed.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;"))
        self.assertTrue(verify_dkim(signed, self.opendkim))
        self.assertTrue(verify_dkim(signed.replace(b"\r\n", b"\n"), self.opendkim), "LF line ends")
        self.assertFalse(verify_dkim(signed.replace(b"line 3 of", b"line 4 of"), self.opendkim))
        self.assertFalse(verify_dkim(signed.replace(b"Subject: test", b"Subject: Test"), self.opendkim))
        self.assertFalse(verify_dkim(original, self.opendkim), "no signature")

    def milter(self, data, client_address="127.0.0.1"):
        with MilterClient(self.opendkim.port) as client:
            return client.check(data, "alice@example.org", ["bob@example.org"], client_address=client_address)

    def test_signs_a_message_from_loopback_over_the_milter_protocol(self):
        original = message(uuid.uuid4().hex)
        result = self.milter(original)
        self.assertEqual(result.verdict, "accept", result)
        self.assertEqual([(i, name) for i, name, _ in result.inserted], [(0, "DKIM-Signature")], result)
        self.assertRegex(result.inserted[0][2], r"^v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=test;")
        signed = result.headers_prepended(original)
        self.assertTrue(verify_dkim(signed, self.opendkim))
        self.assertFalse(verify_dkim(signed.replace(b"line 2 of", b"line 3 of"), self.opendkim))

    def test_verifies_a_message_from_elsewhere_with_the_harness_key(self):
        signed = sign_dkim(message(uuid.uuid4().hex), self.opendkim)
        result = self.milter(signed, client_address="192.0.2.1")
        fields = [(name, value) for _, name, value in result.inserted]
        self.assertEqual([name for name, _ in fields], ["Authentication-Results"], result)
        self.assertRegex(fields[0][1], r"dkim=pass .*header\.d=example\.org")
        tampered = self.milter(signed.replace(b"line 1 of", b"line 9 of"), client_address="192.0.2.1")
        self.assertRegex(tampered.inserted[0][2], r"dkim=fail")

    def test_stops_cleanly(self):
        opendkim = OpenDKIM(selector="other")
        self.addCleanup(opendkim.stop)
        self.assertTrue(accepts(opendkim.port))
        self.assertFalse(verify_dkim(sign_dkim(message("x"), opendkim), self.opendkim), "another key")
        self.assert_stops_cleanly(opendkim)


class RspamdHarness(StopChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rspamd = Rspamd(start_timeout=60)
        cls.addClassCleanup(cls.rspamd.stop)
        print(f"\nrspamd ready after {cls.rspamd.started_in:.1f} s")

    def test_a_second_instance_starts_beside_and_stops_cleanly(self):
        rspamd = Rspamd(start_timeout=60)
        self.addCleanup(rspamd.stop)
        self.assertEqual(rspamd.request(rspamd.normal_port, "GET", "/ping"), (200, b"pong\r\n"))
        self.assert_stops_cleanly(rspamd)
        self.assertEqual(self.rspamd.request(self.rspamd.normal_port, "GET", "/ping")[0], 200)

    def test_workers_listen_as_rspamd_user(self):
        for port in (self.rspamd.milter_port, self.rspamd.normal_port, self.rspamd.controller_port):
            self.assertTrue(accepts(port), port)
        self.assertEqual(owner(children(self.rspamd.proc.pid)[0]),
                         int(subprocess.check_output(["id", "-u", "_rspamd"])))
        status, body = self.rspamd.request(self.rspamd.controller_port, "GET", "/stat")
        self.assertEqual(status, 200, body)

    def test_gtube_is_rejected(self):
        verdict = self.rspamd.check(message("gtube").replace(b"line 1 of", GTUBE.encode() + b" line 1 of"),
                                    IP="127.0.0.1")
        self.assertEqual(verdict["action"], "reject", verdict)
        self.assertIn("GTUBE", verdict["symbols"])

    def milter(self, data):
        with MilterClient(self.rspamd.milter_port) as client:
            return client.check(data, "alice@example.org", ["bob@example.org"])

    def test_gtube_is_rejected_over_the_milter_protocol(self):
        result = self.milter(message("gtube").replace(b"line 1 of", GTUBE.encode() + b"\r\nline 1 of"))
        self.assertEqual((result.verdict, result.stage, result.reply), ("replycode", "E", "554 5.7.1 Gtube pattern"))

    def test_clean_message_is_accepted_over_the_milter_protocol(self):
        result = self.milter(message("clean"))
        self.assertEqual(result.verdict, "accept", result)

    def test_clean_message_is_not_rejected(self):
        verdict = self.rspamd.check(message("clean"), IP="127.0.0.1")
        self.assertEqual(verdict["action"], "no action", verdict)
        self.assertNotIn("GTUBE", verdict["symbols"])


class PostgresHarness(StopChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.addClassCleanup(cls.pg.stop)
        print(f"\npostgres ready after {cls.pg.started_in:.1f} s")

    def client(self, sql, conninfo=None):
        """psql, the PostgreSQL client, as the test role over TCP: (exit status, output, errors)."""
        done = subprocess.run(["psql", "-X", "-A", "-t", conninfo or self.pg.conninfo, "-c", sql],
                              capture_output=True, text=True, timeout=30)
        return done.returncode, done.stdout.strip(), done.stderr

    def test_the_role_logs_in_over_tcp_with_its_password(self):
        self.assertEqual(self.client("SELECT current_user, current_database()"), (0, "mailwright|mail", ""))
        status, _, errors = self.client("SELECT 1", self.pg.conninfo.replace(self.pg.password, "wrong"))
        self.assertNotEqual(status, 0)
        self.assertIn("password authentication failed", errors)

    def test_runs_as_postgres_with_fsync_on(self):
        self.assertEqual(owner(self.pg.proc.pid), int(subprocess.check_output(["id", "-u", "postgres"])))
        self.assertEqual(self.pg.psql("SHOW fsync").strip(), "on")

    def test_a_restart_keeps_data_and_port(self):
        pg = Postgres()
        self.addCleanup(pg.stop)
        pg.psql("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)")
        port = pg.port
        pg.stop(remove=False)
        self.assertFalse(accepts(port))
        pg.start()
        self.assertEqual(pg.port, port)
        self.assertEqual(pg.psql("SELECT x FROM kept").strip(), "7")
        self.assert_stops_cleanly(pg)


class HAProxyHarness(StopChecks, unittest.TestCase):
    def test_a_connection_arrives_with_a_proxy_line_naming_the_client(self):
        with socket.socket() as backend:
            backend.bind(("127.0.0.1", 0))
            backend.listen(8)
            backend.settimeout(15)
            proxy = HAProxy({"plain": (f"127.0.0.1:{backend.getsockname()[1]} send-proxy", "")})
            try:
                with socket.create_connection(("127.0.0.1", proxy.ports["plain"]), timeout=15,
                                              source_address=("127.0.0.2", 0)) as client:
                    client.sendall(b"hello\r\n")
                    port = client.getsockname()[1]
                    while True:  # the readiness probes came first: each a line and nothing after it
                        conn, _ = backend.accept()
                        with conn:
                            conn.settimeout(15)
                            received = b""
                            while b"hello" not in received:
                                chunk = conn.recv(4096)
                                if not chunk:
                                    break
                                received += chunk
                        if b"hello" in received:
                            break
                self.assertEqual(received, f"PROXY TCP4 127.0.0.2 127.0.0.1 {port} {proxy.ports['plain']}\r\n"
                                 .encode() + b"hello\r\n")
            finally:
                self.assert_stops_cleanly(proxy)
