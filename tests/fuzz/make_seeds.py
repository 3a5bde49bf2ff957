#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets: tests/fuzz/corpus/<target>/<name>.

The seeds are small and meaningful: real POP3 dialogues, the SASL exchanges of the RFCs' examples (RFC 2195,
4616, 5802, 7677) and exchanges computed here for the users of fuzz_sasl.cpp, the built-in configuration of
mailwrightd and the example of docs/configuration.md. Run it again after changing a target's input format:
    python3 tests/fuzz/make_seeds.py
"""
import base64
import hashlib
import hmac
import pathlib
import re
import shutil

here = pathlib.Path(__file__).resolve().parent
root = here.parent.parent
corpus = here / "corpus"


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    path = corpus / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


# --- fuzz_pop3_command: one command line each, terminator stripped -------------------------------------------
commands = {
    "user": "USER alice",
    "pass": "PASS correct horse battery staple",
    "apop": "APOP mrose c4c9334bac560ecc979e58001b3e22fb",  # RFC 1939 7
    "auth_list": "AUTH",
    "auth_plain": "AUTH PLAIN",
    "auth_plain_ir": "AUTH PLAIN " + b64("\0alice\0secret"),
    "auth_empty_ir": "AUTH EXTERNAL =",
    "stls": "STLS",
    "capa": "capa",
    "stat": "STAT",
    "list": "LIST",
    "list_1": "LIST 1",
    "retr": "RETR 1",
    "dele": "DELE 2",
    "noop": "NOOP",
    "rset": "RSET",
    "quit": "QUIT",
    "top": "TOP 1 10",
    "top_zero_lines": "TOP 3 0",
    "uidl": "UIDL 3",
    "utf8": "UTF8",
    "two_spaces": "LIST  1",
    "trailing_space": "RETR 1 ",
    "leading_zeros": "RETR 0000000000000000001",
    "huge_count": "TOP 1 18446744073709551615",
    "unknown": "XTND XMIT",
    "pass_empty": "PASS ",
}
for name, line in commands.items():
    write("fuzz_pop3_command", name, line)

# --- fuzz_line_buffer: the stream's bytes; the last bytes choose settings and read sizes ----------------------
write("fuzz_line_buffer", "dialogue", "USER alice\r\nPASS secret\r\nSTAT\r\nQUIT\r\n" + "\x07\x05\x10\x03")
write("fuzz_line_buffer", "bare_lf_reject", "CAPA\nSTAT\r\nLIST\n\r\n" + "\x20\x01")
write("fuzz_line_buffer", "too_long", "NOOP\r\n" + "x" * 40 + "\r\nQUIT\r\n" + "\x20\x06")
write("fuzz_line_buffer", "exact_limit", "abcdefghi\r\nabcdefghij\r\nabcdefgh\n" + "\x0c\x08\x00")
write("fuzz_line_buffer", "discard", "STLS\r\nUSER injected\r\n" + "\x05\xff\x04\x00")
write("fuzz_line_buffer", "cr_only", "a\rb\r\r\n\r\n\n" + "\x10\x40\x02")

# --- fuzz_dot_stuffing: message octets; the last bytes choose chunk sizes and message ends --------------------
write("fuzz_dot_stuffing", "fixture_message",
      "From: a@example.org\r\nSubject: one\r\n\r\nfirst line\r\n.leading dot\r\nlast\r\n" + "\x05\x09\x20")
write("fuzz_dot_stuffing", "lone_dots", ".\r\n..\r\n.\n.\r\n" + "\x01\x02\x03")
write("fuzz_dot_stuffing", "no_final_newline", "line one\r\n.last line without its end." + "\x03\x07")
write("fuzz_dot_stuffing", "bare_lf", "a\n.b\n\n.\n" + "\x02\x01\x01")
write("fuzz_dot_stuffing", "two_messages", "Subject: two\r\n\r\nbody\r\n" + "\xff\x10" + ".x\r\n" + "\x30")
write("fuzz_dot_stuffing", "empty", "")

# --- fuzz_base64: candidate texts -------------------------------------------------------------------------------
for name, text in {
    "empty": "",
    "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy",  # RFC 4648 10
    "plain": b64("\0alice\0secret"),
    "nonzero_bits": "Zh==",
    "line_break": "Zm9v\r\nYmFy",
    "inner_padding": "Zg==Zg==",
    "url_alphabet": "-_-_",
    "scram_proof": "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
}.items():
    write("fuzz_base64", name, text)

# --- fuzz_sasl: mechanism digit, situation digit, then the client's messages separated by LF -----------------
# Mechanism: 0 PLAIN, 1 LOGIN, 2 CRAM-MD5, 3 SCRAM-SHA-1, 4 SCRAM-SHA-256, 5 EXTERNAL, 6 SCRAM-SHA-1-PLUS,
# 7 SCRAM-SHA-256-PLUS. Situation bits: 1 initial response, 2 TLS, 4 verified client certificate, 8 channel
# binding (the 32 octets 0..31, "tls-exporter"), 0x40 certificate present but not verified.
users = {
    "alice": ("secret", b"alice-salt-1", b"alice-salt-256"),
    "bob": ("hunter2", b"bob-salt-1", b"bob-salt-256"),
    "user": ("pencil", base64.b64decode("QSXCR+Q6sek8bf92"), base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")),
}
server_nonce = {"sha1": "3rfcNHYJY1ZVvWVs7j", "sha256": "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"}
binding_data = bytes(range(32))


def scram(digest, user, client_nonce, authzid="", plus=False):
    """A full SCRAM exchange as the client sends it: client-first, client-final, the empty acknowledgement."""
    password, salt1, salt256 = users[user]
    salt = salt1 if digest == "sha1" else salt256
    flag = "p=tls-exporter" if plus else "n"
    gs2 = flag + "," + ("a=" + authzid if authzid else "") + ","
    bare = "n=" + user + ",r=" + client_nonce
    nonce = client_nonce + server_nonce[digest]
    server_first = "r=" + nonce + ",s=" + b64(salt) + ",i=4096"
    binding = gs2.encode() + (binding_data if plus else b"")
    without_proof = "c=" + b64(binding) + ",r=" + nonce
    auth_message = (bare + "," + server_first + "," + without_proof).encode()
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), salt, 4096)
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    stored_key = hashlib.new(digest, client_key).digest()
    signature = hmac.new(stored_key, auth_message, digest).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    return gs2 + bare + "\n" + without_proof + ",p=" + b64(proof) + "\n"


rfc5802 = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL\nc=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=\n"
rfc7677 = ("n,,n=user,r=rOprNGfwEbeRWgbNEkqO\nc=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
           "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=\n")
assert scram("sha1", "user", "fyko+d2lbbFgONRv9qkxdawL") == rfc5802
assert scram("sha256", "user", "rOprNGfwEbeRWgbNEkqO") == rfc7677
sasl = {
    "plain_rfc4616_tim": "00" + "\0tim\0tanstaaftanstaaf",
    "plain_rfc4616_ursel": "01" + "Ursel\0Kurt\0xipj3plmq",
    "plain_bob_as_alice": "01" + "alice\0bob\0hunter2",
    "plain_wrong": "01" + "\0alice\0wrong",
    "plain_broken": "01" + "\0broken\0x",
    "login": "10" + "alice\nsecret",
    "login_initial": "11" + "bob\nhunter2",
    "cram_md5_rfc2195": "20" + "tim b913a602c7eda7a495b4e6e7334d3890",
    "cram_md5_initial": "21" + "tim b913a602c7eda7a495b4e6e7334d3890",
    "scram_sha1_rfc5802": "31" + rfc5802,
    "scram_sha1_alice": "30" + scram("sha1", "alice", "abcdefghijklmnop"),
    "scram_sha256_rfc7677": "41" + rfc7677,
    "scram_sha256_bob_as_alice": "41" + scram("sha256", "bob", "0123456789", authzid="alice"),
    "scram_sha256_unknown": "41" + "n,,n=mallory,r=abc\nc=biws,r=abc,p=AAAA\n",
    "external": "56",
    "external_authzid": "57" + "alice",
    "external_unverified": "5F",
    "scram_sha1_plus": "6;" + scram("sha1", "alice", "plusnonce", plus=True),
    "scram_sha256_plus": "7;" + scram("sha256", "user", "rOprNGfwEbeRWgbNEkqO", plus=True),
    "scram_sha256_y_flag": "43" + "y,,n=user,r=abc\n",
}
for name, data in sasl.items():
    write("fuzz_sasl", name, data)

# --- fuzz_config: configuration files ------------------------------------------------------------------------
default_cpp = (root / "examples/mailwrightd/default_config.cpp").read_text()
write("fuzz_config", "builtin_default", re.search(r'R"toml\((.*)\)toml"', default_cpp, re.S).group(1))
docs = (root / "docs/configuration.md").read_text()
for i, block in enumerate(re.findall(r"```toml\n(.*?)```", docs, re.S)):
    write("fuzz_config", f"docs_example_{i}", block)
write("fuzz_config", "complete", """[server]
workers = 3
max_connections = 100
max_connections_per_ip = 7
shutdown_grace = "2500ms"
state_dir = "/srv/mail"
hostname = "mail.example.org"

[log]
level = "debug"

[auth]
failure_delay = "0s"
failure_delay_max = "1m"

[plugins]
path = ["/opt/plugins"]
auth = ["passwd-file"]

[[listener]]
name = "pop3"
service = "pop3"
address = ["127.0.0.1", "::1"]
port = 1110
read_timeout = "10m"
max_line = 255
bare_lf = "reject"
auth_mechanisms = ["scram-sha-256", "CRAM-MD5"]
plaintext_auth = true
max_auth_failures = 5
max_bad_commands = 20
[listener.pop3]
apop = true
login_delay = "5m"
expire = "30"
implementation = ""

[[listener]]
name = "health"
service = "echo"
address = "127.0.0.2"
port = 7
read_timeout = 30
""")
write("fuzz_config", "mistakes", """[server]
workers = "two"
colour = 1
[[listener]]
name = "e"
service = "imap"
prot = 25
address = "localhost"
[listener.pop3]
apop = true
[[listener]]
name = "e"
service = "echo"
tls = "implicit"
""")
write("fuzz_config", "plugin_service", '[plugin.lines]\nx = 1\n[[listener]]\nname = "l"\nservice = "lines"\n')
write("fuzz_config", "not_toml", "[[listener]\nname = \"unterminated\n")

# --- fuzz_pop3_session: settings byte, mechanisms byte, then the client's bytes (0xff: next TCP segment) ------
# Settings: 0x04 plaintext auth, 0x08 1000 bad commands, 0x02 APOP, 0x01 reject bare LF, 0x30 line limit
# (1024/255/64/16), 0xc0 read size (any/1/3/16). Mechanisms: bit i of sasl::mechanisms() (0xff: all).
open_ = b"\x0c\xff"
login = b"USER alice\r\nPASS secret\r\n"
sessions = {
    "retrieve_and_delete": open_ + login + b"STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 3 1\r\nDELE 2\r\nLIST 2\r\nQUIT\r\n",
    "segments": open_ + b"USER al\xffice\r\nPA\xffSS secret\r\n\xffRETR 1\r\n\xffQU\xffIT\r\n",
    "rset_undeletes": open_ + login + b"DELE 1\r\nDELE 3\r\nSTAT\r\nRSET\r\nSTAT\r\nQUIT\r\n",
    "auth_plain": open_ + b"CAPA\r\nAUTH\r\nAUTH PLAIN " + b64("\0alice\0secret").encode() + b"\r\nLIST 1\r\nQUIT\r\n",
    "auth_plain_challenge": open_ + b"AUTH PLAIN\r\n" + b64("\0bob\0hunter2").encode() + b"\r\nSTAT\r\nQUIT\r\n",
    "auth_login": open_ + b"AUTH LOGIN\r\n" + b64("alice").encode() + b"\r\n" + b64("secret").encode()
    + b"\r\nNOOP\r\nQUIT\r\n",
    "auth_cancel": open_ + b"AUTH CRAM-MD5\r\n*\r\nAUTH SCRAM-SHA-256 " + b64("n,,n=alice,r=abc").encode()
    + b"\r\n" + b64("c=biws,r=abc,p=AAAA").encode() + b"\r\nQUIT\r\n",
    "utf8_user": open_ + "USER jörg\r\nUTF8\r\nUSER jörg\r\nPASS passwort\r\nSTAT\r\nQUIT\r\n".encode(),
    "bad_commands": b"\x1d\xff" + b"XTND\r\nLIST\r\nRETR\r\n" + b"A" * 300 + b"\r\nSTAT\nUSER alice\r\nQUIT\r\n",
    "no_plaintext": b"\x00\xff" + b"CAPA\r\nUSER alice\r\nAUTH PLAIN =\r\nSTLS\r\nQUIT\r\n",
    "apop": b"\x0e\xff" + b"APOP alice 0123456789abcdef0123456789abcdef\r\nAPOP alice\r\nQUIT\r\n",
    "short_reads": b"\x4c\xff" + login + b"RETR 1\r\nTOP 1 0\r\nDELE 1\r\nQUIT\r\n",
    "failed_logins": open_ + b"USER alice\r\nPASS wrong\r\nUSER bob\r\nPASS wrong\r\nUSER x\r\nPASS y\r\nSTAT\r\n",
    "eof_in_transaction": open_ + login + b"DELE 1\r\nDELE 2\r\n",
}
for name, data in sessions.items():
    write("fuzz_pop3_session", name, data)

# --- fuzz_smtp_command: one SMTP command line each --------------------------------------------------------------
smtp_commands = {
    "ehlo": "EHLO client.example.org",
    "helo_literal": "HELO [192.0.2.1]",
    "lhlo": "LHLO mx.example.org",
    "mail": "MAIL FROM:<alice@example.org> SIZE=1024 BODY=8BITMIME",
    "mail_null": "MAIL FROM:<>",
    "mail_space": "mail from: <bob@[IPv6:2001:db8::1]> RET=HDRS ENVID=QQ314159",
    "mail_utf8": "MAIL FROM:<jörg@bücher.example> SMTPUTF8",
    "mail_utf8_missing": "MAIL FROM:<jörg@bücher.example>",
    "mail_quoted": 'MAIL FROM:<"john \\"q\\" public"@example.org>',
    "mail_route": "MAIL FROM:<@relay.example,@hop.example:alice@example.org>",
    "mail_shell": "MAIL FROM:<;sleep 66;@example.org>",  # CVE-2020-7247
    "mail_repeated": "MAIL FROM:<a@b.example> SIZE=1 size=2",
    "rcpt": "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Bx@example.org",
    "rcpt_postmaster": "RCPT TO:<Postmaster>",
    "rcpt_long_local": "RCPT TO:<" + "a" * 65 + "@example.org>",
    "data": "DATA",
    "bdat": "BDAT 1000 LAST",
    "auth": "AUTH PLAIN " + b64("\0alice\0secret"),
    "starttls_arg": "STARTTLS now",
    "vrfy": "VRFY postmaster",
    "noop": "NOOP anything",
    "unknown": "XCLIENT ADDR=192.0.2.1",
}
for name, line in smtp_commands.items():
    write("fuzz_smtp_command", name, line)

# --- fuzz_smtp_data: message data after DATA; the last bytes choose the policy, max_line and piece sizes ------
smtp_data = {
    "message": "Subject: hi\r\n\r\nbody\r\n..stuffed line\r\n.\r\nQUIT\r\n",
    "empty_message": ".\r\nRSET\r\n",
    "smuggle_lf_dot_lf": "a\r\n\n.\nMAIL FROM:<evil@example.org>\r\n.\r\n",
    "smuggle_cr_dot_cr": "a\r\n\r.\rRCPT TO:<x@example.org>\r\n.\r\n",
    "smuggle_crlf_dot_lf": "a\r\n.\nDATA\r\n.\r\n",
    "smuggle_lf_dot_crlf": "a\n.\r\nQUIT\r\n.\r\n",
    "dot_lines": ".\n..\r\n.x\r\n.\r.\r\n",
    "long_line": "x" * 50 + "\r\nshort\r\n.\r\n",
    "unfinished": "no end yet\r\n.",
}
for i, (name, text) in enumerate(smtp_data.items()):
    # trailing bytes: piece sizes, then max_line and the two policy booleans (read from the end)
    write("fuzz_smtp_data", name, text.encode() + bytes([7, 3, 20, 5, i % 2, (i // 2) % 2]))

# --- fuzz_smtp_session: settings byte, limits byte, then the client's bytes (0xff: next TCP segment) ----------
# Settings: 0x03 role (0 mx, 1 submission, 2 lmtp), 0x04 plaintext auth, 0x08 normalise bare line ends,
# 0x30 read size (any/1/7/64), 0x40 1000 errors, 0x80 STARTTLS required. Limits: 0x01 100-octet messages,
# 0x02 2 recipients, 0x04 40-octet command lines, 0x08 40-octet text lines, 0x10 a store that keeps binary,
# 0x20 the client (192.0.2.7) trusted to send XCLIENT.
def each(*lines):
    """One TCP segment per command, as a client that waits for every reply sends them."""
    return b"\xff".join(line if isinstance(line, bytes) else line.encode() for line in lines)


ehlo = "EHLO client.example\r\n"
envelope = each(ehlo, "MAIL FROM:<sender@remote.example>\r\n", "RCPT TO:<alice@example.org>\r\n")
smtp_sessions = {
    "mx_data": b"\x40\x00" + each(ehlo, "MAIL FROM:<sender@remote.example> SIZE=40\r\n",
                                    "RCPT TO:<alice@example.org>\r\n", "RCPT TO:<nobody@elsewhere.example>\r\n",
                                    "DATA\r\n", "Subject: hi\r\n\r\n..stuffed\r\n.\r\n", "QUIT\r\n"),
    # RFC 2920: MAIL, RCPT and DATA in one segment after EHLO's reply; the message after DATA's.
    "mx_pipelined": b"\x40\x00" + each(ehlo, "MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org>\r\n"
                                         "RCPT TO:<bob@example.org>\r\nDATA\r\n", "body\r\n.\r\nQUIT\r\n"),
    "mx_bdat": b"\x40\x00" + each(envelope, "BDAT 6\r\nhello\nBDAT 0 LAST\r\n", "QUIT\r\n"),
    "mx_smuggling": b"\x40\x00" + each(envelope, "DATA\r\n", "a\r\n\n.\nMAIL FROM:<evil@example.org>\r\n"
                                         "RCPT TO:<bob@example.org>\r\nDATA\r\nspoofed\r\n.\r\n", "QUIT\r\n"),
    "mx_smuggling_normalised": b"\x48\x00" + each(envelope, "DATA\r\n", "a\r\n.\nMAIL FROM:<evil@example.org>\r\n"
                                                    "\r.\rDATA\r\n\n.\r\nmore\r\n.\r\n", "QUIT\r\n"),
    "mx_bare_lf_normalised": b"\x48\x00" + each(envelope, "DATA\r\n", "line\nother\rlast\r\n.\r\n", "QUIT\r\n"),
    "mx_helo_and_errors": b"\x40\x00" + each("HELO x\r\n", "MAIL FROM:<>\r\n", "RCPT TO:<Postmaster>\r\n",
                                               "VRFY a\r\n", "XYZ\r\n", "RCPT TO:<a@[192.0.2.1]>\r\n", "RSET\r\n",
                                               "NOOP\r\n", "HELP\r\n", "QUIT\r\n"),
    "mx_utf8": b"\x40\x00" + each("EHLO c\r\n", "MAIL FROM:<jörg@bücher.example> SMTPUTF8\r\n",
                                   "RCPT TO:<jörg@example.org>\r\n", "DATA\r\n", "Grüße\r\n.\r\n", "QUIT\r\n"),
    "submission_auth": b"\x45\x00" + each("EHLO c\r\n", "AUTH PLAIN " + b64("\0alice\0secret") + "\r\n",
                                           "MAIL FROM:<alice@example.org>\r\n", "RCPT TO:<bob@example.org>\r\n",
                                           "DATA\r\n", "hi\r\n.\r\n", "QUIT\r\n"),
    "submission_login": b"\x45\x00" + each("EHLO c\r\n", "AUTH LOGIN\r\n", b64("bob") + "\r\n",
                                            b64("hunter2") + "\r\n", "MAIL FROM:<bob@example.org>\r\n", "QUIT\r\n"),
    "submission_no_auth": b"\x41\x00" + each(envelope, "QUIT\r\n"),
    "lmtp": b"\x42\x00" + each("LHLO c\r\n", "MAIL FROM:<a@b.example>\r\n", "RCPT TO:<alice@example.org>\r\n",
                                "RCPT TO:<carol@example.org>\r\n", "DATA\r\n", "x\r\n.\r\n", "QUIT\r\n"),
    "limits": b"\x40\x0f" + each(envelope, "RCPT TO:<bob@example.org>\r\n", "RCPT TO:<carol@example.org>\r\n",
                                  "DATA\r\n", "y" * 50 + "\r\n" + "z" * 120 + "\r\n.\r\n", "QUIT\r\n"),
    "require_tls": b"\xc0\x00" + each("EHLO c\r\n", "MAIL FROM:<a@b.example>\r\n", "STARTTLS\r\n", "QUIT\r\n"),
    "mx_xclient": b"\x40\x20" + each(ehlo, "XCLIENT ADDR=192.0.2.9 NAME=c.example HELO=h+2Bx PROTO=SMTP\r\n",
                                       ehlo, "XCLIENT ADDR=192.0.2.10\r\n", "MAIL FROM:<a@b.example>\r\n",
                                       "RCPT TO:<alice@example.org>\r\n", "DATA\r\n", "x\r\n.\r\n", "QUIT\r\n"),
    "submission_xclient": b"\x41\x20" + each("XCLIENT ADDR=IPV6:2001:db8::1 LOGIN=alice\r\n", ehlo,
                                               "MAIL FROM:<alice@example.org>\r\n", "RCPT TO:<bob@example.org>\r\n",
                                               "DATA\r\n", "hi\r\n.\r\n", "XCLIENT LOGIN=bob\r\n", "QUIT\r\n"),
}
for name, data in smtp_sessions.items():
    write("fuzz_smtp_session", name, data)


# fuzz_milter: what milters answer, back to back as in a conversation; the cut points come from the end
# (FuzzedDataProvider): a bound byte (even: the full bound), a count of cuts, two octets per cut.
def milter_packet(code, data=b""):
    return (len(data) + 1).to_bytes(4, "big") + code + data


def be32(n):
    return n.to_bytes(4, "big")


milter_conversations = {
    "negotiation": milter_packet(b"O", be32(6) + be32(0x31) + be32(0x1FF)),
    "negotiation_symlists": milter_packet(b"O", be32(6) + be32(0x101) + be32(0) + be32(1) + b"j {daemon_name}\0"
                                          + be32(5) + b"i {auth_authen}\0"),
    "continue_accept": milter_packet(b"c") * 5 + milter_packet(b"a"),
    "end_of_message": milter_packet(b"p") + milter_packet(b"h", b"X-Spam\0yes\0")
    + milter_packet(b"i", be32(0) + b"DKIM-Signature\0v=1; a=rsa-sha256;\n\tb=abc\0")
    + milter_packet(b"m", be32(1) + b"Subject\0\0") + milter_packet(b"q", b"virus\0")
    + milter_packet(b"b", b"new body\r\n") + milter_packet(b"c"),
    "reply_codes": milter_packet(b"y", b"554 5.7.1 Spam message rejected\0")
    + milter_packet(b"y", b"451-4.7.1 first\r\n451 4.7.1 second\0") + milter_packet(b"r") + milter_packet(b"t")
    + milter_packet(b"d"),
    "recipients": milter_packet(b"+", b"<b@example.org>\0") + milter_packet(b"-", b"<c@example.org>\0")
    + milter_packet(b"2", b"<d@example.org>\0NOTIFY=NEVER\0") + milter_packet(b"e", b"<a@example.org>\0")
    + milter_packet(b"l", be32(3) + b"{rcpt_addr}\0") + milter_packet(b"s") + milter_packet(b"f")
    + milter_packet(b"4"),
    "too_long": be32(0x7FFFFFFF) + b"b",
}
for i, (name, data) in enumerate(milter_conversations.items()):
    cuts = bytes([1, 7, 0, 3, 0, 11][: 2 * (i % 3)])
    write("fuzz_milter", name, data + cuts + bytes([i % 3, i % 2]))

# --- fuzz_xclient: the argument of one XCLIENT command (XCLIENT_README's examples, and the malformed forms) ---
xclient_arguments = {
    "all": "ADDR=192.0.2.7 PORT=40000 NAME=client.example HELO=client.example LOGIN=alice PROTO=ESMTP",
    "readme": "NAME=spike.porcupine.org ADDR=168.100.189.2",
    "ipv6": "ADDR=IPV6:2001:db8::7 PORT=25",
    "mapped": "ADDR=IPv6:::ffff:192.0.2.7",
    "unavailable": "ADDR=[UNAVAILABLE] NAME=[TEMPUNAVAIL] HELO=[UNAVAILABLE] LOGIN=[UNAVAILABLE] PORT=[UNAVAILABLE]",
    "xtext": "HELO=x+2By LOGIN=al+C3+A9ce",
    "case": "addr=192.0.2.7 proto=smtp",
    "unknown": "DESTADDR=192.0.2.1 DESTPORT=25",
    "no_value": "ADDR= NAME",
    "bad_xtext": "HELO=a+2b LOGIN=a+2",
    "nul": "ADDR=192.0.2.7+00x",
    "long": "HELO=" + "a" * 256,
}
for name, line in xclient_arguments.items():
    write("fuzz_xclient", name, line)

# fuzz_proxy_header: a piece-size octet, then PROXY headers (HAProxy's doc/proxy-protocol.txt) and the client's
# first octets behind them
def tlv(kind, value=b""):
    return bytes([kind]) + len(value).to_bytes(2, "big") + value


def proxy_v2(ver_cmd, family, payload):
    return b"\r\n\r\n\0\r\nQUIT\n" + bytes([ver_cmd, family]) + len(payload).to_bytes(2, "big") + payload


def crc32c(data):
    crc = 0xFFFFFFFF
    for octet in data:
        crc ^= octet
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def with_crc32c(ver_cmd, family, payload):
    header = proxy_v2(ver_cmd, family, payload + tlv(0x03, bytes(4)))
    return header[:-4] + crc32c(header).to_bytes(4, "big")


inet4 = bytes([192, 0, 2, 1, 198, 51, 100, 2]) + (40000).to_bytes(2, "big") + (995).to_bytes(2, "big")
inet6 = bytes.fromhex("20010db8000000000000000000000001" "20010db8000000000000000000000002") + bytes([0, 1, 0, 25])
ssl = tlv(0x20, b"\x07" + bytes(4) + tlv(0x21, b"TLSv1.3") + tlv(0x22, b"alice") + tlv(0x23, b"TLS_AES_256_GCM_SHA384")
          + tlv(0x24, b"RSA-SHA256") + tlv(0x25, b"EC256"))
proxy_headers = {
    "v1_tcp4": b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 995\r\nEHLO x\r\n",
    "v1_tcp6": b"PROXY TCP6 2001:db8::1 ::ffff:192.0.2.9 1 65535\r\nUSER a\r\n",
    "v1_unknown": b"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ::1 65535 65535\r\n",
    "v1_bad_port": b"PROXY TCP4 192.0.2.1 198.51.100.2 01 2\r\n",
    "v2_tcp4": proxy_v2(0x21, 0x11, inet4) + b"\x16\x03\x01\x00\x05hello",
    "v2_tcp6": proxy_v2(0x21, 0x21, inet6 + tlv(0x04, b"pad")),
    "v2_local": proxy_v2(0x20, 0x00, tlv(0x05, b"id")),
    "v2_unix": proxy_v2(0x21, 0x31, bytes(216)),
    "v2_tlvs_crc": with_crc32c(0x21, 0x11, inet4 + tlv(0x02, b"mail.example") + tlv(0x05, b"u" * 16)
                               + tlv(0xE0, b"x") + ssl) + b"CAPA\r\n",
    "v2_ssl_unverified": proxy_v2(0x21, 0x11, inet4 + tlv(0x20, b"\x03" + bytes([0, 0, 0, 1]) + tlv(0x21, b"TLSv1.2"))),
    "v2_bad_tlv": proxy_v2(0x21, 0x11, inet4 + b"\x02\x00\x09abc"),
}
for i, (name, data) in enumerate(proxy_headers.items()):
    write("fuzz_proxy_header", name, bytes([i * 37 % 256]) + data)

if __name__ == "__main__":
    total = {}
    for path in sorted(corpus.rglob("*")):
        if path.is_file():
            total.setdefault(path.parent.name, []).append(path.stat().st_size)
    for target, sizes in total.items():
        print(f"{target}: {len(sizes)} seeds, {sum(sizes)} octets")
