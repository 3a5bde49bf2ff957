"""OpenDKIM as a milter on loopback, in a temporary directory (see OpenDKIM), and verify_dkim(), which checks a
DKIM-Signature with python3-dkim against the key that OpenDKIM's harness generated, without DNS."""
import os
import re
import shutil
import subprocess
import sys

from servers_base import HOST, Server, ServerError, accepts, chown_tree, free_port

OPENDKIM = shutil.which("opendkim") or "/usr/sbin/opendkim"
OPENDKIM_GENKEY = shutil.which("opendkim-genkey") or "/usr/sbin/opendkim-genkey"
DEBIAN_PYTHON_PACKAGES = "/usr/lib/python3/dist-packages"


def import_debian_module(name):
    """Imports a module of a Debian python3-* package (python3-dkim: `dkim`, python3-milter: `milter`) even when
    python3 is not Debian's own (e.g. a pyenv build of the same 3.x, whose sys.path lacks dist-packages)."""
    try:
        return __import__(name)
    except ImportError:
        if DEBIAN_PYTHON_PACKAGES in sys.path:
            raise
        sys.path.append(DEBIAN_PYTHON_PACKAGES)
        return __import__(name)


def txt_record(path):
    """The TXT record's text from an opendkim-genkey .txt file (its quoted strings joined):
    'v=DKIM1; h=sha256; k=rsa; p=MIIB...'."""
    with open(path) as f:
        return "".join(re.findall(r'"([^"]*)"', f.read()))


class OpenDKIM(Server):
    """`opendkim -f -x opendkim.conf`: a milter on inet:`port`@127.0.0.1 that signs for `domain` with selector
    `selector` (a 2048-bit RSA key made by `opendkim-genkey -D dir/keys -d domain -s selector`: `key_file`,
    `txt_file`, its TXT record's text `txt`, published under `dns_name` = selector._domainkey.domain).

    Mode sv, Canonicalization relaxed/relaxed. A message whose client (the milter connect address) is in
    `internal_hosts` (default 127.0.0.1) and whose From: is in `domain` is signed (a DKIM-Signature field
    added); any other is verified (Authentication-Results added), with the public key of `dns_name` read from
    a file (TestPublicKeys), not from DNS, so the harness's own signatures verify offline.
    OpenDKIM runs as the system user opendkim; it logs to syslog only (LogWhy), so log() holds little beyond
    start-up errors."""

    name = "opendkim"

    def __init__(self, domain="example.org", selector="test", internal_hosts="127.0.0.1", start_timeout=20.0):
        super().__init__()
        self.domain, self.selector = domain, selector
        self.dns_name = f"{selector}._domainkey.{domain}"
        self.start_timeout = start_timeout
        self.port = free_port()
        self._first_start(lambda: self._configure(internal_hosts))

    def _configure(self, internal_hosts):
        keys = self.path("keys")
        os.makedirs(keys, mode=0o750)
        subprocess.run([OPENDKIM_GENKEY, "-D", keys, "-d", self.domain, "-s", self.selector], check=True,
                       capture_output=True, timeout=60)
        self.key_file = os.path.join(keys, f"{self.selector}.private")
        self.txt_file = os.path.join(keys, f"{self.selector}.txt")
        self.txt = txt_record(self.txt_file)
        self.write("keys/public", f"{self.dns_name} {self.txt}\n")
        chown_tree(keys, "opendkim")
        self.config_path = self.write("opendkim.conf", f"""# Written by tests/integration/servers_dkim.py
Socket inet:{self.port}@{HOST}
PidFile {self.path("opendkim.pid")}
UserID opendkim:opendkim
UMask 007
Syslog yes
LogWhy yes
Domain {self.domain}
Selector {self.selector}
KeyFile {self.key_file}
RequireSafeKeys no
Mode sv
Canonicalization relaxed/relaxed
InternalHosts {internal_hosts}
TestPublicKeys {self.path("keys", "public")}
""")

    def start(self):
        self._spawn([OPENDKIM, "-f", "-x", self.config_path])
        self._wait(lambda: accepts(self.port), self.start_timeout)

    def dnsfunc(self, name, timeout=5):
        """A dnsfunc for dkim.verify(): the TXT record of dns_name (bytes), nothing for any other name."""
        wanted = self.dns_name.rstrip(".").lower()
        name = name.decode() if isinstance(name, bytes) else name
        return self.txt.encode() if name.rstrip(".").lower() == wanted else None


def verify_dkim(message, opendkim):
    """Whether `message` (bytes, CRLF or LF line ends) carries a DKIM-Signature that verifies with the key of
    `opendkim` (an OpenDKIM harness), looked up through its dnsfunc instead of DNS."""
    dkim = import_debian_module("dkim")
    if b"DKIM-Signature:" not in message and b"dkim-signature:" not in message.lower():
        return False
    try:
        return bool(dkim.verify(message, dnsfunc=opendkim.dnsfunc))
    except dkim.DKIMException:
        return False


def sign_dkim(message, opendkim, headers=(b"from", b"to", b"subject")):
    """`message` with a DKIM-Signature made by python3-dkim with opendkim's private key (relaxed/relaxed)."""
    dkim = import_debian_module("dkim")
    with open(opendkim.key_file, "rb") as f:
        key = f.read()
    signature = dkim.sign(message, opendkim.selector.encode(), opendkim.domain.encode(), key,
                          canonicalize=(b"relaxed", b"relaxed"), include_headers=list(headers))
    return signature + message


__all__ = ["OpenDKIM", "verify_dkim", "sign_dkim", "txt_record", "import_debian_module", "ServerError"]
