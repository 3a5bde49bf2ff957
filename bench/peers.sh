#!/usr/bin/env bash
# mailwrightd beside Postfix's do-nothing server, both measured by the same two clients: Postfix's smtp-source
# and `mailwright-bench smtp`. mailwrightd runs as an MX into the discard store (the protocol's cost alone);
# smtp-sink accepts and forgets. 1 KiB messages, 20 sessions, a new connection per message and then one
# connection for many messages. smtp-source and smtp-sink come from Debian's postfix package, installed here
# without a configuration (so no Postfix daemon starts). Loopback only.
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
start_daemon "
[server]
hostname = \"bench.example.org\"
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

# smtp-sink on a free loopback port; -u postfix: it drops root after binding, as it insists on.
sink_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
smtp-sink -u postfix "127.0.0.1:$sink_port" 1024 &
sink=$!
trap 'kill $sink 2>/dev/null || true; stop_daemon; rm -rf "$work"' EXIT
sleep 0.5

# smtp_source_rate TARGET [FLAGS]: messages/s of one smtp-source run.
smtp_source_rate() {
    local target=$1
    shift
    local start end
    start=$(date +%s.%N)
    smtp-source -s "$sessions" -l 1024 -m "$messages" -f sender@remote.example -t bench@example.org \
        -M client.example "$@" "$target"
    end=$(date +%s.%N)
    python3 -c "print(f'{$messages / ($end - $start):.0f}')"
}

printf '| client | mode | smtp-sink msg/s | mailwrightd (discard) msg/s |\n| --- | --- | --- | --- |\n'
for mode in new reuse; do
    flags=()
    [ "$mode" = reuse ] && flags=(-d)
    sink_rate=$(smtp_source_rate "127.0.0.1:$sink_port" "${flags[@]}")
    mw_rate=$(smtp_source_rate "127.0.0.1:$mx" "${flags[@]}")
    echo "| smtp-source -s $sessions -l 1024 -m $messages ${flags[*]} | $mode connection | $sink_rate | $mw_rate |"
done
for mode in new reuse; do
    flags=()
    [ "$mode" = reuse ] && flags=(--reuse)
    rate_of() {
        build/release/bench/mailwright-bench smtp --port "$1" --seconds "$seconds" --concurrency "$sessions" \
            --size 1024 --to bench@example.org "${flags[@]}" | sed -n 's/.*"messages_per_second":\([0-9.]*\).*/\1/p'
    }
    sink_rate=$(rate_of "$sink_port")
    mw_rate=$(rate_of "$mx")
    echo "| mailwright-bench smtp --concurrency $sessions --size 1024 ${flags[*]} | $mode connection | ${sink_rate%.*} | ${mw_rate%.*} |"
done
