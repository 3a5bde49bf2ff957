"""lib/pgclient (libpq on an Asio event loop, driven by pgclient_probe) against a real PostgreSQL 15
(servers_postgres.py): bytea chunks with every octet as binary params and binary results inside a transaction,
a result much larger than a socket read, leases queued on a pool of one, a statement over query_timeout, a lease
given back inside an aborted transaction, and a server that is not there (tempfail, then fail-fast)."""
import os
import subprocess
import unittest

from servers import Postgres, free_port

PROBE = os.environ.get("PGCLIENT_PROBE", "pgclient_probe")


def probe(conninfo, scenario):
    done = subprocess.run([PROBE, conninfo, scenario], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout.strip().splitlines()[-1], done.stderr + done.stdout  # the log goes to stdout


class Pgclient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.addClassCleanup(cls.pg.stop)

    def test_scenarios(self):
        for scenario in ("bytes", "big", "queue", "timeout", "aborted"):
            with self.subTest(scenario=scenario):
                code, out, errors = probe(self.pg.conninfo, scenario)
                self.assertEqual((code, out), (0, "ok"), errors)

    def test_a_server_that_is_not_there(self):
        code, out, errors = probe(f"host=127.0.0.1 port={free_port()} dbname=x user=x connect_timeout=5", "down")
        self.assertEqual((code, out), (0, "ok"), errors)
