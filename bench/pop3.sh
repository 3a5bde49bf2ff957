#!/usr/bin/env bash
# POP3 sessions per second against mailwrightd, plaintext and implicit TLS: each session logs in with AUTH PLAIN,
# asks STAT, retrieves one 10 KiB message and quits (bench/pop3_sessions.cpp). Every client has its own user,
# since a maildrop is locked for the length of a session. Each run also reports the first session of each client
# apart (the logins a cold credentials cache sees, one per user) and the daemon's CPU time per session.
#
# Usage: bench/pop3.sh [seconds] [concurrency] [blocking_threads] [options]
#   (default 10 s, 32 clients, the daemon's default pool)
#   --scheme YESCRYPT|SHA512-CRYPT|PLAIN-EQUIVALENT   the users' password scheme (default PLAIN-EQUIVALENT, whose
#       check is a comparison: the protocol's cost; the others are what a real installation stores), made by
#       `mailwrightd passwd --scheme`
#   --rounds N        N runs against the same daemon (default 1): round 1 meets whatever the daemon has not
#       cached yet, the later ones what it has
#   --mixed           SMTP deliveries into Maildir on the same daemon while the POP3 sessions run: a paced
#       `mailwright-bench smtp --rate` (new connection per message, 1 KiB, to a user no POP3 client reads) first
#       alone, then during each POP3 round; prints the delivery p50 and p99 of both
#   --smtp-rate R     deliveries per second of --mixed (default 200), from 4 clients
#   --server 'KEY = VALUE'   a line for the daemon's [server] table (repeatable), e.g. 'hashing_threads = 2'
#   --config 'TOML'   text appended to the daemon's configuration (repeatable), e.g. $'[auth]\ncache_ttl = "0s"'
#   Both also from the environment: MAILWRIGHT_BENCH_SERVER and MAILWRIGHT_BENCH_CONFIG.
source "$(dirname "$0")/lib.sh"
positional=()
scheme=PLAIN-EQUIVALENT
rounds=1
mixed=""
smtp_rate=200
server_extra=${MAILWRIGHT_BENCH_SERVER:-}
config_extra=${MAILWRIGHT_BENCH_CONFIG:-}
while [ $# -gt 0 ]; do
    case $1 in
        --scheme) scheme=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --mixed) mixed=1; shift ;;
        --smtp-rate) smtp_rate=$2; shift 2 ;;
        --server) server_extra+=$'\n'$2; shift 2 ;;
        --config) config_extra+=$'\n'$2; shift 2 ;;
        -*) echo "pop3.sh: unknown option $1" >&2; exit 2 ;;
        *) positional+=("$1"); shift ;;
    esac
done
seconds=${positional[0]:-10}
concurrency=${positional[1]:-32}
blocking=${positional[2]:-}
case $scheme in
    YESCRYPT | SHA512-CRYPT | PLAIN-EQUIVALENT) ;;
    *) echo "pop3.sh: --scheme YESCRYPT, SHA512-CRYPT or PLAIN-EQUIVALENT" >&2; exit 2 ;;
esac
users=$concurrency
password=secret

make_pop3_users "$users" "$scheme" "$password"
# The recipient of --mixed: a user of its own, so the POP3 maildrops stay as they are.
printf '%s\n' "$password" | build/release/examples/mailwrightd/mailwrightd passwd --scheme PLAIN-EQUIVALENT bench \
    >> "$work/passwd"
mkdir -p "$work/mail/bench/Maildir/"{cur,new,tmp}
echo "== $users users ($scheme), one message each: $crlf_size octets with CRLF line ends ($lf_size as stored)"

# Level info, not warn: port_of needs the "listening listener=..." line, which is logged at info. That also
# logs a few lines per session (connected, logged in, disconnected); with "warn" and fixed ports the figures
# were within 2% of these.
config="
[server]
hostname = \"bench.example.org\"
${blocking:+blocking_threads = $blocking}
max_connections = 100000
max_connections_per_ip = 100000
$server_extra
[log]
level = \"info\"
[plugin.passwd-file]
file = \"$work/passwd\"
[plugin.maildir]
path = \"$work/mail/%u/Maildir\"
[tls]
certificate = \"$work/cert.pem\"
key = \"$work/key.pem\"
generate_self_signed = true
[[listener]]
name = \"pop3\"
service = \"pop3\"
port = 0
auth_mechanisms = [\"PLAIN\"]
plaintext_auth = true  # AUTH PLAIN without TLS: only for this benchmark, on loopback
[[listener]]
name = \"pop3s\"
service = \"pop3\"
port = 0
tls = \"implicit\"
auth_mechanisms = [\"PLAIN\"]
[[listener]]
name = \"mx\"
service = \"smtp\"
port = 0
[listener.smtp]
local_domains = [\"example.org\"]
$config_extra"

# deliveries SECONDS: the paced SMTP load of --mixed; prints its JSON line's p50 and p99.
deliveries() {
    local out
    out=$(build/release/bench/mailwright-bench smtp --port "$mx" --seconds "$1" --concurrency 4 --rate "$smtp_rate" \
        --size 1024 --to bench@example.org)
    echo "$out" >&2
    sed -n 's/.*"p50_ms":\([0-9.]*\),"p99_ms":\([0-9.]*\).*/\1 \2/p' <<<"$out"
}

for mode in plain tls; do
    start_daemon "$config"
    if [ "$mode" = plain ]; then
        port=$(port_of pop3) tls_flag=""
    else
        port=$(port_of pop3s) tls_flag="--tls"
    fi
    mx=$(port_of mx)
    quiet=""
    if [ -n "$mixed" ]; then
        echo "== $mode: deliveries alone, $smtp_rate/s"
        quiet=$(deliveries "$seconds")
    fi
    for ((round = 1; round <= rounds; round++)); do
        echo "== $mode${mixed:+ with deliveries}, round $round of $rounds"
        build/release/bench/mailwright-bench pop3 --port "$port" --seconds "$seconds" --concurrency "$concurrency" \
            --users "$users" --password "$password" --pid "$daemon" $tls_flag &
        pop3=$!
        if [ -n "$mixed" ]; then
            # The deliveries start a second after the POP3 clients and end a second before them.
            sleep 1
            loaded=$(deliveries "$((seconds > 3 ? seconds - 2 : 1))")
            wait "$pop3"
            read -r quiet_p50 quiet_p99 <<<"$quiet"
            read -r loaded_p50 loaded_p99 <<<"$loaded"
            echo "mixed $mode round $round ($scheme): delivery p50 $quiet_p50 ms, p99 $quiet_p99 ms alone;" \
                "p50 $loaded_p50 ms, p99 $loaded_p99 ms during the POP3 sessions ($smtp_rate/s, 1 KiB, Maildir)"
        else
            wait "$pop3"
        fi
        find "$work/mail/bench/Maildir" -type f -delete
    done
done
