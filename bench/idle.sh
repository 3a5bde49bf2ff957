#!/usr/bin/env bash
# RSS of mailwrightd per idle session. Usage: bench/idle.sh [connections] [--tls]   (default 10000, plain)
source "$(dirname "$0")/lib.sh"
connections=${1:-10000}
shift || true
tls_listener=""
if [ "${1:-}" = "--tls" ]; then
    tls_listener='tls = "implicit"'
fi
start_daemon "
[server]
max_connections = 100000
max_connections_per_ip = 100000
[log]
level = \"info\"
[tls]
certificate = \"$work/cert.pem\"
key = \"$work/key.pem\"
generate_self_signed = true
[[listener]]
name = \"idle\"
service = \"echo\"
port = 0
$tls_listener"
port=$(port_of idle)
build/release/bench/mailwright-bench idle --port "$port" --pid "$daemon" --connections "$connections" ${1:-}
