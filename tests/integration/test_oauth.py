"""OAUTHBEARER (RFC 7628) and XOAUTH2 in mailwrightd with the jwt plugin: tokens made and signed here (keys from the
openssl command, RS256 and ES256, a JWKS file written by hand), used by curl's POP3 and SMTP and by raw clients
that read the RFC 7628 error exchange."""
import base64
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

from certs import make_all
from daemon import DAEMON, RawConnection, maildir_messages, start_in, stop_in

ISSUER = "https://id.test/realms/mail"
AUDIENCE = "mail.test"
KEYS = None  # the keys' directory, made by setUpModule


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], input=stdin, check=True, capture_output=True, timeout=60).stdout


def key(name):
    return os.path.join(KEYS, name + ".key")


def rsa_jwk(name, kid):
    modulus = openssl("rsa", "-in", key(name), "-noout", "-modulus").decode().strip().split("=", 1)[1]
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": b64url(bytes.fromhex(modulus)), "e": b64url((65537).to_bytes(3, "big"))}


def ec_jwk(name, kid):
    point = openssl("pkey", "-in", key(name), "-pubout", "-outform", "DER")[-65:]  # 04 || x || y
    assert point[0] == 4
    return {"kty": "EC", "kid": kid, "crv": "P-256", "x": b64url(point[1:33]), "y": b64url(point[33:])}


def der_to_raw(signature):
    """ECDSA-Sig-Value (SEQUENCE of INTEGER r, INTEGER s) to JWS's r || s, 32 octets each."""
    assert signature[0] == 0x30
    at = 3 if signature[1] & 0x80 else 2
    out = b""
    for _ in range(2):
        assert signature[at] == 0x02
        length = signature[at + 1]
        number = signature[at + 2:at + 2 + length]
        out += number.lstrip(b"\0").rjust(32, b"\0")
        at += 2 + length
    return out


def token(claims, alg="RS256", signer="rsa", kid="rsa1", header=None):
    """A JWT with `claims` over the defaults, signed by the key file `signer` (alg "none": unsigned)."""
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "email": "alice@example.org", "iat": now, "nbf": now - 5,
            "exp": now + 300}
    body.update(claims)
    head = header or {"alg": alg, "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = (b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(body).encode())).encode()
    if alg == "none":
        return signing_input.decode() + "."
    signature = openssl("dgst", "-sha256", "-sign", key(signer), stdin=signing_input)
    if alg == "ES256":
        signature = der_to_raw(signature)
    return signing_input.decode() + "." + b64url(signature)


def setUpModule():
    global KEYS
    KEYS = tempfile.mkdtemp(prefix="mailwright-oauth-keys-")
    try:
        make_all(KEYS)  # the server's certificate (one.pem)
        for name in ("rsa", "rsa-other"):
            openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key(name))
        for name in ("ec", "ec-later"):
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key(name))
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    shutil.rmtree(KEYS, ignore_errors=True)


def write_jwks(path, keys):
    with open(path + ".new", "w") as f:
        json.dump({"keys": keys}, f)
    os.replace(path + ".new", path)  # a new inode: seen as a change at once


def oauth_config(work):
    mechanisms = '["OAUTHBEARER", "XOAUTH2", "PLAIN"]'
    return f"""
[server]
workers = 2
[log]
level = "debug"
[auth]
failure_delay = "0s"
failure_delay_max = "0s"
[plugin.jwt]
jwks = "{work}/jwks.json"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
user_claim = "email"
strip_domain = true
scope = "openid email"
[plugin.passwd-file]
file = "{work}/passwd"
[plugin.maildir]
path = "{work}/mail/%u/Maildir"
[plugins]
auth = ["jwt", "passwd-file"]
[tls]
certificate = "{KEYS}/one.pem"
key = "{KEYS}/one.key"

[[listener]]
name = "pop3"
service = "pop3"
port = 0
tls = "starttls"
auth_mechanisms = {mechanisms}

[[listener]]
name = "pop3s"
service = "pop3"
port = 0
tls = "implicit"
auth_mechanisms = {mechanisms}

[[listener]]
name = "pop3s-xoauth2"
service = "pop3"
port = 0
tls = "implicit"
auth_mechanisms = ["XOAUTH2"]

[[listener]]
name = "pop3-plain"
service = "pop3"
port = 0
tls = "starttls"
auth_requires_tls = false
plaintext_auth = true
auth_mechanisms = {mechanisms}

[[listener]]
name = "submission"
service = "smtp"
port = 0
tls = "starttls"
auth_mechanisms = {mechanisms}
[listener.smtp]
role = "submission"
local_domains = ["example.org"]

[[listener]]
name = "submissions"
service = "smtp"
port = 0
tls = "implicit"
auth_mechanisms = {mechanisms}
[listener.smtp]
role = "submission"
local_domains = ["example.org"]

[[listener]]
name = "submissions-xoauth2"
service = "smtp"
port = 0
tls = "implicit"
auth_mechanisms = ["XOAUTH2"]
[listener.smtp]
role = "submission"
local_domains = ["example.org"]
"""


def capability_list(c):
    """Sends CAPA on the RawConnection `c`; the lines of the list."""
    c.send(b"CAPA\r\n")
    lines = []
    for _ in range(40):
        line = c.line()
        if line in (b".\r\n", b""):
            return lines
        lines.append(line)
    raise AssertionError("no end to the CAPA list")


def ehlo(c):
    """Sends EHLO on the RawConnection `c`; its whole reply."""
    c.send(b"EHLO client.test\r\n")
    reply = b""
    for _ in range(40):
        line = c.line()
        reply += line
        if not line.startswith(b"250-"):
            return reply
    raise AssertionError("no end to the EHLO reply")


def run(args, stdin=b""):
    return subprocess.run(args, input=stdin, capture_output=True, timeout=60)


class OAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailwright-oauth-")
        cls.jwks = os.path.join(cls.work, "jwks.json")
        write_jwks(cls.jwks, [rsa_jwk("rsa", "rsa1"), ec_jwk("ec", "ec1")])
        # Users for recipient lookups (the jwt plugin knows only who holds a token); no password logs in here.
        with open(os.path.join(cls.work, "passwd"), "w") as f:
            for user in ("alice", "bob"):
                f.write(subprocess.run([DAEMON, "passwd", "--scheme", "SHA512-CRYPT", user], input="unused-" + user,
                                       capture_output=True, text=True, timeout=60, check=True).stdout)
        cls.daemon = start_in(cls.work, oauth_config(cls.work))

    @classmethod
    def tearDownClass(cls):
        stop_in(cls.work, cls.daemon)

    def port(self, listener):
        return self.daemon.ports[listener]

    def pop3(self, bearer, mechanism, listener="pop3", user="alice"):
        """curl with the token. curl 7.88 takes OAUTHBEARER whenever the server offers it, whatever AUTH= says,
        so XOAUTH2 is used on a listener that offers only that."""
        if mechanism == "XOAUTH2" and listener == "pop3s":
            listener = "pop3s-xoauth2"
        command = ["curl", "--silent", "--show-error", "--verbose", "--max-time", "20", "--noproxy", "*", "-k",
                   "-u", f"{user}:", "--oauth2-bearer", bearer, "--login-options", f"AUTH={mechanism}"]
        if listener == "pop3":
            command.append("--ssl-reqd")  # STLS, and no fallback to plaintext
        scheme = "pop3s" if listener.startswith("pop3s") else "pop3"
        return run([*command, f"{scheme}://127.0.0.1:{self.port(listener)}/"])

    def submit(self, bearer, mechanism, listener, needle):
        if mechanism == "XOAUTH2" and listener == "submissions":
            listener = "submissions-xoauth2"  # as in pop3()
        scheme = "smtps" if listener.startswith("submissions") else "smtp"
        message = f"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: {needle}\r\n\r\n{needle}\r\n"
        command = ["curl", "--silent", "--show-error", "--verbose", "--max-time", "20", "--noproxy", "*", "-k",
                   "-u", "alice:", "--oauth2-bearer", bearer, "--login-options", f"AUTH={mechanism}",
                   "--mail-from", "alice@example.org", "--mail-rcpt", "bob@example.org", "--upload-file", "-"]
        if listener == "submission":
            command.append("--ssl-reqd")
        return run([*command, f"{scheme}://127.0.0.1:{self.port(listener)}"], stdin=message.encode())

    def test_pop3_logs_in_with_rs256_and_es256_tokens(self):
        rs = token({})
        es = token({}, alg="ES256", signer="ec", kid="ec1")
        for mechanism in ("OAUTHBEARER", "XOAUTH2"):
            for listener in ("pop3", "pop3s") if mechanism == "OAUTHBEARER" else ("pop3s",):
                for bearer in (rs, es):
                    with self.subTest(mechanism=mechanism, listener=listener, alg=bearer[:20]):
                        result = self.pop3(bearer, mechanism, listener)
                        self.assertEqual(result.returncode, 0, result.stderr)
                        self.assertIn(f"> AUTH {mechanism}".encode(), result.stderr)
                        self.assertIn(b"< +OK", result.stderr)
        # No kid: every key of the token's algorithm is tried
        result = self.pop3(token({}, kid=None), "OAUTHBEARER", "pop3s")
        self.assertEqual(result.returncode, 0, result.stderr)
        # A known limit (docs/configuration.md): libjwt 1.10 refuses a "typ" other than "JWT", so RFC 9068's
        # "at+jwt" does not log in. This says so, and fails when a newer libjwt lifts it.
        at_jwt = token({}, header={"alg": "ES256", "typ": "at+jwt", "kid": "ec1"}, alg="ES256", signer="ec")
        self.assertEqual(self.pop3(at_jwt, "OAUTHBEARER", "pop3s").returncode, 67)

    def test_smtp_submission_with_both_mechanisms(self):
        for mechanism in ("OAUTHBEARER", "XOAUTH2"):
            for listener in ("submission", "submissions") if mechanism == "OAUTHBEARER" else ("submissions",):
                needle = f"oauth-{mechanism}-{listener}"
                with self.subTest(mechanism=mechanism, listener=listener):
                    result = self.submit(token({}), mechanism, listener, needle)
                    self.assertEqual(result.returncode, 0, result.stderr)
                    self.assertIn(f"> AUTH {mechanism}".encode(), result.stderr)
                    self.assertIn(b"< 235 ", result.stderr)
                    self.assertEqual(len(maildir_messages(self.work, "bob", needle.encode())), 1)

    def test_a_token_the_size_of_entra_ids_fits_the_default_limits(self):
        # Entra ID's access tokens are 1.5 to 2.5 KB; base64'd in a SASL response that is over the listeners'
        # command limits (pop3 1024, smtp 2048), which a response to a challenge need not keep (RFC 4954 4).
        big = token({"groups": ["group-%04d" % i for i in range(160)]})
        self.assertGreater(len(big), 2500)
        result = self.pop3(big, "OAUTHBEARER", "pop3s")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"< +OK", result.stderr)
        result = self.submit(big, "OAUTHBEARER", "submissions", "oauth-entra-sized")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"< 235 ", result.stderr)

    def test_bad_tokens_are_refused(self):
        now = int(time.time())
        hs256_head = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa1"}).encode())
        cases = {
            "expired": token({"exp": now - 120}),
            "not yet valid": token({"nbf": now + 600}),
            "wrong audience": token({"aud": "other.test"}),
            "wrong issuer": token({"iss": "https://evil.test"}),
            "unsigned": token({}, alg="none", kid=None),
            "wrongly signed": token({}, signer="rsa-other"),
            "another key's kid": token({}, alg="ES256", signer="ec", kid="rsa1"),
            "HS256 keyed with the public key": hs256_head + ".e30.c2ln",
            "another user": token({"email": "bob@example.org"}),
            "no user claim": token({"email": None}),
            "not a JWT": "opaque-token",
        }
        for what, bearer in cases.items():
            for mechanism in ("OAUTHBEARER", "XOAUTH2"):
                with self.subTest(what=what, mechanism=mechanism):
                    result = self.pop3(bearer, mechanism, "pop3s")
                    self.assertEqual(result.returncode, 67, result.stderr)  # CURLE_LOGIN_DENIED
                    # The error document as a challenge; curl 7.88 answers OAUTHBEARER's with the dummy
                    # response and hears the failure, and leaves XOAUTH2's unanswered (failed all the same).
                    self.assertRegex(result.stderr, rb"< \+ eyJzdGF0dXMiOi")
                    if mechanism == "OAUTHBEARER":
                        self.assertIn(b"> AQ==\r\n", result.stderr)
                        self.assertIn(b"< -ERR", result.stderr)
        self.assertTrue(self.daemon.log_contains(r"authentication failed .*mechanism=XOAUTH2 listener=pop3s-xoauth2 "
                                                 r"user=alice"))
        result = self.submit(token({"exp": now - 120}), "OAUTHBEARER", "submissions", "never")
        self.assertEqual(result.returncode, 67, result.stderr)
        self.assertIn(b"< 535 ", result.stderr)

    def test_error_exchange_with_a_raw_client(self):
        expired = token({"exp": int(time.time()) - 120})
        message = b"n,a=alice,\x01host=127.0.0.1\x01port=995\x01auth=Bearer " + expired.encode() + b"\x01\x01"
        with RawConnection(self.port("pop3s"), tls=True) as c:
            self.assertTrue(c.line().startswith(b"+OK"))
            c.send(b"AUTH OAUTHBEARER " + base64.b64encode(message) + b"\r\n")
            challenge = c.line()
            self.assertTrue(challenge.startswith(b"+ "), challenge)
            document = json.loads(base64.b64decode(challenge[2:].strip(), validate=True))
            self.assertEqual(document, {"status": "invalid_token", "schemes": "bearer", "scope": "openid email"})
            c.send(base64.b64encode(b"\x01") + b"\r\n")  # RFC 7628 3.2.3: the dummy response
            self.assertTrue(c.line().startswith(b"-ERR"))
            # A good token afterwards on the same connection
            good = b"n,a=alice,\x01auth=Bearer " + token({}).encode() + b"\x01\x01"
            c.send(b"AUTH OAUTHBEARER " + base64.b64encode(good) + b"\r\n")
            self.assertTrue(c.line().startswith(b"+OK"))
        # XOAUTH2 over SMTP, without an initial response (a token does not fit in a 512-octet command line)
        with RawConnection(self.port("submissions"), tls=True) as c:
            self.assertTrue(c.line().startswith(b"220 "))
            self.assertRegex(ehlo(c), rb"250[- ]AUTH PLAIN OAUTHBEARER XOAUTH2\r\n")
            c.send(b"AUTH XOAUTH2\r\n")
            self.assertEqual(c.line(), b"334 \r\n")
            c.send(base64.b64encode(b"user=alice\x01auth=Bearer " + expired.encode() + b"\x01\x01") + b"\r\n")
            challenge = c.line()
            self.assertTrue(challenge.startswith(b"334 "), challenge)
            document = json.loads(base64.b64decode(challenge[4:].strip(), validate=True))
            self.assertEqual(document, {"status": "401", "schemes": "Bearer", "scope": "openid email"})
            c.send(b"\r\n")  # Google's clients answer the error with an empty response
            self.assertTrue(c.line().startswith(b"535 "))

    def test_not_offered_without_tls(self):
        with RawConnection(self.port("pop3-plain")) as c:
            self.assertTrue(c.line().startswith(b"+OK"))
            capa = capability_list(c)
            self.assertIn(b"SASL PLAIN\r\n", capa)  # passwords in the clear are allowed here; tokens never
            c.send(b"AUTH OAUTHBEARER\r\n")
            self.assertTrue(c.line().startswith(b"-ERR"))
            c.send(b"STLS\r\n")
            self.assertTrue(c.line().startswith(b"+OK"))
            c.starttls()
            self.assertIn(b"SASL PLAIN OAUTHBEARER XOAUTH2\r\n", capability_list(c))
        with RawConnection(self.port("submission")) as c:
            self.assertTrue(c.line().startswith(b"220 "))
            reply = ehlo(c)
            self.assertNotIn(b"OAUTHBEARER", reply)
            self.assertNotIn(b"XOAUTH2", reply)
            c.send(b"AUTH XOAUTH2\r\n")
            self.assertTrue(c.line().startswith(b"538 "))  # RFC 4954 6: encryption required for it

    def test_a_changed_jwks_is_read_again(self):
        later = token({}, alg="ES256", signer="ec-later", kid="ec2")
        self.assertEqual(self.pop3(later, "OAUTHBEARER", "pop3s").returncode, 67)
        write_jwks(self.jwks, [rsa_jwk("rsa", "rsa1"), ec_jwk("ec", "ec1"), ec_jwk("ec-later", "ec2")])
        for _ in range(40):  # the file is looked at once a second
            result = self.pop3(later, "OAUTHBEARER", "pop3s")
            if result.returncode == 0:
                break
            time.sleep(0.25)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(self.daemon.log_contains(r"plugin=jwt re-read .*jwks\.json: 3 signing keys"))


class Configuration(unittest.TestCase):
    """[plugin.jwt] mistakes stop --check-config, each named."""

    def check(self, work, table):
        path = os.path.join(work, "mailwright.toml")
        with open(path, "w") as f:
            f.write(table + '\n[[listener]]\nname = "e"\nservice = "echo"\nport = 0\n')
        return subprocess.run([DAEMON, "--check-config", path], capture_output=True, text=True, timeout=30, cwd=work)

    def test_mistakes_are_named(self):
        with tempfile.TemporaryDirectory(prefix="mailwright-oauth-config-") as work:
            result = self.check(work, '[plugin.jwt]\nclock_skew = "1h"\n')
            self.assertEqual(result.returncode, 2, result.stderr)
            for key in ("jwks", "issuer", "audience", "clock_skew"):
                self.assertRegex(result.stderr, f"'{key}'|{key}", key)
            jwks = os.path.join(work, "jwks.json")
            with open(jwks, "w") as f:
                json.dump({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, f)  # an HMAC key only: nothing usable
            table = f'[plugin.jwt]\njwks = "{jwks}"\nissuer = "{ISSUER}"\naudience = "{AUDIENCE}"\n'
            result = self.check(work, table)
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn("no RS256 (RSA) or ES256 (P-256) signing key", result.stderr)
            write_jwks(jwks, [ec_jwk("ec", "ec1")])
            result = self.check(work, table)
            self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
