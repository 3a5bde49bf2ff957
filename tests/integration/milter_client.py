"""A minimal milter client (the MTA's side of the Sendmail milter protocol, version 6), enough to run one message
through a milter the way an MTA would and see what it says: test_servers uses it to check that the OpenDKIM
harness signs and that the rspamd harness rejects GTUBE. Not a reference for the product's milter client:
it sends every step the filter asks for, in order, with a few macros, and records the answers."""
import socket
import struct

VERSION = 6
ALL_ACTIONS = 0x1FF
# Protocol flags (SMFIP_*): steps the filter does not want (NO*) or will not answer (NR_*).
NO = {"C": 0x1, "H": 0x2, "M": 0x4, "R": 0x8, "B": 0x10, "L": 0x20, "N": 0x40, "T": 0x200}
NR = {"L": 0x80, "C": 0x1000, "H": 0x2000, "M": 0x4000, "R": 0x8000, "T": 0x10000, "N": 0x40000,
      "B": 0x80000}
HDR_LEADSPC = 0x100000
ALL_PROTOCOL = 0x1FFFFF

FINAL = {b"a": "accept", b"d": "discard", b"r": "reject", b"t": "tempfail", b"y": "replycode",
         b"q": "quarantine"}


class MilterResult:
    """What the milter answered: `verdict` (accept, continue, reject, tempfail, replycode, discard,
    quarantine), `stage` (the command letter it came at: C, H, M, R, T, L, N, B, E), `reply` (the text of a
    replycode), and the modifications asked at end of message: `added` [(name, value)], `inserted`
    [(index, name, value)], `changed` [(index, name, value)]."""

    def __init__(self):
        self.verdict, self.stage, self.reply = "continue", None, ""
        self.added, self.inserted, self.changed = [], [], []

    def __repr__(self):
        return (f"MilterResult({self.verdict} at {self.stage} {self.reply!r}, added={self.added}, "
                f"inserted={self.inserted}, changed={self.changed})")

    def headers_prepended(self, message):
        """message (bytes) with the inserted and added header fields in front (CRLF), as an MTA writing the
        inserted fields at index 0 would; enough to verify a DKIM-Signature the milter added."""
        fields = [(n, v) for _, n, v in sorted(self.inserted, key=lambda x: x[0])] + self.added
        return b"".join(f"{n}: {v}\r\n".replace("\r\n", "\n").replace("\n", "\r\n").encode()
                        for n, v in fields) + message


def _split(message):
    head, _, body = message.replace(b"\r\n", b"\n").partition(b"\n\n")
    headers = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and headers:
            headers[-1][1] += b"\r\n" + line
        else:
            name, _, value = line.partition(b":")
            headers.append([name, value[1:] if value.startswith(b" ") else value])
    return headers, body.replace(b"\n", b"\r\n")


class MilterClient:
    def __init__(self, port, host="127.0.0.1", timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")

    def close(self):
        self.file.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, command, data=b""):
        self.sock.sendall(struct.pack(">I", len(data) + 1) + command + data)

    def receive(self):
        head = self.file.read(4)
        if len(head) < 4:
            raise ConnectionError("the milter closed the connection")
        (length,) = struct.unpack(">I", head)
        packet = self.file.read(length)
        if len(packet) < length:
            raise ConnectionError("the milter closed the connection mid-packet")
        return packet[:1], packet[1:]

    def negotiate(self):
        self.send(b"O", struct.pack(">III", VERSION, ALL_ACTIONS, ALL_PROTOCOL))
        command, data = self.receive()
        if command != b"O":
            raise ConnectionError(f"no option negotiation answer: {command!r} {data!r}")
        self.version, self.actions, self.protocol = struct.unpack(">III", data[:12])

    def check(self, message, sender, recipients, client_address="127.0.0.1", helo="client.example",
              macros=None):
        """Runs one message through the milter; a MilterResult. macros: {command letter: {name: value}},
        added to the defaults (j, {daemon_name}, i, {auth_authen} when given...)."""
        self.negotiate()
        defaults = {"C": {"j": "mx.example.net", "{daemon_name}": "mailwright"}, "M": {"i": "4ABCDEF"}}
        for letter, values in (macros or {}).items():
            defaults.setdefault(letter, {}).update(values)
        result = MilterResult()
        headers, body = _split(message)
        steps = [("C", b"client.example\0" + b"4" + struct.pack(">H", 25000) + client_address.encode() + b"\0"),
                 ("H", helo.encode() + b"\0"), ("M", f"<{sender}>".encode() + b"\0")]
        steps += [("R", f"<{rcpt}>".encode() + b"\0") for rcpt in recipients]
        steps += [("T", b"")]
        space = b" " if self.protocol & HDR_LEADSPC else b""
        steps += [("L", name + b"\0" + space + value + b"\0") for name, value in headers]
        steps += [("N", b"")]
        steps += [("B", body[i:i + 65535]) for i in range(0, len(body), 65535)]
        for letter, data in steps:
            if self.protocol & NO[letter]:
                continue
            if letter in defaults:
                self.send(b"D", letter.encode() + b"".join(
                    k.encode() + b"\0" + v.encode() + b"\0" for k, v in defaults[letter].items()))
            self.send(letter.encode(), data)
            if self.protocol & NR[letter]:
                continue
            command, answer = self.receive()
            if command != b"c" and self._final(result, letter, command, answer):
                return result
        self.send(b"E")
        while True:
            command, answer = self.receive()
            if command == b"h":
                name, value = answer.rstrip(b"\0").split(b"\0", 1)
                result.added.append((name.decode(), value.decode().lstrip(" ")))
            elif command in (b"i", b"m"):
                (index,) = struct.unpack(">I", answer[:4])
                name, value = answer[4:].rstrip(b"\0").split(b"\0", 1)
                target = result.inserted if command == b"i" else result.changed
                target.append((index, name.decode(), value.decode().lstrip(" ")))
            elif command == b"p":
                continue
            elif command == b"c" or self._final(result, "E", command, answer):
                result.stage = result.stage or "E"
                self.send(b"Q")
                return result

    @staticmethod
    def _final(result, letter, command, answer):
        """Records a final answer; whether it ends the message."""
        if command not in FINAL:
            return False
        result.verdict, result.stage = FINAL[command], letter
        result.reply = answer.rstrip(b"\0").decode(errors="replace")
        return True
