"""The TLS probe against real TLS servers on 127.0.0.1, with certificates made by ``cryptography``.

A private CA (root + intermediate) passed as an extra trust root stands in for a public CA, so the chain,
expiry and name cases can each be produced; names are pointed at 127.0.0.1 with ``resolve`` (no DNS).
"""
from __future__ import annotations

import datetime
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edgemedic.collect import probe_targets
from edgemedic.collect.probe import probe_all, probe_tls
from edgemedic.model import ProbeResult

NOW = datetime.datetime.now(datetime.timezone.utc)
RESOLVE = {"origin.test": "127.0.0.1", "shop.example.test": "127.0.0.1"}


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _cert(subject: str, key, issuer_name: str, issuer_key, *, ca: bool = False, names: tuple[str, ...] = (),
          expired: bool = False) -> x509.Certificate:
    start, end = (NOW - datetime.timedelta(days=400), NOW - datetime.timedelta(days=35)) if expired else (
        NOW - datetime.timedelta(days=1), NOW + datetime.timedelta(days=90))
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), True)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


class TlsServer:
    """Answers TLS handshakes on 127.0.0.1 with a fixed chain until closed."""

    def __init__(self, tmp: Path, name: str, chain: bytes, key):
        certfile, keyfile = tmp / f"{name}.pem", tmp / f"{name}.key"
        certfile.write_bytes(chain)
        keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certfile, keyfile)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(2)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (ssl.SSLError, OSError):
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pki")
    root_key, inter_key, leaf_key, self_key = _key(), _key(), _key(), _key()
    root = _cert("Test Root CA", root_key, "Test Root CA", root_key, ca=True)
    inter = _cert("Test Intermediate CA", inter_key, "Test Root CA", root_key, ca=True)
    leaf = _cert("origin.test", leaf_key, "Test Intermediate CA", inter_key, names=("origin.test",))
    expired = _cert("origin.test", leaf_key, "Test Intermediate CA", inter_key, names=("origin.test",), expired=True)
    self_signed = _cert("origin.test", self_key, "origin.test", self_key, names=("origin.test",))
    cafile = tmp / "root.pem"
    cafile.write_bytes(_pem(root))
    servers = {
        "good": TlsServer(tmp, "good", _pem(leaf, inter), leaf_key),
        "no-intermediate": TlsServer(tmp, "no-intermediate", _pem(leaf), leaf_key),
        "expired": TlsServer(tmp, "expired", _pem(expired, inter), leaf_key),
        "self-signed": TlsServer(tmp, "self-signed", _pem(self_signed), self_key),
        "private-root": TlsServer(tmp, "private-root", _pem(leaf, inter, root), leaf_key),
    }
    yield {"cafile": str(cafile), "servers": servers}
    for server in servers.values():
        server.close()


def _probe(pki, server: str, name: str = "origin.test", *, trusted: bool = True) -> ProbeResult:
    return probe_tls("origin.test", name, port=pki["servers"][server].port, timeout=2,
                     cafile=pki["cafile"] if trusted else None, resolve=RESOLVE)


def test_valid_chain_and_name(pki):
    result = _probe(pki, "good")
    assert (result.ok, result.problem, result.names) == (True, None, ("origin.test",))
    assert (result.host, result.server_name) == ("origin.test", "origin.test")


def test_name_mismatch_when_the_viewer_host_is_the_server_name(pki):
    result = _probe(pki, "good", "shop.example.test")
    assert (result.ok, result.problem, result.names) == (False, "name-mismatch", ("origin.test",))
    assert result.server_name == "shop.example.test"


def test_missing_intermediate_is_incomplete_chain(pki):
    result = _probe(pki, "no-intermediate")
    assert (result.ok, result.problem) == (False, "incomplete-chain")


def test_expired(pki):
    result = _probe(pki, "expired")
    assert (result.ok, result.problem) == (False, "expired")
    assert "expired" in result.detail


def test_self_signed(pki):
    result = _probe(pki, "self-signed")
    assert (result.ok, result.problem, result.names) == (False, "self-signed", ("origin.test",))


def test_chain_to_a_root_cloudfront_does_not_trust(pki):
    # Without the private root as a trust root, only certifi's (Mozilla's) roots count, as for CloudFront.
    result = _probe(pki, "private-root", trusted=False)
    assert (result.ok, result.problem) == (False, "untrusted")


def test_unreachable():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    result = probe_tls("origin.test", port=port, timeout=1, resolve=RESOLVE)
    assert (result.ok, result.problem) == (False, "unreachable")


def test_probe_all_keys_by_origin_and_server_name(pki):
    port = pki["servers"]["good"].port
    results = probe_all([("origin.test", "origin.test", port), ("origin.test", "shop.example.test", port)],
                        timeout=2, cafile=pki["cafile"], resolve=RESOLVE)
    assert {key: r.problem for key, r in results.items()} == {
        ("origin.test", "origin.test"): None, ("origin.test", "shop.example.test"): "name-mismatch"}


def test_targets_use_the_viewer_names_when_host_is_forwarded():
    from builders import behavior, custom_origin, distribution, s3_origin
    from edgemedic import policies

    dist = distribution(
        origins=[custom_origin("app", "origin.test"), custom_origin("plain", "http.test", protocol="http-only"),
                 s3_origin("site")],
        behaviors=[behavior("/app/*", "app", orp=policies.ALL_VIEWER), behavior("*", "site")],
        aliases=("shop.example.test",))
    assert probe_targets([dist]) == {("origin.test", "origin.test", 443), ("origin.test", "shop.example.test", 443),
                                     ("origin.test", "d111111abcdef8.cloudfront.net", 443)}
