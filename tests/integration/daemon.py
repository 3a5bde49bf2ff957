"""Start mailwrightd on loopback with a temporary configuration, find its ports in its log, stop it."""
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

DAEMON = os.environ.get("MAILWRIGHTD", "mailwrightd")
LISTENING = re.compile(r"listening listener=(\S+) address=(\S+):(\d+) ")


class Daemon:
    """A mailwrightd process serving `config` (TOML text; ports may be 0). `program`: the command that runs the
    daemon (a list; default [DAEMON]), e.g. an installed copy, or one wrapped in a private mount namespace."""

    def __init__(self, config, nofile=None, start_timeout=20.0, program=None):
        self.dir = tempfile.TemporaryDirectory(prefix="mailwright-test-")
        self.config_path = os.path.join(self.dir.name, "mailwright.toml")
        with open(self.config_path, "w") as f:
            f.write(config)
        self.lines = []
        self.ports = {}
        self._ready = threading.Event()
        self._expected = len(re.findall(r"^\s*\[\[listener\]\]", config, re.M))

        def limit_files():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen([*(program or [DAEMON]), "--config", self.config_path], cwd=self.dir.name,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, preexec_fn=limit_files)
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        if not self._ready.wait(start_timeout):
            self.kill()
            raise RuntimeError("mailwrightd did not start:\n" + "\n".join(self.lines))

    def _read_log(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            m = LISTENING.search(line)
            if m:
                self.ports.setdefault(m.group(1), int(m.group(3)))
                if len(self.ports) == self._expected:
                    self._ready.set()

    def log_contains(self, pattern, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(re.search(pattern, line) for line in list(self.lines)):
                return True
            time.sleep(0.05)
        return False

    def reload(self, config, timeout=20.0):
        """Writes `config` over the daemon's file and sends SIGHUP; True when the daemon took it, False when it
        refused it. The ports of listeners the reload opened are in self.ports from then on."""
        with open(self.config_path, "w") as f:
            f.write(config)
        before = len(self.lines)
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            since = list(self.lines[before:])
            for line in since:
                if "reload refused" in line:
                    return False
                if "reload: configuration reloaded" in line:
                    for earlier in since:
                        m = LISTENING.search(earlier)
                        if m:
                            self.ports[m.group(1)] = int(m.group(3))
                    return True
            time.sleep(0.05)
        raise AssertionError("mailwrightd said nothing of the reload; its log:\n" + "\n".join(self.lines[before:]))

    def connect(self, listener, host="127.0.0.1", timeout=10.0):
        return Client(host, self.ports[listener], timeout)

    def terminate(self, timeout=30.0):
        """SIGTERM, then the exit code (the daemon must exit by itself within timeout)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
            if code != 0:
                self._reader.join(5)
                print(f"mailwrightd exited with {code}; its log:\n" + "\n".join(self.lines[-60:]))
            return code
        except subprocess.TimeoutExpired:
            raise AssertionError(f"mailwrightd did not exit within {timeout} s of SIGTERM; its log:\n"
                                 + "\n".join(self.lines)) from None
        finally:
            self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(5)
        self.dir.cleanup()


class Client:
    """A line-oriented TCP client with a timeout on every read."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")

    def line(self):
        return self.file.readline().decode("utf-8", "replace")

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def close(self):
        self.file.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def passwd_line(user, password, *args):
    """The line `mailwrightd passwd [args] user` prints for `password` (with its newline); it must succeed."""
    result = subprocess.run([DAEMON, "passwd", *args, user], input=password + "\n", capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def start_in(work, config, **options):
    """A Daemon serving `config`, whose files are in `work`; `work` is removed when it does not start."""
    try:
        return Daemon(config, **options)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def stop_in(work, daemon):
    """Stops `daemon` once the blocking pool is idle (see test_pop3.py), removes `work`; the exit code."""
    time.sleep(0.2)
    try:
        return daemon.terminate()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def maildir_messages(work, user, needle, subs=("new", "cur")):
    """The messages in `user`'s Maildir under work/mail (on disk, in name order) that hold `needle` (bytes)."""
    found = []
    for sub in subs:
        path = os.path.join(work, "mail", user, "Maildir", sub)
        for name in sorted(os.listdir(path)) if os.path.isdir(path) else []:
            with open(os.path.join(path, name), "rb") as f:
                text = f.read()
            if needle in text:
                found.append(text)
    return found


def echo_config(server="", listener="", addresses='["127.0.0.1"]'):
    return f"""
[server]
workers = 2
{server}

[log]
level = "debug"

[[listener]]
name = "echo"
service = "echo"
address = {addresses}
port = 0
{listener}
"""


def insecure_context():
    """A TLS client context that trusts any certificate: these tests check the protocol, not the PKI."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class RawConnection:
    """A raw line connection with a timeout on every read, plaintext or TLS. What was read beyond a line stays
    in `buf`, so the switch to TLS after STARTTLS/STLS can check that nothing came after the go-ahead."""

    def __init__(self, port, tls=False, ctx=None, timeout=10.0, server_hostname="one.test"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            self.sock = (ctx or insecure_context()).wrap_socket(self.sock, server_hostname=server_hostname)
        self.buf = b""

    def line(self):
        """One line with its CRLF; b"" when the server closed the connection."""
        for _ in range(100000):
            end = self.buf.find(b"\n")
            if end >= 0:
                line, self.buf = self.buf[:end + 1], self.buf[end + 1:]
                return line
            chunk = self.sock.recv(65536)
            if not chunk:
                line, self.buf = self.buf, b""
                return line
            self.buf += chunk
        raise AssertionError("no end of line")

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def starttls(self, ctx=None):
        assert self.buf == b"", f"octets after the go-ahead for TLS: {self.buf!r}"
        self.sock = (ctx or insecure_context()).wrap_socket(self.sock, server_hostname="one.test")

    def rest(self):
        """Everything until the server closes the connection."""
        data, self.buf = self.buf, b""
        for _ in range(100000):
            chunk = self.sock.recv(65536)
            if not chunk:
                return data
            data += chunk
        raise AssertionError("the server never closed the connection")

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
