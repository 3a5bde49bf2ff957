# Shared by the bench scripts: build the release preset, start a throw-away mailwrightd, find its ports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps
cmake --preset release >/dev/null
cmake --build --preset release --target mailwrightd mailwright-bench mailwright-bench-wolfssl \
    mailwright_plugin_passwd-file mailwright_plugin_maildir mailwright_plugin_discard >/dev/null
work=$(mktemp -d)
daemon=""
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
    # MAILWRIGHT_BENCH_WRAP runs the daemon under a profiler, e.g. "perf record -g -o /tmp/perf.data --".
    ${MAILWRIGHT_BENCH_WRAP:-} build/release/examples/mailwrightd/mailwrightd --config "$work/mailwright.toml" \
        >/dev/null 2>"$work/log" &
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
