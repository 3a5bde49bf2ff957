#!/usr/bin/env bash
# What forwarding costs (plugins/forward): messages/s and CPU per message through a front mailwrightd whose
# forward store hands each message to a next hop, against the same load sent straight to that next hop.
# The next hop is a second mailwrightd with the discard store (a "discard next hop": the protocol's cost
# without the disk), listening for SMTP and LMTP. Three runs per round, back to back:
#   direct      mailwright-bench -> next hop (SMTP)
#   via smtp    mailwright-bench -> front (forward, protocol smtp) -> next hop
#   via lmtp    mailwright-bench -> front (forward, protocol lmtp) -> next hop
# The front answers 250 only after the next hop did, so each message waits for two servers in turn. CPU is
# the daemons' utime + stime from /proc/PID/stat over the run, per message: the front's, and the next hop's.
# Each daemon runs one worker, and connections are reused (--reuse), as in filters.sh.
# Usage: bench/forward.sh [seconds] [rounds] [concurrency] [size]   (default 5 s, 2 rounds, 16 clients, 1 KiB)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
seconds=${1:-5}
rounds=${2:-2}
concurrency=${3:-16}
size=${4:-1024}
cmake --build --preset release --target mailwright_plugin_forward >/dev/null
echo "bench:{PLAIN-EQUIVALENT}$(printf %s secret | base64)" > "$work/passwd"

common="[server]
hostname = \"bench.example.org\"
workers = 1
max_connections = 100000
max_connections_per_ip = 100000
[log]
level = \"info\"
[plugins]
auth = [\"passwd-file\"]
[plugin.passwd-file]
file = \"$work/passwd\""

# The next hop: discard store, SMTP and LMTP listeners.
mkdir -p "$work/hop"
printf '%s\n' "$common
[plugin.discard]
[[listener]]
name = \"smtp\"
service = \"smtp\"
port = 0
[listener.smtp]
local_domains = [\"example.org\"]
[[listener]]
name = \"lmtp\"
service = \"lmtp\"
port = 0
[listener.smtp]
local_domains = [\"example.org\"]" > "$work/hop/mailwright.toml"
build/release/examples/mailwrightd/mailwrightd --config "$work/hop/mailwright.toml" >/dev/null 2>"$work/hop/log" &
hop=$!
trap 'kill -INT $hop 2>/dev/null || true; wait $hop 2>/dev/null || true; stop_daemon; rm -rf "$work"' EXIT
hop_port() {
    for _ in $(seq 200); do
        p=$(sed -n "s/.*listening listener=$1 address=127.0.0.1:\([0-9]*\).*/\1/p" "$work/hop/log" | head -n 1)
        [ -n "$p" ] && { echo "$p"; return; }
        sleep 0.1
    done
    cat "$work/hop/log" >&2
    exit 1
}
hop_smtp=$(hop_port smtp)
hop_lmtp=$(hop_port lmtp)

start_front() {  # start_front PROTOCOL PORT
    start_daemon "$common
[plugin.forward.hops.next]
address = \"127.0.0.1:$2\"
protocol = \"$1\"
max_connections = 64
[[plugin.forward.routes]]
match = \"*\"
hop = \"next\"
[[listener]]
name = \"mx\"
service = \"smtp\"
port = 0
[listener.smtp]
local_domains = [\"example.org\"]"
    front=$(port_of mx)
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run NAME PORT: one counted run; rate, front CPU and next-hop CPU per message.
run() {
    local before after out n
    build/release/bench/mailwright-bench smtp --port "$2" --seconds 1 --concurrency "$concurrency" --reuse \
        --to bench@example.org >/dev/null
    before=$(cpu_ticks "$hop")
    if [ "$1" = direct ]; then
        out=$(build/release/bench/mailwright-bench smtp --port "$2" --seconds "$seconds" \
            --concurrency "$concurrency" --size "$size" --reuse --to bench@example.org --pid "$hop")
    else
        out=$(build/release/bench/mailwright-bench smtp --port "$2" --seconds "$seconds" \
            --concurrency "$concurrency" --size "$size" --reuse --to bench@example.org --pid "$daemon")
    fi
    after=$(cpu_ticks "$hop")
    if [ "$(sed -n 's/.*"failed":\([0-9]*\).*/\1/p' <<<"$out")" != 0 ]; then
        echo "forward: messages refused or lost in '$1': $out" >&2
        tail -n 5 "$work/log" >&2
        exit 1
    fi
    n=$(sed -n 's/.*"messages":\([0-9]*\).*/\1/p' <<<"$out")
    local rate front_cpu hop_cpu
    rate=$(sed -n 's/.*"messages_per_second":\([0-9.]*\).*/\1/p' <<<"$out")
    front_cpu=$(sed -n 's/.*"server_cpu_us_per_message":\([0-9.]*\).*/\1/p' <<<"$out")
    hop_cpu=$(awk -v t=$((after - before)) -v n="$n" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
    [ "$1" = direct ] && front_cpu="-"
    echo "| $1 | $3 | $(printf "%'.0f" "$rate") | $front_cpu | $hop_cpu |"
}

echo "| path | round | msg/s | front CPU per message, us | next hop CPU per message, us |"
echo "| --- | --- | --- | --- | --- |"
for round in $(seq "$rounds"); do
    run direct "$hop_smtp" "$round"
    start_front smtp "$hop_smtp"
    run "via smtp" "$front" "$round"
    start_front lmtp "$hop_lmtp"
    run "via lmtp" "$front" "$round"
    stop_daemon
done
echo
echo "($size-octet messages, $concurrency clients, $seconds s a run, one worker per daemon)"
