"""Test certificates made with the openssl command: a CA, server certificates, client certificates."""
import os
import subprocess


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _self_signed(cwd, name, cn, san, key_type="ec"):
    key_opts = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key_type == "ec" else \
        ["-newkey", "rsa:2048"]
    _openssl("req", "-x509", *key_opts, "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
             "-subj", f"/CN={cn}", "-days", "2", "-addext", f"subjectAltName={san}", cwd=cwd)


def _signed_by_ca(cwd, name, cn, san):
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", "-subj", f"/O=Mailwright Tests/CN={cn}", "-addext", f"subjectAltName={san}",
             cwd=cwd)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", f"{name}.pem", "-days", "2", "-copy_extensions", "copy", cwd=cwd)


def make_all(cwd):
    """Writes into cwd: ca, one (CN one.test), two (CN two.test), rsa (RSA-2048, CN rsa.test),
    alice (client, signed by ca, SAN email alice@example.org), mallory (self-signed client)."""
    if os.path.exists(os.path.join(cwd, "mallory.pem")):
        return
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             "ca.key", "-out", "ca.pem", "-subj", "/CN=Mailwright Test CA", "-days", "2",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", cwd=cwd)
    _self_signed(cwd, "one", "one.test", "DNS:one.test")
    _self_signed(cwd, "two", "two.test", "DNS:two.test")
    _self_signed(cwd, "rsa", "rsa.test", "DNS:rsa.test", key_type="rsa")
    _signed_by_ca(cwd, "alice", "alice", "email:alice@example.org,DNS:alice.example.org")
    _self_signed(cwd, "mallory", "mallory", "email:mallory@example.org")


def der_sha256(pem_path):
    der = subprocess.run(["openssl", "x509", "-in", pem_path, "-outform", "DER"], check=True,
                         capture_output=True, timeout=30).stdout
    import hashlib
    return hashlib.sha256(der).hexdigest()
