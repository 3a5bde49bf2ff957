#!/usr/bin/env bash
# SMTP messages per second against mailwrightd as an MX (bench/smtp_messages.cpp): every message is MAIL, RCPT
# to one local user, DATA, the text and the final ".", counted when the server answers 250. Two stores: discard
# (the protocol's cost alone) and Maildir (each message written and fsync'd). For each: 1 KiB and 100 KiB
# messages over plaintext, a new connection per message and many messages per connection (--reuse), then
# 1 KiB and 100 KiB over implicit TLS with --reuse.
# Usage: bench/smtp.sh [seconds] [concurrency] [--pin] [--workers N] [--store discard|maildir] [--reuse-only]
#   (default 10 s, 16 clients, both stores, every run)
#   --pin          the daemon on CPU 0 (taskset -c 0), the load generator on CPU 1 (taskset -c 1): neither
#                  preempts the other, so the latency figures are the daemon's own, not the scheduler's
#   --workers N    the daemon's [server] workers (default: its default, one per core)
#   --store S      one store only; --reuse-only: only the plaintext 1 KiB runs reusing connections (the tail
#                  latency case of docs/performance.md)
#   The smtp lines give p50, p99, p99.9 and the largest latency, and the daemon's CPU per message.
source "$(dirname "$0")/lib.sh"
positional=()
client_pin=()
workers=""
stores="discard maildir"
reuse_only=""
while [ $# -gt 0 ]; do
    case $1 in
        --pin) daemon_cpus=0 client_pin=(taskset -c 1); shift ;;
        --workers) workers=$2; shift 2 ;;
        --store) stores=$2; shift 2 ;;
        --reuse-only) reuse_only=1; shift ;;
        -*) echo "smtp.sh: unknown option $1" >&2; exit 2 ;;
        *) positional+=("$1"); shift ;;
    esac
done
seconds=${positional[0]:-10}
concurrency=${positional[1]:-16}

# The MX checks a recipient through the auth chain's lookup, so the recipient is a user here. Its password is
# never used; {PLAIN-EQUIVALENT} keeps the line simple.
echo "bench:{PLAIN-EQUIVALENT}$(printf %s secret | base64)" > "$work/passwd"

# Level info, not warn: port_of needs the "listening listener=..." line, which is logged at info (so is a line
# per connection and per message).
config_for() {
    printf '%s\n' "
[server]
hostname = \"bench.example.org\"
${workers:+workers = $workers}
max_connections = 100000
max_connections_per_ip = 100000
[log]
level = \"info\"
[plugin.passwd-file]
file = \"$work/passwd\"
$1
[tls]
certificate = \"$work/cert.pem\"
key = \"$work/key.pem\"
generate_self_signed = true
[[listener]]
name = \"mx\"
service = \"smtp\"
port = 0
[listener.smtp]
local_domains = [\"example.org\"]
[[listener]]
name = \"mxs\"
service = \"smtp\"
port = 0
tls = \"implicit\"
[listener.smtp]
local_domains = [\"example.org\"]"
}

run() {
    echo "== $store, $*${daemon_cpus:+, pinned}${workers:+, $workers workers}"
    "${client_pin[@]}" build/release/bench/mailwright-bench smtp --seconds "$seconds" --concurrency "$concurrency" \
        --to bench@example.org --pid "$daemon" "$@"
    # Each run starts from an empty Maildir, and the disk does not fill up over the runs.
    find "$work/mail" -type f -delete 2>/dev/null || true
}

for store in $stores; do
    if [ "$store" = discard ]; then
        start_daemon "$(config_for "[plugin.discard]")"
    else
        start_daemon "$(config_for "[plugin.maildir]
path = \"$work/mail/%u/Maildir\"")"
    fi
    mx=$(port_of mx)
    mxs=$(port_of mxs)
    if [ -n "$reuse_only" ]; then
        run --port "$mx" --size 1024 --reuse
        continue
    fi
    for size in 1024 102400; do
        run --port "$mx" --size "$size"
        run --port "$mx" --size "$size" --reuse
    done
    run --port "$mxs" --size 1024 --tls --reuse
    run --port "$mxs" --size 102400 --tls --reuse
done
