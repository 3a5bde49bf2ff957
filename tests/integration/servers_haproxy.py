"""HAProxy (the Debian package) on loopback, in a temporary directory: see HAProxy."""
import shutil

from servers_base import HOST, Server, accepts, free_port

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


class HAProxy(Server):
    """`haproxy -db -f haproxy.cfg`: TCP mode (`mode tcp`), one frontend per route, each on its own loopback port
    (`ports[name]`), each with a backend of its own.

    routes: {name: (server, bind_options)} where `server` is what follows `server s <address>` (e.g.
    "127.0.0.1:2525 send-proxy-v2"), or a list of whole server lines after `server` for a backend of several
    (e.g. ["a 127.0.0.1:2525 send-proxy-v2 check", "b 127.0.0.1:2526 send-proxy-v2 check backup"]: round robin
    over those not marked backup, a connection a server refuses redispatched to another), and `bind_options`
    what follows `bind 127.0.0.1:<port>` (e.g. "ssl crt /path/combined.pem", or ""). HAProxy connects to the
    servers from 127.0.0.1. It runs as the user that starts it, in the foreground (-db), logging nothing of its
    own but its start-up messages."""

    name = "haproxy"

    def __init__(self, routes, start_timeout=20.0):
        super().__init__()
        self.routes = dict(routes)
        self.start_timeout = start_timeout
        self.ports = {name: free_port() for name in self.routes}
        self._first_start(self._configure)

    def _configure(self):
        lines = ["# Written by tests/integration/servers_haproxy.py", "global", "    maxconn 256", "", "defaults",
                 "    mode tcp", "    timeout connect 5s", "    timeout client 60s", "    timeout server 60s", ""]
        for name, (server, bind_options) in self.routes.items():
            lines += [f"frontend {name}", f"    bind {HOST}:{self.ports[name]} {bind_options}".rstrip(),
                      f"    default_backend {name}_servers", "", f"backend {name}_servers"]
            if isinstance(server, str):
                lines += [f"    server s {server}", ""]
            else:
                lines += ["    option redispatch", "    retries 3"] + [f"    server {line}" for line in server] + [""]
        self.config_path = self.write("haproxy.cfg", "\n".join(lines))

    def start(self):
        self._spawn([HAPROXY, "-db", "-f", self.config_path])
        self._wait(lambda: all(accepts(port) for port in self.ports.values()), self.start_timeout)
