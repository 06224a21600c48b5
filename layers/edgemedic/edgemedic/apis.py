"""Which API Gateway APIs stand behind an origin, and whether a distribution forwards Host on purpose.

Pure functions of the model. An API origin reaches APIs either directly (``{api-id}.execute-api...``) or through a
custom domain's base path / API mappings (the origin is the custom domain name or its ``d-...`` target).
"""
from __future__ import annotations

from dataclasses import dataclass

from .model import (
    Api,
    ApiMapping,
    CustomDomain,
    Distribution,
    Inventory,
    Origin,
    api_key,
    custom_domain_key,
)


@dataclass(frozen=True, slots=True)
class ApiBehind:
    """One API reachable through an origin; ``mapping``/``domain`` are set when reached through a custom domain."""

    api: Api
    mapping: ApiMapping | None = None
    domain: CustomDomain | None = None


@dataclass(frozen=True, slots=True)
class OriginApis:
    entries: tuple[ApiBehind, ...]
    notes: tuple[str, ...] = ()  # what could not be read; rules say so instead of guessing


def _note(inv: Inventory, key: str, fallback: str) -> str:
    why = inv.why_unreadable(key)
    return f"{why.what}: {why.reason}" if why else fallback


def domain_of_origin(origin: Origin, inv: Inventory) -> CustomDomain | None:
    """The custom domain an API origin points at (by name or by its d-... target), if any."""
    if origin.api is None or origin.api.via != "custom-domain" or not origin.api.domain_name:
        return None
    return inv.custom_domain(origin.api.domain_name)


def _apis_of_domain(domain: CustomDomain, inv: Inventory) -> OriginApis:
    entries: list[ApiBehind] = []
    notes: list[str] = []
    for rule in domain.live_rules:
        api = inv.api(domain.region, rule.api_id)
        if api is None:
            notes.append(_note(inv, api_key(domain.region, rule.api_id),
                               f"API {rule.api_id} routed by {domain.name} could not be read"))
        elif all(e.api.id != api.id for e in entries):
            entries.append(ApiBehind(api, None, domain))
    for mapping in domain.live_mappings:
        api = inv.api(domain.region, mapping.api_id)
        if api is None:
            notes.append(_note(inv, api_key(domain.region, mapping.api_id),
                               f"API {mapping.api_id} mapped on {domain.name} could not be read"))
            continue
        entries.append(ApiBehind(api, mapping, domain))
    return OriginApis(tuple(entries), tuple(notes))


def apis_behind(origin: Origin, inv: Inventory) -> OriginApis:
    """The APIs an API origin reaches (empty for other origins)."""
    target = origin.api
    if target is None:
        return OriginApis(())
    if target.via == "execute-api" and target.api_id:
        api = inv.api(target.region, target.api_id)
        if api is None:
            return OriginApis((), (_note(inv, api_key(target.region, target.api_id),
                                         f"API {target.api_id} in {target.region} could not be read"),))
        return OriginApis((ApiBehind(api),))
    domain = domain_of_origin(origin, inv)
    if domain is None:
        name = target.domain_name or origin.domain_name
        return OriginApis((), (_note(inv, custom_domain_key(name), f"custom domain {name} could not be read"),))
    return _apis_of_domain(domain, inv)


def host_intent(dist: Distribution, origin: Origin, inv: Inventory) -> CustomDomain | None:
    """The alias of ``dist`` that is an API Gateway custom domain mapped to an API behind ``origin``, if any.

    Then forwarding the viewer's Host is the intended design (custom domain on both sides), not a fault.
    """
    behind = {entry.api.id for entry in apis_behind(origin, inv).entries}
    if not behind:
        return None
    for alias in inv.viewer_names(dist):
        domain = inv.custom_domain(alias)
        if domain and any(api_id in behind for api_id in domain.routed_api_ids):
            return domain
    return None


def domains_mapping(api: Api, inv: Inventory) -> tuple[CustomDomain, ...]:
    """Custom domains (in the API's region) with a mapping to ``api``."""
    return tuple(
        domain
        for domain in inv.custom_domains.values()
        if domain.region == api.region and api.id in domain.routed_api_ids
    )
