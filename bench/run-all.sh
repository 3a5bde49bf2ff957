#!/usr/bin/env bash
# The standard set: every benchmark script against a fresh mailwrightd (each starts its own, on loopback, with
# a temporary configuration), its peers beside it (Postfix's smtp-sink and smtp-source, Dovecot's POP3:
# bench/peers.sh), then the figures section of docs/performance.md rewritten from the JSON lines the programs
# print and the tables bench/peers.sh and bench/filters.sh print (the text around it is left alone).
# Usage: bench/run-all.sh [seconds]   (default 10 s a run; the whole set takes about 80 runs of that)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

run() {
    local name=$1
    shift
    echo "== $*" >&2
    "$@" > "$logs/$name.out"
    cat "$logs/$name.out" >&2
    echo "$*" > "$logs/$name.cmd"
}
run pop3 bench/pop3.sh "$seconds" 32
run smtp bench/smtp.sh "$seconds" 16
run tls bench/tls.sh "$seconds" 4
run idle-plain bench/idle.sh 10000
run idle-tls bench/idle.sh 5000 --tls
run peers bench/peers.sh 20000 "$seconds"
run filters bench/filters.sh "$seconds" 2

machine="$(nproc) vCPU, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), \
$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), $(g++ --version | head -1), \
wolfSSL $(dpkg-query -W -f '${Version}' 'libwolfssl[0-9]*' 2>/dev/null | head -c 20), $(date -u +%Y-%m-%d)"

python3 - "$logs" "$machine" docs/performance.md <<'EOF'
import json, os, re, sys

logs, machine, target = sys.argv[1:4]

def runs(name):
    """(heading, json) for each JSON line of a script's output; the heading is the last "== " line before it."""
    heading, out = "", []
    with open(os.path.join(logs, name + ".out")) as f:
        for line in f:
            if line.startswith("== "):
                heading = line[3:].strip()
            elif line.startswith("{"):
                out.append((heading, json.loads(line)))
    return out

def command(name):
    with open(os.path.join(logs, name + ".cmd")) as f:
        return f.read().strip()

def n(x):
    return f"{x:,.0f}"

rows = []
for heading, j in runs("pop3"):
    rows.append((f"POP3 sessions/s (connect, AUTH PLAIN, STAT, RETR {j['retr_octets'] // 1024} KiB, QUIT), "
                 f"{'implicit TLS' if j['tls'] else 'plaintext'}, {j['concurrency']} clients",
                 f"{n(j['sessions_per_second'])}/s (p50 {j['p50_ms']:.1f} ms, p99 {j['p99_ms']:.1f} ms, "
                 f"{j['failed']} failed)", command("pop3")))
for heading, j in runs("smtp"):
    store = {"discard": "the discard store", "maildir": "Maildir (fsync)"}.get(heading.split(",")[0], heading)
    size = f"{j['size'] // 1024} KiB"
    mode = ("TLS, " if j["tls"] else "") + ("reusing connections" if j["reuse"] else "new connection each")
    rows.append((f"SMTP {size} messages/s into {store}, {j['concurrency']} clients, {mode}",
                 f"{n(j['messages_per_second'])}/s (p50 {j['p50_ms']:.1f} ms, p99 {j['p99_ms']:.1f} ms, "
                 f"{j['failed']} failed)", command("smtp")))
for heading, j in runs("tls"):
    if j["bench"] == "wolfssl":
        rows.append((f"wolfSSL {j['version']} alone: full TLS 1.3 handshakes/s in memory, one core, "
                     f"ECDSA P-256 + {j['group']}", f"{n(j['handshakes_per_second'])}/s, client and server; "
                     f"the server's side alone {n(j['server_handshakes_per_cpu_second'])} per CPU-second; "
                     f"{j['heap_kib_per_session']:.1f} KiB heap per established server session",
                     command("tls")))
    elif j.get("plain"):
        rows.append((f"plaintext connections/s against the same mailwrightd (connect, greeting, close), "
                     f"{j['concurrency']} clients", f"{n(j['handshakes_per_s'])}/s (p50 {j['p50_ms']:.1f} ms, "
                     f"p99 {j['p99_ms']:.1f} ms); {n(j['server_handshakes_per_cpu_second'])} per CPU-second of "
                     f"the daemon", command("tls")))
    else:
        rows.append((f"full TLS handshakes/s against mailwrightd, {heading}, {j['concurrency']} clients "
                     f"({j['negotiated']})", f"{n(j['handshakes_per_s'])}/s (p50 {j['p50_ms']:.1f} ms, "
                     f"p99 {j['p99_ms']:.1f} ms); {n(j['server_handshakes_per_cpu_second'])} per CPU-second of "
                     f"the daemon", command("tls")))
for name in ("idle-plain", "idle-tls"):
    for heading, j in runs(name):
        rows.append((f"daemon RSS per idle {'TLS' if j['tls'] else 'plaintext'} session, {n(j['sessions'])} "
                     f"sessions", f"{j['bytes_per_session'] / 1024:.1f} KiB ({j['failed']} failed)", command(name)))

with open(os.path.join(logs, "peers.out")) as f:
    peers = re.split(r"(?m)^== tables\n", f.read())[-1]  # its captions and tables, after the runs' own lines

with open(os.path.join(logs, "filters.out")) as f:
    lines = f.readlines()
    filters = "".join(line for line in lines if line.startswith("|"))
    pipeline = "".join(f"- {line}" for line in lines if line.startswith("pipeline "))

section = [f"Machine: {machine}. Written by `bench/run-all.sh`.", "",
           "| what | figure | command |", "| --- | --- | --- |"]
section += [f"| {what} | {figure} | `{cmd}` |" for what, figure, cmd in rows]
section += ["", f"mailwrightd beside its peers (`{command('peers')}`):", "", peers.rstrip()]
section += ["", "The stock hook plugins and filters (access, ratelimit, aliases, headers) against none: mailwrightd "
            "with one worker into the discard store, connections reused, each round's figure in turn "
            f"(`{command('filters')}`); then the headers filter in the pipeline alone (`mailwright-bench-pipeline`):",
            "", filters.rstrip(), "", pipeline.rstrip()]

with open(target) as f:
    text = f.read()
begin, end = "<!-- run-all:begin -->", "<!-- run-all:end -->"
if begin not in text:
    text = text.rstrip() + f"\n\n## The standard set\n\n{begin}\n{end}\n"
text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: begin + "\n" + "\n".join(section) + "\n" + end,
              text, flags=re.S)
with open(target, "w") as f:
    f.write(text)
print(f"run-all: {len(rows)} figures written to {target}")
EOF
