#!/usr/bin/env bash
# Starts a release mailwrightd on loopback with a throw-away configuration and measures its RSS per idle
# session with mailwright-bench-idle. Usage: bench/idle.sh [connections]   (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
connections=${1:-10000}
scripts/install-deps
cmake --preset release >/dev/null
cmake --build --preset release --target mailwrightd mailwright-bench-idle >/dev/null
work=$(mktemp -d)
trap 'kill $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/mailwright.toml" <<TOML
[server]
max_connections = 100000
max_connections_per_ip = 100000
[log]
level = "info"
[[listener]]
name = "echo"
service = "echo"
port = 0
TOML
build/release/examples/mailwrightd/mailwrightd --config "$work/mailwright.toml" 2>"$work/log" &
daemon=$!
# The kernel chooses the port; the daemon logs it once it serves.
port=""
for _ in $(seq 200); do
    port=$(sed -n 's/.*listening listener=echo address=127.0.0.1:\([0-9]*\).*/\1/p' "$work/log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "idle.sh: mailwrightd did not start:" >&2; cat "$work/log" >&2; exit 1; }
build/release/bench/mailwright-bench-idle --port "$port" --pid "$daemon" --connections "$connections"
