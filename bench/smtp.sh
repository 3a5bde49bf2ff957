#!/usr/bin/env bash
# SMTP messages per second against mailwrightd as an MX (bench/smtp_messages.cpp): every message is MAIL, RCPT
# to one local user, DATA, the text and the final ".", counted when the server answers 250. Two stores: discard
# (the protocol's cost alone) and Maildir (each message written and fsync'd). For each: 1 KiB and 100 KiB
# messages over plaintext, a new connection per message and many messages per connection (--reuse), then
# 1 KiB and 100 KiB over implicit TLS with --reuse.
# Usage: bench/smtp.sh [seconds] [concurrency]   (default 10 s, 16 clients)
source "$(dirname "$0")/lib.sh"
seconds=${1:-10}
concurrency=${2:-16}

# The MX checks a recipient through the auth chain's lookup, so the recipient is a user here. Its password is
# never used; {PLAIN-EQUIVALENT} keeps the line simple.
echo "bench:{PLAIN-EQUIVALENT}$(printf %s secret | base64)" > "$work/passwd"

# Level info, not warn: port_of needs the "listening listener=..." line, which is logged at info (so is a line
# per connection and per message).
config_for() {
    printf '%s\n' "
[server]
hostname = \"bench.example.org\"
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
    echo "== $store, $*"
    build/release/bench/mailwright-bench smtp --seconds "$seconds" --concurrency "$concurrency" \
        --to bench@example.org "$@"
    # Each run starts from an empty Maildir, and the disk does not fill up over the runs.
    find "$work/mail" -type f -delete 2>/dev/null || true
}

for store in discard maildir; do
    if [ "$store" = discard ]; then
        start_daemon "$(config_for "[plugin.discard]")"
    else
        start_daemon "$(config_for "[plugin.maildir]
path = \"$work/mail/%u/Maildir\"")"
    fi
    mx=$(port_of mx)
    mxs=$(port_of mxs)
    for size in 1024 102400; do
        run --port "$mx" --size "$size"
        run --port "$mx" --size "$size" --reuse
    done
    run --port "$mxs" --size 1024 --tls --reuse
    run --port "$mxs" --size 102400 --tls --reuse
done
