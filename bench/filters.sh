#!/usr/bin/env bash
# What the stock hook plugins and filters cost per message (plugins/: access, ratelimit, aliases, headers):
# mailwrightd as an MX into the discard store (the protocol's cost without the disk), started afresh with no
# plugin, with all four, and with each one alone, and driven by `mailwright-bench smtp --reuse --pid` with 1 KiB
# and 100 KiB messages. Each plugin does its real work and never refuses:
#   access     100 rules, 25 of each kind (client, helo, sender, recipient), none matching;
#   ratelimit  every rule (connections, messages, recipients; per client, network, sender, user) at
#              "1000000/1s", far above what the clients send;
#   aliases    a map of 1000 entries, and the recipient reaches its user through one of them;
#   headers    its defaults: Authentication-Results written, forged ones looked for.
# The figures are messages/s and, steadier on a shared machine, the daemon's CPU time per message (utime +
# stime of /proc/PID/stat over the run), and the difference of that from the run with no plugin in the same
# round. Rounds repeat the whole set; within a round, "none" and "all" run back to back. Connections are
# reused, so what a plugin does at connect (access's client rules, ratelimit's connection buckets) is paid once
# per connection, not per message. Each daemon first takes a 1-second run that is not counted (warm-up).
# The daemon runs one worker by default, so it has a core and the load generator the other (as in peers.sh):
# with a worker per core the three busy threads take turns on two cores, and what a message costs depends on
# how they are scheduled more than on the plugins.
# Last, mailwright-bench-pipeline (bench/pipeline.cpp): the headers filter's cost in the pipeline alone, in
# one thread without sockets, which the noise of a shared machine hardly moves.
# Usage: bench/filters.sh [seconds] [rounds] [concurrency] [workers]   (default 5 s a run, 2 rounds, 16
# clients, 1 worker; 0 workers: one per core)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
seconds=${1:-5}
rounds=${2:-2}
concurrency=${3:-16}
workers=${4:-1}
cmake --build --preset release --target mailwright_plugin_access mailwright_plugin_ratelimit \
    mailwright_plugin_aliases mailwright_plugin_headers mailwright-bench-pipeline >/dev/null

echo "bench:{PLAIN-EQUIVALENT}$(printf %s secret | base64)" > "$work/passwd"

# The access rules: documentation networks, names and addresses the benchmark's client never uses (it
# connects from 127.0.0.x, says EHLO bench.remote.example, sends from sender@remote.example).
for i in $(seq 0 24); do
    echo "client     198.51.$i.0/24            reject   554 5.7.1 Network $i sends no mail here"
    echo "helo       *.dynamic$i.example      reject   550 5.7.1 Use your provider's relay"
    echo "sender     bounce-*@*.list$i.example tempfail"
    echo "recipient  abuse$i@example.net        accept"
done > "$work/access.rules"

# The alias map: 1000 entries of the usual kinds; alias0500@example.org is the one the messages go to.
for n in $(seq 0 999); do
    i=$(printf %04d "$n")
    case $((n % 4)) in
    0) echo "alias$i@example.org  user$i" ;;
    1) echo "list$i@example.org  user$i, user$(printf %04d $((n + 1))), alias$(printf %04d $((n - 1)))@example.org" ;;
    2) echo "role$i  user$i" ;;
    3) echo "@domain$i.example  user$i" ;;
    esac
done | sed 's/^alias0500@example.org .*/alias0500@example.org  bench/' > "$work/aliases.map"
grep -q '^alias0500@example.org  bench$' "$work/aliases.map"

limit='"1000000/1s"'
table_access="[plugin.access]
rules = \"$work/access.rules\""
table_ratelimit="[plugin.ratelimit]
client_connections = $limit
network_connections = $limit
client_messages = $limit
network_messages = $limit
user_messages = $limit
sender_messages = $limit
client_recipients = $limit
network_recipients = $limit
user_recipients = $limit
sender_recipients = $limit"
table_aliases="[plugin.aliases]
map = \"$work/aliases.map\""
table_headers="[plugin.headers]"

# start_with PLUGIN...: a fresh daemon with those plugins (none: no argument); sets $mx and $to.
start_with() {
    local tables="" hooks="" p
    to=bench@example.org
    for p in "$@"; do
        local var="table_$p"
        tables="$tables
${!var}"
        hooks="$hooks${hooks:+, }\"$p\""
        [ "$p" = aliases ] && to=alias0500@example.org
    done
    # Level info, as smtp.sh: port_of needs the "listening" line (a line per connection and message too).
    start_daemon "
[server]
hostname = \"bench.example.org\"
workers = $workers
max_connections = 100000
max_connections_per_ip = 100000
[log]
level = \"info\"
[plugins]
auth = [\"passwd-file\"]
hooks = [$hooks]
[plugin.passwd-file]
file = \"$work/passwd\"
[plugin.discard]
$tables
[[listener]]
name = \"mx\"
service = \"smtp\"
port = 0
[listener.smtp]
local_domains = [\"example.org\"]"
    mx=$(port_of mx)
}

# measure NAME SIZE ROUND: one counted run; its rate and CPU per message go into rate[...] and cpu[...].
declare -A rate cpu
measure() {
    local out failed
    out=$(build/release/bench/mailwright-bench smtp --port "$mx" --seconds "$seconds" --concurrency "$concurrency" \
        --size "$2" --reuse --to "$to" --pid "$daemon")
    echo "== $1, $2 B, round $3: $(head -n 1 <<<"$out")" >&2
    failed=$(sed -n 's/.*"failed":\([0-9]*\).*/\1/p' <<<"$out")
    if [ "$failed" != 0 ]; then
        echo "filters: $1 refused or lost $failed messages: a plugin is not configured to let all through" >&2
        tail -n 5 "$work/log" >&2
        exit 1
    fi
    rate[$1.$2.$3]=$(sed -n 's/.*"messages_per_second":\([0-9.]*\).*/\1/p' <<<"$out")
    cpu[$1.$2.$3]=$(sed -n 's/.*"server_cpu_us_per_message":\([0-9.]*\).*/\1/p' <<<"$out")
}

configs=(none all access ratelimit aliases headers)
sizes=(1024 102400)
for round in $(seq "$rounds"); do
    for name in "${configs[@]}"; do
        case $name in
        none) start_with ;;
        all) start_with access ratelimit aliases headers ;;
        *) start_with "$name" ;;
        esac
        build/release/bench/mailwright-bench smtp --port "$mx" --seconds 1 --concurrency "$concurrency" \
            --reuse --to "$to" >/dev/null
        for size in "${sizes[@]}"; do
            measure "$name" "$size" "$round"
        done
    done
done
stop_daemon

# The table: each cell lists the rounds' figures in order, separated by " / ".
cells() {  # cells KIND NAME SIZE: rate, cpu or delta (cpu minus the same round's "none")
    local r out=""
    for r in $(seq "$rounds"); do
        local v
        case $1 in
        rate) v=$(printf "%'.0f" "${rate[$2.$3.$r]}") ;;
        cpu) v=$(printf '%.1f' "${cpu[$2.$3.$r]}") ;;
        delta) v=$(awk -v a="${cpu[$2.$3.$r]}" -v b="${cpu[none.$3.$r]}" \
            'BEGIN { printf "%+.1f (%+.0f%%)", a - b, (a - b) * 100 / b }') ;;
        esac
        out="$out${out:+ / }$v"
    done
    echo "$out"
}
echo "| plugins | message | msg/s | daemon CPU per message, us | vs none, us per message |"
echo "| --- | --- | --- | --- | --- |"
for size in "${sizes[@]}"; do
    for name in "${configs[@]}"; do
        label=$name
        [ "$name" = all ] && label="all four"
        delta="-"
        [ "$name" = none ] || delta=$(cells delta "$name" "$size")
        echo "| $label | $((size / 1024)) KiB | $(cells rate "$name" "$size") | $(cells cpu "$name" "$size") | $delta |"
    done
done
echo
build/release/bench/mailwright-bench-pipeline | grep '^pipeline '
