"""mailwrightd's server core, driven over loopback by Python's socket module."""
import errno
import os
import poplib
import shutil
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from daemon import DAEMON, Client, Daemon, echo_config

GREETING = "220 mailwright echo ready\r\n"


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class DaemonBasics(unittest.TestCase):
    def setUp(self):
        self.daemon = Daemon(echo_config())

    def tearDown(self):
        self.assertEqual(self.daemon.terminate(), 0)

    def test_dialogue(self):
        with self.daemon.connect("echo") as c:
            self.assertEqual(c.line(), GREETING)
            c.send("hello\r\n")
            self.assertEqual(c.line(), "250 hello\r\n")
            c.send("QUIT\r\n")
            self.assertEqual(c.line(), "221 bye\r\n")
            self.assertEqual(c.line(), "")  # the server closed the connection

    def test_pipelined_commands_all_answered_in_order(self):
        with self.daemon.connect("echo") as c:
            c.line()
            c.send("".join(f"line {i}\r\n" for i in range(50)) + "QUIT\r\n")
            for i in range(50):
                self.assertEqual(c.line(), f"250 line {i}\r\n")
            self.assertEqual(c.line(), "221 bye\r\n")

    def test_overlong_line_is_refused_not_truncated(self):
        with self.daemon.connect("echo") as c:
            c.line()
            c.send("x" * 600 + "QUIT\r\nstill here\r\n")
            self.assertEqual(c.line(), "500 line too long\r\n")
            self.assertEqual(c.line(), "250 still here\r\n")

    def test_many_concurrent_sessions(self):
        clients = [self.daemon.connect("echo") for _ in range(40)]
        try:
            for c in clients:
                self.assertEqual(c.line(), GREETING)
            for i, c in enumerate(clients):
                c.send(f"client {i}\r\n")
            for i, c in enumerate(clients):
                self.assertEqual(c.line(), f"250 client {i}\r\n")
        finally:
            for c in clients:
                c.close()

    def test_session_log_lines_carry_id_and_peer(self):
        with self.daemon.connect("echo") as c:
            c.line()
        self.assertTrue(self.daemon.log_contains(r"session=\d+ peer=127\.0\.0\.1:\d+ listener=echo connected"))


class BlockingPool(unittest.TestCase):
    """[server] blocking_threads sizes the pool that io::offload() uses, hashing_threads the one io::compute()
    uses; each starts with its first job (a password check: the file read on one, the hash on the other)."""

    def test_the_pool_has_the_configured_threads(self):
        work = tempfile.mkdtemp(prefix="mailwright-pool-")
        passwd = os.path.join(work, "passwd")
        with open(passwd, "w") as f:
            f.write("alice:{PLAIN-EQUIVALENT}c2VjcmV0\n")  # base64 of "secret"
        daemon = Daemon(f"""
[server]
workers = 1
blocking_threads = 3
hashing_threads = 2
[plugin.passwd-file]
file = "{passwd}"
[plugin.authcheck]
[[listener]]
name = "check"
service = "authcheck"
port = 0
""")
        try:
            def threads():
                return len(os.listdir(f"/proc/{daemon.proc.pid}/task"))

            with daemon.connect("check") as c:
                self.assertEqual(c.line(), "READY\r\n")
                before = threads()  # the control thread, one worker (and a sanitizer's own, if any)
                c.send("CHECK alice secret\r\n")  # a password check: the first job for each pool
                self.assertTrue(c.line().startswith("OK alice"))
                self.assertEqual(threads() - before, 3 + 2)
        finally:
            self.assertEqual(daemon.terminate(), 0)
            shutil.rmtree(work, ignore_errors=True)


@unittest.skipUnless(ipv6_loopback_available(), "no IPv6 loopback on this machine")
class DaemonIPv6(unittest.TestCase):
    def test_dual_stack_listener(self):
        daemon = Daemon(echo_config(addresses='["127.0.0.1", "::1"]'))
        try:
            for host in ("127.0.0.1", "::1"):
                with daemon.connect("echo", host=host) as c:
                    self.assertEqual(c.line(), GREETING)
        finally:
            self.assertEqual(daemon.terminate(), 0)


def wait_accepted(daemon, attempts=100):
    """A new client is served once the server has released a slot (that happens asynchronously)."""
    for _ in range(attempts):
        with daemon.connect("echo") as c:
            if c.line() == GREETING:
                return True
        time.sleep(0.05)
    return False


class ConnectionLimits(unittest.TestCase):
    def test_per_address_limit(self):
        daemon = Daemon(echo_config(server="max_connections_per_ip = 2"))
        try:
            first, second = daemon.connect("echo"), daemon.connect("echo")
            self.assertEqual(first.line(), GREETING)
            self.assertEqual(second.line(), GREETING)
            with daemon.connect("echo") as third:
                self.assertEqual(third.line(), "421 too many connections from your address\r\n")
                self.assertEqual(third.line(), "")
            first.close()
            self.assertTrue(wait_accepted(daemon))
            second.close()
            self.assertTrue(daemon.log_contains(r"refused: too many connections from this address"))
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_global_limit(self):
        daemon = Daemon(echo_config(server="max_connections = 2"))
        try:
            held = [daemon.connect("echo") for _ in range(2)]
            for c in held:
                self.assertEqual(c.line(), GREETING)
            with daemon.connect("echo") as extra:
                self.assertEqual(extra.line(), "421 too many connections, try later\r\n")
            for c in held:
                c.close()
            self.assertTrue(wait_accepted(daemon))
        finally:
            self.assertEqual(daemon.terminate(), 0)


class Deadlines(unittest.TestCase):
    def test_idle_client_is_disconnected(self):
        daemon = Daemon(echo_config(listener='read_timeout = "1s"'))
        try:
            with daemon.connect("echo") as c:
                self.assertEqual(c.line(), GREETING)
                started = time.monotonic()
                self.assertEqual(c.line(), "421 idle timeout, closing\r\n")
                self.assertEqual(c.line(), "")
                self.assertLess(time.monotonic() - started, 9)  # bound, not a measurement: 1 s was configured
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_partial_line_does_not_hold_the_session(self):
        daemon = Daemon(echo_config(listener='read_timeout = "1s"'))
        try:
            with daemon.connect("echo") as c:
                c.line()
                c.send("no end of line")
                self.assertEqual(c.line(), "421 idle timeout, closing\r\n")
        finally:
            self.assertEqual(daemon.terminate(), 0)


    def test_line_dribbled_an_octet_at_a_time_meets_the_deadline(self):
        # Slow-loris in the command phase: every octet comes well within the read timeout, the line never ends.
        # The whole line has the read timeout, so the session ends long before the client runs out of octets.
        daemon = Daemon(echo_config(listener='read_timeout = "2s"'))
        try:
            with daemon.connect("echo") as c:
                self.assertEqual(c.line(), GREETING)
                c.sock.settimeout(0.5)
                closed_after = None
                for sent in range(1, 41):  # 40 octets, 0.5 s apart: 20 s, ten times the timeout
                    try:
                        c.send("x")
                        data = c.sock.recv(200)
                    except socket.timeout:
                        continue  # nothing said yet: dribble on
                    except OSError:
                        closed_after = sent
                        break
                    self.assertEqual(data, b"421 idle timeout, closing\r\n")
                    closed_after = sent
                    break
                self.assertIsNotNone(closed_after, "the session outlived 40 octets dribbled over 20 s")
                self.assertLess(closed_after, 20)  # 2 s of 0.5 s steps, with a generous margin
        finally:
            self.assertEqual(daemon.terminate(), 0)


class Shutdown(unittest.TestCase):
    def test_sigterm_with_sessions_open(self):
        daemon = Daemon(echo_config())
        port = daemon.ports["echo"]
        a, b = daemon.connect("echo"), daemon.connect("echo")
        try:
            self.assertEqual(a.line(), GREETING)
            self.assertEqual(b.line(), GREETING)
            b.send("half a li")  # a session in the middle of a line says goodbye too
            self.assertEqual(daemon.terminate(), 0)
            self.assertEqual(a.line(), "421 server shutting down\r\n")
            self.assertEqual(b.line(), "421 server shutting down\r\n")
            self.assertEqual(a.line(), "")
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=5)
        finally:
            a.close()
            b.close()


class CheckConfig(unittest.TestCase):
    def run_daemon(self, *args):
        # In a directory of its own: a daemon makes its state_dir ("var", relative) before it binds.
        with tempfile.TemporaryDirectory(prefix="mailwright-test-") as cwd:
            return subprocess.run([DAEMON, *args], capture_output=True, text=True, timeout=30, cwd=cwd)

    def test_broken_file_names_line_and_key(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write('[[listener]]\nname = "e"\nservice = "echo"\nprot = 25\n')
        try:
            result = self.run_daemon("--check-config", f.name)
            self.assertEqual(result.returncode, 2)
            self.assertIn(f"{f.name}:4:1: unknown key 'prot' in [[listener]]; did you mean 'port'?", result.stderr)
            # The same file refuses to start the daemon, before it listens anywhere.
            result = self.run_daemon("--config", f.name)
            self.assertEqual(result.returncode, 2)
            self.assertIn(":4:1:", result.stderr)
        finally:
            os.unlink(f.name)

    def test_service_tables_are_checked_with_the_rest(self):
        # [listener.smtp] and [listener.pop3] are read by their services, at the same time as the rest.
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write('[[listener]]\nname = "s"\nservice = "smtp"\nport = 70000\n[listener.smtp]\n'
                    'role = "relay"\nmax_recipient = 5\n'
                    '[[listener]]\nname = "p"\nservice = "pop3"\n[listener.pop3]\nexpire = "soon"\n')
        try:
            result = self.run_daemon("--check-config", f.name)
            self.assertEqual(result.returncode, 2)
            self.assertIn(f"{f.name}:4:8: 'port' in [[listener]]", result.stderr)
            self.assertIn(f"{f.name}:6:8: 'role' in [listener.smtp] must be one of \"mx\", \"submission\", "
                          "not \"relay\"", result.stderr)
            self.assertIn(f"{f.name}:7:1: unknown key 'max_recipient' in [listener.smtp]; "
                          "did you mean 'max_recipients'?", result.stderr)
            self.assertIn(f"{f.name}:12:1: 'expire' in [listener.pop3] must be", result.stderr)
        finally:
            os.unlink(f.name)

    def test_valid_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write(echo_config())
        try:
            result = self.run_daemon("--check-config", f.name)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("configuration is valid", result.stdout)
        finally:
            os.unlink(f.name)

    def test_version_and_help(self):
        self.assertRegex(self.run_daemon("--version").stdout, r"^mailwrightd \d+\.\d+\.\d+")
        help_text = self.run_daemon("--help").stdout
        for option in ("--config", "--check-config", "--version", "--help"):
            self.assertIn(option, help_text)

    def test_port_in_use_is_a_start_error(self):
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", 0))
            squatter.listen()
            port = squatter.getsockname()[1]
            with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
                f.write(echo_config().replace("port = 0", f"port = {port}"))
            try:
                result = self.run_daemon("--config", f.name)
                self.assertEqual(result.returncode, 1)
                self.assertIn(f"listener 'echo' cannot listen on 127.0.0.1:{port}", result.stderr)
            finally:
                os.unlink(f.name)


    def test_second_daemon_refuses_the_first_ones_port(self):
        # Two daemons must never share a port (SECURITY-CASES 46): the kernel would split the connections
        # between them, each with its own users and mailboxes.
        first = Daemon(echo_config())
        try:
            port = first.ports["echo"]
            with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
                f.write(echo_config().replace("port = 0", f"port = {port}"))
            try:
                result = self.run_daemon("--config", f.name)
            except subprocess.TimeoutExpired:
                self.fail("the second daemon started on a port the first one serves")
            finally:
                os.unlink(f.name)
            self.assertEqual(result.returncode, 1)
            self.assertIn(f"listener 'echo' cannot listen on 127.0.0.1:{port}", result.stderr)
            self.assertIn("Address already in use", result.stderr)
            for _ in range(8):  # every connection still reaches the first daemon, whichever worker takes it
                with first.connect("echo") as c:
                    self.assertEqual(c.line(), GREETING)
        finally:
            self.assertEqual(first.terminate(), 0)


class DescriptorExhaustion(unittest.TestCase):
    def test_accept_backs_off_and_recovers(self):
        daemon = Daemon(echo_config(), nofile=48)
        clients = []
        steady = daemon.connect("echo")  # connected before the flood: it must be served throughout
        try:
            self.assertEqual(steady.line(), GREETING)
            for _ in range(80):  # more connections than the daemon has descriptors
                try:
                    clients.append(Client("127.0.0.1", daemon.ports["echo"], timeout=5))
                except OSError as e:
                    if e.errno not in (errno.ECONNREFUSED, errno.ETIMEDOUT, errno.EAGAIN):
                        raise
            self.assertTrue(daemon.log_contains(r"accept failed: Too many open files; retrying in"))
            for n in range(5):  # while the acceptor backs off, the sessions it has go on
                steady.send(f"still here {n}\r\n")
                self.assertEqual(steady.line(), f"250 still here {n}\r\n")
            for c in clients:
                c.close()
            clients.clear()
            self.assertTrue(wait_accepted(daemon, attempts=200))
        finally:
            steady.close()
            for c in clients:
                c.close()
            self.assertEqual(daemon.terminate(), 0)


if __name__ == "__main__":
    unittest.main()


def start_example(program, listener):
    """Starts an example program on a kernel-chosen port; returns (process, port, log lines read so far)."""
    proc = subprocess.Popen([program, "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for _ in range(100):
        line = proc.stdout.readline()
        lines.append(line)
        m = re.search(rf"listening listener={listener} address=127\.0\.0\.1:(\d+)", line)
        if m:
            return proc, int(m.group(1)), lines
    proc.kill()
    raise AssertionError("example did not start:\n" + "".join(lines))


class EmbeddingExample(unittest.TestCase):
    """examples/line_service: the framework embedded in a 50-line program with its own protocol."""

    def test_custom_protocol(self):
        proc, port, _ = start_example(os.environ["LINE_SERVICE"], "adder")
        try:
            with Client("127.0.0.1", port) as c:
                self.assertEqual(c.line(), "READY\r\n")
                c.send("ADD 2\r\nADD 40\r\nTOTAL\r\nnonsense\r\nBYE\r\n")
                self.assertEqual([c.line() for _ in range(5)],
                                 ["OK\r\n", "OK\r\n", "TOTAL 42\r\n", "ERR unknown command\r\n", "BYE\r\n"])
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(30), 0)


PLUGIN_CONFIG = """
[plugins]
auth = ["throwing", "static-users"]
[plugin.static-users]
users = ["alice:secret"]
delay = "2ms"
[plugin.throwing]
[plugin.authcheck]
[[listener]]
name = "check"
service = "authcheck"
port = 0
"""


class Appliance:
    """examples/appliance on kernel-chosen ports, with a fresh data directory; its log is read as it comes."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="mailwright-appliance-")
        self.proc = subprocess.Popen([os.environ["APPLIANCE"], self.dir.name, "0", "0"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines, self.ports = [], {}
        while len(self.ports) < 2:
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait(30)
                self.dir.cleanup()
                raise AssertionError("the appliance did not start:\n" + "".join(self.lines))
            self.lines.append(line)
            m = re.search(r"listening listener=(\S+) address=127\.0\.0\.1:(\d+) ", line)
            if m:
                self.ports[m.group(1)] = int(m.group(2))
        # Keep reading, so that a full pipe never stops the appliance.
        self._reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self._reader.start()

    def tls(self):
        """A client context that trusts the certificate the appliance made for itself, and only that one."""
        return ssl.create_default_context(cafile=os.path.join(self.dir.name, "tls", "cert.pem"))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        finally:
            self._reader.join(5)
            self.dir.cleanup()


class ApplianceExample(unittest.TestCase):
    """examples/appliance: submission and POP3 over implicit TLS with the example auth and Maildir plugins
    linked into the program, configured in code."""

    MESSAGE = ("From: alice@appliance.test\r\nTo: alice@appliance.test\r\nSubject: a note to self\r\n\r\n"
               "First line.\r\n.A line that starts with a dot\r\n.\r\n\r\nLast line, after an empty one.\r\n")

    def setUp(self):
        self.appliance = Appliance()

    def tearDown(self):
        self.assertEqual(self.appliance.stop(), 0, "".join(self.appliance.lines))

    def submission(self):
        smtp = smtplib.SMTP("localhost", self.appliance.ports["submission"], timeout=10)
        smtp.ehlo()
        self.assertFalse(smtp.has_extn("auth"), "AUTH offered before STARTTLS")
        smtp.starttls(context=self.appliance.tls())
        smtp.ehlo()
        return smtp

    def pop3s(self):
        return poplib.POP3_SSL("localhost", self.appliance.ports["pop3s"], context=self.appliance.tls(), timeout=10)

    def test_plugins_are_linked_in(self):
        for plugin in ("plugin=example-auth kind=auth", "plugin=maildir kind=mailstore", "plugin=headers kind=hook"):
            self.assertTrue(any(f"{plugin} version=1.0 loaded from linked-in" in line
                                for line in self.appliance.lines), "".join(self.appliance.lines))

    def test_message_sent_on_submission_is_read_back_over_pop3s(self):
        with self.submission() as smtp:
            smtp.login("alice", "wonderland")
            self.assertEqual(smtp.sendmail("alice@appliance.test", ["alice@appliance.test"], self.MESSAGE), {})
        maildir = os.path.join(self.appliance.dir.name, "mail", "alice", "Maildir")
        self.assertEqual(len(os.listdir(os.path.join(maildir, "new"))), 1)

        pop = self.pop3s()
        try:
            pop.user("alice")
            pop.pass_("wonderland")
            self.assertEqual(pop.stat()[0], 1)
            lines = pop.retr(1)[1]
        finally:
            pop.quit()
        message = b"\r\n".join(lines) + b"\r\n"
        header, body = message.split(b"\r\n\r\n", 1)
        self.assertEqual(body, self.MESSAGE.split("\r\n\r\n", 1)[1].encode())
        self.assertIn(b"Subject: a note to self", header)
        self.assertIn(b"Return-Path: <alice@appliance.test>", header)
        # The stock headers filter, linked in: the submission's AUTH user and TLS, in RFC 8601's words.
        self.assertIn(b"Authentication-Results: appliance.test; auth=pass smtp.auth=alice (TLSv1.", header)

    def test_only_the_users_own_address_may_send(self):
        with self.submission() as smtp:
            smtp.login("alice", "wonderland")
            with self.assertRaises(smtplib.SMTPSenderRefused) as refused:
                smtp.sendmail("bob@appliance.test", ["alice@appliance.test"], self.MESSAGE)
            self.assertEqual(refused.exception.smtp_code, 553)

    def test_wrong_password_is_refused(self):
        with self.submission() as smtp:
            with self.assertRaises(smtplib.SMTPAuthenticationError) as refused:
                smtp.login("alice", "guess")
            self.assertEqual(refused.exception.smtp_code, 535)
            with self.assertRaises(smtplib.SMTPSenderRefused):  # and nothing may be sent
                smtp.sendmail("alice@appliance.test", ["alice@appliance.test"], self.MESSAGE)
        pop = self.pop3s()
        try:
            pop.user("alice")
            with self.assertRaisesRegex(poplib.error_proto, "-ERR"):
                pop.pass_("guess")
        finally:
            pop.close()


class Plugins(unittest.TestCase):
    def test_service_plugin_using_auth_plugins_on_worker_threads(self):
        daemon = Daemon("[server]\nworkers = 2\n" + PLUGIN_CONFIG)
        try:
            clients = [daemon.connect("check") for _ in range(6)]
            for c in clients:
                self.assertEqual(c.line(), "READY\r\n")
            for c in clients:
                c.send("CHECK alice secret\r\nCHECK alice wrong\r\n")
            for c in clients:
                # The plugin awaited a timer and resumed on its session's worker thread.
                self.assertEqual(c.line(), "OK alice thread-kept=yes asio-sees-thread=yes\r\n")
                self.assertEqual(c.line(), "NO\r\n")
            # A plugin that throws mid-session: that client gets a temporary failure, the others carry on.
            clients[0].send("CHECK mallory x\r\n")
            self.assertEqual(clients[0].line(), "TEMPFAIL\r\n")
            clients[1].send("CHECK alice secret\r\n")
            self.assertTrue(clients[1].line().startswith("OK alice"))
            clients[0].send("CHECK alice secret\r\n")
            self.assertTrue(clients[0].line().startswith("OK alice"))
            self.assertTrue(daemon.log_contains(r"plugin=throwing verify_password threw: plugin bug"))
            # The same with something that is not a std::exception (`throw 1;`): from an auth call, and from
            # the service itself, which costs only its own connection.
            clients[0].send("CHECK mallory-int x\r\n")
            self.assertEqual(clients[0].line(), "TEMPFAIL\r\n")
            self.assertTrue(daemon.log_contains(r"plugin=throwing verify_password threw a non-standard exception"))
            clients[2].send("THROW\r\n")
            self.assertEqual(clients[2].line(), "")  # closed
            self.assertTrue(daemon.log_contains(r"service authcheck failed: a non-standard exception"))
            clients[1].send("CHECK alice secret\r\n")
            self.assertTrue(clients[1].line().startswith("OK alice"))
            with daemon.connect("check") as late:
                self.assertEqual(late.line(), "READY\r\n")
            for c in clients:
                c.close()
        finally:
            self.assertEqual(daemon.terminate(), 0)

    def test_auth_test_command(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write(PLUGIN_CONFIG)
        try:
            ok = subprocess.run([DAEMON, "--config", f.name, "--auth-test", "alice"], input="secret\n",
                                capture_output=True, text=True, timeout=30)
            self.assertEqual(ok.returncode, 0, ok.stderr)
            self.assertIn("alice: accepted as alice", ok.stdout)
            no = subprocess.run([DAEMON, "--config", f.name, "--auth-test", "alice"], input="nope\n",
                                capture_output=True, text=True, timeout=30)
            self.assertEqual(no.returncode, 1)
        finally:
            os.unlink(f.name)

    def start_fails(self, tables):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write(tables + "\n[[listener]]\nname = \"e\"\nservice = \"echo\"\nport = 0\n")
        try:
            with tempfile.TemporaryDirectory(prefix="mailwright-test-") as cwd:
                result = subprocess.run([DAEMON, "--config", f.name], capture_output=True, text=True, timeout=30,
                                        cwd=cwd)
            self.assertNotEqual(result.returncode, 0)
            self.assertNotIn("listening", result.stderr)  # refused before it listened anywhere
            return result.stderr
        finally:
            os.unlink(f.name)

    def test_broken_plugins_stop_the_start(self):
        self.assertIn("is for ABI \"mailwright-plugin/0", self.start_fails("[plugin.wrong-abi]"))
        self.assertIn("built with Asio 1.24.1 where this host has", self.start_fails("[plugin.wrong-asio]"))
        self.assertIn("not a Mailwright plugin", self.start_fails("[plugin.not-a-plugin]"))
        self.assertIn("no mailwright-ghost.so in the plugin search path", self.start_fails("[plugin.ghost]"))
        self.assertIn("failed to initialise: the database is unreachable",
                      self.start_fails("[plugin.throwing]\nfail_init = true"))
        self.assertIn("failed to initialise: it threw something that is not a std::exception",
                      self.start_fails("[plugin.throwing]\nfail_init_int = true"))
        self.assertIn("unknown key 'colour' in [plugin.static-users]",
                      self.start_fails("[plugin.static-users]\ncolour = 1"))


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@unittest.skipUnless(all(port_free(p) for p in (7007, 7993, 1110, 1995, 2525, 1587, 1465, 2424)), "the built-in default's ports are taken")
class BuiltInDefault(unittest.TestCase):
    """What the README's run command starts: --demo, state under ./var."""

    def test_first_start(self):
        work = tempfile.mkdtemp(prefix="mailwright-default-")
        proc = subprocess.Popen([DAEMON, "--demo"], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        try:
            lines = []
            for _ in range(50):
                line = proc.stdout.readline()
                lines.append(line)
                if "listening listener=lmtp" in line:
                    break
            log = "".join(lines)
            self.assertIn("listening listener=echo address=127.0.0.1:7007", log)
            password = open(os.path.join(work, "var", "demo-password")).read().strip()
            self.assertIn(f"Demo user 'demo', password '{password}'", log)  # shown once, at first start
            self.assertEqual(os.stat(os.path.join(work, "var", "demo-password")).st_mode & 0o777, 0o600)
            new = os.path.join(work, "var", "mail", "demo", "Maildir", "new")
            welcome = os.listdir(new)
            self.assertEqual(len(welcome), 1)
            with open(os.path.join(new, welcome[0])) as f:
                self.assertIn("Subject: Welcome to Mailwright", f.read())
            self.assertTrue(os.path.exists(os.path.join(work, "var", "tls", "cert.pem")))
            with Client("127.0.0.1", 7007) as c:  # loopback only, and serving
                self.assertEqual(c.line(), GREETING)
            # The README's promise: the demo user reads the welcome message over POP3, inside TLS only.
            context = ssl.create_default_context(cafile=os.path.join(work, "var", "tls", "cert.pem"))
            pop = poplib.POP3("localhost", 1110, timeout=10)  # the name the certificate carries
            try:
                self.assertNotIn("USER", pop.capa())  # no password in the clear
                pop.stls(context)
                pop.user("demo")
                pop.pass_(password)
                count, _ = pop.stat()
                self.assertEqual(count, 1)
                self.assertIn(b"Subject: Welcome to Mailwright", pop.retr(1)[1])
            finally:
                pop.close()
            # Submission: TLS first, then AUTH, then a message to the demo mailbox, which POP3 then shows.
            with smtplib.SMTP("localhost", 1587, timeout=10) as sub:
                sub.starttls(context=context)
                sub.login("demo", password)
                sub.sendmail("demo@localhost", ["demo@localhost"],
                             b"Subject: sent through submission\r\n\r\nhello\r\n")
            secure = poplib.POP3_SSL("localhost", 1995, context=context, timeout=10)
            try:
                secure.user("demo")
                secure.pass_(password)
                self.assertEqual(secure.stat()[0], 2)
                self.assertIn(b"Subject: sent through submission", secure.retr(2)[1])
            finally:
                secure.close()
            # The MX: <postmaster> (RFC 5321 4.5.1) reaches the demo mailbox, and two names of one mailbox
            # (regression: 451 after storing, and a copy on every retry) are one copy and a 250.
            with smtplib.SMTP("127.0.0.1", 2525, local_hostname="client.example", timeout=10) as mx:
                self.assertEqual(mx.sendmail("a@b.example", ["postmaster"],
                                             b"Subject: for the postmaster\r\n\r\nhello\r\n"), {})
                self.assertEqual(mx.sendmail("a@b.example", ["demo@localhost", "demo@LOCALHOST"],
                                             b"Subject: twice named\r\n\r\nhello\r\n"), {})
                # The aliases plugin: the RFC 2142 role addresses reach the demo mailbox; others are unknown.
                self.assertEqual(mx.sendmail("a@b.example", ["postmaster@localhost"],
                                             b"Subject: for postmaster@localhost\r\n\r\nhello\r\n"), {})
                self.assertEqual(mx.sendmail("a@b.example", ["abuse@localhost"],
                                             b"Subject: for abuse@localhost\r\n\r\nhello\r\n"), {})
                self.assertEqual(mx.docmd("MAIL FROM:<a@b.example>")[0], 250)
                self.assertEqual(mx.docmd("RCPT TO:<nobody@localhost>")[0], 550)
            stored = []
            for folder in (new, os.path.join(os.path.dirname(new), "cur")):  # POP3 moved the first two to cur
                for name in os.listdir(folder):
                    with open(os.path.join(folder, name), "rb") as f:
                        stored.append(f.read())

            def one(subject):
                found = [m for m in stored if b"\nSubject: " + subject + b"\n" in b"\n" + m]
                self.assertEqual(len(found), 1, subject)
                return found[0]

            one(b"for the postmaster")
            one(b"twice named")
            # The headers plugin: Authentication-Results for what the session knew, the AUTH user on submission.
            self.assertRegex(one(b"sent through submission"),
                             rb"\nAuthentication-Results: [^;\n]+; auth=pass smtp\.auth=demo \(TLSv1\.[23] ")
            for subject in (b"for the postmaster", b"for postmaster@localhost", b"for abuse@localhost"):
                self.assertRegex(one(subject), rb"\nAuthentication-Results: [^;\n]+; none\n")  # MX, in the clear
            self.assertNotIn(b"Authentication-Results", one(b"Welcome to Mailwright"))  # not through SMTP
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(30), 0)
            shutil.rmtree(work, ignore_errors=True)
