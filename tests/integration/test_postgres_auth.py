"""The postgres-auth plugin (auth/postgres) against a real PostgreSQL 15 (servers_postgres.py) holding the tables
of contrib/postgres/auth.sql: passwords of every kind `mailwrightd passwd` writes log in through poplib
(USER/PASS) and smtplib (AUTH PLAIN), SCRAM-SHA-256 through GNU SASL's gsasl; an unknown user hears what a wrong
password hears; a submitter may send only as an address it owns; a changed row counts at once; the database
stopped makes logins temporary failures while the daemon keeps serving, and logins work again once it is back;
a bad [plugin.postgres-auth] stops --check-config with the key's position."""
import os
import poplib
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest

from certs import der_sha256, make_all
from daemon import DAEMON, RawConnection, insecure_context, passwd_line, start_in, stop_in
from servers import Postgres
from test_pop3 import sasl_exchange

SCHEMA = os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "postgres", "auth.sql")

# user -> (password, how it is stored)
USERS = {"yes": ("pw-yes", "YESCRYPT"), "sha": ("pw-sha", "SHA512-CRYPT"), "scram": ("pw-scram", "SCRAM-SHA-256"),
         "plain": ("pw-plain", "PLAIN"), "bare": ("pw-bare", "BARE")}


def stored(user, password, scheme):
    """The password column for `scheme`: `mailwrightd passwd`'s own form, {PLAIN} by hand, or (BARE) a
    SHA512-CRYPT hash without {SCHEME}, which default_scheme = "CRYPT" reads."""
    if scheme == "PLAIN":
        return "{PLAIN}" + password
    line = passwd_line(user, password, "--scheme", "SHA512-CRYPT" if scheme == "BARE" else scheme).strip()
    value = line[len(user) + 1:]
    return value[len("{SHA512-CRYPT}"):] if scheme == "BARE" else value


def sql_text(value):
    return "'" + value.replace("'", "''") + "'"


def load_users(pg):
    with open(SCHEMA) as f:
        pg.psql(f.read())
    rows = ", ".join(f"({sql_text(u)}, {sql_text(stored(u, pw, s))})" for u, (pw, s) in USERS.items())
    pg.psql(f"INSERT INTO users (name, password) VALUES {rows}; "
            "INSERT INTO senders (user_name, address) VALUES ('yes', 'boss@example.org')")


def tls_listener(certs):
    """An implicit-TLS POP3 listener that asks for client certificates of the test CA (certs.py), for EXTERNAL."""
    return f"""
[[listener]]
name = "pop3s"
service = "pop3"
port = 0
tls = "implicit"
auth_mechanisms = ["PLAIN", "EXTERNAL"]
[listener.tls_options]
client_certificates = "optional"
client_ca = "{certs}/ca.pem"

[tls]
certificate = "{certs}/one.pem"
key = "{certs}/one.key"
"""


def config(work, pg, extra="", listeners=""):
    return f"""
[server]
state_dir = "{work}/state"
[auth]
failure_delay = "0s"  # wrong passwords are tried on purpose
[plugin.postgres-auth]
conninfo = "{pg.conninfo}"
connect_timeout = "2s"
query_timeout = "2s"
reconnect_min = "100ms"
reconnect_max = "1s"
{extra}
[plugin.maildir]
path = "{work}/mail/%u/Maildir"

[[listener]]
name = "pop3"
service = "pop3"
port = 0
plaintext_auth = true
max_auth_failures = 50
auth_mechanisms = ["PLAIN", "SCRAM-SHA-256"]

[[listener]]
name = "submission"
service = "smtp"
port = 0
plaintext_auth = true
max_auth_failures = 50
auth_mechanisms = ["PLAIN"]
[listener.smtp]
role = "submission"
local_domains = ["example.org"]

[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]
{listeners}"""


def pop3_login(daemon, user, password):
    """USER/PASS through poplib: the server's reply to PASS (an -ERR as its text)."""
    pop = poplib.POP3("127.0.0.1", daemon.ports["pop3"], timeout=20)
    try:
        pop.user(user)
        return pop.pass_(password).decode()
    except poplib.error_proto as refused:
        return refused.args[0].decode()
    finally:
        pop.quit()


def smtp_login(daemon, user, password):
    """AUTH PLAIN through smtplib: (code, text)."""
    with smtplib.SMTP("127.0.0.1", daemon.ports["submission"], local_hostname="client.example", timeout=20) as smtp:
        smtp.ehlo()
        smtp.user, smtp.password = user, password
        try:
            return smtp.auth("PLAIN", smtp.auth_plain)
        except smtplib.SMTPAuthenticationError as refused:
            return refused.smtp_code, refused.smtp_error
        except smtplib.SMTPServerDisconnected:
            return 0, b"disconnected"


def scram_login(daemon, user, password):
    with daemon.connect("pop3") as c:
        assert c.line().startswith("+OK")
        return sasl_exchange(c.send, c.line, "SCRAM-SHA-256", user, password)


class Logins(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.addClassCleanup(cls.pg.stop)
        load_users(cls.pg)
        cls.work = tempfile.mkdtemp(prefix="mailwright-pgauth-")
        cls.daemon = start_in(cls.work, config(cls.work, cls.pg))

    @classmethod
    def tearDownClass(cls):
        code = stop_in(cls.work, cls.daemon)
        assert code == 0, code

    def test_every_kind_of_password_over_pop3_and_smtp(self):
        for user, (password, scheme) in USERS.items():
            with self.subTest(user=user, scheme=scheme):
                self.assertTrue(pop3_login(self.daemon, user, password).startswith("+OK"))
                self.assertEqual(smtp_login(self.daemon, user, password)[0], 235)
                self.assertTrue(pop3_login(self.daemon, user, password + "x").startswith("-ERR"))
                self.assertEqual(smtp_login(self.daemon, user, password + "x")[0], 535)

    def test_scram_sha_256_from_stored_keys_and_from_a_plain_password(self):
        for user in ("scram", "plain"):
            with self.subTest(user=user):
                self.assertTrue(scram_login(self.daemon, user, USERS[user][0]).startswith("+OK"))
                self.assertTrue(scram_login(self.daemon, user, "wrong").startswith("-ERR"))
        self.assertTrue(scram_login(self.daemon, "nosuchuser", "wrong").startswith("-ERR"))

    def test_an_unknown_user_hears_what_a_wrong_password_hears(self):
        self.assertEqual(pop3_login(self.daemon, "nosuchuser", "pw-yes"), pop3_login(self.daemon, "yes", "wrong"))
        self.assertEqual(smtp_login(self.daemon, "nosuchuser", "pw-yes"), smtp_login(self.daemon, "yes", "wrong"))

    def test_senders_a_user_owns(self):
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["submission"], local_hostname="client.example",
                          timeout=20) as smtp:
            smtp.login("yes", "pw-yes")
            for sender, code in (("yes@example.org", 250), ("boss@example.org", 250), ("BOSS@example.org", 250),
                                 ("sha@example.org", 553), ("someone@elsewhere.example", 553)):
                reply = smtp.mail(sender)
                self.assertEqual(reply[0], code, (sender, reply))
                smtp.rset()
        self.assertEqual(smtp_login(self.daemon, "sha", "pw-sha")[0], 235)

    def test_recipients_are_looked_up(self):
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], local_hostname="client.example", timeout=20) as smtp:
            smtp.ehlo()
            smtp.mail("someone@elsewhere.example")
            self.assertEqual(smtp.rcpt("yes@example.org")[0], 250)
            self.assertEqual(smtp.rcpt("nosuchuser@example.org")[0], 550)

    def test_auth_test_asks_the_database(self):
        for password, code in (("pw-yes", 0), ("wrong", 1)):
            result = subprocess.run([DAEMON, "--config", self.daemon.config_path, "--auth-test", "yes"],
                                    input=password + "\n", capture_output=True, text=True, timeout=60, cwd=self.work)
            self.assertEqual(result.returncode, code, result.stdout + result.stderr)

    def test_a_changed_row_counts_at_once(self):
        self.pg.psql("INSERT INTO users (name, password) VALUES ('late', '{PLAIN}pw-late')")
        self.assertTrue(pop3_login(self.daemon, "late", "pw-late").startswith("+OK"))
        self.pg.psql("UPDATE users SET password = '{PLAIN}pw-new' WHERE name = 'late'")
        self.assertTrue(pop3_login(self.daemon, "late", "pw-late").startswith("-ERR"))
        self.assertTrue(pop3_login(self.daemon, "late", "pw-new").startswith("+OK"))
        self.pg.psql("UPDATE users SET enabled = false WHERE name = 'late'")
        self.assertTrue(pop3_login(self.daemon, "late", "pw-new").startswith("-ERR"))
        self.pg.psql("DELETE FROM users WHERE name = 'late'")


class Certificates(unittest.TestCase):
    """SASL EXTERNAL: a client certificate TLS verified logs in the user its fingerprint maps to."""

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.addClassCleanup(cls.pg.stop)
        load_users(cls.pg)
        cls.work = tempfile.mkdtemp(prefix="mailwright-pgauth-")
        cls.certs = os.path.join(cls.work, "certs")
        os.makedirs(cls.certs)
        make_all(cls.certs)
        cls.daemon = start_in(cls.work, config(cls.work, cls.pg, listeners=tls_listener(cls.certs)))

    @classmethod
    def tearDownClass(cls):
        code = stop_in(cls.work, cls.daemon)
        assert code == 0, code

    def setUp(self):
        self.pg.psql("DELETE FROM certificates")
        for name in ("alice", "mallory"):
            self.pg.psql(f"INSERT INTO certificates VALUES ('{der_sha256(os.path.join(self.certs, name + '.pem'))}',"
                         " 'yes')")

    def external(self, name):
        ctx = insecure_context()
        ctx.load_cert_chain(os.path.join(self.certs, name + ".pem"), os.path.join(self.certs, name + ".key"))
        with RawConnection(self.daemon.ports["pop3s"], tls=True, ctx=ctx) as c:
            self.assertTrue(c.line().startswith(b"+OK"))
            c.send("AUTH EXTERNAL =\r\n")
            return c.line().decode()

    def test_a_verified_certificate_logs_in_its_user(self):
        self.assertTrue(self.external("alice").startswith("+OK"), "alice's certificate maps to yes")
        self.pg.psql("DELETE FROM certificates")
        self.assertTrue(self.external("alice").startswith("-ERR"), "no mapping any more")

    def test_an_unverified_certificate_logs_in_no_one(self):
        # mallory's fingerprint is in the table, but the certificate is self-signed: TLS did not verify it.
        self.assertTrue(self.external("mallory").startswith("-ERR"))


class Outage(unittest.TestCase):
    def setUp(self):
        self.pg = Postgres()
        self.addCleanup(self.pg.stop)
        load_users(self.pg)
        self.work = tempfile.mkdtemp(prefix="mailwright-pgauth-")
        self.daemon = start_in(self.work, config(self.work, self.pg))

    def tearDown(self):
        self.assertEqual(stop_in(self.work, self.daemon), 0)

    def test_database_down_is_a_temporary_failure_and_then_logins_work_again(self):
        self.assertTrue(pop3_login(self.daemon, "yes", "pw-yes").startswith("+OK"))  # a connection in the pool
        self.pg.stop(remove=False)
        for _ in range(3):
            self.assertTrue(pop3_login(self.daemon, "yes", "pw-yes").startswith("-ERR [SYS/TEMP]"))
            code, text = smtp_login(self.daemon, "yes", "pw-yes")
            self.assertEqual(code, 454, text)
            self.assertTrue(text.startswith(b"4.7.0"), text)
            self.assertTrue(pop3_login(self.daemon, "nosuchuser", "x").startswith("-ERR [SYS/TEMP]"))
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["mx"], local_hostname="client.example", timeout=20) as smtp:
            smtp.ehlo()
            smtp.mail("someone@elsewhere.example")
            self.assertEqual(smtp.rcpt("yes@example.org")[0], 450)  # the sender keeps the mail and tries again
        self.assertTrue(self.daemon.log_contains(r"plugin=postgres-auth cannot connect to the database: .*next try"))
        self.assertTrue(self.daemon.log_contains(r"plugin=postgres-auth cannot decide now: "))
        self.assertIsNone(self.daemon.proc.poll())
        self.pg.start()
        deadline = time.monotonic() + 30  # the back-off is at most reconnect_max = 1s
        while not pop3_login(self.daemon, "yes", "pw-yes").startswith("+OK"):
            self.assertLess(time.monotonic(), deadline, "logins did not work again after the database came back")
            time.sleep(0.2)
        self.assertEqual(smtp_login(self.daemon, "yes", "pw-yes")[0], 235)
        self.assertTrue(self.daemon.log_contains(r"plugin=postgres-auth connected to the database again"))

    def test_a_database_that_does_not_answer_is_a_temporary_failure(self):
        # Every PostgreSQL process stopped (SIGSTOP): the kernel still accepts connections, nothing answers. The
        # pooled connection's query ends at query_timeout, a new connection at connect_timeout: tempfail, not a
        # hang (poplib would time out after 20 s).
        self.assertTrue(pop3_login(self.daemon, "yes", "pw-yes").startswith("+OK"))
        self.pg.freeze()
        try:
            for _ in range(2):
                reply = pop3_login(self.daemon, "yes", "pw-yes")
                self.assertTrue(reply.startswith("-ERR [SYS/TEMP]"), reply + "\n" + "\n".join(self.daemon.lines[-20:]))
            self.assertTrue(self.daemon.log_contains(r"no connection within connect_timeout"))
        finally:
            self.pg.thaw()
        deadline = time.monotonic() + 30
        while not pop3_login(self.daemon, "yes", "pw-yes").startswith("+OK"):
            self.assertLess(time.monotonic(), deadline, "logins did not work again after the database went on")
            time.sleep(0.2)


class Configuration(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-pgauth-")

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def check(self, table):
        path = os.path.join(self.work, "m.toml")
        with open(path, "w") as f:
            f.write(f'[plugin.postgres-auth]\n{table}\n[plugin.maildir]\npath = "{self.work}/mail/%u"\n'
                    '[[listener]]\nname = "pop3"\nservice = "pop3"\nport = 0\n')
        return subprocess.run([DAEMON, "--check-config", path], capture_output=True, text=True, timeout=30,
                              cwd=self.work)

    def test_mistakes_are_named_with_their_position(self):
        for table, expected in (
                ("pool_size = 2", r"m\.toml:1:1: .*'conninfo' in \[plugin\.postgres-auth\]"),
                ('conninfo = "host=x"\npoolsize = 2', r"m\.toml:3:1: .*poolsize"),
                ('conninfo = "host=x nonsense=1"', r"m\.toml:2:\d+: .*nonsense"),
                ('conninfo = "host=x"\nuser_query = "SELECT name, password FROM users"', r"m\.toml:3:\d+: .*\$1"),
                ('conninfo = "host=x"\ndefault_scheme = "NOPE"', r"m\.toml:3:\d+: .*default_scheme")):
            with self.subTest(table=table):
                result = self.check(table)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertRegex(result.stderr, expected)

    def test_a_good_table_checks_without_a_database(self):
        result = self.check('conninfo = "host=127.0.0.1 port=1 dbname=mail"')
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
