"""API Gateway routing rules (2025) on custom domains: routing mode, priority, base paths (with and without
StripBasePath), header conditions judged on the headers that reach API Gateway; ROUTING_RULE_ONLY ignores leftover
mappings. Input model -> exact verdicts."""
from __future__ import annotations

from dataclasses import replace

from builders import (
    api_origin,
    behavior,
    custom_domain,
    distribution,
    domain_origin,
    inventory,
    method,
    rest_api,
    s3_origin,
)
from edgemedic import engine
from edgemedic import policies as p
from edgemedic.model import ROUTING_RULE_ONLY, ROUTING_RULE_THEN_API_MAPPING, RoutingRule
from edgemedic.router import reachable, route
from edgemedic.rules.headers import check_host_forwarded
from edgemedic.rules.routing import check_path_unroutable

ORDERS = "o1r2d3e4r5"
LEGACY = "l1e2g3a4c5"
DOMAIN = "api.shop.example"
AEHH = p.ALL_VIEWER_EXCEPT_HOST_HEADER


def _domain(mode, rules=(), mappings=(("", LEGACY, "prod"),)):
    return replace(custom_domain(DOMAIN, mappings), routing_mode=mode, routing_rules=tuple(rules))


def _apis(orders_resources=None):
    return [rest_api(ORDERS, resources=orders_resources or {"/items": ["GET", "POST"]}),
            rest_api(LEGACY, resources={"/legacy/{proxy+}": ["GET"]})]


def _dist(pattern, **kw):
    return distribution(origins=[domain_origin("api", DOMAIN), s3_origin("site")],
                        behaviors=[behavior(pattern, "api", **kw), behavior("*", "site")])


def _unroutable(dist, domain, apis):
    return [f.behavior for f in check_path_unroutable(dist, inventory(dist, apis=apis, domains=[domain]))]


STRIP_ORDERS = RoutingRule(10, ORDERS, "prod", ("orders",), strip_base_path=True, rule_id="r-orders")


def test_routing_rule_routes_what_mappings_alone_would_not():
    dist = _dist("/orders/*")
    # Before 2025's routing rules edgemedic judged by mappings only: /orders/items reaches /orders/items of the
    # legacy API, which has none: a false apigw-path-unroutable.
    assert _unroutable(dist, _domain("API_MAPPING_ONLY", [STRIP_ORDERS]), _apis()) == ["/orders/*"]
    assert _unroutable(dist, _domain(ROUTING_RULE_THEN_API_MAPPING, [STRIP_ORDERS]), _apis()) == []
    reach = reachable(dist, dist.behaviors[0], inventory(dist, apis=_apis(),
                                                         domains=[_domain(ROUTING_RULE_THEN_API_MAPPING, [STRIP_ORDERS])]))
    assert sorted(r.label() for r in reach.reaches) == ["GET /orders/items (NONE)", "POST /orders/items (NONE)"]
    # ... and the mapping still takes what the rule does not.
    assert _unroutable(_dist("/legacy/*"), _domain(ROUTING_RULE_THEN_API_MAPPING, [STRIP_ORDERS]), _apis()) == []


def test_routing_rule_only_ignores_leftover_mappings():
    domain = _domain(ROUTING_RULE_ONLY, [STRIP_ORDERS])
    assert _unroutable(_dist("/legacy/*"), domain, _apis()) == ["/legacy/*"]
    assert _unroutable(_dist("/orders/*"), domain, _apis()) == []
    result = route(DOMAIN, "/legacy/a", inventory(domains=[domain], apis=_apis()), region="us-east-1")
    assert (result.routed, result.status) == (False, 403)
    assert result.explanation.startswith(f"no routing rule or API mapping of {DOMAIN} matches /legacy/a")


def test_without_strip_base_path_the_api_sees_the_full_path():
    keep = replace(STRIP_ORDERS, strip_base_path=False)
    domain = _domain(ROUTING_RULE_ONLY, [keep])
    assert _unroutable(_dist("/orders/*"), domain, _apis()) == ["/orders/*"]  # API has /items, gets /orders/items
    assert _unroutable(_dist("/orders/*"), domain, _apis({"/orders/items": ["GET"]})) == []


def test_header_conditions_see_only_headers_that_reach_api_gateway():
    by_header = RoutingRule(5, ORDERS, "prod", (), (( ("x-api-version", "2*"),),), rule_id="r-v2")
    domain = _domain(ROUTING_RULE_ONLY, [by_header])
    # No origin request policy: x-api-version never reaches API Gateway, so the rule never matches.
    assert _unroutable(_dist("/items", cache=p.CACHING_DISABLED), domain, _apis()) == ["/items"]
    # AllViewerExceptHostHeader forwards it: requests carrying it reach the API.
    assert _unroutable(_dist("/items", orp=AEHH), domain, _apis()) == []
    inv = inventory(domains=[domain], apis=_apis())
    assert route(DOMAIN, "/items", inv, region="us-east-1", headers={"X-Api-Version": "2.1"}).routed
    assert not route(DOMAIN, "/items", inv, region="us-east-1", headers={"X-Api-Version": "1"}).routed


def test_priority_and_conditional_rules_fall_through():
    by_header = RoutingRule(1, LEGACY, "prod", ("orders",), ((("x-beta", "yes"),),), strip_base_path=False)
    domain = _domain(ROUTING_RULE_THEN_API_MAPPING, [by_header, STRIP_ORDERS])
    inv = inventory(domains=[domain], apis=_apis())
    assert route(DOMAIN, "/orders/items", inv, region="us-east-1").api.id == ORDERS
    beta = route(DOMAIN, "/orders/items", inv, region="us-east-1", headers={"x-beta": "yes"})
    assert (beta.api.id, beta.routed) == (LEGACY, False)  # the legacy API has no /orders/items


def test_alias_routed_by_a_rule_is_host_intent():
    domain = _domain(ROUTING_RULE_ONLY, [STRIP_ORDERS])
    dist = distribution(origins=[api_origin("api", ORDERS), s3_origin("site")],
                        behaviors=[behavior("/orders/*", "api", orp=p.ALL_VIEWER), behavior("*", "site")],
                        aliases=(DOMAIN,))
    inv = inventory(dist, apis=_apis(), domains=[domain])
    assert list(check_host_forwarded(dist, inv)) == []
    assert [f.rule for f in engine.evaluate(dist, inv)] == []
    # In ROUTING_RULE_ONLY a leftover mapping to the API is not intent.
    leftover = _domain(ROUTING_RULE_ONLY, [], mappings=(("", ORDERS, "prod"),))
    inv = inventory(dist, apis=_apis(), domains=[leftover])
    assert [f.rule for f in check_host_forwarded(dist, inv)] == ["apigw-host-forwarded"]


def test_header_globs_are_case_sensitive_with_star_only():
    from edgemedic.router import header_glob_matches

    assert header_glob_matches("beta*", "beta-2") and header_glob_matches("*-eu-*", "shop-eu-1")
    assert not header_glob_matches("Beta*", "beta-2")  # the value is case-sensitive
    assert header_glob_matches("v?", "v?") and not header_glob_matches("v?", "v1")  # ? is a literal character
