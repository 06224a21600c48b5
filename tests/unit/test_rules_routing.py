"""apigw-path-unroutable and behavior-shadowed: input model -> exact findings."""
from __future__ import annotations

import pytest

from builders import (
    api_origin,
    behavior,
    custom_domain,
    distribution,
    domain_origin,
    http_api,
    inventory,
    rest_api,
    s3_origin,
    websocket_api,
)
from edgemedic import policies as p
from edgemedic.findings import FixClass, MoveBehavior, SetOriginPath, Severity
from edgemedic.model import Unreadable, api_key
from edgemedic.rules.routing import BEHAVIOR_SHADOWED, PATH_UNROUTABLE, check_path_unroutable, check_shadowed

REST = "r1e2s3t4a5"
HTTP = "h1t2t3p4a5"
WS = "w1s2o3c4k5"
AEHH = p.ALL_VIEWER_EXCEPT_HOST_HEADER
MAT = '403 {"message":"Missing Authentication Token"}'


def _dist(origin, *behaviors, aliases=()):
    return distribution(origins=[s3_origin("site"), origin], behaviors=[*behaviors, behavior("*", "site")],
                        aliases=aliases)


def _api_b(pattern: str, origin: str = "api", **kw):
    kw.setdefault("orp", AEHH)
    return behavior(pattern, origin, **kw)


def _summary(findings):
    return [(f.rule, f.severity, f.behavior, f.origin, f.fix.fix_class, f.fix.changes, f.symptom) for f in findings]


# --------------------------------------------------------------------------------------------- apigw-path-unroutable

UNROUTABLE = {
    "stage missing: one OriginPath fixes it": (
        api_origin("api", REST), [_api_b("/api/*")], [rest_api(REST, resources={"/api/{proxy+}": ["ANY"]})],
        [("apigw-path-unroutable", Severity.HIGH, "/api/*", "api", FixClass.APPROVE,
          (SetOriginPath("api", "/prod"),), f"GET /api/x returns {MAT}")]),
    "HTTP API with a named stage only": (
        api_origin("api", HTTP), [_api_b("/api/*")], [http_api(HTTP, stages=["prod"], routes=["GET /api/items"])],
        [("apigw-path-unroutable", Severity.HIGH, "/api/*", "api", FixClass.APPROVE,
          (SetOriginPath("api", "/prod"),), 'GET /api/x returns 404 {"message":"Not Found"}')]),
    "two stages fit: a person chooses": (
        api_origin("api", REST), [_api_b("/api/*")],
        [rest_api(REST, stages=["prod", "dev"], resources={"/api/{proxy+}": ["ANY"]})],
        [("apigw-path-unroutable", Severity.HIGH, "/api/*", "api", FixClass.MANUAL, (), f"GET /api/x returns {MAT}")]),
    "WebSocket behind a prefix": (
        api_origin("ws", WS), [_api_b("/ws/*", "ws")], [websocket_api(WS)],
        [("apigw-path-unroutable", Severity.HIGH, "/ws/*", "ws", FixClass.MANUAL, (),
          "A WebSocket connection to /ws/x fails its handshake (no stage 'ws' in WEBSOCKET API ws-w1s2o3c4k5 "
          "(w1s2o3c4k5); stages are production)")]),
    "custom domain origin, no mapping for the prefix": (
        domain_origin("cd", "api.example.com"), [_api_b("/shop/*", "cd")],
        [rest_api(REST, resources={"/users": ["GET"]})],
        [("apigw-path-unroutable", Severity.HIGH, "/shop/*", "cd", FixClass.MANUAL, (), f"GET /shop/x returns {MAT}")]),
}


@pytest.mark.parametrize(("origin", "behaviors", "apis", "expected"), UNROUTABLE.values(), ids=UNROUTABLE.keys())
def test_path_unroutable_fires(origin, behaviors, apis, expected) -> None:
    dist = _dist(origin, *behaviors)
    inv = inventory(dist, apis=apis, domains=[custom_domain("api.example.com", [("", REST, "prod")])])
    assert _summary(check_path_unroutable(dist, inv)) == expected


def test_path_unroutable_evidence_names_origin_path_and_resources() -> None:
    """The issue's example: OriginPath /prod, viewer /api/test, the API only has /test."""
    dist = _dist(api_origin("api", REST, path="/prod"), _api_b("/api/*"))
    inv = inventory(dist, apis=[rest_api(REST, resources={"/test": ["GET"]})])
    [found] = check_path_unroutable(dist, inv)
    assert found.evidence == (
        "OriginPath of origin api: /prod",
        f"path at the API: /prod/api/x (Host {REST}.execute-api.us-east-1.amazonaws.com)",
        f"API Gateway: no resource /api/x in stage prod of REST API api-{REST} ({REST}); resources are /test",
        f"REST API {REST}: stages prod; resources /test",
    )
    assert found.message == (f"No path through behavior /api/* reaches a method of REST API {REST}: CloudFront sends "
                             "OriginPath + the full viewer path (e.g. /prod/api/x) and API Gateway routes none of them")
    # "" is the only other candidate and does not route /api/x either: a ticket with the four options.
    assert found.fix.fix_class is FixClass.MANUAL and found.fix.changes == ()
    assert found.fix.ticket.startswith(f"Behavior /api/* of distribution {dist.id} sends /prod/api/x to "
                                       f"{REST}.execute-api.us-east-1.amazonaws.com, which routes it nowhere. Options: "
                                       f"(1) a different OriginPath on origin api; (2) a CloudFront Function")


def test_path_judged_as_after_the_host_fix_when_host_is_forwarded() -> None:
    """Seed 000: Host forwarded (AllViewer) AND a path that reaches nothing. Both findings show in one scan; the
    path is judged with Host = the origin domain, which is what API Gateway sees once apigw-host-forwarded's auto
    fix lands (otherwise the person fixes Host and still gets Missing Authentication Token)."""
    dist = _dist(api_origin("api", REST, path="/prod"), _api_b("/api/*", orp=p.ALL_VIEWER))
    inv = inventory(dist, apis=[rest_api(REST, resources={"/users": ["GET"]})])
    [found] = check_path_unroutable(dist, inv)
    assert (found.rule, found.behavior, found.symptom) == ("apigw-path-unroutable", "/api/*", f"GET /api/x returns {MAT}")
    assert found.evidence[1] == f"path at the API: /prod/api/x (Host {REST}.execute-api.us-east-1.amazonaws.com)"


def test_origin_path_that_breaks_a_sibling_behavior_is_not_proposed() -> None:
    """/prod would route /api/* but break /prod/* on the same origin: a ticket, naming the conflict."""
    dist = _dist(api_origin("api", REST), _api_b("/prod/*"), _api_b("/api/*"))
    inv = inventory(dist, apis=[rest_api(REST, resources={"/users": ["GET"], "/api/{proxy+}": ["ANY"]})])
    [found] = check_path_unroutable(dist, inv)
    assert (found.behavior, found.fix.fix_class) == ("/api/*", FixClass.MANUAL)
    assert "; OriginPath /prod would break behavior(s) /prod/*;" in found.fix.ticket


PASSING = {
    "OriginPath and resources line up": (
        api_origin("api", REST, path="/prod"), [_api_b("/api/*")], [rest_api(REST, resources={"/api/{proxy+}": ["ANY"]})]),
    "HTTP API $default stage": (
        api_origin("api", HTTP), [_api_b("/api/*")], [http_api(HTTP, routes=["GET /api/items"])]),
    "a proxy resource at the root": (
        api_origin("api", REST, path="/prod"), [_api_b("/anything/*")], [rest_api(REST, resources={"/{proxy+}": ["ANY"]})]),
    "custom domain base path": (
        domain_origin("cd", "api.example.com"), [_api_b("/orders/*", "cd")],
        [rest_api("o1r2d3e4r5", stages=["live"], resources={"/{proxy+}": ["ANY"]})]),
    "a viewer-request function may strip the prefix": (
        api_origin("api", REST, path="/prod"), [_api_b("/api/*", functions=("viewer-request",))],
        [rest_api(REST, resources={"/users": ["GET"]})]),
    "API unreadable": (api_origin("api", REST), [_api_b("/api/*")], []),
    "custom domain unreadable": (domain_origin("cd", "gone.example.com"), [_api_b("/x/*", "cd")], []),
}


@pytest.mark.parametrize(("origin", "behaviors", "apis"), PASSING.values(), ids=PASSING.keys())
def test_path_unroutable_silent(origin, behaviors, apis) -> None:
    dist = _dist(origin, *behaviors)
    inv = inventory(dist, apis=apis, domains=[custom_domain("api.example.com", [("orders", "o1r2d3e4r5", "live")])],
                    unreadable={api_key("us-east-1", REST): Unreadable(f"REST API {REST}", "AccessDenied")})
    assert list(check_path_unroutable(dist, inv)) == []


def test_host_intent_routes_through_the_alias_mapping() -> None:
    """Alias = custom domain mapped to the API, Host forwarded on purpose: the mapping routes /shop/*."""
    dist = _dist(api_origin("api", REST), _api_b("/shop/*", orp=p.ALL_VIEWER), aliases=("shop.example.com",))
    domain = custom_domain("shop.example.com", [("shop", REST, "prod")])
    inv = inventory(dist, apis=[rest_api(REST, resources={"/{proxy+}": ["ANY"]})], domains=[domain])
    assert list(check_path_unroutable(dist, inv)) == []
    wrong = custom_domain("shop.example.com", [("store", REST, "prod")])
    [found] = check_path_unroutable(dist, inventory(dist, apis=inv.apis.values(), domains=[wrong]))
    assert found.evidence[1] == ("path at the API: /shop/x (Host shop.example.com), host intent: custom domain "
                                 "shop.example.com")
    assert found.symptom == 'GET /shop/x returns 403 {"message":"Forbidden"}'


# --------------------------------------------------------------------------------------------- behavior-shadowed


def _shadow_dist(*specs: tuple[str, str]):
    return distribution(origins=[s3_origin("site"), api_origin("api", REST, path="/prod")],
                        behaviors=[behavior(pattern, origin) for pattern, origin in specs])


SHADOWED = {
    "API behavior after a wider static one": (
        [("/api/*", "site"), ("/api/v1/*", "api")],
        [("behavior-shadowed", Severity.MEDIUM, "/api/v1/*", "api", FixClass.APPROVE,
          (MoveBehavior("/api/v1/*", "/api/*"),),
          "A request for /api/v1/x is answered by origin site (behavior /api/*), never by api")]),
    "extension before a directory": (
        [("*.jpg", "site"), ("/img/*.jpg", "api")],
        [("behavior-shadowed", Severity.MEDIUM, "/img/*.jpg", "api", FixClass.APPROVE,
          (MoveBehavior("/img/*.jpg", "*.jpg"),),
          "A request for /img/.jpg is answered by origin site (behavior *.jpg), never by api")]),
    "nested: each fix carries the moves it depends on": (
        [("/api/*", "site"), ("/api/v1/*", "api"), ("/api/v1/admin/*", "api")],
        [("behavior-shadowed", Severity.MEDIUM, "/api/v1/*", "api", FixClass.APPROVE,
          (MoveBehavior("/api/v1/*", "/api/*"),),
          "A request for /api/v1/x is answered by origin site (behavior /api/*), never by api"),
         ("behavior-shadowed", Severity.MEDIUM, "/api/v1/admin/*", "api", FixClass.APPROVE,
          (MoveBehavior("/api/v1/*", "/api/*"), MoveBehavior("/api/v1/admin/*", "/api/v1/*")),
          "A request for /api/v1/admin/x is answered by origin site (behavior /api/*), never by api")]),
    "same paths written two ways: moving would shadow the other": (
        [("/api/*", "site"), ("api/*", "api")],
        [("behavior-shadowed", Severity.MEDIUM, "api/*", "api", FixClass.MANUAL, (),
          "A request for /api/x is answered by origin site (behavior /api/*), never by api")]),
    "?? covers ?*? exactly": (
        [("/??*", "site"), ("/?*?", "api")],
        [("behavior-shadowed", Severity.MEDIUM, "/?*?", "api", FixClass.MANUAL, (),
          "A request for /xx is answered by origin site (behavior /??*), never by api")]),
}


@pytest.mark.parametrize(("specs", "expected"), SHADOWED.values(), ids=SHADOWED.keys())
def test_shadowed_fires(specs, expected) -> None:
    dist = _shadow_dist(*specs)
    assert _summary(check_shadowed(dist, inventory(dist))) == expected


@pytest.mark.parametrize("specs", [
    [("/api/v1/*", "api"), ("/api/*", "site")],  # most specific first
    [("/img/*.jpg", "api"), ("*.jpg", "site")],
    [("/API/*", "site"), ("/api/*", "api")],  # case-sensitive
    [("/api/*", "site"), ("/apis/*", "api")],
    [("/v?/items", "site"), ("/v10/items", "api")],  # ? is one character
    [("/api/*", "api")],  # the default * comes last and never shadows
], ids=["specific first", "directory first", "case", "sibling prefix", "question mark", "default"])
def test_shadowed_silent(specs) -> None:
    dist = _shadow_dist(*specs)
    assert list(check_shadowed(dist, inventory(dist))) == []


def test_shadowed_by_the_union_of_earlier_patterns() -> None:
    """Catalog v2: /v1/* and /v2/* together take every path /v?/* matches, though neither alone does."""
    dist = _shadow_dist(("/v1/*", "site"), ("/v2/*", "site"), ("/v?/*", "api"))
    # ? also matches characters other than 1 and 2, so this one is reachable: no finding.
    assert list(check_shadowed(dist, inventory(dist))) == []
    dist = _shadow_dist(("/api/a*", "site"), ("/api/b*", "site"), ("/api/*", "site"), ("/api/[ab]", "api"))
    assert [f.behavior for f in check_shadowed(dist, inventory(dist))] == ["/api/[ab]"]  # covered by /api/* alone
    dist = _shadow_dist(("/api/v1*", "site"), ("/api/v*", "site"), ("/api/v1/users*", "api"))
    [f] = [f for f in check_shadowed(dist, inventory(dist)) if f.behavior == "/api/v1/users*"]
    assert f.fix.fix_class is FixClass.APPROVE  # /api/v1* alone covers it: the single-cover path still applies
    # "/*b" takes /ab, "/*ab?*" takes /ab followed by anything: together every path of /ab*, neither alone.
    dist = _shadow_dist(("/*b", "site"), ("/*ab?*", "site"), ("/ab*", "api"))
    [f] = check_shadowed(dist, inventory(dist))
    assert (f.behavior, f.fix.fix_class, f.fix.changes) == ("/ab*", FixClass.APPROVE, (MoveBehavior("/ab*", "/*b"),))
    assert f.message == "Behavior /ab* is never used: the earlier behaviors /*b, /*ab?* together match every path it matches"
    assert f.evidence[1:] == ("e.g. /ab is served by /*b", "e.g. /abx is served by /*ab?*")
    # Moving /ab* first would leave /ab?* (all of whose paths /ab* matches) unused: a person decides.
    dist = _shadow_dist(("/ab", "site"), ("/ab?*", "site"), ("/ab*", "api"))
    [f] = check_shadowed(dist, inventory(dist))
    assert (f.behavior, f.fix.fix_class) == ("/ab*", FixClass.MANUAL)
    assert "would leave /ab, /ab?* unused instead" in f.fix.ticket


def test_shadowed_move_notes_paths_that_change_destination() -> None:
    dist = _shadow_dist(("/api/*", "site"), ("*.json", "site"), ("/api/v1/*", "api"))
    [found] = check_shadowed(dist, inventory(dist))
    assert found.fix.changes == (MoveBehavior("/api/v1/*", "/api/*"),)
    assert found.notes == ("after the move, paths both /api/v1/* and *.json match (e.g. /api/v1/.json) go to api "
                           "instead of site",)
    assert found.evidence[0] == ("behavior /api/* (position 1, origin site) matches every path that /api/v1/* "
                                 "(position 3, origin api) matches; CloudFront uses the first match")


def test_rule_metadata() -> None:
    assert (PATH_UNROUTABLE.id, PATH_UNROUTABLE.fix_class) == ("apigw-path-unroutable", "approve/manual")
    assert (BEHAVIOR_SHADOWED.id, BEHAVIOR_SHADOWED.severity) == ("behavior-shadowed", Severity.MEDIUM)
    assert BEHAVIOR_SHADOWED.url.startswith("https://docs.aws.amazon.com/AmazonCloudFront/")


# --------------------------------------------------------------------------------------------- fixes through the plan


def _model(config: dict):
    from edgemedic.collect.cloudfront import PolicyResolver, distribution_from_config

    summary = {"Id": "E1EXAMPLE", "ARN": "arn:aws:cloudfront::123456789012:distribution/E1EXAMPLE",
               "DomainName": "d111111abcdef8.cloudfront.net", "Status": "Deployed"}
    return distribution_from_config(summary, config, "ETAG1", PolicyResolver(None), {})


def test_shadow_fixes_applied_together_or_alone_end_most_specific_first() -> None:
    from builders import raw_behavior, raw_config, raw_origin
    from edgemedic.findings import FixClass as FC
    from edgemedic.plan import build_plan

    config = raw_config(
        origins=[raw_origin("site", "site.s3.amazonaws.com", protocol=None),
                 raw_origin("api", f"{REST}.execute-api.us-east-1.amazonaws.com", path="/prod")],
        behaviors=[raw_behavior("/api/*", "site"), raw_behavior("/api/v1/*", "api"),
                   raw_behavior("/api/v1/admin/*", "api"), raw_behavior("*", "site")])
    dist = _model(config)
    findings = list(check_shadowed(dist, inventory(dist)))
    assert [f.behavior for f in findings] == ["/api/v1/*", "/api/v1/admin/*"]
    for chosen in (findings, findings[1:]):
        plan = build_plan(dist, chosen, classes={FC.APPROVE})
        fixed = _model(plan.new_config)
        assert [b.path_pattern for b in fixed.behaviors] == ["/api/v1/admin/*", "/api/v1/*", "/api/*", "*"]
        assert list(check_shadowed(fixed, inventory(fixed))) == []


def test_origin_path_fix_through_the_plan_makes_the_behavior_routable() -> None:
    from builders import raw_behavior, raw_config, raw_origin
    from edgemedic.findings import FixClass as FC
    from edgemedic.plan import build_plan

    config = raw_config(
        origins=[raw_origin("site", "site.s3.amazonaws.com", protocol=None),
                 raw_origin("api", f"{REST}.execute-api.us-east-1.amazonaws.com")],
        behaviors=[raw_behavior("/api/*", "api", orp=AEHH), raw_behavior("*", "site")])
    dist = _model(config)
    api = rest_api(REST, resources={"/api/{proxy+}": ["ANY"]})
    [found] = check_path_unroutable(dist, inventory(dist, apis=[api]))
    plan = build_plan(dist, [found], classes={FC.APPROVE})
    assert plan.summary == ('origin api: OriginPath "" -> "/prod"',)
    assert '-        "OriginPath": "",\n+        "OriginPath": "/prod",' in plan.diff
    fixed = _model(plan.new_config)
    assert fixed.origin("api").origin_path == "/prod"
    assert list(check_path_unroutable(fixed, inventory(fixed, apis=[api]))) == []
