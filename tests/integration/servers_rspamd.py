"""rspamd on loopback with its stock configuration and every directory in a temporary one: see Rspamd."""
import http.client
import json
import os
import shutil

from servers_base import HOST, Server, accepts, chown_tree, free_port

RSPAMD = shutil.which("rspamd") or "/usr/bin/rspamd"
STOCK_CONFIG = "/etc/rspamd/rspamd.conf"
RSPAMD_USER = "_rspamd"

# The GTUBE line; rspamd finds it only with a line end after it.
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# The top-level domains rspamd knows for URLs unless full_tld_list: the stock list (9,600 public suffixes)
# costs 11 s to 25 s of start-up on two cores, a list of five about 0.1 s.
SHORT_TLD_LIST = "com\norg\nnet\nexample\ntest\n"


class Rspamd(Server):
    """`rspamd -f -c /etc/rspamd/rspamd.conf` with the variables LOCAL_CONFDIR, DBDIR, RUNDIR and LOGDIR
    pointing into `dir` (nothing of /var/lib/rspamd, /run/rspamd or /var/log/rspamd is used), run as the
    system user _rspamd. Its override.d (dir/local/override.d) moves the workers to loopback ports chosen here:
      milter_port      the proxy worker with `milter = yes` (self_scan: it scans by itself, no upstream);
      normal_port      the normal worker (HTTP: /checkv2, /ping);
      controller_port  the controller (HTTP; /ping, /stat; password q1 is the stock one, for 127.0.0.1).
    No Redis: the modules that need it stay off; GTUBE is found without it (action "reject"; over the milter
    port, a replycode "554 5.7.1 Gtube pattern" at end of message). Over the milter port it adds X-Spamd-Result
    and X-Spam-Status to every message (local.d/milter_headers.conf), loopback clients' too.
    Nothing leaves 127.0.0.1: rspamd's DNS goes to a closed loopback port (every lookup fails within its 1 s
    timeout: no RBL, no remote maps), and fuzzy_check, whose servers the main process would resolve through
    the system's resolver, is left out of `filters`. Hyperscan is off (its compile would take the two cores
    for minutes), and URLs know only the TLDs of SHORT_TLD_LIST unless full_tld_list (see there).
    rspamd is ready when both HTTP workers answer /ping and the milter port accepts; `started_in` says how long
    that took (about 1.5 s here, 12 s to 25 s with full_tld_list)."""

    name = "rspamd"

    def __init__(self, start_timeout=60.0, task_timeout="8s", full_tld_list=False):
        super().__init__()
        self.start_timeout = start_timeout
        self.full_tld_list = full_tld_list
        self.milter_port, self.normal_port, self.controller_port = free_port(), free_port(), free_port()
        self.log_files += [self.path("log", "rspamd.log")]
        self._first_start(lambda: self._configure(task_timeout))

    def _configure(self, task_timeout):
        for sub in ("db", "run", "log", "tmp"):
            os.makedirs(self.path(sub), mode=0o750)
        dead_dns = free_port()  # nobody listens there: every query is refused by the kernel at once
        override = "local/override.d/"
        self.write(override + "worker-normal.inc", f'bind_socket = "{HOST}:{self.normal_port}";\ncount = 1;\n')
        self.write(override + "worker-controller.inc", f'bind_socket = "{HOST}:{self.controller_port}";\n'
                   'count = 1;\npassword = "q1";\nsecure_ip = "127.0.0.1";\n')
        self.write(override + "worker-proxy.inc", f"""bind_socket = "{HOST}:{self.milter_port}";
milter = yes;
timeout = 60s;
count = 1;
upstream "local" {{
  default = yes;
  self_scan = yes;
}}
""")
        self.write(override + "options.inc", f"""pidfile = "{self.path("run", "rspamd.pid")}";
tempdir = "{self.path("tmp")}";
task_timeout = {task_timeout};
disable_hyperscan = true;
filters = "chartable,dkim,regexp";
{"" if self.full_tld_list else f'url_tld = "{self.path("local", "tld.dat")}";'}
dns {{
  nameserver = ["{HOST}:{dead_dns}"];
  timeout = 1s;
  retransmits = 1;
}}
""")
        self.write(override + "logging.inc", 'level = "info";\n')
        # The headers rspamd adds over the milter protocol, for loopback and authenticated clients too (the
        # stock settings skip both, and every test client is one).
        self.write("local/local.d/milter_headers.conf", 'use = ["x-spamd-result", "x-spam-status"];\n'
                   "skip_local = false;\nskip_authenticated = false;\n")
        self.write("local/tld.dat", SHORT_TLD_LIST)
        for sub in ("db", "run", "log", "tmp"):
            chown_tree(self.path(sub), RSPAMD_USER)

    def start(self):
        self._spawn([RSPAMD, "-f", "-u", RSPAMD_USER, "-g", RSPAMD_USER, "-c", STOCK_CONFIG,
                     "--var", f"LOCAL_CONFDIR={self.path('local')}", "--var", f"DBDIR={self.path('db')}",
                     "--var", f"RUNDIR={self.path('run')}", "--var", f"LOGDIR={self.path('log')}"])
        self._wait(self._ready, self.start_timeout)

    def _ready(self):
        try:
            return (self.request(self.normal_port, "GET", "/ping", timeout=2)[1].strip() == b"pong"
                    and self.request(self.controller_port, "GET", "/ping", timeout=2)[1].strip() == b"pong"
                    and accepts(self.milter_port))
        except OSError:
            return False

    def request(self, port, method, path, body=None, headers=None, timeout=30):
        """One HTTP request to a worker on 127.0.0.1:port: (status, body bytes)."""
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def check(self, message, timeout=30, **headers):
        """The normal worker's /checkv2 verdict on `message` (bytes) as a dict ("action", "score", "symbols"...).
        headers: rspamd's request headers, e.g. IP="127.0.0.1", From="a@example.org"."""
        status, body = self.request(self.normal_port, "POST", "/checkv2", body=message,
                                    headers={k.replace("_", "-"): v for k, v in headers.items()}, timeout=timeout)
        if status != 200:
            raise AssertionError(f"rspamd /checkv2 answered {status}: {body[:500]!r}")
        return json.loads(body)
