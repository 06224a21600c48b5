"""apigw-edge-endpoint, apigw-private-endpoint, apigw-default-endpoint-disabled."""
from __future__ import annotations

import pytest

from builders import api_origin, behavior, custom_domain, distribution, domain_origin, http_api, inventory, rest_api
from edgemedic.findings import FixClass, SetOriginDomain, SetOriginPath, Severity
from edgemedic.model import EndpointType, Unreadable, api_key, domains_key
from edgemedic.rules.endpoints import (
    RULES,
    check_default_endpoint_disabled,
    check_edge_endpoint,
    check_private_endpoint,
)

API = "a1b2c3d4e5"
OTHER = "o1t2h3e4r5"


def _summary(findings):
    return [(f.rule, f.severity, f.behavior, f.origin, f.fix.fix_class, f.fix.changes) for f in findings]


def _dist(origin, aliases=()):
    return distribution(origins=[origin], behaviors=[behavior("/api/*", origin.id), behavior("*", origin.id)],
                        aliases=aliases)


# --------------------------------------------------------------------------------------------- endpoint types


def test_edge_optimized_api_behind_execute_api_origin():
    dist = _dist(api_origin("api", API, path="/prod"))
    found = list(check_edge_endpoint(dist, inventory(dist, apis=[rest_api(API, endpoint=EndpointType.EDGE)])))
    assert _summary(found) == [("apigw-edge-endpoint", Severity.MEDIUM, "", "api", FixClass.MANUAL, ())]
    assert found[0].evidence == (f"API {API} (api-{API}): endpoint type EDGE",
                                 f"origin api domain {API}.execute-api.us-east-1.amazonaws.com",
                                 "origin api is the target of behaviors /api/*, *")
    assert found[0].fix.ticket.startswith(f"Change the endpoint type of API {API} (api-{API}) in us-east-1 from EDGE "
                                          "to REGIONAL")


def test_edge_custom_domain_origin_fires_but_regional_domain_to_edge_api_does_not():
    edge = custom_domain("edge.example.com", [("", API, "prod")], endpoint=EndpointType.EDGE)
    regional = custom_domain("api.example.com", [("", API, "prod")])
    apis = [rest_api(API, endpoint=EndpointType.EDGE)]
    dist = _dist(domain_origin("cd", "edge.example.com"))
    found = list(check_edge_endpoint(dist, inventory(dist, apis=apis, domains=[edge])))
    assert [(f.origin, f.evidence[0]) for f in found] == [("cd", "custom domain edge.example.com: endpoint type EDGE")]
    dist = _dist(domain_origin("cd", "api.example.com"))
    assert list(check_edge_endpoint(dist, inventory(dist, apis=apis, domains=[regional]))) == []


@pytest.mark.parametrize("endpoint", [EndpointType.REGIONAL, None], ids=["regional", "unreadable API"])
def test_endpoint_rules_quiet_for_regional_or_unreadable(endpoint):
    dist = _dist(api_origin("api", API))
    if endpoint is None:
        inv = inventory(dist, unreadable={api_key("us-east-1", API): Unreadable(f"REST API {API}", "AccessDenied")})
    else:
        inv = inventory(dist, apis=[rest_api(API, endpoint=endpoint)])
    assert list(check_edge_endpoint(dist, inv)) == list(check_private_endpoint(dist, inv)) == []


def test_private_api_is_critical():
    dist = _dist(api_origin("api", API))
    found = list(check_private_endpoint(dist, inventory(dist, apis=[rest_api(API, endpoint=EndpointType.PRIVATE)])))
    assert _summary(found) == [("apigw-private-endpoint", Severity.CRITICAL, "", "api", FixClass.MANUAL, ())]
    assert found[0].evidence[0] == f"API {API} (api-{API}) in us-east-1: endpoint type PRIVATE"
    assert found[0].fix.ticket.startswith(f"API {API} is PRIVATE and cannot be reached by CloudFront")
    assert list(check_edge_endpoint(dist, inventory(dist, apis=[rest_api(API, endpoint=EndpointType.PRIVATE)]))) == []


# --------------------------------------------------------------------------------------------- default endpoint

APPROVE_CASES = {
    "stage bound by (none) mapping: OriginPath drops the stage": (
        "/prod", [("", API, "prod")], (SetOriginDomain("api", "api.example.com"), SetOriginPath("api", ""))),
    "stage bound under base path v1": (
        "/prod", [("v1", API, "prod")], (SetOriginDomain("api", "api.example.com"), SetOriginPath("api", "/v1"))),
    "deeper OriginPath keeps its tail": (
        "/prod/legacy", [("shop", API, "prod")],
        (SetOriginDomain("api", "api.example.com"), SetOriginPath("api", "/shop/legacy"))),
    "mapping without stage: the stage stays in the path": (
        "/prod", [("", API, None)], (SetOriginDomain("api", "api.example.com"),)),
    "mapping without stage, empty OriginPath": (
        "", [("", API, None)], (SetOriginDomain("api", "api.example.com"),)),
    "shorter base path of another API does not interfere": (
        "/prod", [("", OTHER, "prod"), ("orders", API, "prod")],
        (SetOriginDomain("api", "api.example.com"), SetOriginPath("api", "/orders"))),
}


@pytest.mark.parametrize("case", APPROVE_CASES.values(), ids=APPROVE_CASES.keys())
def test_default_endpoint_disabled_approve(case):
    origin_path, mappings, changes = case
    dist = _dist(api_origin("api", API, path=origin_path))
    inv = inventory(dist, apis=[rest_api(API, disabled_default=True), rest_api(OTHER)],
                    domains=[custom_domain("api.example.com", mappings)])
    found = list(check_default_endpoint_disabled(dist, inv))
    assert _summary(found) == [
        ("apigw-default-endpoint-disabled", Severity.CRITICAL, "", "api", FixClass.APPROVE, changes)]
    assert found[0].evidence[0] == f"API {API} (api-{API}) in us-east-1: disableExecuteApiEndpoint true"


def test_http_api_default_stage():
    h = "h1t2t3p4a5"
    dist = _dist(api_origin("api", h))
    inv = inventory(dist, apis=[http_api(h, disabled_default=True)],
                    domains=[custom_domain("api.example.com", [("", h, "$default")])])
    [f] = check_default_endpoint_disabled(dist, inv)
    assert (f.fix.fix_class, f.fix.changes) == (FixClass.APPROVE, (SetOriginDomain("api", "api.example.com"),))
    assert f.fix.summary == "Point origin api at custom domain api.example.com"


MANUAL_CASES = {
    "stage comes from the viewer path": (
        "", [("", API, "prod")], (), "the mapping binds stage prod, but OriginPath (empty) does not start with it"),
    "other stage than the origin's": (
        "/dev", [("", API, "prod")], (), "the mapping binds stage prod, but OriginPath /dev does not start with it"),
    "a longer base path of another API would take requests": (
        "/prod", [("", API, "prod"), ("v2", OTHER, "prod")], (),
        f"base path /v2 (API {OTHER}) on api.example.com would take some requests"),
    "two custom domains map the API": (
        "/prod", [("", API, "prod")], [custom_domain("api2.example.com", [("", API, "prod")])],
        "2 custom domains map the API"),
    "no custom domain maps the API": ("/prod", [("", OTHER, "prod")], (), "no custom domain maps the API"),
    "two mappings on one domain": (
        "/prod", [("a", API, "prod"), ("b", API, "prod")], (), "several mappings of the domain fit"),
}


@pytest.mark.parametrize("case", MANUAL_CASES.values(), ids=MANUAL_CASES.keys())
def test_default_endpoint_disabled_manual(case):
    origin_path, mappings, extra_domains, reason = case
    dist = _dist(api_origin("api", API, path=origin_path))
    inv = inventory(dist, apis=[rest_api(API, disabled_default=True), rest_api(OTHER)],
                    domains=[custom_domain("api.example.com", mappings), *extra_domains])
    found = list(check_default_endpoint_disabled(dist, inv))
    assert _summary(found) == [("apigw-default-endpoint-disabled", Severity.CRITICAL, "", "api", FixClass.MANUAL, ())]
    assert reason in found[0].fix.ticket


def test_custom_domain_that_is_also_the_alias_needs_a_person():
    dist = _dist(api_origin("api", API, path="/prod"), aliases=("api.example.com",))
    inv = inventory(dist, apis=[rest_api(API, disabled_default=True)],
                    domains=[custom_domain("api.example.com", [("", API, "prod")])])
    [f] = check_default_endpoint_disabled(dist, inv)
    assert f.fix.fix_class is FixClass.MANUAL
    assert "api.example.com is also an alias of this distribution" in f.fix.ticket


def test_edge_custom_domain_is_not_proposed():
    dist = _dist(api_origin("api", API, path="/prod"))
    inv = inventory(dist, apis=[rest_api(API, disabled_default=True)],
                    domains=[custom_domain("api.example.com", [("", API, "prod")], endpoint=EndpointType.EDGE)])
    [f] = check_default_endpoint_disabled(dist, inv)
    assert f.fix.fix_class is FixClass.MANUAL
    assert "custom domain api.example.com is EDGE, not REGIONAL" in f.fix.ticket


def test_unreadable_custom_domains_make_it_manual_with_a_note():
    dist = _dist(api_origin("api", API, path="/prod"))
    inv = inventory(dist, apis=[rest_api(API, disabled_default=True)],
                    domains=[custom_domain("api.example.com", [("", API, "prod")])],
                    unreadable={domains_key("us-east-1"): Unreadable("custom domains in us-east-1", "AccessDenied")})
    [f] = check_default_endpoint_disabled(dist, inv)
    assert f.fix.fix_class is FixClass.MANUAL
    assert f.notes == ("custom domains in us-east-1 could not all be listed (custom domains in us-east-1: AccessDenied)",)


def test_default_endpoint_enabled_or_custom_domain_origin_yields_nothing():
    dist = _dist(api_origin("api", API, path="/prod"))
    assert list(check_default_endpoint_disabled(dist, inventory(dist, apis=[rest_api(API)]))) == []
    dist = _dist(domain_origin("cd", "api.example.com"))
    inv = inventory(dist, apis=[rest_api(API, disabled_default=True)],
                    domains=[custom_domain("api.example.com", [("", API, "prod")])])
    assert list(check_default_endpoint_disabled(dist, inv)) == []


def test_rule_metadata():
    assert [(r.id, r.severity, r.fix_class) for r in RULES] == [
        ("apigw-edge-endpoint", Severity.MEDIUM, "manual"),
        ("apigw-private-endpoint", Severity.CRITICAL, "manual"),
        ("apigw-default-endpoint-disabled", Severity.CRITICAL, "approve/manual"),
    ]
