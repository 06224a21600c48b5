"""apigw-auth-header-dropped, apigw-query-dropped, apigw-methods-blocked, apigw-iam-host-mismatch:
input model -> exact findings."""
from __future__ import annotations

import pytest

from builders import (
    GET_HEAD,
    api_origin,
    behavior,
    custom_domain,
    distribution,
    domain_origin,
    http_api,
    inventory,
    legacy,
    method,
    rest_api,
    s3_origin,
    websocket_api,
)
from edgemedic import policies as p
from edgemedic.findings import FixClass, SetAllowedMethods, SetBehaviorPolicies, Severity
from edgemedic.model import Authorizer, Unreadable, api_key
from edgemedic.router import reachable
from edgemedic.rules.requests import (
    ALL_METHODS,
    check_auth_header_dropped,
    check_iam_host_mismatch,
    check_methods_blocked,
    check_query_dropped,
)

REST = "r1e2s3t4a5"
HTTP = "h1t2t3p4a5"
AEHH = p.ALL_VIEWER_EXCEPT_HOST_HEADER
GET_HEAD_OPTIONS = frozenset({"GET", "HEAD", "OPTIONS"})
TO_AEHH = SetBehaviorPolicies("/api/*", None, AEHH)


def _dist(api_behavior, origin=None, aliases=()):
    return distribution(origins=[s3_origin("site"), origin or api_origin("api", REST, path="/prod")],
                        behaviors=[api_behavior, behavior("*", "site")], aliases=aliases)


def _run(check, api_behavior, apis, origin=None, aliases=(), domains=()):
    dist = _dist(api_behavior, origin, aliases)
    inv = inventory(dist, apis=apis, domains=domains)
    return [(f.rule, f.severity, f.behavior, f.origin, f.fix.fix_class, f.fix.changes, f.symptom, f.evidence)
            for f in check(dist, inv)]


def _rest(resources, **kw):
    return rest_api(REST, resources=resources, **kw)


TOKEN = Authorizer("tok1", "token", "TOKEN", ("method.request.header.Authorization",))
OTHER_HEADER = Authorizer("req1", "apikey", "REQUEST", ("method.request.header.X-Api-Token",))
POLICIES_NONE = ("behavior /api/*: cache policy CachingDisabled, origin request policy (none): Authorization is "
                 "neither in the cache key nor forwarded by an all-viewer origin request policy")
MAT = '403 {"message":"Missing Authentication Token"}'
UNAUTHORIZED = '401 {"message":"Unauthorized"}'
STRIPPED = "while POST, PUT, PATCH and DELETE keep the header"

# --------------------------------------------------------------------------------------------- auth header

AUTH_FIRES = {
    "IAM on GET": (
        behavior("/api/*", "api"), [_rest({"/api/items": [method("GET", "AWS_IAM"), method("POST", "AWS_IAM")]})],
        TO_AEHH, f"GET /api/items returns {MAT} {STRIPPED}", "GET /prod/api/items (AWS_IAM)"),
    "Cognito on GET": (
        behavior("/api/*", "api"), [_rest({"/api/me": [method("GET", "COGNITO_USER_POOLS")]})],
        TO_AEHH, f"GET /api/me returns {UNAUTHORIZED} {STRIPPED}", "GET /prod/api/me (COGNITO_USER_POOLS)"),
    "token authorizer reading Authorization": (
        behavior("/api/*", "api"),
        [_rest({"/api/me": [method("GET", "CUSTOM", authorizer="tok1")]}, authorizers=[TOKEN])],
        TO_AEHH, f"GET /api/me returns {UNAUTHORIZED} {STRIPPED}", "GET /prod/api/me (CUSTOM)"),
    "ANY on a proxy resource": (
        behavior("/api/*", "api"), [_rest({"/{proxy+}": [method("ANY", "AWS_IAM")]})],
        TO_AEHH, f"GET /api/x returns {MAT} {STRIPPED}", "ANY /prod/{proxy+} (AWS_IAM)"),
    "HTTP API JWT route, $default stage": (
        behavior("/api/*", "api"), [http_api(HTTP, routes=[("GET /api/orders", "JWT")])],
        TO_AEHH, f"GET /api/orders returns {UNAUTHORIZED} {STRIPPED}", "GET /api/orders (JWT)"),
    "cached OPTIONS strips it too": (
        behavior("/api/*", "api", methods=GET_HEAD_OPTIONS, cached=GET_HEAD_OPTIONS),
        [_rest({"/api/items": [method("OPTIONS", "AWS_IAM")]})],
        TO_AEHH, f"OPTIONS /api/items returns {MAT} {STRIPPED}", "OPTIONS /prod/api/items (AWS_IAM)"),
    "legacy behavior is migrated": (
        behavior("/api/*", "api", legacy=legacy("origin", default_ttl=0)),
        [_rest({"/api/items": [method("GET", "AWS_IAM")]})],
        SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AEHH), f"GET /api/items returns {MAT} {STRIPPED}",
        "GET /prod/api/items (AWS_IAM)"),
}


@pytest.mark.parametrize(("api_behavior", "apis", "change", "symptom", "methods"), AUTH_FIRES.values(),
                         ids=AUTH_FIRES.keys())
def test_auth_header_dropped_fires(api_behavior, apis, change, symptom, methods) -> None:
    origin = api_origin("api", HTTP) if apis[0].id == HTTP else None
    [found] = _run(check_auth_header_dropped, api_behavior, apis, origin)
    assert found[:7] == ("apigw-auth-header-dropped", Severity.HIGH, "/api/*", "api", FixClass.AUTO, (change,),
                         symptom)
    assert found[7][1] == f"methods needing Authorization: {methods}"


def test_auth_header_dropped_evidence_names_the_policies() -> None:
    [found] = _run(check_auth_header_dropped, behavior("/api/*", "api"),
                   [_rest({"/api/items": [method("GET", "AWS_IAM")]})])
    assert found[7] == (POLICIES_NONE, "methods needing Authorization: GET /prod/api/items (AWS_IAM)")


def test_auth_header_under_host_intent_uses_all_viewer() -> None:
    """Alias = custom domain mapped to the API, Host forwarded on purpose (HostHeaderOnly): the fix keeps Host."""
    api_behavior = behavior("/api/*", "api", orp=p.HOST_HEADER_ONLY)
    domain = custom_domain("shop.example.com", [("", REST, "prod")])
    # OriginPath is still prepended under Host intent: empty here, since the mapping binds the stage.
    [found] = _run(check_auth_header_dropped, api_behavior, [_rest({"/api/items": [method("GET", "AWS_IAM")]})],
                   api_origin("api", REST), aliases=("shop.example.com",), domains=[domain])
    assert found[5] == (SetBehaviorPolicies("/api/*", None, p.ALL_VIEWER),)
    # Through the domain the stage is not in the path.
    assert found[7][1] == "methods needing Authorization: GET /api/items (AWS_IAM)"


AUTH_SILENT = {
    "POST only": (behavior("/api/*", "api"), [_rest({"/api/items": [method("POST", "AWS_IAM")]})]),
    "AllViewerExceptHostHeader forwards it": (
        behavior("/api/*", "api", orp=AEHH), [_rest({"/api/items": [method("GET", "AWS_IAM")]})]),
    "no authorization": (behavior("/api/*", "api"), [_rest({"/api/items": ["GET"]})]),
    "authorizer reads another header": (
        behavior("/api/*", "api"),
        [_rest({"/api/me": [method("GET", "CUSTOM", authorizer="req1")]}, authorizers=[OTHER_HEADER])]),
    "authorizer unreadable": (behavior("/api/*", "api"), [_rest({"/api/me": [method("GET", "CUSTOM",
                                                                                    authorizer="gone")]})]),
    "OPTIONS not cached keeps it": (
        behavior("/api/*", "api", methods=GET_HEAD_OPTIONS), [_rest({"/api/items": [method("OPTIONS", "AWS_IAM")]})]),
    "method not under the behavior": (behavior("/api/*", "api"), [_rest({"/admin": [method("GET", "AWS_IAM")]})]),
    "API unreadable": (behavior("/api/*", "api"), []),
}


@pytest.mark.parametrize(("api_behavior", "apis"), AUTH_SILENT.values(), ids=AUTH_SILENT.keys())
def test_auth_header_dropped_silent(api_behavior, apis) -> None:
    assert _run(check_auth_header_dropped, api_behavior, apis) == []


# --------------------------------------------------------------------------------------------- query strings


def test_query_dropped_fires() -> None:
    apis = [_rest({"/api/items": [method("GET", query=("limit", "cursor"))]})]
    [found] = _run(check_query_dropped, behavior("/api/*", "api"), apis)
    assert found[:7] == ("apigw-query-dropped", Severity.MEDIUM, "/api/*", "api", FixClass.AUTO, (TO_AEHH,),
                         "GET /api/items?limit=... reaches the API without limit")
    assert found[7] == ("behavior /api/*: cache policy CachingDisabled, origin request policy (none): no query "
                        "strings forwarded",
                        "declared: GET /prod/api/items (NONE) method.request.querystring.limit, cursor")


def test_query_dropped_legacy_without_query_string() -> None:
    apis = [_rest({"/api/items": [method("GET", query=("limit",))]})]
    [found] = _run(check_query_dropped, behavior("/api/*", "api", legacy=legacy()), apis)
    assert found[5] == (SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, AEHH),)


@pytest.mark.parametrize(("api_behavior", "apis", "origin"), [
    (behavior("/api/*", "api", orp=AEHH), [_rest({"/api/items": [method("GET", query=("limit",))]})], None),
    (behavior("/api/*", "api", legacy=legacy(query=True)), [_rest({"/api/items": [method("GET", query=("q",))]})],
     None),
    (behavior("/api/*", "api"), [_rest({"/api/items": ["GET"]})], None),
    (behavior("/api/*", "api"), [http_api(HTTP, routes=["GET /api/items"])], api_origin("api", HTTP)),
], ids=["AllViewerExceptHostHeader", "legacy QueryString true", "no declared parameters", "HTTP API"])
def test_query_dropped_silent(api_behavior, apis, origin) -> None:
    assert _run(check_query_dropped, api_behavior, apis, origin) == []


# --------------------------------------------------------------------------------------------- methods

ALL_SEVEN = SetAllowedMethods("/api/*", ALL_METHODS, ("GET", "HEAD"))
WITH_OPTIONS = SetAllowedMethods("/api/*", ("GET", "HEAD", "OPTIONS"), ("GET", "HEAD"))
HIGH_AUTO = (Severity.HIGH, FixClass.AUTO)
ANY_ONLY = (Severity.MEDIUM, FixClass.APPROVE)  # catalog v2: only ANY stands for the write methods
BLOCKED = {
    "POST on a resource": (
        [_rest({"/api/items": ["GET", "POST"]})], None, ["POST"],
        "POST /api/items returns CloudFront 403", "API methods needing POST: POST /prod/api/items (NONE)",
        HIGH_AUTO, ALL_SEVEN),
    "ANY only: medium, approve": (
        [_rest({"/api/{proxy+}": ["ANY"]})], None, ["OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
        "OPTIONS /api/x returns CloudFront 403",
        "API methods needing OPTIONS, PUT, PATCH, POST, DELETE: ANY /prod/api/{proxy+} (NONE)", ANY_ONLY, ALL_SEVEN),
    "explicit POST beside ANY": (
        [_rest({"/api/{proxy+}": ["ANY"], "/api/orders": ["POST"]})], None, ["OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
        "POST /api/orders returns CloudFront 403",
        "API methods needing OPTIONS, PUT, PATCH, POST, DELETE: ANY /prod/api/{proxy+} (NONE), POST "
        "/prod/api/orders (NONE)", HIGH_AUTO, ALL_SEVEN),
    "HTTP API CORS preflight: OPTIONS only": (
        [http_api(HTTP, routes=["GET /api/items"], cors=True)], api_origin("api", HTTP), ["OPTIONS"],
        "OPTIONS /api/items returns CloudFront 403",
        "API methods needing OPTIONS: GET /api/items (NONE); CORS is configured on the API", HIGH_AUTO, WITH_OPTIONS),
    "HTTP $default route: medium, approve": (
        [http_api(HTTP, routes=[], default_route=True)], api_origin("api", HTTP),
        ["OPTIONS", "PUT", "PATCH", "POST", "DELETE"], "OPTIONS /api/x returns CloudFront 403",
        "API methods needing OPTIONS, PUT, PATCH, POST, DELETE: ANY ($default route) (NONE)", ANY_ONLY, ALL_SEVEN),
}


@pytest.mark.parametrize(("apis", "origin", "missing", "symptom", "evidence", "verdict", "change"), BLOCKED.values(),
                         ids=BLOCKED.keys())
def test_methods_blocked_fires(apis, origin, missing, symptom, evidence, verdict, change) -> None:
    [found] = _run(check_methods_blocked, behavior("/api/*", "api", methods=GET_HEAD, orp=AEHH), apis, origin)
    assert found[:6] == ("apigw-methods-blocked", verdict[0], "/api/*", "api", verdict[1], (change,))
    assert found[6] == (f"{symptom} \"This distribution is not configured to allow the HTTP request method that was "
                        "used for this request\"")
    assert found[7] == ("behavior /api/* AllowedMethods: GET,HEAD", evidence)
    assert missing == [m for m in ALL_METHODS if m in evidence.split(":")[0]]


@pytest.mark.parametrize(("methods", "apis", "origin"), [
    (GET_HEAD, [_rest({"/api/items": ["GET"]})], None),
    (frozenset(ALL_METHODS), [_rest({"/api/{proxy+}": ["ANY"]})], None),
    (GET_HEAD, [_rest({"/admin": ["POST"], "/api/items": ["GET"]})], None),  # POST not under /api/*
    (GET_HEAD, [websocket_api("w1s2o3c4k5")], api_origin("api", "w1s2o3c4k5")),
], ids=["GET only", "all seven allowed", "POST elsewhere", "WebSocket handshake is a GET"])
def test_methods_blocked_silent(methods, apis, origin) -> None:
    api_behavior = behavior("/production" if origin else "/api/*", "api", methods=methods, orp=AEHH)
    assert _run(check_methods_blocked, api_behavior, apis, origin) == []


# --------------------------------------------------------------------------------------------- IAM and Host


def test_iam_host_mismatch_fires_with_a_ticket() -> None:
    apis = [_rest({"/api/items": [method("GET", "AWS_IAM"), "POST"]})]
    dist = _dist(behavior("/api/*", "api", orp=AEHH), aliases=("app.example.com",))
    [found] = check_iam_host_mismatch(dist, inventory(dist, apis=apis))
    assert (found.rule, found.severity, found.behavior, found.fix.fix_class, found.fix.changes) == (
        "apigw-iam-host-mismatch", Severity.HIGH, "/api/*", FixClass.MANUAL, ())
    assert found.symptom == ('GET https://app.example.com/api/items signed for app.example.com returns 403 "The '
                             'request signature we calculated does not match the signature you provided"')
    assert found.fix.ticket == (
        f"Methods GET /prod/api/items (AWS_IAM) of REST API {REST} (us-east-1) use AWS_IAM behind behavior /api/* of "
        f"distribution E1EXAMPLE. Clients sign for the CloudFront host, CloudFront sends Host "
        f"{REST}.execute-api.us-east-1.amazonaws.com, and API Gateway checks the signature against that. Either (1) "
        f"create a REGIONAL API Gateway custom domain named app.example.com (TLS 1.2) with a base path mapping to API "
        f"{REST} stage prod, and forward the viewer Host on this behavior (origin request policy AllViewer), or (2) "
        f"have clients sign their requests for {REST}.execute-api.us-east-1.amazonaws.com, over the path API Gateway "
        "receives: OriginPath included (e.g. /prod/api/items for /api/items at the edge), since SigV4 signs the path "
        "as well as the host.")


def test_iam_host_mismatch_reports_through_a_forwarded_host_too() -> None:
    """Host forwarded without intent: apigw-host-forwarded's fix is assumed, and IAM still mismatches after it."""
    apis = [_rest({"/api/items": [method("GET", "AWS_IAM")]})]
    assert [f[0] for f in _run(check_iam_host_mismatch, behavior("/api/*", "api", orp=p.ALL_VIEWER), apis)] == [
        "apigw-iam-host-mismatch"]


def test_iam_host_mismatch_through_a_custom_domain_base_path() -> None:
    apis = [rest_api("o1r2d3e4r5", stages=["live"], resources={"/items": [method("PUT", "AWS_IAM")]})]
    domain = custom_domain("api.example.com", [("orders", "o1r2d3e4r5", "live")])
    [found] = _run(check_iam_host_mismatch, behavior("/orders/*", "cd", orp=AEHH), apis,
                   domain_origin("cd", "api.example.com"), domains=[domain])
    assert found[7] == ("methods with AWS_IAM: PUT /orders/items (AWS_IAM)",
                        "Host at the API: api.example.com; no alias (none) is an API Gateway custom domain mapped to "
                        "the API", "the methods are in stage live of REST API o1r2d3e4r5 (us-east-1)")
    dist = _dist(behavior("/orders/*", "cd", orp=AEHH), domain_origin("cd", "api.example.com"))
    [f] = check_iam_host_mismatch(dist, inventory(dist, apis=apis, domains=[domain]))
    # No alias: the texts say one is to be added, not "the alias" (issue 13, item 9).
    assert f.fix.summary == ("Give the distribution an alias and put an API Gateway custom domain of that name in "
                             "front of API o1r2d3e4r5, or sign for api.example.com")
    assert "create a REGIONAL API Gateway custom domain named a domain you first add to the distribution as an " \
           "alternate domain name (alias) (TLS 1.2) with a base path mapping to API o1r2d3e4r5 stage live" \
           in f.fix.ticket


def test_iam_host_mismatch_names_an_alias_that_is_a_mapped_custom_domain() -> None:
    """The alias is a custom domain mapped to the API, but this behavior does not forward Host: the mismatch is
    real, and the evidence and ticket say what is there (no "create a custom domain" for one that exists)."""
    apis = [_rest({"/api/items": [method("GET", "AWS_IAM")]})]
    domain = custom_domain("shop.example.com", [("", REST, "prod")])
    dist = _dist(behavior("/api/*", "api", orp=AEHH), aliases=("shop.example.com",))
    [found] = check_iam_host_mismatch(dist, inventory(dist, apis=apis, domains=[domain]))
    assert found.evidence[1] == (
        f"Host at the API: {REST}.execute-api.us-east-1.amazonaws.com; alias shop.example.com is an API Gateway "
        "custom domain mapped to the API, but behavior /api/* does not forward the viewer Host")
    assert "create a REGIONAL API Gateway custom domain" not in found.fix.ticket
    assert ("(1) forward the viewer Host on this behavior (origin request policy AllViewer) so that API Gateway "
            "receives shop.example.com, with an OriginPath that its API mappings route") in found.fix.ticket


@pytest.mark.parametrize("case", ["host intent", "no IAM", "API unreadable"])
def test_iam_host_mismatch_silent(case: str) -> None:
    if case == "host intent":
        domain = custom_domain("shop.example.com", [("", REST, "prod")])
        dist = _dist(behavior("/api/*", "api", orp=p.ALL_VIEWER), api_origin("api", REST),
                     aliases=("shop.example.com",))
        inv = inventory(dist, apis=[_rest({"/api/items": [method("GET", "AWS_IAM")]})], domains=[domain])
        assert reachable(dist, dist.behaviors[0], inv).host_intent.name == "shop.example.com"
    elif case == "no IAM":
        dist = _dist(behavior("/api/*", "api", orp=AEHH))
        inv = inventory(dist, apis=[_rest({"/api/items": [method("GET", "COGNITO_USER_POOLS")]})])
    else:
        dist = _dist(behavior("/api/*", "api", orp=AEHH))
        inv = inventory(dist, unreadable={api_key("us-east-1", REST): Unreadable(REST, "AccessDenied")})
    assert list(check_iam_host_mismatch(dist, inv)) == []


# --------------------------------------------------------------------------------------------- performance


def test_twenty_five_behavior_distribution_gives_its_exact_findings() -> None:
    """25 behaviors, a 21-resource REST API with two stages (timed in benchmarks/scan.py, not here)."""
    from edgemedic.rules import requests as request_rules
    from edgemedic.rules import routing as routing_rules

    resources = {f"/svc{i}/items": [method("GET", "AWS_IAM"), "POST"] for i in range(10)}
    resources.update({f"/svc{i}/items/{{id}}": ["GET", method("DELETE", query=("force",))] for i in range(10)})
    resources["/{proxy+}"] = ["ANY"]
    behaviors = [behavior(f"/svc{i}/*", "api", orp=AEHH if i % 2 else None,
                          methods=GET_HEAD if i % 3 == 0 else frozenset(ALL_METHODS)) for i in range(12)]
    behaviors += [behavior(f"*.ext{i}", "site") for i in range(6)] + [behavior(f"/v?/r{i}/*", "api") for i in range(6)]
    dist = distribution(origins=[s3_origin("site"), api_origin("api", REST, path="/prod")],
                        behaviors=[*behaviors, behavior("*", "site")])
    inv = inventory(dist, apis=[rest_api(REST, stages=["prod", "dev"], resources=resources)])
    rules = routing_rules.RULES + request_rules.RULES

    def run() -> int:
        return sum(len(list(rule.check(dist, inv))) for rule in rules)

    assert len(dist.behaviors) == 25 and run() == 24
