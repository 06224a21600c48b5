"""Caching of API responses at the edge.

Sources: ../shared/reference/aws-facts.md sections 1.1 (managed cache policy TTLs; MinTTL > 0 overrides no-store),
5 (legacy TTLs: DefaultTTL defaults to 86400) and 11.1 (a policy with MinTTL and DefaultTTL 0 but MaxTTL > 0 still
caches when the origin sends Cache-Control max-age or s-maxage).

Catalog v2: the rule is about caching by default and about sharing, not about caching by choice.
(a) A managed caching policy made for static content, or legacy TTLs that cache without being asked: by default.
(b) A policy that can cache while methods under it need authorization, and the header they authorize with reaches
    the API without being in the cache key: one caller's response can be served to another.
A custom cache policy with TTLs on methods that need no authorization is a deliberate choice: no finding.
A WebSocket behavior is an API behavior too (for (a)).
"""
from __future__ import annotations

from typing import Iterator

from .. import policies
from ..findings import Finding, FixClass, Rule, Severity
from ..forwarding import authorization_reaches_origin, forwarding_of
from ..model import Api, ApiMethod, ApiProtocol, Behavior, Distribution, Inventory
from .common import (
    ApiBehavior,
    api_behaviors,
    cache_key_has_header,
    describe_policies,
    disable_caching_change,
    finding,
    host_intent_of,
    needs_authorization_header,
    policy_fix,
)
from .requests import reach_with_path_fix


# Managed policies made for static content (reference 1.1): an API behavior has them by default, not by choice.
DEFAULT_CACHING_POLICIES = frozenset({
    policies.CACHING_OPTIMIZED, policies.CACHING_OPTIMIZED_UNCOMPRESSED, policies.AMPLIFY,
    policies.ELEMENTAL_MEDIA_PACKAGE,
})


def _symptom(min_ttl: int, default_ttl: int) -> str:
    parts = []
    if default_ttl > 0:
        parts.append(f"responses without Cache-Control are served from the edge for {default_ttl} s")
    if min_ttl > 0:
        parts.append(f"every response is kept at least {min_ttl} s, even with Cache-Control no-store or private")
    text = "; ".join(parts) or "responses are kept at the edge"
    return text[0].upper() + text[1:] + ": stale data, or one user's response served to another"


def _by_default(behavior: Behavior) -> str | None:
    """Evidence that the behavior caches by default (case (a)), or None."""
    legacy = behavior.legacy
    if legacy is not None:
        if "*" in legacy.headers:
            return None  # CloudFront does not cache when legacy settings forward all headers
        if legacy.min_ttl > 0 or legacy.default_ttl > 0:
            return f"legacy MinTTL={legacy.min_ttl}, DefaultTTL={legacy.default_ttl}"
        return None
    policy = behavior.cache_policy
    if policy is not None and policy.managed and policy.id in DEFAULT_CACHING_POLICIES:
        return (f"managed cache policy {policy.name} (made for static content): MinTTL={policy.min_ttl}, "
                f"DefaultTTL={policy.default_ttl}")
    return None


def authorizing_headers(api: Api, method: ApiMethod) -> tuple[str, ...] | None:
    """The lower-cased request headers a method is authorized with (None when its authorizer could not be read)."""
    headers: list[str] = []
    needs = needs_authorization_header(api, method)
    if needs is None:
        return None
    if needs:
        headers.append("authorization")
    authorizer = api.authorizer(method.authorizer_id)
    if authorizer is not None and method.authorization_type in {"CUSTOM", "COGNITO_USER_POOLS", "JWT"}:
        for source in authorizer.identity_sources:
            lowered = source.lower()
            for prefix in ("method.request.header.", "$request.header."):
                if lowered.startswith(prefix):
                    headers.append(lowered[len(prefix):])
    if method.api_key_required:
        headers.append("x-api-key")
    return tuple(dict.fromkeys(headers))


def _shared(dist: Distribution, ab: ApiBehavior, inv: Inventory) -> tuple[str, str, str, tuple[str, ...]] | None:
    """(header, method label, example path, notes) when an authorized GET/HEAD response can be shared (case (b))."""
    behavior = ab.behavior
    policy = behavior.cache_policy
    if behavior.legacy is not None or policy is None or policy.max_ttl <= 0:
        return None  # legacy settings put every forwarded header in the key
    forwarding = forwarding_of(behavior)
    if forwarding.unknown:
        return None
    # The methods behind, or those apigw-path-unroutable's OriginPath reaches (that fix would otherwise make
    # Authorization reach them through a cache that can share): one scan shows every layer.
    reach = reach_with_path_fix(dist, ab, inv)
    if reach is None:
        return None
    for r in reach.reaches:
        if r.api.protocol is ApiProtocol.WEBSOCKET or r.method.http_method not in {"GET", "HEAD", "ANY"}:
            continue
        for header in authorizing_headers(r.api, r.method) or ():
            forwarded = (authorization_reaches_origin(behavior, "GET", forwarding) if header == "authorization"
                         else forwarding.forwards_header(header))
            if forwarded and not cache_key_has_header(behavior, header):
                return header, r.label(), r.example_path, reach.notes
    return None


def check_response_cached(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """An API behavior caches by default, or can serve one caller's authorized response to another."""
    for ab in api_behaviors(dist, inv):
        behavior, origin = ab.behavior, ab.origin
        why = _by_default(behavior)
        shared = None if why else _shared(dist, ab, inv)
        if why is None and shared is None:
            continue
        intent = host_intent_of(dist, origin, inv)
        change = disable_caching_change(behavior, intent=intent.present)
        summary = f"Use {describe_policies(change)} on behavior {behavior.path_pattern}"
        if behavior.legacy is not None:
            summary += " (migrates its legacy ForwardedValues and TTLs to policies)"
        fix, notes = policy_fix(dist, origin, behavior, inv, summary, change)
        if shared is not None:
            header, label, path, depends = shared
            notes = (*depends, *notes)
            policy = behavior.cache_policy
            assert policy is not None
            evidence = (f"cache policy {policy.name}: MaxTTL={policy.max_ttl} (CloudFront keeps a response when the "
                        f"API sends Cache-Control max-age or s-maxage), {header} not in the cache key",
                        f"{label} is authorized with {header}, which reaches the API")
            symptom = (f"GET {path}: a response cached for one caller ({header} A) is served to another "
                       f"({header} B), or to a caller without {header}")
            message = (f"Behavior {behavior.path_pattern} can serve one caller's authorized API responses to another: "
                       f"{header} reaches origin {origin.id} but is not in the cache key")
        else:
            ttls = behavior.legacy if behavior.legacy is not None else behavior.cache_policy
            evidence = (why, f"origin {origin.id} is API Gateway at {origin.domain_name}")
            symptom = _symptom(ttls.min_ttl, ttls.default_ttl)
            message = f"Behavior {behavior.path_pattern} caches API Gateway responses of origin {origin.id} at the edge"
        yield finding(RESPONSE_CACHED, dist, behavior=behavior.path_pattern, origin=origin.id, message=message,
                      symptom=symptom, fix=fix, evidence=evidence, notes=notes)


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
