"""apigw-response-cached: input model -> exact findings."""
from __future__ import annotations

import pytest

from builders import (
    api_origin,
    behavior,
    custom_cache_policy,
    custom_domain,
    distribution,
    inventory,
    legacy,
    rest_api,
    s3_origin,
    websocket_api,
    with_policies,
)
from edgemedic import policies as p
from edgemedic.findings import FixClass, SetBehaviorPolicies, Severity
from edgemedic.rules.caching import RESPONSE_CACHED, check_response_cached

API = "a1b2c3d4e5"
AVEHH = p.ALL_VIEWER_EXCEPT_HOST_HEADER


def _dist(api_behavior, aliases=()):
    return distribution(origins=[s3_origin("site"), api_origin("api", API, path="/prod")],
                        behaviors=[api_behavior, behavior("*", "site", cache=p.CACHING_OPTIMIZED)], aliases=aliases)


def _inv(dist, **kw):
    return inventory(dist, apis=[rest_api(API, resources={"/api/users": ["GET"]})], **kw)


def _summary(findings):
    return [(f.rule, f.severity, f.behavior, f.origin, f.fix.fix_class, f.fix.changes, f.evidence[0])
            for f in findings]


CACHED = {
    "CachingOptimized": (
        behavior("/api/*", "api", cache=p.CACHING_OPTIMIZED),
        SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, None), "managed cache policy CachingOptimized (made for static content): MinTTL=1, DefaultTTL=86400"),
    "CachingOptimizedForUncompressedObjects with AVEHH": (
        behavior("/api/*", "api", cache=p.CACHING_OPTIMIZED_UNCOMPRESSED, orp=AVEHH),
        SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, None),
        "managed cache policy CachingOptimizedForUncompressedObjects (made for static content): MinTTL=1, DefaultTTL=86400"),
    # Amplify's key forwards Authorization, cookies and query strings: CachingDisabled alone would drop them.
    "Amplify": (
        behavior("/api/*", "api", cache=p.AMPLIFY),
        SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AVEHH), "managed cache policy Amplify (made for static content): MinTTL=2, DefaultTTL=2"),
    "Amplify already with AllViewer keeps the orp": (
        behavior("/api/*", "api", cache=p.AMPLIFY, orp=p.ALL_VIEWER),
        SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, None), "managed cache policy Amplify (made for static content): MinTTL=2, DefaultTTL=2"),
    "legacy, DefaultTTL absent (86400)": (
        behavior("/api/*", "api", legacy=legacy("Authorization", query=True)),
        SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AVEHH), "legacy MinTTL=0, DefaultTTL=86400"),
    "legacy MinTTL": (
        behavior("/api/*", "api", legacy=legacy(min_ttl=30, default_ttl=0, max_ttl=60)),
        SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AVEHH), "legacy MinTTL=30, DefaultTTL=0"),
}


@pytest.mark.parametrize("case", CACHED.values(), ids=CACHED.keys())
def test_cached_api_responses(case):
    api_behavior, change, evidence = case
    dist = _dist(api_behavior)
    found = list(check_response_cached(dist, _inv(dist)))
    assert _summary(found) == [
        ("apigw-response-cached", Severity.HIGH, "/api/*", "api", FixClass.AUTO, (change,), evidence)]
    assert found[0].evidence[1] == f"origin api is API Gateway at {API}.execute-api.us-east-1.amazonaws.com"


def test_symptom_names_the_ttls():
    dist = _dist(behavior("/api/*", "api", cache=p.CACHING_OPTIMIZED))
    [f] = check_response_cached(dist, _inv(dist))
    assert f.symptom == ("Responses without Cache-Control are served from the edge for 86400 s; every response is kept "
                         "at least 1 s, even with Cache-Control no-store or private: stale data, or one user's "
                         "response served to another")
    assert f.message == "Behavior /api/* caches API Gateway responses of origin api at the edge"


def test_legacy_migration_under_host_intent_uses_allviewer():
    dist = _dist(behavior("/api/*", "api", legacy=legacy("Host")), aliases=("api.example.com",))
    inv = _inv(dist, domains=[custom_domain("api.example.com", [("", API, "prod")])])
    [f] = check_response_cached(dist, inv)
    assert f.fix.changes == (SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, p.ALL_VIEWER),)
    assert f.fix.summary == ("Use origin request policy AllViewer and cache policy CachingDisabled on behavior /api/* "
                             "(migrates its legacy ForwardedValues and TTLs to policies)")


def test_websocket_behavior_is_an_api_behavior_too():
    ws = "w1s2o3c4k5"
    dist = distribution(origins=[api_origin("ws", ws, path="/production")],
                        behaviors=[behavior("*", "ws", cache=p.CACHING_OPTIMIZED, orp=AVEHH)])
    [f] = check_response_cached(dist, inventory(dist, apis=[websocket_api(ws)]))
    assert (f.rule, f.behavior, f.fix.changes) == (
        "apigw-response-cached", "*", (SetBehaviorPolicies("*", p.CACHING_DISABLED, None),))


NOT_CACHED = {
    "CachingDisabled": behavior("/api/*", "api"),
    "UseOriginCacheControlHeaders (TTL 0/0: caches only when asked)": behavior(
        "/api/*", "api", cache=p.USE_ORIGIN_CACHE_CONTROL_HEADERS),
    "legacy all zero": behavior("/api/*", "api", legacy=legacy(default_ttl=0, max_ttl=0)),
    "legacy Headers * (CloudFront does not cache then, whatever DefaultTTL)": behavior(
        "/api/*", "api", legacy=legacy("*")),
    "custom TTL 0/0 max 1": with_policies(behavior("/api/*", "api"), cache=custom_cache_policy("cp-3", "origin-led")),
    # Catalog v2: a custom policy with TTLs on methods that need no authorization is a deliberate choice.
    "custom policy DefaultTTL on a public API": with_policies(
        behavior("/api/*", "api"), cache=custom_cache_policy("cp-1", "short", default_ttl=60, max_ttl=600)),
    "custom policy MinTTL, Authorization in key": with_policies(behavior("/api/*", "api", orp=AVEHH),
        cache=custom_cache_policy("cp-2", "by-token", min_ttl=5, max_ttl=600, headers=["Authorization"])),
    "unreadable cache policy": behavior("/api/*", "api", cache="12345678-aaaa-bbbb-cccc-1234567890ab"),
}


@pytest.mark.parametrize("api_behavior", NOT_CACHED.values(), ids=NOT_CACHED.keys())
def test_not_cached_yields_nothing(api_behavior):
    dist = _dist(api_behavior)
    assert list(check_response_cached(dist, _inv(dist))) == []


def test_s3_behaviors_are_never_flagged():
    dist = distribution(origins=[s3_origin("site")], behaviors=[
        behavior("/static/*", "site", legacy=legacy()), behavior("*", "site", cache=p.CACHING_OPTIMIZED)])
    assert list(check_response_cached(dist, inventory(dist))) == []


def test_rule_metadata():
    assert (RESPONSE_CACHED.id, RESPONSE_CACHED.severity, RESPONSE_CACHED.fix_class) == (
        "apigw-response-cached", Severity.HIGH, "auto")


# --------------------------------------------------------------------------------------------- (b) shared between callers

from builders import method  # noqa: E402
from edgemedic.model import Authorizer  # noqa: E402

MAY_CACHE = custom_cache_policy("cp-4", "origin-led-600", max_ttl=600)


@pytest.mark.parametrize(("api", "orp", "header", "label"), [
    (rest_api(API, resources={"/api/users": [method("GET", "AWS_IAM")]}), AVEHH, "authorization",
     "GET /prod/api/users (AWS_IAM)"),
    (rest_api(API, resources={"/api/users": [method("GET", "CUSTOM", authorizer="req1")]},
              authorizers=[Authorizer("req1", "tenant", "REQUEST", ("method.request.header.X-Tenant-Token",))]),
     p.ALL_VIEWER, "x-tenant-token", "GET /prod/api/users (CUSTOM)"),
], ids=["Authorization forwarded by AllViewerExceptHostHeader", "REQUEST authorizer header forwarded"])
def test_authorized_responses_shared_between_callers(api, orp, header, label):
    dist = _dist(with_policies(behavior("/api/*", "api", orp=orp), cache=MAY_CACHE))
    [f] = check_response_cached(dist, inventory(dist, apis=[api]))
    assert (f.rule, f.severity, f.fix.fix_class, f.fix.changes) == (
        "apigw-response-cached", Severity.HIGH, FixClass.AUTO, (SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, None),))
    assert f.evidence == (
        f"cache policy origin-led-600: MaxTTL=600 (CloudFront keeps a response when the API sends Cache-Control "
        f"max-age or s-maxage), {header} not in the cache key", f"{label} is authorized with {header}, which reaches "
        "the API")
    assert f.symptom == (f"GET /api/users: a response cached for one caller ({header} A) is served to another "
                         f"({header} B), or to a caller without {header}")


@pytest.mark.parametrize(("cache", "orp"), [
    (custom_cache_policy("cp-5", "per-caller", max_ttl=600, headers=["Authorization"]), AVEHH),
    (MAY_CACHE, None),  # Authorization does not reach the API at all: apigw-auth-header-dropped's case
    (custom_cache_policy("cp-6", "no-cache"), AVEHH),  # MaxTTL set to 0 below (the builder's floor is 1)
], ids=["Authorization in the key", "Authorization not forwarded", "MaxTTL 0"])
def test_authorized_responses_not_shared(cache, orp):
    if cache.id == "cp-6":
        from dataclasses import replace
        cache = replace(cache, max_ttl=0)
    api = rest_api(API, resources={"/api/users": [method("GET", "AWS_IAM")]})
    dist = _dist(with_policies(behavior("/api/*", "api", orp=orp), cache=cache))
    assert list(check_response_cached(dist, inventory(dist, apis=[api]))) == []
