"""PostgreSQL 15 (Debian's postgresql-15) on loopback, in a temporary directory: see Postgres."""
import os
import signal
import subprocess

from servers_base import HOST, Server, ServerError, free_port, ids

BIN = "/usr/lib/postgresql/15/bin"
SYSTEM_USER = "postgres"  # initdb and postgres refuse to run as root, and the tests run as root


class Postgres(Server):
    """`postgres -D data` in the foreground, as the system user postgres, listening on 127.0.0.1:`port` and on a
    unix socket in `socket_dir` (nothing in /var/run/postgresql). The cluster is made by initdb in `dir`/data at
    construction; the role `user` (LOGIN, password `password`) owns the database `database`. TCP logins need the
    password (scram-sha-256, as a real installation has them); the superuser postgres logs in over the unix socket
    without one (`psql()` uses it). fsync stays on: durability tests judge our acknowledgement after COMMIT, which
    means nothing on a server that does not sync.

    `conninfo` is libpq's connection string for the role and database over TCP. stop(remove=False) is a fast
    shutdown (SIGINT: open sessions are ended, the cluster is checkpointed) that keeps the data, and start() runs
    it again on the same port with the same data: a database restart mid-test. freeze() and thaw() stop and
    continue every process of the server: a database that hangs."""

    name = "postgres"

    def __init__(self, user="mailwright", password="mailwright-test-pw", database="mail", start_timeout=60.0):
        super().__init__()
        self.user = user
        self.password = password
        self.database = database
        self.start_timeout = start_timeout
        self.port = free_port()
        self.data_dir = self.path("data")
        self.socket_dir = self.path("run")
        self._first_start(self._configure)
        self._create_role()

    @property
    def conninfo(self):
        return (f"host={HOST} port={self.port} dbname={self.database} user={self.user} "
                f"password={self.password} connect_timeout=5")

    def _as_postgres(self):
        uid, gid = ids(SYSTEM_USER)
        return {"user": uid, "group": gid, "extra_groups": []}

    def _configure(self):
        uid, gid = ids(SYSTEM_USER)
        for path, mode in ((self.data_dir, 0o700), (self.socket_dir, 0o755)):
            os.makedirs(path, mode=mode)
            os.chown(path, uid, gid)
        # --no-sync: initdb's own final flush only (a fresh cluster in a directory thrown away after the test);
        # the server below keeps fsync on.
        done = subprocess.run([f"{BIN}/initdb", "-D", self.data_dir, "-U", "postgres", "--auth-local=trust",
                               "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                              cwd=self.dir, capture_output=True, text=True, timeout=120, **self._as_postgres())
        if done.returncode != 0:
            raise ServerError(f"initdb failed with {done.returncode}:\n{done.stdout}\n{done.stderr}")
        with open(os.path.join(self.data_dir, "postgresql.conf"), "a") as f:
            f.write(f"""
# Written by tests/integration/servers_postgres.py
listen_addresses = '{HOST}'
port = {self.port}
unix_socket_directories = '{self.socket_dir}'
fsync = on
synchronous_commit = on
max_connections = 100
logging_collector = off
log_min_messages = warning
""")

    def _create_role(self):
        try:
            self.psql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'")
            self.psql(f"CREATE DATABASE {self.database} OWNER {self.user}")
        except BaseException:
            self.stop()
            raise

    def start(self):
        self._spawn([f"{BIN}/postgres", "-D", self.data_dir], **self._as_postgres())
        self._wait(self._ready, self.start_timeout)

    def _ready(self):
        return subprocess.run([f"{BIN}/pg_isready", "-q", "-h", self.socket_dir, "-p", str(self.port)],
                              timeout=10).returncode == 0

    def psql(self, sql, database=None):
        """Runs `sql` (one or more statements) as the superuser in `database` (default: the test database once it
        exists, else postgres) and gives psql's unaligned, tuples-only output; raises ServerError on an error."""
        database = database or (self.database if self._database_exists() else "postgres")
        done = subprocess.run([f"{BIN}/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
                               self.socket_dir, "-p", str(self.port), "-U", "postgres", "-d", database, "-c", sql],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise ServerError(f"psql failed with {done.returncode} on {sql!r}:\n{done.stderr}")
        return done.stdout

    def _database_exists(self):
        done = subprocess.run([f"{BIN}/psql", "-X", "-q", "-A", "-t", "-h", self.socket_dir, "-p", str(self.port),
                               "-U", "postgres", "-d", "postgres", "-c",
                               f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"],
                              capture_output=True, text=True, timeout=60)
        return done.stdout.strip() == "1"

    def processes(self):
        """The postmaster and its children (each backend calls setsid(), so they are not in its process group)."""
        found = [self.proc.pid]
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
        return found

    def freeze(self):
        """Stops every process of the server (SIGSTOP): the kernel still accepts connections, nothing answers."""
        for pid in self.processes():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self):
        for pid in self.processes():
            os.kill(pid, signal.SIGCONT)

    def stop(self, timeout=20.0, remove=True):
        """A fast shutdown first (SIGINT ends open sessions; SIGTERM, the base's signal, would wait for every
        client, and the daemon's pool keeps its connections), then the base's stop."""
        if self.running():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        super().stop(timeout, remove)
