"""A minimal TLS 1.3 client written for one test: it can leave out the CertificateVerify after its client
certificate (SECURITY-CASES 38, CVE-2022-25640), which no ordinary client will do. Standard library only, so it
runs under any Python the tests run under: X25519 (RFC 7748) and ChaCha20-Poly1305 (RFC 8439) in pure Python,
HKDF over hashlib/hmac, and the ECDSA signature of the CertificateVerify made by the openssl command.

It offers exactly one of everything (TLS 1.3, TLS_CHACHA20_POLY1305_SHA256, x25519,
ecdsa_secp256r1_sha256), checks the server's Finished, and after its own Finished reads what the server sends
under the application keys: the greeting, or an alert. It is a test tool, not a TLS implementation: it verifies
no certificate and keeps no secret safe."""
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import tempfile

# --- X25519 (RFC 7748 5) ---------------------------------------------------------------------------------------
_P = 2**255 - 19
_A24 = 121665


def _x25519(scalar: bytes, u: bytes) -> bytes:
    k = bytearray(scalar)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    k = int.from_bytes(k, "little")
    x1 = int.from_bytes(u, "little") & ((1 << 255) - 1)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in reversed(range(255)):
        bit = (k >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = (x2 + z2) % _P, (x2 - z2) % _P
        aa, bb = a * a % _P, b * b % _P
        e = (aa - bb) % _P
        c, d = (x3 + z3) % _P, (x3 - z3) % _P
        da, cb = d * a % _P, c * b % _P
        x3 = (da + cb) ** 2 % _P
        z3 = x1 * (da - cb) ** 2 % _P
        x2 = aa * bb % _P
        z2 = e * (aa + _A24 * e) % _P
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, _P - 2, _P) % _P).to_bytes(32, "little")


# --- ChaCha20-Poly1305 (RFC 8439) ------------------------------------------------------------------------------
def _rotl(v, n):
    return ((v << n) & 0xffffffff) | (v >> (32 - n))


def _chacha20_block(key: bytes, counter: int, nonce: bytes) -> bytes:
    state = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574, *struct.unpack("<8L", key), counter,
             *struct.unpack("<3L", nonce)]
    x = list(state)

    def quarter(a, b, c, d):
        x[a] = (x[a] + x[b]) & 0xffffffff
        x[d] = _rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & 0xffffffff
        x[b] = _rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & 0xffffffff
        x[d] = _rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & 0xffffffff
        x[b] = _rotl(x[b] ^ x[c], 7)

    for _ in range(10):
        quarter(0, 4, 8, 12)
        quarter(1, 5, 9, 13)
        quarter(2, 6, 10, 14)
        quarter(3, 7, 11, 15)
        quarter(0, 5, 10, 15)
        quarter(1, 6, 11, 12)
        quarter(2, 7, 8, 13)
        quarter(3, 4, 9, 14)
    return struct.pack("<16L", *((a + b) & 0xffffffff for a, b in zip(x, state)))


def _chacha20(key: bytes, counter: int, nonce: bytes, data: bytes) -> bytes:
    out = bytearray()
    for i in range(0, len(data), 64):
        block = _chacha20_block(key, counter + i // 64, nonce)
        out += bytes(a ^ b for a, b in zip(data[i:i + 64], block))
    return bytes(out)


def _poly1305(key: bytes, message: bytes) -> bytes:
    r = int.from_bytes(key[:16], "little") & 0x0ffffffc0ffffffc0ffffffc0fffffff
    s = int.from_bytes(key[16:], "little")
    p = 2**130 - 5
    acc = 0
    for i in range(0, len(message), 16):
        acc = (acc + int.from_bytes(message[i:i + 16] + b"\x01", "little")) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def _pad16(data: bytes) -> bytes:
    return b"\x00" * (-len(data) % 16)


def _aead_tag(key, nonce, aad, ciphertext):
    otk = _chacha20_block(key, 0, nonce)[:32]
    mac_data = aad + _pad16(aad) + ciphertext + _pad16(ciphertext) + struct.pack("<QQ", len(aad), len(ciphertext))
    return _poly1305(otk, mac_data)


def seal(key, nonce, aad, plaintext):
    ciphertext = _chacha20(key, 1, nonce, plaintext)
    return ciphertext + _aead_tag(key, nonce, aad, ciphertext)


def open_sealed(key, nonce, aad, sealed):
    ciphertext, tag = sealed[:-16], sealed[-16:]
    if not hmac.compare_digest(_aead_tag(key, nonce, aad, ciphertext), tag):
        raise ValueError("record authentication failed")
    return _chacha20(key, 1, nonce, ciphertext)


# --- The TLS 1.3 key schedule (RFC 8446 7.1), SHA-256 ----------------------------------------------------------
def _extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def _expand_label(secret, label, context, length):
    full = b"tls13 " + label
    info = struct.pack(">H", length) + bytes([len(full)]) + full + bytes([len(context)]) + context
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def _derive(secret, label, transcript):
    return _expand_label(secret, label, hashlib.sha256(transcript).digest(), 32)


class _Direction:
    """One direction's record protection: ChaCha20-Poly1305 with the key and IV of a traffic secret."""

    def __init__(self, secret):
        self.key = _expand_label(secret, b"key", b"", 32)
        self.iv = _expand_label(secret, b"iv", b"", 12)
        self.seq = 0

    def nonce(self):
        n = bytes(a ^ b for a, b in zip(self.iv, self.seq.to_bytes(12, "big")))
        self.seq += 1
        return n


def _handshake_message(kind, body):
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def _extension(kind, body):
    return struct.pack(">HH", kind, len(body)) + body


def _der_certificates(pem_path):
    with open(pem_path, "rb") as f:
        text = f.read()
    out = subprocess.run(["openssl", "x509", "-outform", "DER"], input=text, capture_output=True, check=True,
                         timeout=30).stdout
    return [out]


def _ecdsa_sign(key_path, content):
    with tempfile.NamedTemporaryFile() as f:
        f.write(content)
        f.flush()
        return subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_path, f.name], capture_output=True,
                              check=True, timeout=30).stdout


class Connection:
    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def _read_exact(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def read_record(self):
        header = self._read_exact(5)
        return header, self._read_exact(struct.unpack(">H", header[3:5])[0])

    def send_record(self, kind, payload):
        self.sock.sendall(bytes([kind]) + b"\x03\x03" + struct.pack(">H", len(payload)) + payload)

    def send_sealed(self, direction, inner_kind, content):
        plaintext = content + bytes([inner_kind])
        header = b"\x17\x03\x03" + struct.pack(">H", len(plaintext) + 16)
        self.sock.sendall(header + seal(direction.key, direction.nonce(), header, plaintext))

    def read_sealed(self, direction):
        """(inner content type, content) of the next protected record; change_cipher_spec is skipped."""
        while True:
            header, payload = self.read_record()
            if header[0] == 20:
                continue
            if header[0] != 23:
                return header[0], payload  # a plaintext alert, say
            plaintext = open_sealed(direction.key, direction.nonce(), header, payload).rstrip(b"\x00")
            return plaintext[-1], plaintext[:-1]


def client_certificate_handshake(port, cert_pem, key_pem, send_certificate_verify=True, request=None):
    """Connects and completes the handshake with the client certificate and its CertificateVerify, signed with
    key_pem (which need not be the certificate's key) unless send_certificate_verify is False. Then reads under
    the application keys until the server closes or a line arrives; with `request`, sends it after that line
    and reads one more. Returns (application data received, alert descriptions received); raises if the
    server's own flight is wrong."""
    c = Connection(port)
    try:
        private = os.urandom(32)
        public = _x25519(private, (9).to_bytes(32, "little"))
        extensions = b"".join([
            _extension(0x002b, b"\x02\x03\x04"),                                  # supported_versions: TLS 1.3
            _extension(0x000a, b"\x00\x02\x00\x1d"),                              # supported_groups: x25519
            _extension(0x000d, b"\x00\x02\x04\x03"),                              # ecdsa_secp256r1_sha256
            _extension(0x0033, struct.pack(">HHH", 36, 0x001d, 32) + public),      # key_share
        ])
        hello = (b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32) + b"\x00\x02\x13\x03" + b"\x01\x00" +
                 struct.pack(">H", len(extensions)) + extensions)
        client_hello = _handshake_message(1, hello)
        c.send_record(22, client_hello)

        header, server_hello = c.read_record()
        if header[0] != 22 or server_hello[0] != 2:
            raise ValueError(f"expected a ServerHello, got record {header[0]} message {server_hello[:1].hex()}")
        body = server_hello[4:]
        offset = 2 + 32
        offset += 1 + body[offset]           # legacy_session_id_echo
        suite = body[offset:offset + 2]
        offset += 3                           # cipher suite, compression
        ext_end = offset + 2 + struct.unpack(">H", body[offset:offset + 2])[0]
        offset += 2
        server_public = None
        while offset < ext_end:
            kind, length = struct.unpack(">HH", body[offset:offset + 4])
            data = body[offset + 4:offset + 4 + length]
            if kind == 0x0033:
                server_public = data[4:4 + 32]
            offset += 4 + length
        if suite != b"\x13\x03" or server_public is None:
            raise ValueError("the server did not take TLS_CHACHA20_POLY1305_SHA256 with x25519")

        transcript = client_hello + server_hello
        shared = _x25519(private, server_public)
        early = _extract(b"\x00" * 32, b"\x00" * 32)
        handshake_secret = _extract(_derive(early, b"derived", b""), shared)
        client_hs = _derive(handshake_secret, b"c hs traffic", transcript)
        server_hs = _derive(handshake_secret, b"s hs traffic", transcript)
        master = _extract(_derive(handshake_secret, b"derived", b""), b"\x00" * 32)
        server_in = _Direction(server_hs)

        # EncryptedExtensions, CertificateRequest, Certificate, CertificateVerify, Finished, in whatever records.
        pending = b""
        request_context = None
        while True:
            while len(pending) < 4 or len(pending) < 4 + int.from_bytes(pending[1:4], "big"):
                kind, content = c.read_sealed(server_in)
                if kind != 22:
                    raise ValueError(f"expected the server's handshake, got content type {kind}: {content.hex()}")
                pending += content
            length = int.from_bytes(pending[1:4], "big")
            message, pending = pending[:4 + length], pending[4 + length:]
            if message[0] == 20:
                expected = hmac.new(_expand_label(server_hs, b"finished", b"", 32),
                                    hashlib.sha256(transcript).digest(), hashlib.sha256).digest()
                if not hmac.compare_digest(message[4:], expected):
                    raise ValueError("the server's Finished does not verify")
                transcript += message
                break
            if message[0] == 13:
                request_context = message[5:5 + message[4]]
            transcript += message
        if request_context is None:
            raise ValueError("the server asked for no client certificate")

        client_ap = _derive(master, b"c ap traffic", transcript)
        server_ap = _derive(master, b"s ap traffic", transcript)

        client_out = _Direction(client_hs)
        c.send_record(20, b"\x01")  # middlebox-compatibility change_cipher_spec, as real clients send
        entries = b"".join(len(der).to_bytes(3, "big") + der + b"\x00\x00" for der in _der_certificates(cert_pem))
        certificate = _handshake_message(
            11, bytes([len(request_context)]) + request_context + len(entries).to_bytes(3, "big") + entries)
        transcript += certificate
        flight = certificate
        if send_certificate_verify:
            signed = b" " * 64 + b"TLS 1.3, client CertificateVerify\x00" + hashlib.sha256(transcript).digest()
            signature = _ecdsa_sign(key_pem, signed)
            verify = _handshake_message(15, b"\x04\x03" + struct.pack(">H", len(signature)) + signature)
            transcript += verify
            flight += verify
        finished = _handshake_message(20, hmac.new(_expand_label(client_hs, b"finished", b"", 32),
                                                   hashlib.sha256(transcript).digest(), hashlib.sha256).digest())
        c.send_sealed(client_out, 22, flight + finished)

        # What comes back: tickets and the greeting, or an alert. Read until a line or the end.
        server_in = _Direction(server_ap)
        client_out = _Direction(client_ap)
        application, alerts = b"", []
        lines = 1 if request is None else 2
        sent = False
        try:
            while application.count(b"\n") < lines:
                kind, content = c.read_sealed(server_in)
                if kind == 23:
                    application += content
                    if request is not None and not sent and b"\n" in application:
                        c.send_sealed(client_out, 23, request)
                        sent = True
                elif kind == 21:
                    alerts.append(content[1] if len(content) > 1 else None)
                    break
        except (EOFError, ConnectionError, ValueError):
            pass  # closed, reset, or an alert under keys other than the application ones
        return application, alerts
    finally:
        c.sock.close()
