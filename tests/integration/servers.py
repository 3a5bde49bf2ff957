"""Real mail servers from Debian packages, each started on loopback in its own temporary directory, for the
tests of forwarding (Dovecot LMTP, a Postfix smarthost), of the milter client (OpenDKIM, rspamd), of the
PostgreSQL plugins and of the PROXY protocol (HAProxy in front):

    Dovecot(users={"alice": "secret"}, quota_tempfail=(), quota_permfail=())   servers_dovecot.py
        lmtp_port, auth_socket, maildir_messages(user)
    Postfix(dovecot, main_cf=None)                                              servers_postfix.py
        port (smtpd: STARTTLS, AUTH through dovecot after TLS, relays to dovecot's LMTP), cert, key, queue()
    OpenDKIM(domain="example.org", selector="test")                             servers_dkim.py
        port (milter), key_file, txt, dnsfunc; verify_dkim(message, opendkim), sign_dkim(message, opendkim)
    Rspamd()                                                                    servers_rspamd.py
        milter_port, normal_port, controller_port, check(message)
    Postgres(user="mailwright", password=..., database="mail")                   servers_postgres.py
        port, conninfo (libpq's, for the role over TCP), psql(sql), socket_dir, freeze()/thaw(); stop(remove=False),
        start()
    HAProxy(routes={name: (server, bind_options)})                              servers_haproxy.py
        ports[name] (TCP mode, one frontend per route; PROXY headers with send-proxy / send-proxy-v2)

Every server picks free ports itself, waits (bounded) until it accepts connections and raises ServerError
with its log when it does not; log() gives its logs; stop() ends it (SIGTERM, bounded wait, SIGKILL to its
process group) and removes its directory, stop(remove=False) keeps the files, and start() runs it again.
Each is a context manager. Nothing outside its temporary directory is written: no /etc, /var or /run.
The servers run as their packages' system users (mail for Dovecot's Maildirs, postfix, opendkim, _rspamd,
postgres), so the tests run as root."""
from servers_base import ServerError, accepts, free_port
from servers_dkim import OpenDKIM, import_debian_module, sign_dkim, verify_dkim
from servers_dovecot import Dovecot
from servers_haproxy import HAProxy
from servers_postfix import Postfix
from servers_postgres import Postgres
from servers_rspamd import GTUBE, Rspamd

__all__ = ["Dovecot", "HAProxy", "Postfix", "Postgres", "OpenDKIM", "Rspamd", "ServerError", "GTUBE", "verify_dkim",
           "sign_dkim", "import_debian_module", "accepts", "free_port"]
