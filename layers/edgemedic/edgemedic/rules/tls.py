"""The certificate a custom origin presents to CloudFront.

Source: ../shared/reference/aws-facts.md section 8 (http-502-bad-gateway, using-https-cloudfront-to-custom-origin):
one name on the certificate must match the origin domain or, when the behavior forwards Host, the viewer's Host
(wildcards allowed); expired, self-signed or chain-less certificates make CloudFront drop the connection (502).

API origins are left to the apigw-* rules: API Gateway's certificates are AWS-managed and cover the execute-api
domain, and a custom domain's certificate covers its name by construction. ACM cannot issue a certificate for a
``*.elb.amazonaws.com`` name, so a load balancer's own DNS name is never covered.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from ..findings import Finding, FixClass, Rule, SetOriginDomain, Severity
from ..forwarding import forwarding_of
from ..model import Certificate, Distribution, Inventory, LoadBalancer, Origin, ProbeResult
from .common import approve, behaviors_of, finding, is_api_origin, manual, used_by

ELB_SUFFIX = ".elb.amazonaws.com"
_VALID_STATUSES = frozenset({"ISSUED", "PROBED"})
_PROBE_INVALID = frozenset({"expired", "self-signed", "incomplete-chain", "untrusted"})


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


def name_covers(cert_name: str, host: str) -> bool:
    """Whether certificate name ``cert_name`` covers ``host``; ``*.example.com`` covers exactly one label.

    >>> name_covers("*.example.com", "api.example.com"), name_covers("*.example.com", "a.b.example.com")
    (True, False)
    """
    cert_name, host = _norm(cert_name), _norm(host)
    if cert_name.startswith("*."):
        label, _, rest = host.partition(".")
        return bool(label) and rest == cert_name[2:]
    return cert_name == host


# ALB/classic ``name.{region}.elb.amazonaws.com``, NLB ``name.elb.{region}.amazonaws.com``, and amazonaws.com.cn.
_ELB_NAME = re.compile(r"^.+\.elb(?:\.[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d)?\.amazonaws\.com(?:\.cn)?$")


def is_elb_name(domain: str) -> bool:
    return bool(_ELB_NAME.match(_norm(domain)))


def _reached_over_https(origin: Origin) -> bool:
    # match-viewer uses HTTPS for viewers on HTTPS, which every viewer protocol policy admits.
    return origin.is_custom and not is_api_origin(origin) and origin.protocol_policy in {"https-only", "match-viewer"}


def load_balancer_of(origin: Origin, inv: Inventory) -> LoadBalancer | None:
    """The load balancer behind the origin domain: its own DNS name, or a Route 53 name pointing at it."""
    domain = _norm(origin.domain_name)
    found = inv.load_balancers.get(domain)
    if found is not None:
        return found
    for lb in inv.load_balancers.values():
        if domain in {_norm(name) for name in lb.alias_names}:
            return lb
    return None


@dataclass(frozen=True, slots=True)
class _Certificates:
    certs: tuple[Certificate, ...]
    missing: tuple[str, ...]  # ARNs on the listener that could not be read

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for cert in self.certs for name in cert.domain_names))

    def covers(self, host: str) -> bool:
        return any(name_covers(name, host) for name in self.names)


def _certificates(lb: LoadBalancer, inv: Inventory) -> _Certificates:
    certs = [inv.certificates[arn] for arn in lb.https_certificate_arns if arn in inv.certificates]
    missing = [arn for arn in lb.https_certificate_arns if arn not in inv.certificates]
    return _Certificates(tuple(certs), tuple(missing))


def _viewer_hosts(dist: Distribution) -> tuple[str, ...]:
    return dist.aliases or (dist.domain_name,)


def _checked_names(dist: Distribution, origin: Origin) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    """(behavior, the viewer hosts it sends as Host) for each behavior to ``origin``: () when Host stays the origin
    domain, None when a policy could not be read. An origin no behavior targets is checked against its domain."""
    result = []
    for behavior in behaviors_of(dist, origin.id):
        forwarding = forwarding_of(behavior)
        if forwarding.forwards_host:
            hosts: tuple[str, ...] | None = _viewer_hosts(dist)
        else:
            hosts = None if forwarding.unknown else ()
        result.append((behavior.path_pattern, hosts))
    return tuple(result) or (("", ()),)


def _probes(origin: Origin, inv: Inventory) -> tuple[ProbeResult, ...]:
    domain = _norm(origin.domain_name)
    return tuple(probe for (host, _sni), probe in sorted(inv.probes.items()) if _norm(host) == domain)


# --------------------------------------------------------------------------------------------- name mismatch


def check_name_mismatch(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """A custom origin reached over HTTPS presents a certificate that names neither the origin domain nor the
    forwarded viewer Host."""
    for origin in dist.origins:
        if not _reached_over_https(origin):
            continue
        lb = load_balancer_of(origin, inv)
        certs = _certificates(lb, inv) if lb is not None else None
        readable = certs is not None and not certs.missing and bool(certs.certs)
        elb_name = is_elb_name(origin.domain_name)
        probe_mismatch = [p for p in _probes(origin, inv) if p.problem == "name-mismatch"]

        if readable:
            domain_ok = certs.covers(origin.domain_name)
        elif elb_name:
            domain_ok = False  # no public CA issues for amazonaws.com names
        elif probe_mismatch and any(_norm(p.server_name) == _norm(origin.domain_name) for p in probe_mismatch):
            domain_ok = False
        else:
            continue  # nothing read says the certificate is wrong
        if domain_ok:
            continue

        broken: list[str] = []  # behaviors (or "") for which no checked name is covered
        uncovered_hosts: set[str] = set()
        for pattern, hosts in _checked_names(dist, origin):
            if hosts is None:
                continue  # whether it forwards Host is unknown
            if not hosts:
                broken.append(pattern)
                continue
            if readable:
                missing_hosts = [h for h in hosts if not certs.covers(h)]
            else:
                # Unread certificate: only a probe with that Host as SNI can tell.
                missing_hosts = [h for h in hosts if any(_norm(p.server_name) == _norm(h) for p in probe_mismatch)]
            if missing_hosts:
                broken.append(pattern)
                uncovered_hosts.update(missing_hosts)
        if not broken:
            continue

        evidence = [f"origin {origin.id} domain {origin.domain_name}, OriginProtocolPolicy {origin.protocol_policy}",
                    used_by(dist, origin.id)]
        if elb_name:
            evidence.append(f"{origin.domain_name} is a load balancer DNS name, which no certificate can name")
        if readable:
            evidence.append(f"certificate names on load balancer {lb.dns_name}: {', '.join(certs.names)}")
            if lb.alias_names:  # where the proposed origin domain comes from
                evidence.append(f"Route 53 names pointing at load balancer {lb.dns_name}: "
                                f"{', '.join(lb.alias_names)}")
        for probe in probe_mismatch:
            evidence.append(f"probe of {probe.host}:{probe.port} with SNI {probe.server_name}: name-mismatch"
                            + (f" (certificate names: {', '.join(probe.names)})" if probe.names else "")
                            + (f": {probe.detail}" if probe.detail else ""))
        named = [p for p in broken if p]
        if named:
            evidence.append(f"behaviors affected: {', '.join(named)}")
        if uncovered_hosts:
            evidence.append(f"forwarded viewer Host not on the certificate: {', '.join(sorted(uncovered_hosts))}")
        notes = []
        if certs is not None and certs.missing:
            notes.append(f"certificates {', '.join(certs.missing)} on {lb.dns_name} could not be read")

        candidates = _name_candidates(dist, lb, certs) if readable else ()
        message = (f"Origin {origin.id} ({origin.domain_name}) presents a certificate that does not name the host "
                   "CloudFront checks")
        symptom = (f"CloudFront answers 502 \"CloudFront wasn't able to connect to the origin\" for requests to "
                   f"origin {origin.id}: the TLS handshake fails on the certificate name")
        if len(candidates) == 1:
            fix = approve(f"Set the domain of origin {origin.id} to {candidates[0]}, a name on the load balancer's "
                          "certificate that points at it",
                          SetOriginDomain(origin.id, candidates[0]))
        else:
            options = (f"candidates (names on the certificate that point at the load balancer): {', '.join(candidates)}"
                       if candidates else
                       "no Route 53 name in the account both points at the load balancer and is on its certificate; "
                       "create one (a record pointing at the load balancer, covered by the listener certificate)")
            ticket = (f"Origin {origin.id} of distribution {dist.id} is {origin.domain_name}, which the origin's "
                      f"certificate does not name. Set the origin domain to a DNS name that is on the certificate and "
                      f"resolves to the same origin"
                      # no certificate can name a load balancer's own DNS name (the evidence says so)
                      + ("" if elb_name else f", or put a certificate naming {origin.domain_name} on the origin")
                      + f". {options}.")
            fix = manual("Set the origin domain to a name on the origin's certificate", ticket)
        yield finding(NAME_MISMATCH, dist, behavior="", origin=origin.id, message=message, symptom=symptom,
                      fix=fix, evidence=evidence, notes=notes)


def _name_candidates(dist: Distribution, lb: LoadBalancer, certs: _Certificates) -> tuple[str, ...]:
    """Route 53 names that point at ``lb`` and are on its certificate (never an alias of this distribution, whose
    DNS leads back to CloudFront)."""
    aliases = {_norm(a) for a in dist.aliases}
    return tuple(dict.fromkeys(
        _norm(name) for name in lb.alias_names if certs.covers(name) and _norm(name) not in aliases
    ))


# --------------------------------------------------------------------------------------------- invalid certificate


def check_cert_invalid(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """A custom origin reached over HTTPS serves an expired, revoked, self-signed or chain-less certificate."""
    for origin in dist.origins:
        if not _reached_over_https(origin):
            continue
        evidence: list[str] = []
        lb = load_balancer_of(origin, inv)
        if lb is not None:
            evidence.extend(_served_invalid(dist, origin, lb, inv))
        for probe in _probes(origin, inv):
            if probe.problem in _PROBE_INVALID:
                evidence.append(f"probe of {probe.host}:{probe.port} with SNI {probe.server_name}: {probe.problem}"
                                + (f": {probe.detail}" if probe.detail else ""))
        if not evidence:
            continue
        where = f"the HTTPS listener of load balancer {lb.dns_name}" if lb is not None else origin.domain_name
        ticket = (f"Origin {origin.id} ({origin.domain_name}) of distribution {dist.id} serves a certificate "
                  f"CloudFront rejects ({'; '.join(evidence)}). Install a valid certificate from a publicly trusted "
                  f"CA (an ISSUED ACM certificate, or the full chain) that names {origin.domain_name} on {where}.")
        yield finding(
            CERT_INVALID, dist, behavior="", origin=origin.id,
            message=f"Origin {origin.id} ({origin.domain_name}) serves a certificate CloudFront does not accept",
            symptom=(f"CloudFront answers 502 \"CloudFront wasn't able to connect to the origin\" for requests to "
                     f"origin {origin.id}"),
            fix=manual("Put a valid ACM certificate on the origin", ticket),
            evidence=(*evidence, used_by(dist, origin.id)),
        )


def _served_invalid(dist: Distribution, origin: Origin, lb: LoadBalancer, inv: Inventory) -> list[str]:
    """Evidence for certificates the load balancer serves to CloudFront that are not ISSUED.

    The load balancer picks the certificate that names the SNI host; with none, it serves its default one (which
    the model does not single out), so then every listener certificate must be bad to be sure.
    """
    certs = _certificates(lb, inv)
    if certs.missing or not certs.certs:
        return []
    hosts = {origin.domain_name}
    for _pattern, forwarded in _checked_names(dist, origin):
        hosts.update(forwarded or ())
    bad: dict[str, Certificate] = {}
    for host in sorted(hosts):
        served = [c for c in certs.certs if any(name_covers(n, host) for n in c.domain_names)] or list(certs.certs)
        if all(c.status not in _VALID_STATUSES for c in served):
            bad.update((c.arn, c) for c in served)
    return [f"certificate {c.arn} ({', '.join(c.domain_names)}) on load balancer {lb.dns_name}: status {c.status}"
            for c in bad.values()]


NAME_MISMATCH = Rule(
    id="origin-tls-name-mismatch",
    severity=Severity.HIGH,
    fix_class="approve/manual",
    title="A custom origin reached over HTTPS (https-only, or match-viewer with HTTPS viewers) whose "
          "certificate cannot cover the name CloudFront checks (the origin domain, or the viewer Host"
          " when Host is forwarded): a load balancer DNS name (*.elb.amazonaws.com), or a listener "
          "certificate read from ELB/ACM whose names do not match.",
    symptom="502 \"CloudFront wasn't able to connect to the origin\".",
    remediation="Origin domain = a name on the certificate that points at the same origin (approve "
                "where exactly one such name exists, else manual).",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/http-502-bad-gateway.html",
    check=check_name_mismatch,
)

CERT_INVALID = Rule(
    id="origin-tls-cert-invalid",
    severity=Severity.HIGH,
    fix_class=FixClass.MANUAL.value,
    title="The origin's certificate is expired, self-signed, or served without its chain (ACM status,"
          " or a live probe when the user asks for one).",
    symptom="502.",
    remediation="A valid ACM certificate on the origin (manual).",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/http-502-bad-gateway.html",
    check=check_cert_invalid,
)

RULES: tuple[Rule, ...] = (NAME_MISMATCH, CERT_INVALID)

__all__ = ["RULES", "NAME_MISMATCH", "CERT_INVALID", "name_covers", "is_elb_name", "load_balancer_of"]
