"""Catalog version 2: the Authorization/cache guard on every pass-through fix, edge functions (rules that depend on
what reaches the origin stay silent and the scan warns), and origin groups (each member evaluated; no write
methods planned on such a behavior). Input model -> exact findings."""
from __future__ import annotations

import pytest

from builders import (
    GET_HEAD,
    api_origin,
    behavior,
    custom_cache_policy,
    distribution,
    inventory,
    method,
    rest_api,
    s3_origin,
    with_policies,
)
from edgemedic import engine
from edgemedic import policies as p
from edgemedic.findings import FixClass, SetAllowedMethods, SetBehaviorPolicies, Severity
from edgemedic.model import OriginGroup
from edgemedic.plan import build_plan
from edgemedic.rules import RULES
from edgemedic.rules.common import edge_function_warnings
from edgemedic.rules.headers import check_host_forwarded
from edgemedic.rules.requests import check_auth_header_dropped, check_methods_blocked, check_query_dropped
from edgemedic.rules.terms import EDGE_FUNCTION_RULES

API = "a1b2c3d4e5"
API2 = "f6g7h8i9j0"
AEHH = p.ALL_VIEWER_EXCEPT_HOST_HEADER
# MinTTL and DefaultTTL 0 but MaxTTL > 0: CloudFront still caches when the API sends Cache-Control max-age.
CAN_CACHE = custom_cache_policy("c-maxttl", "api-honours-origin", max_ttl=3600)
KEYED_ON_AUTH = custom_cache_policy("c-auth", "api-per-caller", max_ttl=3600, headers=("Authorization",))
IAM_API = rest_api(API, resources={"/api/items": [method("GET", "AWS_IAM"), method("POST", "AWS_IAM")]})
OPEN_API = rest_api(API, resources={"/api/items": [method("GET", query=("limit",)), "POST"]})


def _dist(api_behavior, *, origins=None, groups=()):
    return distribution(origins=origins or [s3_origin("site"), api_origin("api", API, path="/prod")],
                        behaviors=[api_behavior, behavior("*", "site")], groups=groups)


def _changes(findings):
    return [(f.rule, f.fix.fix_class, f.fix.changes) for f in findings]


# --------------------------------------------------------------------------------------------- Authorization and cache


@pytest.mark.parametrize(("cache", "api", "expected_cache"), [
    (CAN_CACHE, IAM_API, p.CACHING_DISABLED),   # would share one caller's response with another: no caching
    (KEYED_ON_AUTH, IAM_API, None),             # Authorization in the key: each caller has its own entry
    (CAN_CACHE, OPEN_API, None),                # no method needs Authorization: the cache policy is a choice
], ids=["can cache without Authorization in key", "Authorization in key", "no method needs Authorization"])
def test_host_fix_disables_caching_only_where_authorized_responses_could_be_shared(cache, api, expected_cache):
    api_behavior = with_policies(behavior("/api/*", "api", orp=p.ALL_VIEWER, methods=GET_HEAD), cache=cache)
    dist = _dist(api_behavior)
    [found] = check_host_forwarded(dist, inventory(dist, apis=[api]))
    assert _changes([found]) == [("apigw-host-forwarded", FixClass.AUTO,
                                  (SetBehaviorPolicies("/api/*", expected_cache, AEHH),))]


def test_auth_header_fix_adds_caching_disabled_when_the_cache_can_keep_responses():
    api_behavior = with_policies(behavior("/api/*", "api"), cache=CAN_CACHE)
    dist = _dist(api_behavior)
    [found] = check_auth_header_dropped(dist, inventory(dist, apis=[IAM_API]))
    assert _changes([found]) == [("apigw-auth-header-dropped", FixClass.AUTO,
                                  (SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AEHH),))]
    # Applied alone, the plan leaves no cache able to share Authorization-bearing responses.
    plan = build_plan(dist_with_config(dist), [found])
    assert list(plan.summary) == ["/api/* cache policy: api-honours-origin -> CachingDisabled",
                                  "/api/* origin request policy: (none) -> AllViewerExceptHostHeader"]


def test_query_fix_obeys_the_same_guard():
    api = rest_api(API, resources={"/api/items": [method("GET", "AWS_IAM", query=("limit",))]})
    api_behavior = with_policies(behavior("/api/*", "api", cache=None), cache=KEYED_ON_AUTH)
    dist = _dist(api_behavior)
    assert _changes(check_query_dropped(dist, inventory(dist, apis=[api]))) == [
        ("apigw-query-dropped", FixClass.AUTO, (SetBehaviorPolicies("/api/*", None, AEHH),))]
    api_behavior = with_policies(behavior("/api/*", "api", cache=None), cache=CAN_CACHE)
    dist = _dist(api_behavior)
    assert _changes(check_query_dropped(dist, inventory(dist, apis=[api]))) == [
        ("apigw-query-dropped", FixClass.AUTO, (SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AEHH),))]


def dist_with_config(dist):
    """The distribution with a DistributionConfig in AWS's shape matching its model (for build_plan)."""
    from dataclasses import replace

    from builders import raw_behavior, raw_config, raw_origin

    config = raw_config(
        origins=[raw_origin("site", "site.s3.amazonaws.com", protocol=None),
                 raw_origin("api", f"{API}.execute-api.us-east-1.amazonaws.com", path="/prod")],
        behaviors=[raw_behavior("/api/*", "api", cache=dist.behaviors[0].cache_policy_id, methods=("GET", "HEAD")),
                   raw_behavior("*", "site")])
    return replace(dist, config=config)


# --------------------------------------------------------------------------------------------- edge functions


@pytest.mark.parametrize(("functions", "lambdas", "silenced"), [
    (("viewer-request",), (), True),
    ((), ("origin-request",), True),
    ((), ("viewer-request",), True),
    (("viewer-response",), (), False),
    ((), ("origin-response",), False),
], ids=["CloudFront Function viewer-request", "Lambda@Edge origin-request", "Lambda@Edge viewer-request",
        "CloudFront Function viewer-response", "Lambda@Edge origin-response"])
def test_edge_function_rules_stay_silent_and_the_scan_warns(functions, lambdas, silenced):
    """A Lambda@Edge that signs requests (SigV4 for IAM) or a function that strips a prefix: real designs that the
    rules depending on what reaches the origin cannot judge."""
    api = rest_api(API, resources={"/items": [method("GET", "AWS_IAM"), method("POST", "AWS_IAM")]})
    api_behavior = behavior("/api/*", "api", orp=p.ALL_VIEWER, methods=GET_HEAD, cache=p.CACHING_OPTIMIZED,
                            functions=functions, lambdas=lambdas)
    dist = _dist(api_behavior)
    inv = inventory(dist, apis=[api])
    rules = sorted({f.rule for f in engine.evaluate(dist, inv)})
    warnings = edge_function_warnings(dist, inv)
    if silenced:
        assert rules == ["apigw-response-cached"]  # the other rules still fire
        who = (f"CloudFront Function rewrite-0 ({functions[0]})" if functions
               else f"Lambda@Edge signer-0:1 ({lambdas[0]})")
        assert warnings == [
            f"distribution E1EXAMPLE, behavior /api/* (API origin api) runs {who} before the origin: it may rewrite "
            "the path, Host, headers or query, or sign the request, so what reaches API Gateway could not be checked "
            "(apigw-host-forwarded, apigw-path-unroutable, apigw-methods-blocked, apigw-auth-header-dropped, "
            "apigw-identity-header-dropped, apigw-query-dropped, apigw-iam-host-mismatch, websocket-handshake-dropped "
            "not evaluated on this behavior)"]
        assert engine.warnings(inv) == warnings
    else:
        # The function runs after the origin: /prod/api/items reaches no resource, and Host is forwarded.
        assert rules == ["apigw-host-forwarded", "apigw-path-unroutable", "apigw-response-cached"]
        assert warnings == []


def test_edge_function_rule_list_is_the_catalogs():
    assert {r.id for r in RULES} & set(EDGE_FUNCTION_RULES) == {
        "apigw-host-forwarded", "apigw-path-unroutable", "apigw-methods-blocked", "apigw-auth-header-dropped",
        "apigw-query-dropped", "apigw-iam-host-mismatch", "websocket-handshake-dropped",
        "lambda-url-host-forwarded", "apigw-identity-header-dropped"}


# --------------------------------------------------------------------------------------------- origin groups

GROUP = OriginGroup("api-failover", ("api", "api-dr"), (500, 502, 503, 504))


def _group_dist(api_behavior):
    return _dist(api_behavior, groups=(GROUP,), origins=[
        s3_origin("site"), api_origin("api", API, path="/prod"), api_origin("api-dr", API2, "us-west-2", path="/prod")])


def _group_apis(resources):
    return [rest_api(API, resources=resources), rest_api(API2, region="us-west-2", resources=resources)]


def test_origin_group_members_are_each_evaluated():
    api_behavior = behavior("/api/*", "api-failover", orp=p.ALL_VIEWER, methods=("GET", "HEAD", "OPTIONS"))
    dist = _group_dist(api_behavior)
    found = check_host_forwarded(dist, inventory(dist, apis=_group_apis({"/api/items": ["GET"]})))
    assert [(f.rule, f.behavior, f.origin, f.fix.fix_class, f.fix.changes) for f in found] == [
        ("apigw-host-forwarded", "/api/*", member, FixClass.AUTO, (SetBehaviorPolicies("/api/*", None, AEHH),))
        for member in ("api", "api-dr")]


def test_methods_blocked_on_an_origin_group_is_manual_and_never_plans_writes():
    api_behavior = behavior("/api/*", "api-failover", orp=AEHH, methods=("GET", "HEAD", "OPTIONS"))
    dist = _group_dist(api_behavior)
    found = list(check_methods_blocked(dist, inventory(dist, apis=_group_apis({"/api/items": ["GET", "POST"]}))))
    assert [(f.severity, f.origin, f.fix.fix_class, f.fix.changes) for f in found] == [
        (Severity.HIGH, "api", FixClass.MANUAL, ()), (Severity.HIGH, "api-dr", FixClass.MANUAL, ())]
    assert found[0].fix.summary == "Add a separate behavior for POST to origin api (origin groups take no writes)"
    assert "CloudFront refuses POST, PUT, PATCH and DELETE on a behavior whose target is an origin group" in \
        found[0].fix.ticket


def test_origin_group_missing_only_options_gets_the_three_method_set():
    api_behavior = behavior("/api/*", "api-failover", orp=AEHH, methods=GET_HEAD)
    dist = _group_dist(api_behavior)
    found = check_methods_blocked(dist, inventory(dist, apis=_group_apis({"/api/items": ["GET", "OPTIONS"]})))
    assert {(f.fix.fix_class, f.fix.changes) for f in found} == {
        (FixClass.AUTO, (SetAllowedMethods("/api/*", ("GET", "HEAD", "OPTIONS"), ("GET", "HEAD")),))}


def test_origin_group_of_non_api_origins_is_not_an_api_behavior():
    group = OriginGroup("site-failover", ("site", "site2"), (500,))
    dist = distribution(origins=[s3_origin("site"), s3_origin("site2", "site2")],
                        behaviors=[behavior("*", "site-failover", orp=p.ALL_VIEWER)], groups=(group,))
    assert engine.evaluate(dist, inventory(dist)) == []


# --------------------------------------------------------------------------------------------- fixes that uncover


def test_origin_path_fix_that_uncovers_authorized_methods_comes_with_caching_disabled():
    """/api/* forwards every viewer header (Authorization too) through a cache that can keep responses, but reaches
    nothing: OriginPath lacks the stage. apigw-path-unroutable proposes /prod, which makes GET /prod/api/items
    (AWS_IAM) reachable; apigw-response-cached says now that this would share authorized responses, and depends on
    that fix, so the one plan that holds both never serves one caller's response to another."""
    api_behavior = with_policies(behavior("/api/*", "api", orp=AEHH), cache=CAN_CACHE)
    dist = _dist(api_behavior, origins=[s3_origin("site"), api_origin("api", API, path="")])
    inv = inventory(dist, apis=[IAM_API])
    found = {f.rule: f for f in engine.evaluate(dist, inv)}
    assert found["apigw-path-unroutable"].fix.fix_class is FixClass.APPROVE
    cached = found["apigw-response-cached"]
    assert (cached.fix.fix_class, cached.fix.changes) == (
        FixClass.AUTO, (SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, None),))
    assert ("depends on apigw-path-unroutable: these are the methods reached once OriginPath of origin api is "
            "/prod") in cached.notes
    plan = build_plan(dist_with_config(dist), list(found.values()), classes={FixClass.AUTO, FixClass.APPROVE})
    assert "/api/* cache policy: api-honours-origin -> CachingDisabled" in plan.summary


def test_origin_path_fix_never_breaks_a_behavior_that_reaches_the_origin_through_a_group():
    """/api/* reaches origin api as the primary of an origin group and routes (OriginPath /prod). The default
    behavior to api routes nowhere; OriginPath (empty) would route it but break /api/*: a ticket, not a patch."""
    resources = {"/api/items": ["POST"], "/api/{proxy+}": ["GET"]}
    dist = distribution(
        origins=[api_origin("api", API, path="/prod"), api_origin("api-dr", API2, "us-west-2", path="/prod")],
        behaviors=[behavior("/api/*", "api-failover", orp=AEHH, methods=("GET", "HEAD", "OPTIONS")),
                   behavior("*", "api", orp=AEHH)], groups=(GROUP,))
    [unroutable] = [f for f in engine.evaluate(dist, inventory(dist, apis=_group_apis(resources)))
                    if f.rule == "apigw-path-unroutable"]
    assert (unroutable.behavior, unroutable.fix.fix_class, unroutable.fix.changes) == ("*", FixClass.MANUAL, ())
    assert "OriginPath (empty) would break behavior(s) /api/*" in unroutable.fix.ticket
