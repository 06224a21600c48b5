"""An auto fix never silently stops forwarding Host when Host intent could not be checked.

The pass-through fixes (AllViewerExceptHostHeader, CachingDisabled) of apigw-auth-header-dropped,
apigw-query-dropped, apigw-response-cached and websocket-handshake-dropped drop a forwarded Host. When edgemedic
could not read whether an alias is an API Gateway custom domain (so Host may reach API Gateway on purpose), those
fixes need a person, exactly like apigw-host-forwarded's own fix in that case.
"""
from __future__ import annotations

import pytest

from builders import (api_origin, behavior, custom_domain, distribution, inventory, legacy, method, rest_api, s3_origin,
                      websocket_api)
from edgemedic import policies as p
from edgemedic.engine import evaluate
from edgemedic.findings import FixClass
from edgemedic.model import Unreadable, custom_domain_key, domains_key

REST = "h1o2s3t4g5"
WS = "w1s2h3o4s5"
UNREADABLE_DOMAINS = {domains_key("us-east-1"): Unreadable("custom domains in us-east-1", "AccessDenied")}
GUARD_NOTE = ("this change stops forwarding the viewer Host on behavior /api/*, and whether Host reaches API Gateway "
              "on purpose could not be checked: a person confirms")


def _rest_case(unreadable):
    dist = distribution(
        origins=[api_origin("api", REST, path="/prod"), s3_origin("site")],
        behaviors=[behavior("/api/*", "api", cache=p.CACHING_OPTIMIZED, orp=p.HOST_HEADER_ONLY), behavior("*", "site")],
        aliases=("shop.example.com",),
    )
    api = rest_api(REST, resources={"/api/items": [method("GET", "AWS_IAM", query=("q",)), "POST"]})
    return dist, inventory(dist, apis=[api], unreadable=unreadable)


def _classes(findings):
    return {f.rule: f.fix.fix_class for f in findings}


def test_uncertain_host_intent_silences_the_rules_that_route_and_guards_the_rest() -> None:
    """Host is forwarded and whether an alias is a custom domain could not be read: what the API receives (which
    API, which path) is unknown, so the rules that judge the methods behind the behavior stay silent instead of
    judging the request as the Host fix would send it. The Host fix itself needs a person."""
    dist, inv = _rest_case(UNREADABLE_DOMAINS)
    findings = evaluate(dist, inv)
    assert _classes(findings) == {
        "apigw-host-forwarded": FixClass.APPROVE,
        # CachingDisabled alone: the HostHeaderOnly origin request policy stays, Host is still forwarded.
        "apigw-response-cached": FixClass.AUTO,
    }
    by_rule = {f.rule: f for f in findings}
    assert by_rule["apigw-response-cached"].notes == ()
    assert ("whether alias shop.example.com is an API Gateway custom domain is unknown "
            "(custom domains in us-east-1: AccessDenied)") in by_rule["apigw-host-forwarded"].notes


def test_custom_domain_design_that_could_not_be_read_gets_no_path_verdict() -> None:
    """Alias api.example.com is a custom domain mapping v1 to the API's stage prod, and the behavior forwards Host:
    it works. When the domain is read there is no finding; when it cannot be read, no path rule may claim that
    /v1/* routes nowhere (it would, judged at the execute-api host, which is not where the request goes)."""
    dist = distribution(origins=[api_origin("api", REST), s3_origin("site")],
                        behaviors=[behavior("/v1/*", "api", orp=p.ALL_VIEWER), behavior("*", "site")],
                        aliases=("api.example.com",))
    api = rest_api(REST, resources={"/items": [method("GET", "AWS_IAM"), "POST"]})
    readable = inventory(dist, apis=[api], domains=[custom_domain("api.example.com", [("v1", REST, "prod")])])
    assert evaluate(dist, readable) == []
    unread = inventory(dist, apis=[api], unreadable={
        custom_domain_key("api.example.com"): Unreadable("custom domain api.example.com", "AccessDenied")})
    assert _classes(evaluate(dist, unread)) == {"apigw-host-forwarded": FixClass.APPROVE}


def test_certain_absence_of_host_intent_keeps_them_auto() -> None:
    dist, inv = _rest_case({})
    findings = evaluate(dist, inv)
    assert _classes(findings) == {
        "apigw-host-forwarded": FixClass.AUTO,
        "apigw-auth-header-dropped": FixClass.AUTO,
        "apigw-query-dropped": FixClass.AUTO,
        "apigw-response-cached": FixClass.AUTO,
        "apigw-iam-host-mismatch": FixClass.MANUAL,
    }
    assert all(GUARD_NOTE not in f.notes for f in findings)


@pytest.mark.parametrize(("unreadable", "expected"), [(UNREADABLE_DOMAINS, FixClass.APPROVE), ({}, FixClass.AUTO)])
def test_websocket_handshake_fix_is_guarded_too(unreadable, expected) -> None:
    dist = distribution(
        origins=[api_origin("ws", WS), s3_origin("site")],
        behaviors=[behavior("/production", "ws", orp=p.HOST_HEADER_ONLY, viewer="https-only"), behavior("*", "site")],
        aliases=("chat.example.com",),
    )
    inv = inventory(dist, apis=[websocket_api(WS)], unreadable=unreadable)
    [handshake] = [f for f in evaluate(dist, inv) if f.rule == "websocket-handshake-dropped"]
    assert handshake.fix.fix_class is expected


@pytest.mark.parametrize(("unreadable", "expected"), [(UNREADABLE_DOMAINS, FixClass.APPROVE), ({}, FixClass.AUTO)])
def test_legacy_migration_that_drops_host_is_guarded(unreadable, expected) -> None:
    """Legacy Headers [Host] with the default TTLs: migrating to CachingDisabled + AllViewerExceptHostHeader drops Host."""
    dist = distribution(
        origins=[api_origin("api", REST, path="/prod"), s3_origin("site")],
        behaviors=[behavior("/api/*", "api", legacy=legacy("Host")), behavior("*", "site")],
        aliases=("shop.example.com",),
    )
    inv = inventory(dist, apis=[rest_api(REST, resources={"/api/items": ["GET"]})], unreadable=unreadable)
    [cached] = [f for f in evaluate(dist, inv) if f.rule == "apigw-response-cached"]
    assert cached.fix.fix_class is expected


def test_a_fix_that_keeps_host_is_not_guarded() -> None:
    """AllViewer ORP forwards Host; replacing a caching cache policy keeps the ORP, so Host survives: auto."""
    dist = distribution(
        origins=[api_origin("api", REST, path="/prod"), s3_origin("site")],
        behaviors=[behavior("/api/*", "api", cache=p.CACHING_OPTIMIZED, orp=p.ALL_VIEWER), behavior("*", "site")],
        aliases=("shop.example.com",),
    )
    inv = inventory(dist, apis=[rest_api(REST, resources={"/api/items": ["GET", "POST"]})],
                    unreadable=UNREADABLE_DOMAINS)
    [cached] = [f for f in evaluate(dist, inv) if f.rule == "apigw-response-cached"]
    assert cached.fix.fix_class is FixClass.AUTO
    assert cached.notes == ()
