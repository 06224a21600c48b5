"""Live TLS probes of HTTPS custom origins (``edgemedic scan --probe``), as CloudFront would connect.

CloudFront checks the origin's certificate against the Mozilla CA list (certifi carries the same list), requires
the full chain, an unexpired certificate, and a name matching the origin domain or, when the behavior forwards
Host, the viewer's Host (../shared/reference/aws-facts.md section 8). One handshake with that server name shows
which of these fails. Problems: ``expired``, ``self-signed``, ``incomplete-chain`` (the issuer was neither sent nor
trusted: usually a missing intermediate, also a leaf signed directly by an unknown CA that was not sent),
``name-mismatch``, ``untrusted`` (a chain up to a root CloudFront does not trust), ``unreachable``.
"""
from __future__ import annotations

import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Mapping

import certifi

from ..model import ProbeResult

# OpenSSL X509_V_ERR_* codes (openssl/x509_vfy.h).
_PROBLEMS = {
    10: "expired",  # CERT_HAS_EXPIRED
    18: "self-signed",  # DEPTH_ZERO_SELF_SIGNED_CERT
    19: "untrusted",  # SELF_SIGNED_CERT_IN_CHAIN
    2: "incomplete-chain",  # UNABLE_TO_GET_ISSUER_CERT
    20: "incomplete-chain",  # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: "incomplete-chain",  # UNABLE_TO_VERIFY_LEAF_SIGNATURE
    62: "name-mismatch",  # HOSTNAME_MISMATCH
}


def _context(cafile: str | None, verify: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    if cafile:
        context.load_verify_locations(cafile=cafile)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _names_of(der: bytes | None) -> tuple[str, ...]:
    """DNS names of a DER certificate, when ``cryptography`` is installed (it is optional at run time)."""
    if not der:
        return ()
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID
    except ImportError:
        return ()
    cert = x509.load_der_x509_certificate(der)
    try:
        names = list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                     .get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return tuple(str(n).lower() for n in names)


def _handshake(address: str, port: int, server_name: str, timeout: float, context: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection((address, port), timeout=timeout)
    try:
        return context.wrap_socket(raw, server_hostname=server_name)
    except BaseException:
        raw.close()
        raise


def probe_tls(host: str, server_name: str | None = None, *, port: int = 443, timeout: float = 3.0,
              cafile: str | None = None, resolve: Mapping[str, str] | None = None) -> ProbeResult:
    """Handshake with ``host`` using SNI ``server_name`` (default: ``host``) and verify as CloudFront would.

    ``cafile`` adds trust roots to certifi's; ``resolve`` maps host names to addresses (tests, no DNS).
    """
    server_name = server_name or host
    address = (resolve or {}).get(host, host)
    try:
        with _handshake(address, port, server_name, timeout, _context(cafile)) as tls:
            peer = tls.getpeercert() or {}
            names = tuple(v.lower() for k, v in peer.get("subjectAltName", ()) if k == "DNS")
            return ProbeResult(host, port, server_name, True, None, f"{tls.version()}, certificate valid", names)
    except ssl.SSLCertVerificationError as error:
        problem = _PROBLEMS.get(error.verify_code, "untrusted")
        detail = f"{error.verify_message} (OpenSSL {error.verify_code})"
        names: tuple[str, ...] = ()
        try:
            with _handshake(address, port, server_name, timeout, _context(cafile, verify=False)) as tls:
                names = _names_of(tls.getpeercert(binary_form=True))
        except (OSError, ValueError):
            pass
        return ProbeResult(host, port, server_name, False, problem, detail, names)
    except (OSError, ssl.SSLError) as error:  # refused, timeout, DNS, handshake failure
        return ProbeResult(host, port, server_name, False, "unreachable", f"{type(error).__name__}: {error}")


def probe_all(targets: Iterable[tuple[str, str, int]], *, timeout: float = 3.0, cafile: str | None = None,
              resolve: Mapping[str, str] | None = None, workers: int = 8) -> dict[tuple[str, str], ProbeResult]:
    """Probe each (origin domain, server name, port) once, a few at a time. Keyed (origin domain, server name)."""
    unique = sorted(set(targets))
    if not unique:
        return {}
    with ThreadPoolExecutor(max_workers=min(workers, len(unique))) as pool:
        results = pool.map(lambda t: probe_tls(t[0], t[1], port=t[2], timeout=timeout, cafile=cafile,
                                               resolve=resolve), unique)
        return {(r.host, r.server_name): r for r in results}
