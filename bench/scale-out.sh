#!/usr/bin/env bash
# Scale-out (docs/scale-out.md) measured on one machine: SMTP messages/s and POP3 sessions/s through HAProxy
# (TCP mode, send-proxy-v2) in front of 1 and 2 mailwrightd nodes on one PostgreSQL 15 (auth/postgres,
# mailstore/postgres), beside one node on Maildir with passwd-file, and one PostgreSQL node without HAProxy.
# PostgreSQL, HAProxy, the nodes and the load generator all share this machine's cores: the figures show what
# each layer costs, not what N machines would do. The servers are the test suite's own harnesses
# (tests/integration/servers_postgres.py, servers_haproxy.py), started on loopback and stopped at the end.
# Usage: bench/scale-out.sh [seconds] [concurrency]   (default 10 s, 32 clients)
source "$(dirname "$0")/lib.sh"
cmake --build --preset release --target mailwright_plugin_postgres-auth mailwright_plugin_postgres-store >/dev/null
MAILWRIGHTD=$PWD/build/release/examples/mailwrightd/mailwrightd \
    exec python3 bench/scale_out.py --seconds "${1:-10}" --concurrency "${2:-32}"
