"""CloudFront multi-tenant distributions: the domains of their distribution tenants.

A distribution with ``ConnectionMode: tenant-only`` has no aliases of its own; viewers reach it by the domains of
its distribution tenants (CloudFront API reference, ``DistributionConfig.ConnectionMode`` and
``ListDistributionTenants``). Those domains carry Host intent as aliases do. One ListDistributionTenants listing
per multi-tenant distribution (filtered by distribution id), nothing for the others.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..model import Distribution, Unreadable, tenants_key
from .calls import ResourceUnreadable, paginate


def read_tenant_domains(cloudfront: Any, distributions: Sequence[Distribution]
                        ) -> tuple[dict[str, tuple[str, ...]], dict[str, Unreadable], list[str]]:
    """(distribution id -> tenant domains, unreadable, warnings) for the multi-tenant distributions."""
    domains: dict[str, tuple[str, ...]] = {}
    unreadable: dict[str, Unreadable] = {}
    warnings: list[str] = []
    for dist in distributions:
        if not dist.tenant_only:
            continue
        what = f"distribution tenants of {dist.id}"
        try:
            tenants = list(paginate(what, cloudfront, "list_distribution_tenants", "DistributionTenantList",
                                    AssociationFilter={"DistributionId": dist.id}))
        except ResourceUnreadable as problem:
            unreadable[tenants_key(dist.id)] = problem.unreadable()
            warnings.append(f"distribution {dist.id} is multi-tenant and its tenants could not be listed: "
                            f"{problem.code}: {problem.message}; Host intent there is not known (fixes that stop "
                            "forwarding Host wait for a person)")
            continue
        domains[dist.id] = tuple(dict.fromkeys(
            d["Domain"] for tenant in tenants for d in tenant.get("Domains") or [] if d.get("Domain")))
    return domains, unreadable, warnings
