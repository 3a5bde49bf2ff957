#!/usr/bin/env bash
# RSS of mailwrightd per session waiting for its next command (bench/idle_connections.cpp): each session is
# greeted, asks one command (POP3 CAPA, SMTP EHLO, a line for echo) and then stays open, idle.
# Usage: bench/idle.sh [connections] [--tls] [--service pop3|smtp|echo]   (default 10000, plaintext, pop3)
# 100,000 sessions need 100,000 descriptors in the daemon and in the client: the script raises the soft and,
# when it may (CAP_SYS_RESOURCE), the hard limit of open files; on a machine where it may not, the run stops
# with the limit it found.
source "$(dirname "$0")/lib.sh"
connections=${1:-10000}
shift || true
tls_listener=""
tls=""
service=pop3
while [ $# -gt 0 ]; do
    case "$1" in
        --tls) tls_listener='tls = "implicit"'; tls=--tls ;;
        --service) service=$2; shift ;;
        *) echo "usage: bench/idle.sh [connections] [--tls] [--service pop3|smtp|echo]" >&2; exit 2 ;;
    esac
    shift
done

# Descriptors: the sessions, their listeners, the daemon's own files, with room to spare (fs.nr_open bounds it).
want=$((connections + 1024))
nr_open=$(cat /proc/sys/fs/nr_open)
[ "$want" -gt "$nr_open" ] && want=$nr_open
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$want" ]; then
    ulimit -Hn "$want" 2>/dev/null || echo "note: the hard limit of open files stays $(ulimit -Hn) (no CAP_SYS_RESOURCE)" >&2
fi
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((connections + 64)) ]; then
    echo "bench/idle.sh: $connections sessions need more open files than the limit, $(ulimit -n)" >&2
    exit 2
fi

# POP3 and SMTP sessions need an auth backend and a store: passwd-file with one user, Maildir and discard.
echo "bench:{PLAIN-EQUIVALENT}$(printf %s secret | base64)" > "$work/passwd"
mkdir -p "$work/mail"
case "$service" in
    pop3) store='[plugin.maildir]
path = "'"$work"'/mail/%u/Maildir"'
          listener_extra='' ;;
    smtp) store='[plugin.discard]'
          listener_extra='[listener.smtp]
local_domains = ["example.org"]' ;;
    echo) store=''
          listener_extra='' ;;
    *) echo "bench/idle.sh: unknown service $service" >&2; exit 2 ;;
esac

# Level warn would log less, but port_of needs the "listening listener=..." line, logged at info.
start_daemon "
[server]
hostname = \"bench.example.org\"
max_connections = $((connections + 1000))
max_connections_per_ip = $((connections + 1000))
[log]
level = \"info\"
[plugin.passwd-file]
file = \"$work/passwd\"
$store
[tls]
certificate = \"$work/cert.pem\"
key = \"$work/key.pem\"
generate_self_signed = true
[[listener]]
name = \"idle\"
service = \"$service\"
port = 0
$tls_listener
$listener_extra"
port=$(port_of idle)
build/release/bench/mailwright-bench idle --port "$port" --pid "$daemon" --connections "$connections" \
    --service "$service" $tls
