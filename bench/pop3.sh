#!/usr/bin/env bash
# POP3 sessions per second against mailwrightd, plaintext and implicit TLS: each session logs in with AUTH PLAIN,
# asks STAT, retrieves one 10 KiB message and quits (bench/pop3_sessions.cpp). Every client has its own user,
# since a maildrop is locked for the length of a session.
# Usage: bench/pop3.sh [seconds] [concurrency] [blocking_threads]   (default 10 s, 32 clients, the daemon's
# default pool)
source "$(dirname "$0")/lib.sh"
seconds=${1:-10}
concurrency=${2:-32}
blocking=${3:-}
users=$concurrency
password=secret

# The message: RFC 5322 text stored with LF line ends, as Maildir readers expect, and 10240 octets with the
# CRLF line ends POP3 sends (the line numbers keep any body line from starting with a dot).
awk -v want=10240 'BEGIN {
    header = "Return-Path: <bench@example.org>\n" \
             "From: Mailwright Bench <bench@example.org>\n" \
             "To: POP3 user <user@example.org>\n" \
             "Subject: POP3 benchmark message\n" \
             "Date: Tue, 14 Nov 2023 22:13:20 +0000\n" \
             "Message-ID: <1700000000.bench@example.org>\n" \
             "MIME-Version: 1.0\n" \
             "Content-Type: text/plain; charset=us-ascii\n" \
             "\n"
    printf "%s", header
    copy = header
    left = want - length(header) - gsub(/\n/, "", copy)  # each LF is two octets as CRLF
    filler = "The quick brown fox jumps over the lazy dog, and the dog does not mind. "
    filler = filler filler
    for (n = 1; left > 0; n++) {
        size = left >= 2 * 71 ? 71 : (left > 100 ? left - 71 : left)  # CRLF octets of this line
        line = sprintf("%04d ", n) substr(filler, 1 + (n - 1) % 40)
        printf "%s\n", substr(line, 1, size - 2)
        left -= size
    }
}' > "$work/message"
lf_size=$(wc -c < "$work/message")
crlf_size=$((lf_size + $(wc -l < "$work/message")))

# {PLAIN-EQUIVALENT}, a cheap scheme, on purpose: this measures the protocol, not the password hash (the cost
# of a real hash is bench/auth_timing.cpp's business).
: > "$work/passwd"
for ((k = 0; k < users; k++)); do
    echo "user$k:{PLAIN-EQUIVALENT}$(printf %s "$password" | base64)" >> "$work/passwd"
    mkdir -p "$work/mail/user$k/Maildir/"{cur,new,tmp}
    # The name carries both sizes as mailwright's Maildir store writes them: ,S= as stored, ,W= with CRLF.
    cp "$work/message" "$work/mail/user$k/Maildir/cur/1700000000.M1P1.bench,S=$lf_size,W=$crlf_size:2,"
done
echo "== $users users, one message each: $crlf_size octets with CRLF line ends ($lf_size as stored)"

# Level info, not warn: port_of needs the "listening listener=..." line, which is logged at info. That also
# logs a few lines per session (connected, logged in, disconnected); with "warn" and fixed ports the figures
# were within 2% of these.
config="
[server]
${blocking:+blocking_threads = $blocking}
max_connections = 100000
max_connections_per_ip = 100000
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
auth_mechanisms = [\"PLAIN\"]"

for mode in plain tls; do
    start_daemon "$config"
    if [ "$mode" = plain ]; then
        port=$(port_of pop3) tls_flag=""
    else
        port=$(port_of pop3s) tls_flag="--tls"
    fi
    echo "== $mode"
    build/release/bench/mailwright-bench pop3 --port "$port" --seconds "$seconds" --concurrency "$concurrency" \
        --users "$users" --password "$password" $tls_flag
done
