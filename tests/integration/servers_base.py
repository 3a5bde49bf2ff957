"""What every real-server harness shares (servers.py): a temporary directory, a free loopback port, a process
started in the foreground, a bounded wait until it accepts connections, and a bounded stop."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HOST = "127.0.0.1"


def free_port():
    """A loopback TCP port that was free a moment ago (bound to port 0, read, closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def accepts(port, timeout=1.0):
    """Whether 127.0.0.1:port accepts a TCP connection now."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def ids(user):
    """(uid, gid) of a system user."""
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def chown_tree(path, user):
    uid, gid = ids(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for name in files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def group_members(pgid):
    """The pids of the live (not zombie) processes of process group pgid."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry))
    return found


def wait_group_gone(pgid, timeout):
    """Whether process group pgid has no live process left within timeout seconds."""
    deadline = time.monotonic() + timeout
    while group_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


class ServerError(RuntimeError):
    """A server that did not start (or stop) in time; the message carries its log."""


class Server:
    """A server process in its own temporary directory `dir` (mode 0755 so that the servers' own users reach
    it). Subclasses write their configuration, call _spawn() and _wait(), and name their logs in `log_files`.
    A context manager: the with block's end stops the process and removes the directory."""

    name = "server"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix=f"mailwright-{self.name}-")
        os.chmod(self.dir, 0o755)
        self.proc = None
        self.output_path = self.path("output.log")
        self.log_files = [self.output_path]
        self.started_in = None  # seconds from spawn until ready

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, text, mode=0o644):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def _spawn(self, argv, **options):
        """Starts argv in the foreground, its stdout and stderr into output.log, in its own process group."""
        self._started = time.monotonic()
        with open(self.output_path, "ab") as out:
            self.proc = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True, **options)

    def _wait(self, ready, timeout):
        """Polls ready() until it is true; raises ServerError with the log if the process exits first or
        timeout seconds pass."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerError(f"{self.name} exited with {self.proc.returncode} while starting:\n{self.log()}")
            if ready():
                self.started_in = time.monotonic() - self._started
                return
            if time.monotonic() >= deadline:
                raise ServerError(f"{self.name} not ready within {timeout} s:\n{self.log()}")
            time.sleep(0.05)

    def _first_start(self, configure):
        """For the constructor: configure(), then start(); when either raises, stops what was started and
        removes the directory before the exception goes on."""
        try:
            configure()
            self.start()
        except BaseException:
            self.stop()
            raise

    def log(self, tail=200):
        """The last `tail` lines of each log file, each under its name."""
        parts = []
        for path in self.log_files:
            try:
                with open(path, errors="replace") as f:
                    lines = f.read().splitlines()[-tail:]
            except OSError:
                continue
            parts.append(f"--- {os.path.basename(path)}\n" + "\n".join(lines))
        return "\n".join(parts)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _terminate(self, timeout):
        """SIGTERM to the process; once it has exited and its process group is empty, or timeout seconds have
        passed, SIGKILL to whatever is left of the group."""
        if self.proc is None:
            return
        deadline = time.monotonic() + timeout
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        if not wait_group_gone(self.proc.pid, max(0.0, deadline - time.monotonic())):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            wait_group_gone(self.proc.pid, 5)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def stop(self, timeout=20.0, remove=True):
        """Stops the server (SIGTERM, bounded wait, then SIGKILL) and removes its directory, unless `remove` is
        false: then its files (mail, logs) stay readable and start() may run it again. Safe to call twice."""
        try:
            self._terminate(timeout)
        finally:
            if remove and self.dir is not None:
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
