"""Reloading everything on SIGHUP: listeners added, removed and changed, limits, auth and store settings,
plugins' own tables. Sessions in flight finish on the configuration they started with; a broken configuration,
or one whose new address cannot be bound, is refused with its reason in the log, and the running one serves on.
(Certificates: test_tls.Reload.) Driven with smtplib and raw sockets against the real daemon."""
import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import unittest
import uuid

from daemon import DAEMON, maildir_messages, start_in, stop_in

HOSTNAME = "mx.example.org"
USERS = ("alice", "bob")


def config(work, size=1048576, per_ip=64, mechanisms='["PLAIN"]', mail="mail", alias="alice", extra=None,
           extra_port=0):
    extra_listener = "" if extra is None else f"""
[[listener]]
name = "{extra}"
service = "smtp"
port = {extra_port}
[listener.smtp]
local_domains = ["example.org"]
"""
    return f"""
[server]
workers = 2
hostname = "{HOSTNAME}"
max_connections_per_ip = {per_ip}
[log]
level = "debug"
[auth]
failure_delay = "0s"
failure_delay_max = "0s"
[plugin.passwd-file]
file = "{work}/passwd"
[plugin.maildir]
path = "{work}/{mail}/%u/Maildir"
[plugin.aliases]
entries = ["info  {alias}"]
[plugins]
auth = ["passwd-file"]

[[listener]]
name = "mx"
service = "smtp"
port = 0
[listener.smtp]
local_domains = ["example.org"]
max_message_size = {size}

[[listener]]
name = "sub"
service = "smtp"
port = 0
plaintext_auth = true
auth_mechanisms = {mechanisms}
[listener.smtp]
local_domains = ["example.org"]
{extra_listener}"""


class Reload(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mailwright-reload-")
        lines = []
        for user in USERS:
            made = subprocess.run([DAEMON, "passwd", user, "-s", "PLAIN-EQUIVALENT"], input=f"pw-{user}",
                                  capture_output=True, text=True, check=True)
            lines.append(made.stdout)
        with open(os.path.join(self.work, "passwd"), "w") as f:
            f.write("".join(lines))
        self.daemon = None

    def tearDown(self):
        if self.daemon is not None:
            self.assertEqual(stop_in(self.work, self.daemon), 0)
        shutil.rmtree(self.work, ignore_errors=True)

    def start(self, **knobs):
        self.daemon = start_in(self.work, config(self.work, **knobs))
        return self.daemon

    def reload(self, **knobs):
        return self.daemon.reload(config(self.work, **knobs))

    def smtp(self, listener):
        client = smtplib.SMTP("127.0.0.1", self.daemon.ports[listener], timeout=10)
        client.ehlo("client.test")
        return client

    def send(self, listener, to):
        tag = uuid.uuid4().hex.encode()
        with self.smtp(listener) as client:
            client.sendmail("sender@example.net", [to], b"Subject: reload\r\n\r\n" + tag + b"\r\n")
        return tag

    def test_listeners_added_removed_and_kept(self):
        self.start(extra="old")
        mx_port, old_port = self.daemon.ports["mx"], self.daemon.ports["old"]
        in_flight = self.smtp("old")  # connected to a listener the reload removes

        self.assertTrue(self.reload(extra="new"))
        self.assertEqual(self.daemon.ports["mx"], mx_port)  # kept: the same socket, never closed
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", old_port), timeout=5).close()
        self.assertEqual(self.smtp("new").noop()[0], 250)
        self.assertEqual(self.smtp("mx").noop()[0], 250)
        # The session on the removed listener finishes as it started: it can still send a message.
        in_flight.sendmail("sender@example.net", ["alice@example.org"], b"Subject: in flight\r\n\r\nstill here\r\n")
        in_flight.quit()
        self.assertEqual(len(maildir_messages(self.work, "alice", b"still here")), 1)

    def test_listener_changed_sessions_finish_on_their_configuration(self):
        self.start()
        before = self.smtp("mx")
        self.assertEqual(before.esmtp_features["size"], "1048576")

        self.assertTrue(self.reload(size=2097152))
        after = self.smtp("mx")
        self.assertEqual(after.esmtp_features["size"], "2097152")
        before.ehlo("client.test")  # the same session asks again: its listener is still the old one
        self.assertEqual(before.esmtp_features["size"], "1048576")
        before.quit()
        after.quit()

    def test_connection_limits(self):
        self.start()
        first = self.smtp("mx")
        second = self.smtp("mx")
        second.quit()
        self.assertTrue(self.reload(per_ip=1))
        with socket.create_connection(("127.0.0.1", self.daemon.ports["mx"]), timeout=10) as refused:
            self.assertTrue(refused.makefile("rb").readline().startswith(b"421 "))
        self.assertEqual(first.noop()[0], 250)  # the connection already open stays
        first.quit()

    def test_auth_settings(self):
        self.start()
        with self.smtp("sub") as client:
            self.assertEqual(client.esmtp_features["auth"].split(), ["PLAIN"])
        self.assertTrue(self.reload(mechanisms='["PLAIN", "LOGIN"]'))
        with self.smtp("sub") as client:
            self.assertEqual(client.esmtp_features["auth"].split(), ["PLAIN", "LOGIN"])
            client.login("bob", "pw-bob")  # smtplib picks LOGIN or PLAIN; either way the new list serves

    def test_store_settings(self):
        self.start()
        first = self.send("mx", "alice@example.org")
        self.assertTrue(self.reload(mail="mail2"))
        second = self.send("mx", "alice@example.org")
        self.assertEqual(len(maildir_messages(self.work, "alice", first)), 1)
        self.assertEqual(maildir_messages(self.work, "alice", second), [])  # not in the old store
        moved = os.path.join(self.work, "mail2", "alice", "Maildir", "new")
        found = []
        for name in os.listdir(moved):
            with open(os.path.join(moved, name), "rb") as f:
                found += [name] if second in f.read() else []
        self.assertEqual(len(found), 1)

    def test_plugin_table(self):
        self.start()
        first = self.send("mx", "info@example.org")
        self.assertTrue(self.reload(alias="bob"))
        second = self.send("mx", "info@example.org")
        self.assertEqual(len(maildir_messages(self.work, "alice", first)), 1)
        self.assertEqual(len(maildir_messages(self.work, "bob", second)), 1)
        self.assertEqual(maildir_messages(self.work, "alice", second), [])

    def test_broken_configuration_is_refused(self):
        self.start()
        broken = config(self.work, size=2097152).replace("max_connections_per_ip = 64",
                                                         "max_connections_per_ip = \"many\"")
        line = broken[:broken.index('"many"')].count("\n") + 1
        self.assertFalse(self.daemon.reload(broken))
        self.assertTrue(self.daemon.log_contains(rf"mailwright\.toml:{line}:\d+: .*max_connections_per_ip"))
        with self.smtp("mx") as client:  # the running configuration serves on, whole
            self.assertEqual(client.esmtp_features["size"], "1048576")

    def test_unbindable_address_is_refused(self):
        self.start()
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            self.assertFalse(self.reload(size=2097152, extra="clash", extra_port=port))
            self.assertTrue(self.daemon.log_contains(rf"listener 'clash' cannot listen on 127\.0\.0\.1:{port}"))
        with self.smtp("mx") as client:  # nothing changed: not the new size either
            self.assertEqual(client.esmtp_features["size"], "1048576")


if __name__ == "__main__":
    unittest.main()
