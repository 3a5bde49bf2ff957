#!/usr/bin/env bash
# TLS handshakes per second against mailwrightd, with an ECDSA P-256 certificate (made by mailwrightd) and an
# RSA-2048 one, plaintext connections per second against the same daemon, and wolfSSL's own in-memory rate.
# Usage: bench/tls.sh [seconds] [concurrency]   (default 10 s, 4 clients)
source "$(dirname "$0")/lib.sh"
seconds=${1:-10}
concurrency=${2:-4}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/rsa.key" -out "$work/rsa.pem" -subj /CN=localhost \
    -days 2 2>/dev/null
for kind in ecdsa rsa; do
    if [ "$kind" = ecdsa ]; then cert="$work/ecdsa.pem" key="$work/ecdsa.key"; else cert="$work/rsa.pem" key="$work/rsa.key"; fi
    start_daemon "
[server]
max_connections = 100000
max_connections_per_ip = 100000
[log]
level = \"info\"
[tls]
certificate = \"$cert\"
key = \"$key\"
generate_self_signed = true
[[listener]]
name = \"tls\"
service = \"echo\"
port = 0
tls = \"implicit\"
[[listener]]
name = \"plain\"
service = \"echo\"
port = 0"
    port=$(port_of tls)
    echo "== $kind certificate"
    build/release/bench/mailwright-bench tls --port "$port" --seconds "$seconds" --concurrency "$concurrency" \
        --pid "$daemon"
done
# The same daemon, the same clients, no TLS: connect, greeting, close. Its cost per connection is what a
# handshake over the network pays on top of wolfSSL's own work.
echo "== plaintext"
build/release/bench/mailwright-bench tls --plain --port "$(port_of plain)" --seconds "$seconds" \
    --concurrency "$concurrency" --pid "$daemon"
# The baseline: wolfSSL alone, in memory, one core, with the same ECDSA certificate (bench/wolfssl_handshakes.cpp).
# mailwrightd's figure above uses every core the machine has and the loopback network as well.
echo "== wolfSSL in memory, ECDSA certificate"
build/release/bench/mailwright-bench-wolfssl --cert "$work/ecdsa.pem" --key "$work/ecdsa.key" --seconds "$seconds"
