"""API Gateway routing through CloudFront (aws-facts.md sections 4 and 6): reachable() and route()."""
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
    method,
    rest_api,
    s3_origin,
    websocket_api,
)
from edgemedic import policies as p
from edgemedic.model import Unreadable, api_key
from edgemedic.router import (
    FORBIDDEN,
    MISSING_AUTH_TOKEN,
    NOT_FOUND,
    WEBSOCKET_HANDSHAKE_FAILED,
    reachable,
    route,
)

REST = "r1e2s3t4a5"
HTTP = "h1t2t3p4a5"
WS = "w1s2o3c4k5"
AEHH = p.ALL_VIEWER_EXCEPT_HOST_HEADER


def _exec(api_id: str) -> str:
    return f"{api_id}.execute-api.us-east-1.amazonaws.com"


def _dist(origin, *patterns: str, orp: str = AEHH, aliases: tuple[str, ...] = ()):
    return distribution(
        origins=[s3_origin("site"), origin],
        behaviors=[*(behavior(pat, origin.id, orp=orp) for pat in patterns), behavior("*", "site")],
        aliases=aliases,
    )


def _reached(reach):
    return [(r.api.id, r.stage, r.resource.path, r.method.http_method, r.example_path) for r in reach.reaches]


# --------------------------------------------------------------------------------------------- REST via execute-api

REST_CASES = {
    "proxy resource under the prefix": (
        "/prod", "/api/*", {"/api/{proxy+}": ["ANY"], "/test": ["GET"]},
        [(REST, "prod", "/api/{proxy+}", "ANY", "/api/x")], "/api/"),
    "resource missing for the prefix": (
        "/prod", "/api/*", {"/test": ["GET"]}, [], "/api/x"),
    "stage taken from the viewer path": (
        "", "/prod/*", {"/users/{id}": ["GET", "DELETE"]},
        [(REST, "prod", "/users/{id}", "GET", "/prod/users/x"), (REST, "prod", "/users/{id}", "DELETE",
                                                                  "/prod/users/x")], "/prod/x"),
    "wrong stage in the viewer path": (
        "", "/dev/*", {"/{proxy+}": ["ANY"]}, [], "/dev/x"),
    "root resource": (
        "/prod", "/", {"/": ["GET"]}, [(REST, "prod", "/", "GET", "/")], None),
}


@pytest.mark.parametrize(("origin_path", "pattern", "resources", "expected", "unroutable"), REST_CASES.values(),
                         ids=REST_CASES.keys())
def test_rest_execute_api(origin_path, pattern, resources, expected, unroutable) -> None:
    dist = _dist(api_origin("api", REST, path=origin_path), pattern)
    inv = inventory(dist, apis=[rest_api(REST, stages=["prod"], resources=resources)])
    reach = reachable(dist, dist.behaviors[0], inv)
    assert _reached(reach) == expected
    assert reach.routable is bool(expected) and reach.known
    assert reach.example_unroutable == unroutable
    assert reach.api_host == _exec(REST) and reach.origin_path == origin_path


def test_more_specific_resource_wins() -> None:
    """An exact pattern reaches /items only: {proxy+} never sees /prod/items (literal beats greedy)."""
    dist = _dist(api_origin("api", REST), "/prod/items")
    api = rest_api(REST, resources={"/items": [method("GET", "AWS_IAM")], "/{proxy+}": ["ANY"]})
    inv = inventory(dist, apis=[api])
    assert _reached(reachable(dist, dist.behaviors[0], inv)) == [(REST, "prod", "/items", "GET", "/prod/items")]
    wider = _dist(api_origin("api", REST), "/prod/*")
    assert _reached(reachable(wider, wider.behaviors[0], inventory(wider, apis=[api]))) == [
        (REST, "prod", "/items", "GET", "/prod/items"), (REST, "prod", "/{proxy+}", "ANY", "/prod/x")]


def test_origin_path_override_tests_candidates() -> None:
    dist = _dist(api_origin("api", REST, path="/prod"), "/users/*")
    inv = inventory(dist, apis=[rest_api(REST, stages=["prod", "dev"], resources={"/users/{id}": ["GET"]})])
    assert not reachable(dist, dist.behaviors[0], inv, origin_path="").routable
    assert reachable(dist, dist.behaviors[0], inv, origin_path="/dev").reaches[0].stage == "dev"
    assert reachable(dist, dist.behaviors[0], inv).reaches[0].example_path == "/users/x"


def test_earlier_behaviors_take_their_paths() -> None:
    """First match wins: /api/admin/* goes elsewhere, so the admin resource is not reached through /api/*."""
    origin = api_origin("api", REST, path="/prod")
    dist = distribution(origins=[s3_origin("site"), origin],
                        behaviors=[behavior("/api/admin/*", "site"), behavior("/api/*", "api", orp=AEHH)])
    inv = inventory(dist, apis=[rest_api(REST, resources={"/api/admin/{x}": ["GET"], "/api/users": ["GET"]})])
    assert _reached(reachable(dist, dist.behaviors[1], inv)) == [(REST, "prod", "/api/users", "GET", "/api/users")]


# --------------------------------------------------------------------------------------------- HTTP APIs


def test_http_default_stage_has_no_stage_segment() -> None:
    dist = _dist(api_origin("api", HTTP), "/api/*")
    api = http_api(HTTP, routes=["GET /api/items", "POST /api/items/{id}"])
    reach = reachable(dist, dist.behaviors[0], inventory(dist, apis=[api]))
    assert _reached(reach) == [(HTTP, "$default", "/api/items", "GET", "/api/items"),
                               (HTTP, "$default", "/api/items/{id}", "POST", "/api/items/x")]
    assert reach.example_unroutable == "/api/x"


def test_http_named_stage_takes_its_segment_and_default_stage_the_rest() -> None:
    inv = inventory(apis=[http_api(HTTP, stages=["$default", "v1"], routes=["GET /v1/items", "GET /items"])])
    host = _exec(HTTP)
    named = route(host, "/v1/items", inv, region="us-east-1", method="GET")
    assert (named.routed, named.stage, named.resource.path) == (True, "v1", "/items")
    default = route(host, "/items", inv, region="us-east-1", method="GET")
    assert (default.routed, default.stage, default.resource.path) == (True, "$default", "/items")
    # /v1/v1/items is the named stage's /v1/items route.
    assert route(host, "/v1/v1/items", inv, region="us-east-1").resource.path == "/v1/items"


def test_http_default_route_and_not_found() -> None:
    host = _exec(HTTP)
    with_default = inventory(apis=[http_api(HTTP, routes=["GET /items"], default_route=True)])
    result = route(host, "/anything", with_default, region="us-east-1", method="DELETE")
    assert (result.routed, result.resource.path, result.method.route_key) == (True, "$default", "$default")
    without = inventory(apis=[http_api(HTTP, stages=["prod"], routes=["GET /items"])])
    missing_stage = route(host, "/items", without, region="us-east-1", method="GET")
    assert (missing_stage.status, missing_stage.error) == (404, NOT_FOUND)
    assert missing_stage.explanation == ("no stage 'items' in HTTP API http-h1t2t3p4a5 (h1t2t3p4a5); stages are "
                                         "prod (and no $default stage)")
    no_route = route(host, "/prod/other", without, region="us-east-1", method="GET")
    assert (no_route.status, no_route.error) == (404, NOT_FOUND)
    assert no_route.explanation.endswith("routes are GET /items")


def test_http_proxy_route_and_method_specific_route() -> None:
    inv = inventory(apis=[http_api(HTTP, routes=["GET /pets/{id}", "ANY /{proxy+}"])])
    host = _exec(HTTP)
    assert route(host, "/pets/7", inv, region="us-east-1", method="GET").method.route_key == "GET /pets/{id}"
    assert route(host, "/pets/7", inv, region="us-east-1", method="POST").method.route_key == "ANY /{proxy+}"
    assert route(host, "/pets/7/", inv, region="us-east-1", method="GET").method.route_key == "GET /pets/{id}"


# --------------------------------------------------------------------------------------------- WebSocket


@pytest.mark.parametrize(("pattern", "routable"), [("/production", True), ("/production*", True),
                                                   ("/ws/*", False), ("/production/*", True)])
def test_websocket_path_must_be_the_stage(pattern: str, routable: bool) -> None:
    dist = _dist(api_origin("ws", WS), pattern)
    reach = reachable(dist, dist.behaviors[0], inventory(dist, apis=[websocket_api(WS)]))
    assert reach.routable is routable
    if routable:
        assert reach.reaches[0].method.route_key == "$connect"
        assert reach.reaches[0].example_path in ("/production", "/production/")


def test_websocket_route_errors() -> None:
    inv = inventory(apis=[websocket_api(WS)])
    assert route(_exec(WS), "/production/", inv, region="us-east-1").routed
    deeper = route(_exec(WS), "/production/chat", inv, region="us-east-1")
    assert (deeper.routed, deeper.error) == (False, WEBSOCKET_HANDSHAKE_FAILED)
    assert route(_exec(WS), "/ws", inv, region="us-east-1").error == WEBSOCKET_HANDSHAKE_FAILED


# --------------------------------------------------------------------------------------------- custom domains


def _domain_inv(dist=None):
    domain = custom_domain("api.example.com", [("", REST, "prod"), ("orders", "o1r2d3e4r5", "live"),
                                               ("v1", "v1a2p3i4x5", None)])
    apis = [rest_api(REST, resources={"/users": ["GET"]}),
            rest_api("o1r2d3e4r5", stages=["live"], resources={"/{proxy+}": ["ANY"]}),
            rest_api("v1a2p3i4x5", stages=["beta", "ga"], resources={"/items": ["POST"]})]
    return inventory(*(d for d in [dist] if d), apis=apis, domains=[domain])


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("/orders/*", [("o1r2d3e4r5", "live", "/{proxy+}", "ANY", "/orders/x")]),
        ("/users", [(REST, "prod", "/users", "GET", "/users")]),
        ("/v1/*", [("v1a2p3i4x5", "beta", "/items", "POST", "/v1/beta/items"),
                   ("v1a2p3i4x5", "ga", "/items", "POST", "/v1/ga/items")]),
        ("/ordersx/*", []),  # not under the "orders" mapping: (none) mapping, which has no /ordersx resource
    ],
)
def test_custom_domain_origin_mappings(pattern: str, expected: list) -> None:
    dist = _dist(domain_origin("cd", "api.example.com"), pattern)
    assert _reached(reachable(dist, dist.behaviors[0], _domain_inv(dist))) == expected


def test_custom_domain_route_explanations() -> None:
    inv = _domain_inv()
    ok = route("api.example.com", "/orders/anything/deep", inv, region="us-east-1", method="PUT")
    assert (ok.routed, ok.api.id, ok.stage, ok.mapping.base_path) == (True, "o1r2d3e4r5", "live", "orders")
    stage_missing = route("api.example.com", "/v1/items", inv, region="us-east-1", method="POST")
    assert (stage_missing.status, stage_missing.error) == (403, MISSING_AUTH_TOKEN)
    assert route("api.example.com", "/v1/ga/items", inv, region="us-east-1", method="POST").routed
    wrong_method = route("api.example.com", "/v1/ga/items", inv, region="us-east-1", method="GET")
    assert wrong_method.explanation == ("resource /items in stage ga of REST API api-v1a2p3i4x5 (v1a2p3i4x5) has "
                                        "no GET method; methods are POST")
    # The d-... target name of the domain routes like the name itself.
    target = inv.custom_domain("api.example.com").regional_domain_name
    assert route(target, "/users", inv, region="us-east-1", method="GET").routed
    unknown = route("other.example.com", "/users", inv, region="us-east-1")
    assert (unknown.status, unknown.error) == (403, FORBIDDEN)


# --------------------------------------------------------------------------------------------- Host at the API


def test_host_intent_routes_through_the_alias_domain() -> None:
    """Alias = API Gateway custom domain mapped to the API, Host forwarded on purpose: the domain's mapping
    routes, so /shop/* reaches the API even though the execute-api origin has no stage in its OriginPath."""
    origin = api_origin("api", REST)
    dist = _dist(origin, "/shop/*", orp=p.ALL_VIEWER, aliases=("shop.example.com",))
    inv = inventory(dist, apis=[rest_api(REST, resources={"/{proxy+}": ["ANY"]})],
                    domains=[custom_domain("shop.example.com", [("shop", REST, "prod")])])
    reach = reachable(dist, dist.behaviors[0], inv)
    assert _reached(reach) == [(REST, "prod", "/{proxy+}", "ANY", "/shop/x")]
    assert reach.api_host == "shop.example.com" and reach.host_intent.name == "shop.example.com"
    # Without Host forwarded the same behavior would need the stage in the path.
    plain = _dist(origin, "/shop/*", aliases=("shop.example.com",))
    assert not reachable(plain, plain.behaviors[0], inv).routable


def test_host_forwarded_without_intent_is_left_to_apigw_host_forwarded() -> None:
    dist = _dist(api_origin("api", REST, path="/prod"), "/api/*", orp=p.ALL_VIEWER)
    inv = inventory(dist, apis=[rest_api(REST, resources={"/api/{proxy+}": ["ANY"]})])
    reach = reachable(dist, dist.behaviors[0], inv)
    assert (reach.routable, reach.known, reach.reaches) == (False, False, ())
    assert "apigw-host-forwarded" in reach.notes[0]
    fixed = reachable(dist, dist.behaviors[0], inv, assume_host_fix=True)
    assert fixed.known and _reached(fixed) == [(REST, "prod", "/api/{proxy+}", "ANY", "/api/x")]


# --------------------------------------------------------------------------------------------- unknowns


def test_unreadable_api_is_unknown_not_unroutable() -> None:
    dist = _dist(api_origin("api", REST, path="/prod"), "/api/*")
    inv = inventory(dist, unreadable={api_key("us-east-1", REST): Unreadable(f"REST API {REST} in us-east-1",
                                                                             "AccessDenied: apigateway:GET")})
    reach = reachable(dist, dist.behaviors[0], inv)
    assert (reach.known, reach.routable, reach.notes) == (False, False, (
        f"REST API {REST} in us-east-1: AccessDenied: apigateway:GET",))
    result = route(_exec(REST), "/prod/api/x", inv, region="us-east-1")
    assert (result.known, result.routed, result.status) == (False, False, None)


def test_custom_domain_with_an_unreadable_mapped_api() -> None:
    dist = _dist(domain_origin("cd", "api.example.com"), "/orders/*")
    domain = custom_domain("api.example.com", [("", REST, "prod"), ("orders", "o1r2d3e4r5", "live")])
    inv = inventory(dist, apis=[rest_api(REST, resources={"/users": ["GET"]})], domains=[domain])
    reach = reachable(dist, dist.behaviors[0], inv)
    assert (reach.known, reach.routable) == (False, False)
    assert reach.notes == ("API o1r2d3e4r5 mapped at api.example.com/orders could not be read",)
    # A behavior that reaches the readable API is known to be routable.
    users = _dist(domain_origin("cd", "api.example.com"), "/users")
    assert reachable(users, users.behaviors[0], inventory(users, apis=inv.apis.values(), domains=[domain])).routable


def test_shadowed_behavior_and_disabled_endpoint_are_unknown() -> None:
    origin = api_origin("api", REST, path="/prod")
    dist = distribution(origins=[s3_origin("site"), origin],
                        behaviors=[behavior("/api/*", "site"), behavior("/api/v1/*", "api", orp=AEHH)])
    inv = inventory(dist, apis=[rest_api(REST, resources={"/{proxy+}": ["ANY"]})])
    reach = reachable(dist, dist.behaviors[1], inv)
    assert (reach.known, reach.notes) == (False, ("every path /api/v1/* matches is taken by an earlier behavior",))
    disabled = inventory(dist, apis=[rest_api(REST, resources={"/{proxy+}": ["ANY"]}, disabled_default=True)])
    plain = _dist(origin, "/api/*")
    assert not reachable(plain, plain.behaviors[0], disabled).known


def test_reach_examples_route_to_the_same_resource() -> None:
    """reachable() and route() share one model: every example path lands where reachable() said."""
    dist = _dist(domain_origin("cd", "api.example.com"), "/orders/*", "/v1/*", "/users")
    inv = _domain_inv(dist)
    for b in dist.behaviors[:-1]:
        reach = reachable(dist, b, inv)
        assert reach.reaches
        for r in reach.reaches:
            result = route(reach.api_host, reach.origin_path + r.example_path, inv, region="us-east-1",
                           method="GET" if r.method.http_method == "ANY" else r.method.http_method)
            assert (result.routed, result.api.id, result.stage, result.resource.path) == (
                True, r.api.id, r.stage, r.resource.path)


def test_route_through_an_execute_api_host_of_the_china_partition() -> None:
    """One classifier decides what an execute-api host is (collect.origins.execute_api_id), .com.cn included."""
    from builders import inventory, rest_api
    from edgemedic.router import route

    api = rest_api("c1n2a3p4i5", region="cn-north-1", resources={"/users": ["GET"]})
    result = route("c1n2a3p4i5.execute-api.cn-north-1.amazonaws.com.cn", "/prod/users", inventory(apis=[api]),
                   region="cn-north-1", method="GET")
    assert result.routed and result.stage == "prod" and result.resource.path == "/users"
