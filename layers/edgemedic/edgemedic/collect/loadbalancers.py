"""Load balancer origins: the certificates their HTTPS/TLS listeners serve, and the DNS names that point at them.

ELBv2 has no lookup by DNS name, so each region's load balancers are listed once and matched by ``DNSName``.
Listener certificates (default and SNI ones) come from DescribeListeners + DescribeListenerCertificates, their names
and status from ACM DescribeCertificate. Route 53 alias / CNAME records in the account's public hosted zones that
point at a load balancer give the names a certificate could cover instead of the ``*.elb.amazonaws.com`` one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from ..aws import Clients
from ..model import Certificate, LoadBalancer, Unreadable, certificate_key, load_balancer_key
from .calls import ResourceUnreadable, call, paginate
from .origins import load_balancer_region

_TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})


def _dns(name: str) -> str:
    name = name.lower().rstrip(".")
    return name[len("dualstack."):] if name.startswith("dualstack.") else name


def _record_name(name: str) -> str:
    # Route 53 returns "*" as the octal escape \052 in record names.
    return name.rstrip(".").replace("\\052", "*")


@dataclass
class LoadBalancerReader:
    clients: Clients
    load_balancers: dict[str, LoadBalancer] = field(default_factory=dict)
    certificates: dict[str, Certificate] = field(default_factory=dict)
    unreadable: dict[str, Unreadable] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _by_region: dict[str, dict[str, dict] | ResourceUnreadable] = field(default_factory=dict)

    def read(self, dns_names: Iterable[str]) -> None:
        """Read the load balancers behind ``dns_names`` (origin domains), their certificates and DNS aliases."""
        found: dict[str, dict] = {}
        for dns_name in sorted({_dns(n) for n in dns_names}):
            raw = self._find(dns_name)
            if raw is not None:
                found[dns_name] = raw
        aliases = self._aliases(set(found)) if found else {}
        for dns_name, raw in found.items():
            key = load_balancer_key(dns_name)
            try:
                arns = self._certificate_arns(raw)
            except ResourceUnreadable as problem:
                self.unreadable[key] = problem.unreadable()
                self.warnings.append(f"listeners of load balancer {dns_name} could not be read: {problem.code}")
                continue
            self.load_balancers[dns_name] = LoadBalancer(
                arn=raw["LoadBalancerArn"], dns_name=dns_name, scheme=raw.get("Scheme", "internet-facing"),
                https_certificate_arns=arns, alias_names=tuple(sorted(aliases.get(dns_name, ()))))
            for arn in arns:
                self._certificate(arn)

    def _find(self, dns_name: str) -> dict | None:
        key = load_balancer_key(dns_name)
        region = load_balancer_region(dns_name) or self.clients.default_region
        if region not in self._by_region:
            try:
                listed = paginate(f"load balancers in {region}", self.clients.elbv2(region),
                                  "describe_load_balancers", "LoadBalancers")
                self._by_region[region] = {_dns(lb["DNSName"]): lb for lb in listed}
            except ResourceUnreadable as problem:
                self._by_region[region] = problem
                self.warnings.append(f"load balancers in {region} could not be listed: {problem.code}: "
                                     f"{problem.message}")
        known = self._by_region[region]
        if isinstance(known, ResourceUnreadable):
            self.unreadable[key] = Unreadable(f"load balancer {dns_name}", known.unreadable().reason)
            return None
        if dns_name not in known:
            self.unreadable[key] = Unreadable(
                f"load balancer {dns_name}",
                f"no Application/Network Load Balancer with this DNS name in {region} "
                "(a Classic Load Balancer, or one in another account)", gone=True)
            self.warnings.append(f"load balancer {dns_name} not found in {region}")
            return None
        return known[dns_name]

    def _certificate_arns(self, raw: dict) -> tuple[str, ...]:
        region = raw["LoadBalancerArn"].split(":")[3]
        client = self.clients.elbv2(region)
        what = f"load balancer {raw['DNSName']}"
        arns: list[str] = []
        for listener in paginate(what, client, "describe_listeners", "Listeners",
                                 LoadBalancerArn=raw["LoadBalancerArn"]):
            if listener.get("Protocol") not in _TLS_PROTOCOLS:
                continue
            arns += [c["CertificateArn"] for c in listener.get("Certificates") or []]
            arns += [c["CertificateArn"] for c in paginate(what, client, "describe_listener_certificates",
                                                           "Certificates", ListenerArn=listener["ListenerArn"])]
        return tuple(dict.fromkeys(arns))

    def _certificate(self, arn: str) -> None:
        key = certificate_key(arn)
        if arn in self.certificates or key in self.unreadable:
            return
        parts = arn.split(":")
        if len(parts) < 6 or parts[2] != "acm":
            self.unreadable[key] = Unreadable(f"certificate {arn}", "not an ACM certificate (IAM server "
                                              "certificates are not read); its names are unknown")
            return
        try:
            raw = call(f"certificate {arn}", self.clients.acm(parts[3]).describe_certificate,
                       CertificateArn=arn)["Certificate"]
        except ResourceUnreadable as problem:
            self.unreadable[key] = problem.unreadable()
            self.warnings.append(f"certificate {arn} could not be read: {problem.code}: {problem.message}")
            return
        names = [raw.get("DomainName", "")] + list(raw.get("SubjectAlternativeNames") or [])
        not_after = raw.get("NotAfter")
        self.certificates[arn] = Certificate(
            arn=arn,
            domain_names=tuple(dict.fromkeys(n.lower() for n in names if n)),
            status=raw.get("Status", "UNKNOWN"),
            not_after=not_after.isoformat() if isinstance(not_after, datetime) else not_after,
        )

    def _aliases(self, dns_names: set[str]) -> dict[str, set[str]]:
        """Names in public Route 53 zones (alias or CNAME) that point at one of ``dns_names``."""
        found: dict[str, set[str]] = {}
        route53 = self.clients.route53()
        try:
            for zone in paginate("Route 53 hosted zones", route53, "list_hosted_zones", "HostedZones"):
                if (zone.get("Config") or {}).get("PrivateZone"):
                    continue  # CloudFront resolves origins through public DNS
                for record in paginate(f"hosted zone {zone['Name']}", route53, "list_resource_record_sets",
                                       "ResourceRecordSets", HostedZoneId=zone["Id"]):
                    targets = [(record.get("AliasTarget") or {}).get("DNSName", "")]
                    if record.get("Type") == "CNAME":
                        targets += [r.get("Value", "") for r in record.get("ResourceRecords") or []]
                    for target in targets:
                        if target and _dns(target) in dns_names:
                            found.setdefault(_dns(target), set()).add(_record_name(record["Name"]).lower())
        except ResourceUnreadable as problem:
            self.warnings.append(f"Route 53 records could not be read ({problem.code}); names pointing at load "
                                 "balancers are unknown, so fixes that need one are left to a person")
            return {}
        return found
