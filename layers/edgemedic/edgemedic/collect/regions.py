"""Which regions hold API Gateway custom domains: one cheap call per region (GetDomainNames, limit 1), in parallel.

An origin named by a custom domain in a region edgemedic did not read is just "a custom origin", silently; so a
scan without ``--region`` reads the configured region and every region where the account has custom domains.
Regions that answer with an error (an opt-in region not enabled, no permission) are left out; the ones denied are
named in a warning.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

from ..aws import Clients
from .calls import ResourceUnreadable, call

_PROBES = 8


def candidate_regions(clients: Clients) -> list[str]:
    """The API Gateway regions of the configured region's partition, from botocore's endpoint data (no call)."""
    session = clients.session
    partition = session.get_partition_for_region(clients.default_region) if hasattr(
        session, "get_partition_for_region") else "aws"
    return sorted(session.get_available_regions("apigateway", partition_name=partition))


def discover_domain_regions(clients: Clients, regions: Iterable[str], warnings: list[str]) -> set[str]:
    """The regions among ``regions`` where the account has at least one API Gateway custom domain."""
    def probe(region: str) -> tuple[str, bool | ResourceUnreadable]:
        try:
            answer = call(f"custom domains in {region}", clients.apigateway(region).get_domain_names, limit=1)
        except ResourceUnreadable as problem:
            return region, problem
        return region, bool(answer.get("items"))

    found: set[str] = set()
    denied: list[str] = []
    todo = sorted(set(regions))
    if not todo:
        return found
    with ThreadPoolExecutor(max_workers=min(_PROBES, len(todo))) as pool:
        for region, result in pool.map(probe, todo):
            if result is True:
                found.add(region)
            elif isinstance(result, ResourceUnreadable) and result.access_denied:
                denied.append(region)
    if denied:
        warnings.append(f"custom domains could not be listed in {', '.join(denied)} (access denied): origins named "
                        "by custom domains there are not recognised; grant apigateway:GET or scan with --region")
    return found
