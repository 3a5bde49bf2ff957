"""The driver of bench/scale-out.sh (run that: it builds what this needs). Starts PostgreSQL, HAProxy and the
nodes with the test suite's harnesses, fills every mailbox with one 10 KiB message, and runs mailwright-bench's
smtp and pop3 commands against each layout, printing a heading line and the bench's own lines for each."""
import argparse
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from daemon import start_in, stop_in  # noqa: E402
from servers_haproxy import HAProxy  # noqa: E402
from servers_postgres import Postgres  # noqa: E402

BENCH = os.path.join(ROOT, "build", "release", "bench", "mailwright-bench")
SCHEMAS = [os.path.join(ROOT, "contrib", "postgres", name) for name in ("auth.sql", "mailstore.sql")]
PASSWORD = "secret"
# A cheap scheme on purpose, as in bench/pop3.sh: this measures the layout, not the password hash.
STORED = "{PLAIN}" + PASSWORD


def node_config(work, store, conninfo, proxied, pop3_pool_size=None):
    pool = f"pop3_pool_size = {pop3_pool_size}\n" if pop3_pool_size is not None else ""
    backends = (f'[plugins]\nauth = ["postgres-auth"]\n[plugin.postgres-auth]\nconninfo = "{conninfo}"\n'
                f'[plugin.postgres-store]\nconninfo = "{conninfo}"\n{pool}' if store == "postgres" else
                f'[plugin.passwd-file]\nfile = "{work}/passwd"\nallow_plain = true\n'
                f'[plugin.maildir]\npath = "{work}/mail/%u/Maildir"\n')
    proxy = 'proxy_protocol = true\nproxy_trusted = ["127.0.0.1"]\n' if proxied else ""
    return f"""
[server]
max_connections = 100000
max_connections_per_ip = 100000
state_dir = "{work}/state"
[log]
level = "info"
{backends}
[[listener]]
name = "mx"
service = "smtp"
port = 0
{proxy}[listener.smtp]
local_domains = ["example.org"]

[[listener]]
name = "pop3"
service = "pop3"
port = 0
auth_mechanisms = ["PLAIN"]
plaintext_auth = true  # AUTH PLAIN without TLS: only for this benchmark, on loopback
{proxy}"""


def message():
    body = "".join(f"{n:04d} The quick brown fox jumps over the lazy dog, and the dog does not mind.\r\n"
                   for n in range(130))
    return ("From: bench@example.org\r\nTo: user@example.org\r\nSubject: POP3 benchmark message\r\n\r\n"
            + body).encode()


def fill(port, users):
    """One message for each user, delivered through `port` (the node's own MX, or the balancer's)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for user in users:
            smtp.sendmail("bench@example.org", [f"{user}@example.org"], message())


def bench(heading, command, port, args):
    print(f"== {heading}: {command}", flush=True)
    subprocess.run([BENCH, command, "--port", str(port), "--seconds", str(args.seconds), *command_options(command, args)],
                   check=True)


def command_options(command, args):
    if command == "pop3":
        return ["--concurrency", str(args.concurrency), "--users", str(args.concurrency), "--password", PASSWORD]
    return ["--concurrency", str(args.concurrency // 2 or 1), "--size", "10240", "--to", "sink@example.org"]


def start_nodes(count, store, conninfo, proxied, users, pop3_pool_size=None):
    nodes = []
    for _ in range(count):
        work = tempfile.mkdtemp(prefix="mailwright-scale-out-")
        with open(os.path.join(work, "passwd"), "w") as f:
            f.write("".join(f"{u}:{STORED}\n" for u in users))
        nodes.append((work, start_in(work, node_config(work, store, conninfo, proxied, pop3_pool_size))))
    return nodes


def measure(heading, nodes, args, users, balancer=None):
    if balancer:
        ports = balancer.ports
    else:
        ports = nodes[0][1].ports
    fill(ports["mx"], users)
    bench(heading, "smtp", ports["mx"], args)
    bench(heading, "pop3", ports["pop3"], args)


def balanced(nodes):
    def servers(listener):
        return [f"n{i} 127.0.0.1:{daemon.ports[listener]} send-proxy-v2" for i, (_, daemon) in enumerate(nodes)]

    return HAProxy({"mx": (servers("mx"), ""), "pop3": (servers("pop3"), "")})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    users = [f"user{k}" for k in range(args.concurrency)] + ["sink"]

    nodes = start_nodes(1, "maildir", "", False, users)
    try:
        measure("Maildir, 1 node, no balancer", nodes, args, users)
    finally:
        for work, daemon in nodes:
            stop_in(work, daemon)

    pg = Postgres()
    try:
        for path in SCHEMAS:
            with open(path) as f:
                pg.psql(f"SET ROLE {pg.user};\n" + f.read())
        rows = ", ".join(f"('{u}', '{STORED}')" for u in users)
        pg.psql(f"SET ROLE {pg.user}; INSERT INTO users (name, password) VALUES {rows}")
        # The default pool of lock connections (8 per worker), then one as large as the clients: every POP3
        # session finds a pooled connection.
        layouts = ((1, False, None), (1, False, args.concurrency), (1, True, None), (2, True, None))
        for count, proxied, pool in layouts:
            nodes = start_nodes(count, "postgres", pg.conninfo, proxied, users, pool)
            balancer = balanced(nodes) if proxied else None
            try:
                where = "HAProxy in front" if proxied else "no balancer"
                sized = f", pop3_pool_size = {pool}" if pool is not None else ""
                measure(f"PostgreSQL, {count} node{'s' if count > 1 else ''}, {where}{sized}", nodes, args, users,
                        balancer)
            finally:
                if balancer:
                    balancer.stop()
                for work, daemon in nodes:
                    stop_in(work, daemon)
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
