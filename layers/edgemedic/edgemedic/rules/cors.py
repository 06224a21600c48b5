"""CORS preflights (OPTIONS) answered from the edge cache with another request's CORS headers.

Sources (../shared/reference/aws-facts.md section 11.11): to cache OPTIONS responses correctly for custom origins,
CloudFront must vary them on ``Origin``, ``Access-Control-Request-Headers`` and ``Access-Control-Request-Method``
(header-caching.html, "Configuring CloudFront to respect CORS settings"); an HTTP API with a CORS configuration
answers preflights itself and returns the request's origin when it is allowed (http-api-cors.html).

A preflight is cached only when the behavior caches OPTIONS (CachedMethods) and keeps responses without
Cache-Control (MinTTL or DefaultTTL > 0): whether API Gateway's preflight answers carry Cache-Control is not
documented, so a policy that caches only on the origin's say-so does not make this rule fire.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from ..findings import Finding, FixClass, Rule, SetAllowedMethods, Severity
from ..forwarding import caches
from ..lazy import lazy_module
from ..model import ALL_METHODS, GET_HEAD, ApiProtocol, Behavior, Distribution, Inventory
from .common import api_behaviors, auto, finding

if TYPE_CHECKING:
    from ..router import Reach

router = lazy_module("edgemedic.router")  # loaded by the first check: `edgemedic rules` needs no router

CORS_KEY_HEADERS = ("origin", "access-control-request-method", "access-control-request-headers")
_DISPLAY = {"origin": "Origin", "access-control-request-method": "Access-Control-Request-Method",
            "access-control-request-headers": "Access-Control-Request-Headers"}


def key_headers(behavior: Behavior) -> frozenset[str]:
    """Lower-cased headers in the behavior's cache key (legacy: its forwarded headers)."""
    if behavior.legacy is not None:
        return frozenset(behavior.legacy.headers)
    policy = behavior.cache_policy
    if policy is None or policy.header_behavior != "whitelist":
        return frozenset()
    return policy.headers


def per_request_preflight(r: Reach) -> str | None:
    """Why the API answers this method's preflights per request, or None."""
    api, method = r.api, r.method
    if api.protocol is ApiProtocol.HTTP and api.cors is not None:
        origins = list(api.cors.allow_origins)
        if len(origins) > 1:
            return f"HTTP API {api.id} CORS configuration allows {len(origins)} origins ({', '.join(origins[:4])})"
        if api.cors.allow_credentials:
            return f"HTTP API {api.id} CORS configuration allows credentials"
    if api.protocol is ApiProtocol.REST and method.http_method == "OPTIONS" \
            and method.integration_type not in (None, "MOCK"):
        return f"OPTIONS {r.api_path} of REST API {api.id} has a {method.integration_type} integration"
    return None


def check_cors_preflight_cached(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """The behavior caches OPTIONS, the API answers preflights per request, and the key lacks the CORS headers."""
    for ab in api_behaviors(dist, inv):
        behavior = ab.behavior
        if "OPTIONS" not in behavior.cached_methods:
            continue
        cached, why = caches(behavior)
        if not cached:
            continue
        keyed = key_headers(behavior)
        if "*" in keyed:
            continue
        missing = [h for h in CORS_KEY_HEADERS if h not in keyed]
        if not missing:
            continue
        reach = router.reachable(dist, behavior, inv, assume_host_fix=True)
        if not reach.known or not reach.reaches:
            continue
        reasons = list(dict.fromkeys(filter(None, (per_request_preflight(r) for r in reach.reaches))))
        unknown = sorted({r.label() for r in reach.reaches if r.api.protocol is ApiProtocol.REST
                          and r.method.http_method == "OPTIONS" and r.method.integration_type is None})
        if not reasons:
            continue
        allowed = tuple(m for m in ALL_METHODS if m in behavior.allowed_methods)
        yield finding(
            CORS_PREFLIGHT_CACHED, dist, behavior=behavior.path_pattern, origin=ab.origin.id,
            message=(f"Behavior {behavior.path_pattern} caches OPTIONS without "
                     f"{', '.join(_DISPLAY[h] for h in missing)} in its cache key, while the API answers CORS "
                     "preflights per request"),
            symptom=("Browsers fail CORS now and then: OPTIONS preflights are answered from the edge cache with "
                     "another origin's or another request's Access-Control-Allow-* headers"),
            fix=auto(f"Cache only GET and HEAD on behavior {behavior.path_pattern} (CachedMethods GET,HEAD)",
                     SetAllowedMethods(behavior.path_pattern, allowed, GET_HEAD)),
            evidence=(f"behavior {behavior.path_pattern} CachedMethods include OPTIONS; {why}",
                      f"not in the cache key: {', '.join(_DISPLAY[h] for h in missing)}",
                      *reasons),
            notes=[*reach.notes, *(f"the integration of {label} could not be read" for label in unknown)],
        )


CORS_PREFLIGHT_CACHED = Rule(
    id="apigw-cors-preflight-cached",
    severity=Severity.MEDIUM,
    fix_class=FixClass.AUTO.value,
    title=("The behavior caches OPTIONS (OPTIONS in CachedMethods), the API answers preflights per request (an HTTP "
          "API CORS configuration with several allowed origins or credentials, or OPTIONS methods with a non-MOCK "
          "integration), and the cache key lacks Origin, Access-Control-Request-Method or "
          "Access-Control-Request-Headers."),
    symptom=("Browsers fail CORS now and then: a preflight answered from the cache carries another origin's or "
             "another request's CORS headers."),
    remediation="CachedMethods GET,HEAD (auto).",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/header-caching.html",
    check=check_cors_preflight_cached,
)

RULES: tuple[Rule, ...] = (CORS_PREFLIGHT_CACHED,)

__all__ = ["RULES", "CORS_PREFLIGHT_CACHED", "CORS_KEY_HEADERS", "per_request_preflight"]
