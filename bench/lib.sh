# Shared by the bench scripts: build the release preset, start a throw-away mailwrightd, find its ports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps
cmake --preset release >/dev/null
cmake --build --preset release --target mailwrightd mailwright-bench mailwright-bench-wolfssl \
    mailwright_plugin_passwd-file mailwright_plugin_maildir mailwright_plugin_discard >/dev/null
work=$(mktemp -d)
daemon=""
daemon_cpus=""
stop_daemon() {
    if [ -n "$daemon" ]; then
        kill -INT "$daemon" 2>/dev/null || true  # SIGINT: a profiler wrapping the daemon passes it on and stops
        wait "$daemon" 2>/dev/null || true
        daemon=""
    fi
}
trap 'stop_daemon; rm -rf "$work"' EXIT

# start_daemon CONFIG_TEXT: starts mailwrightd on it; sets $daemon.
start_daemon() {
    stop_daemon
    printf '%s\n' "$1" > "$work/mailwright.toml"
    # MAILWRIGHT_BENCH_WRAP runs the daemon under a profiler, e.g. "perf record -g -o /tmp/perf.data --";
    # $daemon_cpus (bench/smtp.sh --pin) pins it to those CPUs.
    ${daemon_cpus:+taskset -c $daemon_cpus} ${MAILWRIGHT_BENCH_WRAP:-} build/release/examples/mailwrightd/mailwrightd \
        --config "$work/mailwright.toml" >/dev/null 2>"$work/log" &
    daemon=$!
}

# port_of LISTENER: waits until the daemon logs that listener's port and prints it.
port_of() {
    local port=""
    for _ in $(seq 200); do
        port=$(sed -n "s/.*listening listener=$1 address=127.0.0.1:\([0-9]*\).*/\1/p" "$work/log" | head -n 1)
        [ -n "$port" ] && { echo "$port"; return; }
        sleep 0.1
    done
    echo "mailwrightd did not start:" >&2
    cat "$work/log" >&2
    exit 1
}

# daemon_config_extra: what --server and --config options (bench/pop3.sh, bench/peers.sh) add to a daemon's
# configuration. $server_extra is inserted into its [server] table ("hashing_threads = 2"), $config_extra is
# appended after everything else (whole tables: "[auth]" and "cache_ttl = \"0s\"" on lines of their own). So a
# key that main does not know yet can be measured on and off once it exists, with the same script.
server_extra=""
config_extra=""

# make_pop3_users USERS SCHEME PASSWORD: users user0...user{USERS-1}, each with one 10 KiB message in a Maildir
# of its own, $work/mail/userK/Maildir. Their passwd-file lines, made by `mailwrightd passwd --scheme SCHEME`,
# go to $work/passwd; the same users for Dovecot's passwd-file (uid, gid and home of MAIL_UID, MAIL_GID and
# $work/dovecot-mail/userK when set) go to $work/dovecot-users: the same hash, except that Dovecot does not know
# Mailwright's {PLAIN-EQUIVALENT} (base64 of the password) and gets the password as {PLAIN}, its own cleartext
# scheme, instead (either check is a comparison; the base64 decoding costs mailwrightd a few nanoseconds).
make_pop3_users() {
    local users=$1 scheme=$2 password=$3
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
    : > "$work/passwd"
    : > "$work/dovecot-users"
    local k line hash
    for ((k = 0; k < users; k++)); do
        line=$(printf '%s\n' "$password" | build/release/examples/mailwrightd/mailwrightd passwd --scheme "$scheme" "user$k")
        echo "$line" >> "$work/passwd"
        hash=${line#*:}
        [ "$scheme" = PLAIN-EQUIVALENT ] && hash="{PLAIN}$password"
        echo "user$k:$hash:${MAIL_UID:-}:${MAIL_GID:-}::$work/dovecot-mail/user$k::" >> "$work/dovecot-users"
        mkdir -p "$work/mail/user$k/Maildir/"{cur,new,tmp}
        # The name carries both sizes as mailwright's Maildir store writes them (,S= as stored, ,W= with CRLF),
        # which Dovecot reads too.
        cp "$work/message" "$work/mail/user$k/Maildir/cur/1700000000.M1P1.bench,S=$lf_size,W=$crlf_size:2,"
    done
}

# self_signed_certificate: an ECDSA P-256 certificate in $work/cert.pem and $work/key.pem, as mailwrightd's
# generate_self_signed makes, made first so that another server can be given the same one.
self_signed_certificate() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" \
        -out "$work/cert.pem" -subj /CN=localhost -days 2 2>/dev/null
}

# free_port: a free loopback TCP port.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# median NUMBER...: the median (the lower middle one of an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
