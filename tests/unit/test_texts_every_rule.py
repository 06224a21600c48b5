"""Every rule's texts checked against its evidence (issue 13, item 9): for each registered rule, the firing inputs of
its own unit tests (test_rules_*.py), and for each finding the texts a person reads (the fix summary and ticket, the
ticket and Slack message of the manual alert, and for a fix that changes the configuration the plan's summary against
its diff and the plan alert's ticket and Slack message), run through ``textcheck``. A rule without a case here fails
``test_every_registered_rule_has_a_case``: a new rule cannot skip the check. The seed stories' texts, read from the
emulator, are tests/functional/test_texts_match_evidence.py."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import pytest
import test_rules_caching as caching
import test_rules_catalog_v2_new as v2
import test_rules_edge_groups_auth as groups
import test_rules_endpoints as endpoints
import test_rules_headers as headers
import test_rules_protocols as protocols
import test_rules_requests as requests
import test_rules_routing as routing
import test_rules_tls as tls
from textcheck import all_problems

from builders import (
    GET_HEAD,
    api_origin,
    behavior,
    certificate,
    custom_domain,
    custom_origin,
    distribution,
    domain_origin,
    http_api,
    inventory,
    load_balancer,
    method,
    probe,
    rest_api,
    s3_origin,
    websocket_api,
    with_config,
    with_probes,
)
from edgemedic import policies as p
from edgemedic.model import ApiMethod, Authorizer, CustomErrorResponse, Distribution, EndpointType, Inventory
from edgemedic.rules import RULES_BY_ID

Case = Callable[[], "tuple[Distribution, Inventory]"]
CASES: dict[str, dict[str, Case]] = {}


def case(rule: str, name: str) -> Callable[[Case], Case]:
    def register(build: Case) -> Case:
        CASES.setdefault(rule, {})[name] = build
        return build
    return register


def cases(rule: str, table: dict, build: Callable[..., "tuple[Distribution, Inventory]"]) -> None:
    """The rows of a unit test's firing table, each built as that test builds it."""
    for name, row in table.items():
        CASES.setdefault(rule, {})[name] = lambda row=row: build(*row)


# --------------------------------------------------------------------------------------------- headers


def _host(api_behavior, *_):
    dist = headers._api_dist(api_behavior)
    return dist, headers._inv(dist)


cases("apigw-host-forwarded", headers.HOST_CASES, _host)


@case("apigw-host-forwarded", "alias is an unreadable custom domain: approve with a note")
def _host_unreadable_domains():
    from edgemedic.model import Unreadable, domains_key
    dist = headers._api_dist(behavior("/api/*", "api", orp=p.ALL_VIEWER), aliases=("app.example.com",))
    return dist, headers._inv(dist, unreadable={
        domains_key("us-east-1"): Unreadable("custom domains in us-east-1", "AccessDenied")})


def _websocket(ws_behavior, *_):
    dist = headers._ws_dist(ws_behavior)
    return dist, headers._ws_inv(dist)


cases("websocket-handshake-dropped", headers.WS_CASES, _websocket)


@case("lambda-url-host-forwarded", "AllViewer")
def _lambda_url_all_viewer():
    dist = v2.api_dist(behavior("/fn/*", "fn", orp=p.ALL_VIEWER), origins=[s3_origin("site"), v2.lambda_origin()])
    return dist, inventory(dist)


@case("lambda-url-host-forwarded", "Host in the cache key")
def _lambda_url_cache_key():
    dist = v2.api_dist(behavior("/fn/*", "fn", cache=p.AMPLIFY), origins=[s3_origin("site"), v2.lambda_origin()])
    return dist, inventory(dist)


@case("apigw-identity-header-dropped", "x-api-key not forwarded")
def _api_key():
    dist = v2.api_dist(behavior("/api/*", "api", orp=p.CORS_S3_ORIGIN))
    return dist, inventory(dist, apis=[v2._keyed_api()])


@case("apigw-identity-header-dropped", "x-api-key behind a caching policy")
def _api_key_cached():
    dist = v2.api_dist(behavior("/api/*", "api", cache=p.CACHING_OPTIMIZED))
    return dist, inventory(dist, apis=[v2._keyed_api()])


@case("apigw-identity-header-dropped", "HTTP API authorizer header")
def _authorizer_header():
    authorizer = Authorizer("au1", "tenant-auth", "REQUEST", ("$request.header.X-Tenant-Token",))
    api = http_api(v2.API, authorizers=[authorizer])
    api = replace(api, resources=(replace(api.resources[0], methods=(
        ApiMethod("GET", "CUSTOM", "au1", route_key="GET /items"),)),))
    dist = v2.api_dist(behavior("/items*", "api"), origins=[s3_origin("site"), api_origin("api", v2.API)])
    return dist, inventory(dist, apis=[api])


# --------------------------------------------------------------------------------------------- routing


def _unroutable(origin, behaviors, apis, _expected):
    dist = routing._dist(origin, *behaviors)
    return dist, inventory(dist, apis=apis, domains=[custom_domain("api.example.com", [("", routing.REST, "prod")])])


cases("apigw-path-unroutable", routing.UNROUTABLE, _unroutable)


@case("apigw-path-unroutable", "the issue's example: OriginPath /prod, the API has /test")
def _unroutable_issue():
    dist = routing._dist(api_origin("api", routing.REST, path="/prod"), routing._api_b("/api/*"))
    return dist, inventory(dist, apis=[rest_api(routing.REST, resources={"/test": ["GET"]})])


def _shadowed(specs, _expected):
    dist = routing._shadow_dist(*specs)
    return dist, inventory(dist)


cases("behavior-shadowed", routing.SHADOWED, _shadowed)

# --------------------------------------------------------------------------------------------- requests


def _requests(api_behavior, apis, origin=None, aliases=(), domains=()):
    dist = requests._dist(api_behavior, origin, aliases)
    return dist, inventory(dist, apis=apis, domains=domains)


cases("apigw-auth-header-dropped", requests.AUTH_FIRES, lambda api_behavior, apis, *_: _requests(
    api_behavior, apis, api_origin("api", requests.HTTP) if apis[0].id == requests.HTTP else None))
cases("apigw-methods-blocked", requests.BLOCKED, lambda apis, origin, *_: _requests(
    behavior("/api/*", "api", methods=GET_HEAD, orp=requests.AEHH), apis, origin))


@case("apigw-host-forwarded", "origin group: each member")
def _host_group():
    dist = groups._group_dist(behavior("/api/*", "api-failover", orp=p.ALL_VIEWER, methods=("GET", "HEAD", "OPTIONS")))
    return dist, inventory(dist, apis=groups._group_apis({"/api/items": ["GET"]}))


@case("apigw-methods-blocked", "origin group: a separate behavior for writes (manual)")
def _methods_group():
    dist = groups._group_dist(behavior("/api/*", "api-failover", orp=requests.AEHH,
                                       methods=("GET", "HEAD", "OPTIONS")))
    return dist, inventory(dist, apis=groups._group_apis({"/api/items": ["GET", "POST"]}))


@case("apigw-query-dropped", "declared query strings not forwarded")
def _query():
    return _requests(behavior("/api/*", "api"), [requests._rest({"/api/items": [method("GET", query=("limit",
                                                                                                       "cursor"))]})])


@case("apigw-query-dropped", "legacy without query strings")
def _query_legacy():
    from builders import legacy
    return _requests(behavior("/api/*", "api", legacy=legacy()),
                     [requests._rest({"/api/items": [method("GET", query=("limit",))]})])


@case("apigw-iam-host-mismatch", "alias, execute-api origin")
def _iam():
    return _requests(behavior("/api/*", "api", orp=requests.AEHH),
                     [requests._rest({"/api/items": [method("GET", "AWS_IAM"), "POST"]})], aliases=("app.example.com",))


@case("apigw-iam-host-mismatch", "custom domain base path")
def _iam_custom_domain():
    apis = [rest_api("o1r2d3e4r5", stages=["live"], resources={"/items": [method("PUT", "AWS_IAM")]})]
    return _requests(behavior("/orders/*", "cd", orp=requests.AEHH), apis, domain_origin("cd", "api.example.com"),
                     domains=[custom_domain("api.example.com", [("orders", "o1r2d3e4r5", "live")])])


def _cached(api_behavior, *_):
    dist = caching._dist(api_behavior)
    return dist, caching._inv(dist)


cases("apigw-response-cached", caching.CACHED, _cached)


@case("apigw-cors-preflight-cached", "HTTP API with several origins")
def _cors_http():
    dist = v2._cors_dist()
    return dist, inventory(dist, apis=[v2._cors_api()])


@case("apigw-cors-preflight-cached", "REST OPTIONS with a Lambda integration")
def _cors_rest():
    api = rest_api(v2.API, resources={"/api/items": [ApiMethod("GET"),
                                                     ApiMethod("OPTIONS", integration_type="AWS_PROXY")]})
    dist = v2.api_dist(behavior("/api/*", "api", cache=p.CACHING_OPTIMIZED, cached=v2.OPTIONS_CACHED))
    return dist, inventory(dist, apis=[api])


# --------------------------------------------------------------------------------------------- protocols


def _origin_protocol(kw, *_):
    kw = dict(kw)
    viewer = kw.pop("viewer", "redirect-to-https")
    dist = distribution(origins=[api_origin("api", protocols.API, **kw)],
                        behaviors=[behavior("*", "api", viewer=viewer)])
    return dist, inventory(dist)


cases("apigw-origin-protocol", protocols.ORIGIN_CASES, _origin_protocol)


@case("apigw-viewer-http-allowed", "REST and HTTP APIs")
def _viewer_http():
    dist = distribution(
        origins=[api_origin("rest", protocols.API, path="/prod"), api_origin("http", "h1t2t3p4a5"), s3_origin("site")],
        behaviors=[behavior("/api/*", "rest", viewer="allow-all"), behavior("/v2/*", "http", viewer="allow-all"),
                   behavior("/x/*", "rest", viewer="https-only"), behavior("*", "site", viewer="allow-all")])
    return dist, inventory(dist, apis=[rest_api(protocols.API), http_api("h1t2t3p4a5")])


@case("websocket-redirect-to-https", "redirect-to-https on a WebSocket behavior")
def _ws_redirect():
    dist = distribution(origins=[api_origin("ws", protocols.WS, path="/production"), api_origin("api", protocols.API)],
                        behaviors=[behavior("/ws", "ws", viewer="redirect-to-https"),
                                   behavior("/ws2", "ws", viewer="https-only"),
                                   behavior("*", "api", viewer="redirect-to-https")])
    return dist, inventory(dist, apis=[websocket_api(protocols.WS), rest_api(protocols.API)])


def _tls_protocols(origin, *_):
    dist = distribution(origins=[origin], behaviors=[behavior("*", origin.id)])
    return dist, inventory(dist)


cases("origin-tls-protocols", protocols.TLS_CASES, _tls_protocols)

# --------------------------------------------------------------------------------------------- endpoints


@case("apigw-edge-endpoint", "edge-optimized API behind its execute-api name")
def _edge():
    dist = endpoints._dist(api_origin("api", endpoints.API, path="/prod"))
    return dist, inventory(dist, apis=[rest_api(endpoints.API, endpoint=EndpointType.EDGE)])


@case("apigw-edge-endpoint", "edge custom domain")
def _edge_domain():
    dist = endpoints._dist(domain_origin("cd", "edge.example.com"))
    return dist, inventory(dist, apis=[rest_api(endpoints.API, endpoint=EndpointType.EDGE)],
                           domains=[custom_domain("edge.example.com", [("", endpoints.API, "prod")],
                                                  endpoint=EndpointType.EDGE)])


@case("apigw-private-endpoint", "private API")
def _private():
    dist = endpoints._dist(api_origin("api", endpoints.API))
    return dist, inventory(dist, apis=[rest_api(endpoints.API, endpoint=EndpointType.PRIVATE)])


def _default_disabled(origin_path, mappings, extra=()):
    dist = endpoints._dist(api_origin("api", endpoints.API, path=origin_path))
    return dist, inventory(dist, apis=[rest_api(endpoints.API, disabled_default=True), rest_api(endpoints.OTHER)],
                           domains=[custom_domain("api.example.com", mappings), *extra])


cases("apigw-default-endpoint-disabled", endpoints.APPROVE_CASES, lambda path, mappings, _changes: _default_disabled(
    path, mappings))
cases("apigw-default-endpoint-disabled", endpoints.MANUAL_CASES,
      lambda path, mappings, extra, _reason: _default_disabled(path, mappings, extra))

# --------------------------------------------------------------------------------------------- TLS


@case("origin-tls-name-mismatch", "one certificate name points at the load balancer")
def _name_one():
    dist = tls._dist(tls._lb_origin())
    return dist, inventory(dist, certificates=[tls.WILD], load_balancers=[
        load_balancer(tls.ELB, certificates=[tls.WILD.arn], aliases=["origin.example.com"])])


@case("origin-tls-name-mismatch", "several candidates")
def _name_several():
    dist = tls._dist(tls._lb_origin())
    return dist, inventory(dist, certificates=[tls.WILD], load_balancers=[load_balancer(
        tls.ELB, certificates=[tls.WILD.arn], aliases=["a.example.com", "b.example.com", "x.other.org"])])


@case("origin-tls-name-mismatch", "load balancer not in the inventory")
def _name_unknown_lb():
    dist = tls._dist(tls._lb_origin(protocol="match-viewer"))
    return dist, inventory(dist)


@case("origin-tls-name-mismatch", "forwarded Host not on the certificate")
def _name_forwarded():
    dist = tls._dist(tls._lb_origin(), orp=p.ALL_VIEWER, aliases=("www.example.com", "shop.other.org"))
    return dist, inventory(dist, certificates=[tls.WILD],
                           load_balancers=[load_balancer(tls.ELB, certificates=[tls.WILD.arn])])


@case("origin-tls-name-mismatch", "probe of a custom origin")
def _name_probe():
    dist = tls._dist(custom_origin("app", "app.example.net"))
    return dist, with_probes(inventory(dist), probe("app.example.net", "name-mismatch", names=("other.example.net",)))


@case("origin-tls-cert-invalid", "expired listener certificate")
def _cert_expired():
    expired = certificate("old", "origin.example.com", status="EXPIRED")
    dist = tls._dist(tls._lb_origin("origin.example.com"))
    return dist, inventory(dist, certificates=[expired], load_balancers=[
        load_balancer(tls.ELB, certificates=[expired.arn], aliases=["origin.example.com"])])


@case("origin-tls-cert-invalid", "probe: self-signed")
def _cert_probe():
    dist = tls._dist(custom_origin("app", "app.example.net"))
    return dist, with_probes(inventory(dist), probe("app.example.net", "self-signed",
                                                    detail="certificate verify failed"))


# --------------------------------------------------------------------------------------------- timeouts, error pages


def _timeout(seconds: int):
    dist = v2._lambda_dist()
    return dist, replace(inventory(dist), function_urls=v2._function(seconds))


for _seconds in (45, 120, 900):
    CASES.setdefault("origin-timeout-short", {})[f"function URL, Timeout {_seconds} s"] = \
        lambda s=_seconds: _timeout(s)


@case("origin-timeout-short", "REST integration above a lowered origin timeout")
def _timeout_rest():
    api = rest_api(v2.API, resources={"/api/slow": [ApiMethod("GET", integration_type="AWS_PROXY",
                                                              integration_timeout_ms=29000)]})
    dist = v2.api_dist(behavior("/api/*", "api"),
                       origins=[s3_origin("site"), replace(api_origin("api", v2.API, path="/prod"), read_timeout=10)])
    return dist, inventory(dist, apis=[api])


@case("custom-error-masks-api", "SPA fallback in front of an API")
def _spa():
    dist = v2.api_dist(behavior("/api/*", "api"), errors=v2.SPA)
    return dist, inventory(dist, apis=[rest_api(v2.API)])


@case("custom-error-masks-api", "error page that keeps the status")
def _error_page():
    dist = v2.api_dist(behavior("/api/*", "api"), errors=(CustomErrorResponse(500, "/errors/500.html", "500"),))
    return dist, inventory(dist, apis=[rest_api(v2.API)])


# --------------------------------------------------------------------------------------------- the checks

ALL = [(rule, name, build) for rule, named in CASES.items() for name, build in named.items()]


def test_every_registered_rule_has_a_case() -> None:
    """A rule registered without a case here would tell people things nobody checked."""
    assert sorted(set(RULES_BY_ID) - set(CASES)) == []
    assert sorted(set(CASES) - set(RULES_BY_ID)) == []


@pytest.mark.parametrize(("rule", "build"), [(r, b) for r, _, b in ALL], ids=[f"{r}: {n}" for r, n, _ in ALL])
def test_every_text_of_the_rule_matches_its_evidence(rule: str, build: Case) -> None:
    dist, inv = build()
    dist = with_config(dist)
    found = list(RULES_BY_ID[rule].check(dist, inv))
    assert found, f"the case no longer fires {rule}"
    for finding in found:
        assert finding.rule == rule
        assert all_problems(finding, dist) == [], (finding.behavior, finding.origin)


def test_a_narrowing_summary_line_holds_only_when_the_diff_removes_what_it_drops() -> None:
    """The checker can still fail on a line that narrows a list (the exception plan_problems makes for it)."""
    from textcheck import plan_problems
    diff = ('           "OriginSslProtocols": {\n             "Items": [\n-              "SSLv3",\n'
            '               "TLSv1.2"\n             ],\n-            "Quantity": 2\n+            "Quantity": 1\n')
    assert plan_problems(["origin api: OriginSslProtocols SSLv3,TLSv1.2 -> TLSv1.2"], diff) == []
    only_count = diff.replace('-              "SSLv3",\n', "")  # the diff no longer removes SSLv3
    assert plan_problems(["origin api: OriginSslProtocols SSLv3,TLSv1.2 -> TLSv1.2"], only_count) == [
        "summary line 'origin api: OriginSslProtocols SSLv3,TLSv1.2 -> TLSv1.2' names TLSv1.2, which the diff does "
        "not add"]
