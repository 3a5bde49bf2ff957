#!/usr/bin/env bash
# mailwrightd beside its peers, each pair measured by the same clients in the same run, alternating.
#
# SMTP: mailwrightd beside Postfix's do-nothing server, both measured by the same two clients: Postfix's
# smtp-source and `mailwright-bench smtp`. mailwrightd runs as an MX into the discard store (the protocol's cost
# alone); smtp-sink accepts and forgets. 1 KiB messages, 20 sessions, a new connection per message and then one
# connection for many messages. mailwrightd runs twice: with one worker, the shape of smtp-sink (one process,
# one event loop), and with its default of a worker per core. smtp-source and smtp-sink come from Debian's
# postfix package, installed here without a configuration (so no Postfix daemon starts). A go-smtp sink is not
# among the peers: Debian packages go-smtp only as a library's source (golang-github-emersion-go-smtp-dev, no
# program), and nothing in Debian builds a runnable server from it.
#
# POP3: mailwrightd beside Dovecot 2.3's POP3 (Debian's dovecot-pop3d; bench/dovecot-pop3.conf, templated into
# the temporary directory, loopback only), plaintext and implicit TLS, both driven by `mailwright-bench pop3`
# (as bench/pop3.sh: connect, AUTH PLAIN, STAT, RETR of a 10 KiB message, QUIT; 32 clients, a user each) with
# the same users, passwords, password hashes (--scheme) and Maildir contents. mailwrightd with its defaults;
# Dovecot with its auth cache on and its processes tuned as its documentation advises. Rounds alternate
# mailwrightd and Dovecot; the table gives each one's median sessions/s and server CPU per session (its whole
# process tree, from /proc) and the ratio mailwrightd / Dovecot of those medians.
#
# Usage: bench/peers.sh [messages] [seconds] [--scheme YESCRYPT|SHA512-CRYPT|PLAIN-EQUIVALENT] [--rounds N]
#                       [--only smtp|pop3] [--server 'KEY = VALUE'] [--config 'TOML']
#   (default 20000 messages per smtp-source run, 10 s per bench run, PLAIN-EQUIVALENT, 3 POP3 rounds; --server
#   and --config add to mailwrightd's POP3 configuration, as in bench/pop3.sh)
source "$(dirname "$0")/lib.sh"
positional=()
scheme=PLAIN-EQUIVALENT
rounds=3
only=""
server_extra=${MAILWRIGHT_BENCH_SERVER:-}
config_extra=${MAILWRIGHT_BENCH_CONFIG:-}
while [ $# -gt 0 ]; do
    case $1 in
        --scheme) scheme=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --server) server_extra+=$'\n'$2; shift 2 ;;
        --config) config_extra+=$'\n'$2; shift 2 ;;
        -*) echo "peers.sh: unknown option $1" >&2; exit 2 ;;
        *) positional+=("$1"); shift ;;
    esac
done
messages=${positional[0]:-20000}
seconds=${positional[1]:-10}
sessions=20
tables="$work/tables.md"
: > "$tables"

smtp_peers() {
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
sink_port=$(free_port)
smtp-sink -u postfix "127.0.0.1:$sink_port" 1024 &
sink=$!
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
kill "$sink" 2>/dev/null || true
wait "$sink" 2>/dev/null || true

{
echo "Postfix's do-nothing \`smtp-sink\` and mailwrightd into the discard store, both measured by the same clients, 1 KiB messages:"
echo
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
echo
} >> "$tables"
}

# Dovecot's master and everything below it stop with it (SIGTERM; -F keeps it in the foreground, our child).
dovecot_pid=""
stop_dovecot() {
    if [ -n "$dovecot_pid" ]; then
        kill "$dovecot_pid" 2>/dev/null || true
        wait "$dovecot_pid" 2>/dev/null || true
        dovecot_pid=""
    fi
}
sink=""
trap 'stop_dovecot; [ -z "$sink" ] || kill "$sink" 2>/dev/null; stop_daemon; rm -rf "$work"' EXIT

pop3_peers() {
local concurrency=32 password=secret
# Dovecot reads mail as the mail user, never as root: its copy of the Maildirs is the mail user's, and that
# user may pass through the temporary directory (mode 0711: it may not list it).
MAIL_UID=$(id -u mail) MAIL_GID=$(id -g mail)
export MAIL_UID MAIL_GID
chmod 0711 "$work"
make_pop3_users "$concurrency" "$scheme" "$password"
mkdir -p "$work/dovecot-mail" "$work/run" "$work/state"
cp -a "$work/mail/." "$work/dovecot-mail/"
chown -R mail:mail "$work/dovecot-mail"
chown root:dovecot "$work/dovecot-users"
chmod 0640 "$work/dovecot-users"
self_signed_certificate
local pop3_port pop3s_port
pop3_port=$(free_port)
pop3s_port=$(free_port)
sed -e "s|@DIR@|$work|g" -e "s|@POP3_PORT@|$pop3_port|" -e "s|@POP3S_PORT@|$pop3s_port|" \
    -e "s|@UID@|$MAIL_UID|" -e "s|@LOGIN_PROCESSES@|$(nproc)|" bench/dovecot-pop3.conf > "$work/dovecot.conf"
dovecot -F -c "$work/dovecot.conf" &
dovecot_pid=$!
for _ in $(seq 100); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $pop3s_port), 1)" 2>/dev/null; then
        break
    fi
    sleep 0.1
done

start_daemon "
[server]
hostname = \"bench.example.org\"
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
$config_extra"
local mw_pop3 mw_pop3s
mw_pop3=$(port_of pop3)
mw_pop3s=$(port_of pop3s)

# pop3_figures PORT PID [--tls]: one run; prints sessions/s, CPU us per session, p50, p99, first-session p50.
pop3_figures() {
    local out
    out=$(build/release/bench/mailwright-bench pop3 --port "$1" --pid "$2" --seconds "$seconds" \
        --concurrency "$concurrency" --users "$concurrency" --password "$password" ${3:-})
    echo "$out" >&2
    python3 -c 'import json, sys
j = json.loads([l for l in sys.stdin if l.startswith("{")][-1])
print(j["sessions_per_second"], j.get("server_cpu_us_per_session", 0), j["p50_ms"], j["p99_ms"], j["first_p50_ms"],
      j.get("server_pss_kib", 0))' <<<"$out"
}

declare -A fig
local mode round server port pid
for ((round = 1; round <= rounds; round++)); do
    for mode in plain tls; do
        for server in mailwrightd dovecot; do
            if [ "$server" = mailwrightd ]; then
                pid=$daemon port=$mw_pop3
                [ "$mode" = tls ] && port=$mw_pop3s
            else
                pid=$dovecot_pid port=$pop3_port
                [ "$mode" = tls ] && port=$pop3s_port
            fi
            echo "== POP3 $mode, $server, round $round of $rounds" >&2
            fig[$server.$mode.$round]=$(pop3_figures "$port" "$pid" "$([ "$mode" = tls ] && echo --tls)")
        done
    done
done
stop_daemon
stop_dovecot

# column SERVER MODE N: the Nth figure of every round.
column() {
    local r
    for ((r = 1; r <= rounds; r++)); do
        read -ra f <<<"${fig[$1.$2.$r]}"
        echo "${f[$3]}"
    done
}
{
echo "POP3 sessions/s of mailwrightd and Dovecot $(dovecot --version | cut -d' ' -f1) (its auth cache on, its processes tuned), both driven by \`mailwright-bench pop3 --concurrency $concurrency\` (connect, AUTH PLAIN, STAT, RETR 10 KiB, QUIT; a user each), the same users, Maildirs and password hashes (\`--scheme $scheme\`), $rounds alternating rounds of $seconds s, medians; CPU is each server's whole process tree per session:"
echo
printf '| POP3 | mailwrightd sessions/s | Dovecot sessions/s | ratio | mailwrightd CPU/session | Dovecot CPU/session | ratio | p99 mailwrightd, Dovecot | first login p50 mailwrightd, Dovecot | PSS mailwrightd, Dovecot |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
for mode in plain tls; do
    local mr dr mc dc
    mr=$(median $(column mailwrightd "$mode" 0)) dr=$(median $(column dovecot "$mode" 0))
    mc=$(median $(column mailwrightd "$mode" 1)) dc=$(median $(column dovecot "$mode" 1))
    python3 -c "
mr, dr, mc, dc = $mr, $dr, $mc, $dc
print(f'| {\"implicit TLS\" if \"$mode\" == \"tls\" else \"plaintext\"}, $scheme | {mr:,.0f} ({\"$(column mailwrightd "$mode" 0 | paste -sd/)\"}) '
      f'| {dr:,.0f} ({\"$(column dovecot "$mode" 0 | paste -sd/)\"}) | {mr / dr:.2f} | {mc:.0f} us | {dc:.0f} us | {mc / dc:.2f} '
      f'| {$(median $(column mailwrightd "$mode" 3)):.1f} ms, {$(median $(column dovecot "$mode" 3)):.1f} ms '
      f'| {$(median $(column mailwrightd "$mode" 4)):.1f} ms, {$(median $(column dovecot "$mode" 4)):.1f} ms '
      f'| {$(median $(column mailwrightd "$mode" 5)) / 1024:.1f} MiB, {$(median $(column dovecot "$mode" 5)) / 1024:.1f} MiB |')"
done
echo
} >> "$tables"
}

[ "$only" = pop3 ] || smtp_peers
[ "$only" = smtp ] || pop3_peers
echo "== tables"
cat "$tables"
