#!/usr/bin/env bash
# mailwrightd beside Postfix's do-nothing server, both measured by the same two clients: Postfix's smtp-source
# and `mailwright-bench smtp`. mailwrightd runs as an MX into the discard store (the protocol's cost alone);
# smtp-sink accepts and forgets. 1 KiB messages, 20 sessions, a new connection per message and then one
# connection for many messages. mailwrightd runs twice: with one worker, the shape of smtp-sink (one process,
# one event loop), and with its default of a worker per core. smtp-source and smtp-sink come from Debian's
# postfix package, installed here without a configuration (so no Postfix daemon starts). Loopback only.
# Usage: bench/peers.sh [messages] [seconds]   (default 20000 messages per smtp-source run, 10 s per bench run)
source "$(dirname "$0")/lib.sh"
messages=${1:-20000}
seconds=${2:-10}
sessions=20

if ! command -v smtp-source >/dev/null || ! command -v smtp-sink >/dev/null; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix >/dev/null
fi

echo "bench:{PLAIN-EQUIVALENT}$(printf %s secret | base64)" > "$work/passwd"
# mailwrightd_with WORKERS: a fresh daemon into the discard store; 0 workers is the default, one per core.
mailwrightd_with() {
    start_daemon "
[server]
hostname = \"bench.example.org\"
workers = $1
max_connections = 100000
max_connections_per_ip = 100000
[log]
level = \"info\"
[plugin.passwd-file]
file = \"$work/passwd\"
[plugin.discard]
[[listener]]
name = \"mx\"
service = \"smtp\"
port = 0
[listener.smtp]
local_domains = [\"example.org\"]"
    mx=$(port_of mx)
}

# smtp-sink on a free loopback port; -u postfix: it drops root after binding, as it insists on.
sink_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
smtp-sink -u postfix "127.0.0.1:$sink_port" 1024 &
sink=$!
trap 'kill $sink 2>/dev/null || true; stop_daemon; rm -rf "$work"' EXIT
sleep 0.5

# smtp_source_rate PORT new|reuse: messages/s of one smtp-source run.
smtp_source_rate() {
    local flags=()
    [ "$2" = reuse ] && flags=(-d)
    local start end
    start=$(date +%s.%N)
    smtp-source -s "$sessions" -l 1024 -m "$messages" -f sender@remote.example -t bench@example.org \
        -M client.example "${flags[@]}" "127.0.0.1:$1"
    end=$(date +%s.%N)
    python3 -c "print(f'{$messages / ($end - $start):.0f}')"
}

# bench_rate PORT new|reuse: messages/s of one mailwright-bench run.
bench_rate() {
    local flags=()
    [ "$2" = reuse ] && flags=(--reuse)
    local rate
    rate=$(build/release/bench/mailwright-bench smtp --port "$1" --seconds "$seconds" --concurrency "$sessions" \
        --size 1024 --to bench@example.org "${flags[@]}" | sed -n 's/.*"messages_per_second":\([0-9.]*\).*/\1/p')
    echo "${rate%.*}"
}

# Each row: smtp-sink, then mailwrightd with one worker (one event loop, as smtp-sink has: the load generator
# has the other core), then with its default of a worker per core (three busy threads on two cores).
declare -A rate
for workers in 1 0; do
    mailwrightd_with "$workers"
    for client in smtp_source_rate bench_rate; do
        for mode in new reuse; do
            rate[$client.$mode.sink.$workers]=$($client "$sink_port" "$mode")
            rate[$client.$mode.mw.$workers]=$($client "$mx" "$mode")
        done
    done
done
stop_daemon

printf '| client | mode | smtp-sink msg/s | mailwrightd, 1 worker | mailwrightd, a worker per core |\n'
printf '| --- | --- | --- | --- | --- |\n'
for client in smtp_source_rate bench_rate; do
    for mode in new reuse; do
        if [ "$client" = smtp_source_rate ]; then
            what="smtp-source -s $sessions -l 1024 -m $messages"
            [ "$mode" = new ] || what="$what -d"
        else
            what="mailwright-bench smtp --concurrency $sessions --size 1024"
            [ "$mode" = new ] || what="$what --reuse"
        fi
        # smtp-sink was measured beside each daemon: both figures, the one next to the 1-worker run first.
        echo "| $what | $mode connection | ${rate[$client.$mode.sink.1]}, ${rate[$client.$mode.sink.0]} |" \
            "${rate[$client.$mode.mw.1]} | ${rate[$client.$mode.mw.0]} |"
    done
done
