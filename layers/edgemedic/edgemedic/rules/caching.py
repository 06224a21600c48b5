"""Caching of API responses at the edge.

Sources: ../shared/reference/aws-facts.md sections 1.1 (managed cache policy TTLs; MinTTL > 0 overrides no-store)
and 5 (legacy TTLs: DefaultTTL defaults to 86400). A WebSocket behavior is an API behavior too.
"""
from __future__ import annotations

from typing import Iterator

from ..findings import Finding, FixClass, Rule, Severity
from ..forwarding import caches
from ..model import Distribution, Inventory
from .common import api_behaviors, describe_policies, disable_caching_change, finding, host_intent_of, policy_fix


def _symptom(min_ttl: int, default_ttl: int) -> str:
    parts = []
    if default_ttl > 0:
        parts.append(f"responses without Cache-Control are served from the edge for {default_ttl} s")
    if min_ttl > 0:
        parts.append(f"every response is kept at least {min_ttl} s, even with Cache-Control no-store or private")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + ": stale data, or one user's response served to another"


def check_response_cached(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """An API behavior caches responses the API did not ask to be cached."""
    for ab in api_behaviors(dist, inv):
        behavior, origin = ab.behavior, ab.origin
        cached, why = caches(behavior)
        if not cached:
            continue
        intent = host_intent_of(dist, origin, inv)
        change = disable_caching_change(behavior, intent=intent.present)
        summary = f"Use {describe_policies(change)} on behavior {behavior.path_pattern}"
        if behavior.legacy is not None:
            summary += " (migrates its legacy ForwardedValues and TTLs to policies)"
        ttls = behavior.legacy if behavior.legacy is not None else behavior.cache_policy
        fix, notes = policy_fix(dist, origin, behavior, inv, summary, change)
        yield finding(
            RESPONSE_CACHED, dist, behavior=behavior.path_pattern, origin=origin.id,
            message=f"Behavior {behavior.path_pattern} caches API Gateway responses of origin {origin.id} at the edge",
            symptom=_symptom(ttls.min_ttl, ttls.default_ttl),
            fix=fix,
            evidence=(why, f"origin {origin.id} is API Gateway at {origin.domain_name}"),
            notes=notes,
        )


RESPONSE_CACHED = Rule(
    id="apigw-response-cached",
    severity=Severity.HIGH,
    fix_class=FixClass.AUTO.value,
    title="An API behavior caches by default rather than by choice, or shares responses between "
          "callers: (a) a managed caching policy (CachingOptimized, "
          "CachingOptimizedForUncompressedObjects, Amplify, Elemental-MediaPackage) or legacy "
          "DefaultTTL/MinTTL > 0; or (b) a policy that can cache (MaxTTL > 0) while GET/HEAD methods "
          "under it need authorization and the header they authorize with is forwarded but not in the"
          " cache key. A custom cache policy with TTLs on methods that need no authorization is a "
          "deliberate choice: no finding.",
    symptom="Stale or other users' responses served from the edge.",
    remediation="CachingDisabled (legacy: migrate to CachingDisabled + AllViewerExceptHostHeader) "
                "(auto).",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html",
    check=check_response_cached,
)

RULES: tuple[Rule, ...] = (RESPONSE_CACHED,)

__all__ = ["RULES", "RESPONSE_CACHED"]
