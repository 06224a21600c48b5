"""apigw-host-forwarded and websocket-handshake-dropped: input model -> exact findings."""
from __future__ import annotations

import pytest

from builders import (
    api_origin,
    behavior,
    custom_cache_policy,
    custom_domain,
    custom_origin_request_policy,
    distribution,
    domain_origin,
    inventory,
    legacy,
    rest_api,
    s3_origin,
    websocket_api,
    with_policies,
)
from edgemedic import policies as p
from edgemedic.findings import FixClass, SetBehaviorPolicies, Severity
from edgemedic.model import Unreadable, api_key, custom_domain_key, domains_key
from edgemedic.rules.headers import HOST_FORWARDED, WEBSOCKET_HANDSHAKE, check_host_forwarded, check_websocket_handshake

API = "a1b2c3d4e5"
WS = "w1s2o3c4k5"
EXEC = f"{API}.execute-api.us-east-1.amazonaws.com"


def _api_dist(*behaviors, aliases=(), origins=None):
    return distribution(
        origins=origins or [s3_origin("site"), api_origin("api", API, path="/prod")],
        behaviors=[*behaviors, behavior("*", "site", cache=p.CACHING_OPTIMIZED)],
        aliases=aliases,
    )


def _inv(dist, **kw):
    kw.setdefault("apis", [rest_api(API, resources={"/api/users": ["GET", "POST"]})])
    return inventory(dist, **kw)


def _host(findings):
    return [(f.rule, f.severity, f.behavior, f.origin, f.fix.fix_class, f.fix.changes, f.evidence[0]) for f in findings]


AVEHH = p.ALL_VIEWER_EXCEPT_HOST_HEADER
HOST_CASES = {
    "orp AllViewer": (
        behavior("/api/*", "api", orp=p.ALL_VIEWER),
        SetBehaviorPolicies("/api/*", None, AVEHH), "origin request policy AllViewer forwards Host"),
    "orp AllViewerAndCloudFrontHeaders-2022-06": (
        behavior("/api/*", "api", orp=p.ALL_VIEWER_AND_CLOUDFRONT_2022_06),
        SetBehaviorPolicies("/api/*", None, AVEHH),
        "origin request policy AllViewerAndCloudFrontHeaders-2022-06 forwards Host"),
    "orp HostHeaderOnly": (
        behavior("/api/*", "api", orp=p.HOST_HEADER_ONLY),
        SetBehaviorPolicies("/api/*", None, AVEHH), "origin request policy HostHeaderOnly forwards Host"),
    "cache UseOriginCacheControlHeaders": (
        behavior("/api/*", "api", cache=p.USE_ORIGIN_CACHE_CONTROL_HEADERS),
        SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AVEHH),
        "cache policy UseOriginCacheControlHeaders (cache key) forwards Host"),
    "cache UseOriginCacheControlHeaders-QueryStrings with AVEHH": (
        behavior("/api/*", "api", cache=p.USE_ORIGIN_CACHE_CONTROL_HEADERS_QS, orp=AVEHH),
        SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AVEHH),
        "cache policy UseOriginCacheControlHeaders-QueryStrings (cache key) forwards Host"),
    "cache Amplify": (
        behavior("/api/*", "api", cache=p.AMPLIFY),
        SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AVEHH), "cache policy Amplify (cache key) forwards Host"),
    "custom cache policy with Host": (
        with_policies(behavior("/api/*", "api"),
                      cache=custom_cache_policy("cp-1", "api-by-host", headers=["Host", "Accept"], max_ttl=60)),
        SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AVEHH), "cache policy api-by-host (cache key) forwards Host"),
    "custom orp whitelist Host": (
        with_policies(behavior("/api/*", "api"),
                      orp=custom_origin_request_policy("orp-1", "fwd-host", "whitelist", ["Host", "X-Trace"])),
        SetBehaviorPolicies("/api/*", None, AVEHH), "origin request policy fwd-host forwards Host"),
    "custom orp allViewer": (
        with_policies(behavior("/api/*", "api"), orp=custom_origin_request_policy("orp-2", "everything", "allViewer")),
        SetBehaviorPolicies("/api/*", None, AVEHH), "origin request policy everything forwards Host"),
    "custom orp allViewerAndWhitelistCloudFront": (
        with_policies(behavior("/api/*", "api"), orp=custom_origin_request_policy(
            "orp-3", "all-plus-geo", "allViewerAndWhitelistCloudFront", ["CloudFront-Viewer-Country"])),
        SetBehaviorPolicies("/api/*", None, AVEHH), "origin request policy all-plus-geo forwards Host"),
    "custom orp allExcept without host": (
        with_policies(behavior("/api/*", "api"),
                      orp=custom_origin_request_policy("orp-4", "all-but-cookie", "allExcept", ["Cookie"])),
        SetBehaviorPolicies("/api/*", None, AVEHH), "origin request policy all-but-cookie forwards Host"),
    "legacy Headers Host": (
        behavior("/api/*", "api", legacy=legacy("Host", default_ttl=0, max_ttl=0)),
        SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AVEHH),
        "legacy ForwardedValues of behavior /api/* (Headers: host) forwards Host"),
    "legacy Headers * (TTL fields absent)": (
        behavior("/api/*", "api", legacy=legacy("*")),
        SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AVEHH),
        "legacy ForwardedValues of behavior /api/* (Headers: *) forwards Host"),
}


@pytest.mark.parametrize("case", HOST_CASES.values(), ids=HOST_CASES.keys())
def test_host_forwarded_fires_for_every_way_host_is_forwarded(case):
    api_behavior, change, evidence = case
    dist = _api_dist(api_behavior, aliases=("www.example.com",))
    found = list(check_host_forwarded(dist, _inv(dist)))
    assert _host(found) == [("apigw-host-forwarded", Severity.HIGH, "/api/*", "api", FixClass.AUTO, (change,), evidence)]
    f = found[0]
    assert f.evidence[1:] == (f"origin api is API Gateway at {EXEC}",
                              "no alias of the distribution is an API Gateway custom domain mapped to the API "
                              "(aliases: www.example.com)")
    assert f.symptom == (f"API Gateway receives Host www.example.com, d111111abcdef8.cloudfront.net instead of {EXEC} "
                         'and answers 403 {"message":"Forbidden"} (or CloudFront answers 403/502)')
    assert f.notes == ()


def test_legacy_summary_says_it_migrates():
    dist = _api_dist(behavior("/api/*", "api", legacy=legacy("Host")))
    [f] = check_host_forwarded(dist, _inv(dist))
    assert f.fix.summary == ("Use origin request policy AllViewerExceptHostHeader and cache policy CachingDisabled on "
                             "behavior /api/* (migrates its legacy ForwardedValues and TTLs to policies)")


def test_host_from_cache_key_and_orp_names_both_sources():
    dist = _api_dist(behavior("/api/*", "api", cache=p.AMPLIFY, orp=p.ALL_VIEWER))
    [f] = check_host_forwarded(dist, _inv(dist))
    assert f.evidence[:2] == ("cache policy Amplify (cache key) forwards Host",
                              "origin request policy AllViewer forwards Host")
    assert f.fix.changes == (SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AVEHH),)


PASSING = {
    "AllViewerExceptHostHeader": behavior("/api/*", "api", orp=AVEHH),
    "CachingDisabled alone": behavior("/api/*", "api"),
    "CachingOptimized (no Host in key)": behavior("/api/*", "api", cache=p.CACHING_OPTIMIZED, orp=p.CORS_CUSTOM_ORIGIN),
    "custom orp allExcept host": with_policies(
        behavior("/api/*", "api"), orp=custom_origin_request_policy("orp-5", "all-but-host", "allExcept", ["Host"])),
    "legacy without Host": behavior("/api/*", "api", legacy=legacy("Authorization", "Accept")),
    # An origin request policy that could not be read: no claim without evidence.
    "unreadable custom orp": behavior("/api/*", "api", orp="11111111-2222-3333-4444-555555555555"),
}


@pytest.mark.parametrize("api_behavior", PASSING.values(), ids=PASSING.keys())
def test_host_not_forwarded_yields_nothing(api_behavior):
    dist = _api_dist(api_behavior)
    assert list(check_host_forwarded(dist, _inv(dist))) == []


def test_s3_behavior_forwarding_host_is_not_an_api_problem():
    dist = distribution(origins=[s3_origin("site")], behaviors=[behavior("*", "site", orp=p.ALL_VIEWER)])
    assert list(check_host_forwarded(dist, inventory(dist))) == []


def test_host_intent_alias_is_custom_domain_mapped_to_the_api():
    dist = _api_dist(behavior("/api/*", "api", orp=p.ALL_VIEWER), aliases=("api.example.com",))
    inv = _inv(dist, domains=[custom_domain("api.example.com", [("", API, "prod")])])
    assert list(check_host_forwarded(dist, inv)) == []


def test_host_intent_through_custom_domain_origin():
    origin = domain_origin("api", "api.example.com")
    dist = _api_dist(behavior("/api/*", "api", orp=p.ALL_VIEWER), aliases=("api.example.com",),
                     origins=[s3_origin("site"), origin])
    inv = _inv(dist, domains=[custom_domain("api.example.com", [("", API, "prod")])])
    assert list(check_host_forwarded(dist, inv)) == []


def test_alias_mapped_to_another_api_is_no_intent():
    dist = _api_dist(behavior("/api/*", "api", orp=p.ALL_VIEWER), aliases=("api.example.com",))
    inv = _inv(dist, domains=[custom_domain("api.example.com", [("", "otherapi01", "prod")])])
    [f] = check_host_forwarded(dist, inv)
    assert f.fix.fix_class is FixClass.AUTO


def test_host_intent_found_even_when_the_api_itself_is_unreadable():
    """The execute-api domain names the API id, so the alias's mapping still proves intent."""
    dist = _api_dist(behavior("/api/*", "api", orp=p.ALL_VIEWER), aliases=("api.example.com",))
    inv = inventory(dist, domains=[custom_domain("api.example.com", [("", API, "prod")])],
                    unreadable={api_key("us-east-1", API): Unreadable(f"REST API {API}", "AccessDenied")})
    assert list(check_host_forwarded(dist, inv)) == []


def test_unreadable_api_without_aliases_still_fires_auto():
    """The origin is API Gateway by its domain: Host to execute-api is wrong whatever the API is."""
    dist = _api_dist(behavior("/api/*", "api", orp=p.ALL_VIEWER))
    inv = inventory(dist, unreadable={api_key("us-east-1", API): Unreadable(f"REST API {API}", "AccessDenied")})
    [f] = check_host_forwarded(dist, inv)
    assert (f.rule, f.fix.fix_class, f.notes) == ("apigw-host-forwarded", FixClass.AUTO, ())


def test_unreadable_custom_domains_fire_for_approval_with_a_note():
    dist = _api_dist(behavior("/api/*", "api", orp=p.ALL_VIEWER), aliases=("api.example.com",))
    inv = _inv(dist, unreadable={domains_key("us-east-1"): Unreadable("custom domains in us-east-1",
                                                                      "AccessDenied: apigateway:GET")})
    [f] = check_host_forwarded(dist, inv)
    assert f.fix.fix_class is FixClass.APPROVE
    assert f.fix.changes == (SetBehaviorPolicies("/api/*", None, AVEHH),)
    assert f.notes == (
        "whether alias api.example.com is an API Gateway custom domain is unknown "
        "(custom domains in us-east-1: AccessDenied: apigateway:GET)",
        "Host intent could not be checked: if an alias is an API Gateway custom domain mapped to this API, "
        "forwarding Host is intended and this finding does not apply",
    )


def test_unreadable_origin_custom_domain_leaves_intent_open():
    origin = domain_origin("api", "api.example.com")
    dist = _api_dist(behavior("/api/*", "api", orp=p.ALL_VIEWER), aliases=("www.example.com",),
                     origins=[s3_origin("site"), origin])
    inv = inventory(dist, unreadable={custom_domain_key("api.example.com"): Unreadable(
        "custom domain api.example.com", "AccessDenied")})
    [f] = check_host_forwarded(dist, inv)
    assert f.fix.fix_class is FixClass.APPROVE
    assert f.notes[0] == "custom domain api.example.com: AccessDenied"


def test_custom_domain_origin_with_foreign_alias_fires():
    origin = domain_origin("api", "api.example.com")
    dist = _api_dist(behavior("*", "api", orp=p.ALL_VIEWER), aliases=("www.example.com",),
                     origins=[origin])
    inv = _inv(dist, domains=[custom_domain("api.example.com", [("", API, "prod")])])
    assert _host(check_host_forwarded(dist, inv)) == [
        ("apigw-host-forwarded", Severity.HIGH, "*", "api", FixClass.AUTO, (SetBehaviorPolicies("*", None, AVEHH),),
         "origin request policy AllViewer forwards Host")]


# --------------------------------------------------------------------------------------------- websocket


def _ws_dist(ws_behavior, aliases=()):
    return distribution(origins=[s3_origin("site"), api_origin("ws", WS, path="/production")],
                        behaviors=[ws_behavior, behavior("*", "site", cache=p.CACHING_OPTIMIZED)], aliases=aliases)


def _ws_inv(dist, **kw):
    return inventory(dist, apis=[websocket_api(WS)], **kw)


ALL_WS = ("Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions")
WS_CASES = {
    "CachingDisabled, no orp": (behavior("/ws", "ws"), ALL_WS, SetBehaviorPolicies("/ws", None, AVEHH),
                                "every handshake fails"),
    "CORS-CustomOrigin": (behavior("/ws", "ws", orp=p.CORS_CUSTOM_ORIGIN), ALL_WS,
                          SetBehaviorPolicies("/ws", None, AVEHH), "every handshake fails"),
    "whitelist Version and Protocol (no Key)": (
        with_policies(behavior("/ws", "ws"), orp=custom_origin_request_policy(
            "orp-ws3", "ws-no-key", "whitelist", ["Sec-WebSocket-Version", "Sec-WebSocket-Protocol"])),
        (ALL_WS[0], ALL_WS[3]), SetBehaviorPolicies("/ws", None, AVEHH), "every handshake fails"),
    "UseOriginCacheControlHeaders (Host in key) without intent": (
        behavior("/ws", "ws", cache=p.USE_ORIGIN_CACHE_CONTROL_HEADERS), ALL_WS,
        SetBehaviorPolicies("/ws", p.CACHING_DISABLED, AVEHH), "every handshake fails"),
}


@pytest.mark.parametrize("case", WS_CASES.values(), ids=WS_CASES.keys())
def test_websocket_handshake_dropped(case):
    ws_behavior, missing, change, broken = case
    dist = _ws_dist(ws_behavior)
    found = list(check_websocket_handshake(dist, _ws_inv(dist)))
    assert [(f.rule, f.severity, f.behavior, f.origin, f.fix.fix_class, f.fix.changes) for f in found] == [
        ("websocket-handshake-dropped", Severity.HIGH, "/ws", "ws", FixClass.AUTO, (change,))]
    assert found[0].evidence == (f"not forwarded by behavior /ws: {', '.join(missing)}",
                                 f"API behind origin ws: {WS} (WEBSOCKET)")
    assert found[0].symptom == f"WebSocket clients cannot connect through /ws: {broken}"


def test_websocket_under_host_intent_gets_allviewer():
    dist = _ws_dist(behavior("/ws", "ws"), aliases=("ws.example.com",))
    inv = _ws_inv(dist, domains=[custom_domain("ws.example.com", [("", WS, "production")])])
    [f] = check_websocket_handshake(dist, inv)
    assert f.fix.changes == (SetBehaviorPolicies("/ws", None, p.ALL_VIEWER),)
    assert f.notes == ("Host intent: alias ws.example.com is a custom domain mapped to the API, so the fix keeps "
                       "forwarding Host (AllViewer)",)


WS_PASSING = {
    "AllViewerExceptHostHeader": behavior("/ws", "ws", orp=AVEHH),
    "AllViewer (Host is another rule's business)": behavior("/ws", "ws", orp=p.ALL_VIEWER),
    "whitelist all four": with_policies(behavior("/ws", "ws"), orp=custom_origin_request_policy(
        "orp-ws4", "ws-all", "whitelist", ALL_WS)),
    # Catalog v2: Key and Version are AWS's documented minimum (distribution-working-with.websockets.html).
    "whitelist Key and Version only": with_policies(behavior("/ws", "ws"), orp=custom_origin_request_policy(
        "orp-ws", "ws-min", "whitelist", ["Sec-WebSocket-Key", "Sec-WebSocket-Version"])),
    "legacy Headers *": behavior("/ws", "ws", legacy=legacy("*")),
    # Legacy settings forward the headers CloudFront's table does not define (Sec-WebSocket-* among them): the
    # legacy-era "WebSocket works with any distribution" (catalog "Forwarded" (c)).
    "legacy without headers": behavior("/ws", "ws", legacy=legacy(default_ttl=0, max_ttl=0)),
    "unreadable orp": behavior("/ws", "ws", orp="99999999-2222-3333-4444-555555555555"),
}


@pytest.mark.parametrize("ws_behavior", WS_PASSING.values(), ids=WS_PASSING.keys())
def test_websocket_headers_forwarded_yield_nothing(ws_behavior):
    dist = _ws_dist(ws_behavior)
    assert list(check_websocket_handshake(dist, _ws_inv(dist))) == []


def test_websocket_rule_ignores_rest_apis_and_unreadable_apis():
    dist = _api_dist(behavior("/api/*", "api"))
    assert list(check_websocket_handshake(dist, _inv(dist))) == []
    ws = _ws_dist(behavior("/ws", "ws"))
    assert list(check_websocket_handshake(ws, inventory(ws))) == []


def test_rule_metadata():
    assert (HOST_FORWARDED.id, HOST_FORWARDED.severity, HOST_FORWARDED.fix_class) == (
        "apigw-host-forwarded", Severity.HIGH, "auto")
    assert (WEBSOCKET_HANDSHAKE.id, WEBSOCKET_HANDSHAKE.severity, WEBSOCKET_HANDSHAKE.fix_class) == (
        "websocket-handshake-dropped", Severity.HIGH, "auto")


# --------------------------------------------------------------------------------------------- across my rule modules


def test_every_rule_cites_a_documented_page():
    from edgemedic.rules import caching, endpoints, headers, protocols, tls

    for module in (headers, caching, protocols, endpoints, tls):
        for rule in module.RULES:
            assert rule.url.startswith(("https://docs.aws.amazon.com/", "https://repost.aws/")), (rule.id, rule.url)
            assert rule.title and rule.symptom and rule.remediation


def test_kitchen_sink_findings_and_fix_shapes():
    """One broken distribution through every rule of these modules: exact findings, and fix shapes per class."""
    from edgemedic.model import EndpointType, OriginKind
    from builders import certificate, custom_origin, load_balancer
    from edgemedic.rules import caching, endpoints, headers, protocols, tls

    elb = "app-1.eu-west-1.elb.amazonaws.com"
    dist = distribution(
        origins=[api_origin("api", API, path="/prod", protocol="http-only", ssl=("TLSv1",)),
                 api_origin("ws", WS, path="/production"),
                 custom_origin("lb", elb, kind=OriginKind.LOAD_BALANCER, ssl=("SSLv3", "TLSv1.2")),
                 s3_origin("site")],
        behaviors=[behavior("/api/*", "api", cache=p.CACHING_OPTIMIZED, orp=p.ALL_VIEWER, viewer="allow-all"),
                   behavior("/ws", "ws"),
                   behavior("/app/*", "lb", orp=p.ALL_VIEWER),
                   behavior("*", "site", orp=p.ALL_VIEWER, cache=p.CACHING_OPTIMIZED, viewer="allow-all")],
        aliases=("www.example.com",))
    expired = certificate("c1", "www.example.com", status="EXPIRED")
    inv = inventory(dist, apis=[rest_api(API, endpoint=EndpointType.EDGE, disabled_default=True), websocket_api(WS)],
                    load_balancers=[load_balancer(elb, certificates=[expired.arn])], certificates=[expired])
    found = [f for module in (headers, caching, protocols, endpoints, tls) for rule in module.RULES
             for f in rule.check(dist, inv)]
    assert sorted((f.rule, f.behavior, f.origin, f.fix.fix_class.value) for f in found) == sorted([
        ("apigw-host-forwarded", "/api/*", "api", "auto"),
        ("websocket-handshake-dropped", "/ws", "ws", "auto"),
        ("apigw-response-cached", "/api/*", "api", "auto"),
        ("apigw-origin-protocol", "", "api", "auto"),
        ("apigw-viewer-http-allowed", "/api/*", "api", "approve"),
        ("websocket-redirect-to-https", "/ws", "ws", "manual"),
        ("origin-tls-protocols", "", "lb", "approve"),
        ("apigw-edge-endpoint", "", "api", "manual"),
        ("apigw-default-endpoint-disabled", "", "api", "manual"),
        ("origin-tls-cert-invalid", "", "lb", "manual"),
    ])
    for f in found:
        assert "\n" not in f.message and f.symptom and f.evidence, f.rule
        if f.fix.fix_class is FixClass.MANUAL:
            assert (f.fix.changes, bool(f.fix.ticket)) == ((), True), f.rule
        else:
            assert (bool(f.fix.changes), f.fix.ticket) == (True, ""), f.rule
