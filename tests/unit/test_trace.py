"""edgemedic.trace on model objects (pure): matching edge cases, what reaches the origin, API outcomes, one_line
and the trace line in Slack messages and tickets."""
from __future__ import annotations

import pytest

from builders import (
    api_origin,
    behavior,
    custom_origin,
    custom_origin_request_policy,
    distribution,
    http_api,
    inventory,
    legacy,
    method,
    raw_behavior,
    raw_config,
    raw_origin,
    rest_api,
    s3_origin,
    websocket_api,
    with_policies,
)
from edgemedic import engine, policies as p
from edgemedic.collect import PolicyResolver, distribution_from_config
from edgemedic.model import Authorizer, OriginKind
from edgemedic.notify import Alert, DistributionInfo, build_message
from edgemedic.notify.tickets import ticket_content
from edgemedic.trace import (
    TraceError,
    after_fix,
    distribution_for_host,
    one_line,
    parse_request,
    serves_host,
    trace,
    traces_for,
)

API = "a1b2c3d4e5"
API_HOST = f"{API}.execute-api.us-east-1.amazonaws.com"
AEHH = p.ALL_VIEWER_EXCEPT_HOST_HEADER


def _rest(**resources):
    return rest_api(API, resources=resources or {"/api/items": ["GET", "POST"]})


def _dist(*behaviors, path="/prod", aliases=()):
    return distribution(origins=[s3_origin("site"), api_origin("api", API, path=path)],
                        behaviors=[*behaviors, behavior("*", "site", cache=p.CACHING_OPTIMIZED)], aliases=aliases)


def _run(dist, url, method=None, headers=(), apis=None):
    inv = inventory(dist, apis=apis if apis is not None else [_rest()])
    return trace(dist, inv, parse_request(url, method, headers))


# --------------------------------------------------------------------------------------------- matching


def test_matching_is_case_sensitive() -> None:
    result = _run(_dist(behavior("/API/*", "api", orp=AEHH)), "https://d111111abcdef8.cloudfront.net/api/items")
    assert result.steps["behavior"] == {"path": "/api/items", "pattern": "*", "default": True, "origin": "site",
                                        "tried": ["/API/*"]}
    assert result.steps["api"] is None


@pytest.mark.parametrize("path, pattern", [("/v1/items", "/v?/*"), ("/v10/items", "*")])
def test_question_mark_is_exactly_one_character(path: str, pattern: str) -> None:
    dist = distribution(origins=[s3_origin("site"), api_origin("api", API, path="/prod")],
                        behaviors=[behavior("/v?/*", "api", orp=AEHH), behavior("*", "site")])
    assert _run(dist, f"https://d111111abcdef8.cloudfront.net{path}").steps["behavior"]["pattern"] == pattern


def test_leading_slash_is_optional_and_earlier_patterns_are_listed() -> None:
    dist = _dist(behavior("img/*", "site"), behavior("api/*", "api", orp=AEHH))
    result = _run(dist, "https://d111111abcdef8.cloudfront.net/api/items")
    assert result.steps["behavior"]["pattern"] == "api/*"
    assert result.steps["behavior"]["tried"] == ["img/*"]
    assert result.steps["origin_request"]["path"] == "/prod/api/items"
    assert result.ok


def test_query_string_is_ignored_by_matching_but_forwarded_per_policy() -> None:
    url = "https://d111111abcdef8.cloudfront.net/api/items?next=/static/x.js&limit=5"
    passing = _run(_dist(behavior("/api/*", "api", orp=AEHH), behavior("*.js", "site")), url)
    assert passing.steps["behavior"]["pattern"] == "/api/*"
    assert passing.steps["origin_request"]["query"] == "next=%2Fstatic%2Fx.js&limit=5"
    stripped = _run(_dist(behavior("/api/*", "api")), url)  # CachingDisabled alone forwards no query string
    assert stripped.steps["origin_request"]["query_strings"] == [{"name": "next", "action": "dropped"},
                                                                 {"name": "limit", "action": "dropped"}]
    assert stripped.steps["origin_request"]["query"] == ""


def test_hosts_and_wildcard_aliases() -> None:
    dist = _dist(behavior("/api/*", "api"), aliases=("*.example.com", "shop.example.org"))
    assert serves_host(dist, "api.example.com") and serves_host(dist, "d111111abcdef8.cloudfront.net")
    assert not serves_host(dist, "a.b.example.com") and not serves_host(dist, "example.com")
    assert distribution_for_host([dist], "SHOP.example.org") is dist
    assert distribution_for_host([dist], "other.example.net") is None


# --------------------------------------------------------------------------------------------- the origin request


def test_authorization_per_method_and_cached_options() -> None:
    dist = _dist(behavior("/api/*", "api", cached={"GET", "HEAD", "OPTIONS"}))
    apis = [_rest(**{"/api/items": [method("GET", "COGNITO_USER_POOLS"), method("POST", "COGNITO_USER_POOLS"),
                                    method("OPTIONS")]})]

    def auth(verb: str) -> str:
        result = _run(dist, "https://d111111abcdef8.cloudfront.net/api/items", verb, ["Authorization: Bearer t"],
                      apis)
        return next(h["action"] for h in result.steps["origin_request"]["headers"] if h["name"] == "Authorization")

    assert [auth(v) for v in ("GET", "HEAD", "OPTIONS", "POST")] == ["dropped", "dropped", "dropped", "kept"]
    get = _run(dist, "https://d111111abcdef8.cloudfront.net/api/items", "GET", ["Authorization: Bearer t"], apis)
    assert (get.verdict["status"], get.verdict["short"], get.verdict["text"]) == (
        401, "Authorization stripped", '{"message":"Unauthorized"}: CloudFront removes Authorization on GET and GET '
                                       "/api/items uses COGNITO_USER_POOLS")


def test_headers_host_custom_headers_and_user_agent() -> None:
    origin = api_origin("api", API, path="/prod")
    origin = type(origin)(**{**{f: getattr(origin, f) for f in origin.__slots__},
                             "custom_header_names": ("X-Origin-Verify",)})
    dist = distribution(origins=[s3_origin("site"), origin],
                        behaviors=[behavior("/api/*", "api"), behavior("*", "site")])
    result = _run(dist, "https://d111111abcdef8.cloudfront.net/api/items", "GET",
                  ["User-Agent: curl/8", "X-Trace: 1", "Content-Length: 0"])
    assert result.steps["origin_request"]["headers"] == [
        {"name": "Host", "action": "rewritten", "why": f"CloudFront sets the origin domain {API_HOST}"},
        {"name": "User-Agent", "action": "rewritten",
         "why": "not forwarded: CloudFront sends User-Agent: Amazon CloudFront"},
        {"name": "X-Trace", "action": "dropped",
         "why": "neither in the cache key nor forwarded by the origin request policy"},
        {"name": "Content-Length", "action": "kept", "why": "CloudFront forwards it on every request"},
        {"name": "X-Origin-Verify", "action": "added", "why": "custom header of origin api (value hidden)"},
    ]


def test_default_header_table_under_legacy_settings_and_expect_removed() -> None:
    """CloudFront's header table for custom origins: Content-Type, Origin, If-*, Range and Date are forwarded under
    legacy settings; Expect is removed whatever the settings."""
    dist = _dist(behavior("/api/*", "api", legacy=legacy(default_ttl=0, max_ttl=0)))
    table = ["Content-Type: application/json", "Origin: https://app.example", "If-None-Match: \"e1\"",
             "Range: bytes=0-9", "Date: Tue, 01 Dec 2026 10:00:00 GMT", "Expect: 100-continue"]
    result = _run(dist, "https://d111111abcdef8.cloudfront.net/api/items", "POST", table)
    actions = {h["name"]: h["action"] for h in result.steps["origin_request"]["headers"]}
    assert actions == {"Host": "rewritten", "Content-Type": "kept", "Origin": "kept", "If-None-Match": "kept",
                       "Range": "kept", "Date": "kept", "Expect": "dropped"}
    # Under policies the table's defaults do not apply: only the policies (and CloudFront's own) decide.
    policies_dist = _dist(behavior("/api/*", "api"))
    result = _run(policies_dist, "https://d111111abcdef8.cloudfront.net/api/items", "POST", table)
    actions = {h["name"]: h["action"] for h in result.steps["origin_request"]["headers"]}
    assert actions["Expect"] == "dropped" and actions["Origin"] == "dropped"


def test_http_viewer_redirect_and_https_only() -> None:
    dist = _dist(behavior("/api/*", "api", orp=AEHH))
    get = _run(dist, "http://d111111abcdef8.cloudfront.net/api/items")
    assert (get.verdict["status"], get.verdict["short"]) == (301, "redirect to HTTPS")
    post = _run(dist, "http://d111111abcdef8.cloudfront.net/api/items", "POST")
    assert (post.verdict["status"], post.verdict["text"]) == (
        403, "403 Forbidden: behavior /api/* is redirect-to-https, and CloudFront does not redirect POST")
    strict = _run(_dist(behavior("/api/*", "api", orp=AEHH, viewer="https-only")),
                  "http://d111111abcdef8.cloudfront.net/api/items")
    assert strict.verdict["status"] == 403


def test_http_only_api_origin_cannot_connect() -> None:
    dist = distribution(origins=[api_origin("api", API, path="/prod", protocol="http-only")],
                        behaviors=[behavior("*", "api", orp=AEHH)])
    result = _run(dist, "https://d111111abcdef8.cloudfront.net/api/items")
    origin = result.steps["origin_request"]
    assert (origin["scheme"], origin["port"], origin["sni"]) == ("http", 80, None)
    assert (result.verdict["status"], result.verdict["rules"]) == (502, ["apigw-origin-protocol"])


# --------------------------------------------------------------------------------------------- at the API


def test_missing_authentication_token_names_the_resources() -> None:
    dist = _dist(behavior("/api/*", "api", orp=AEHH))
    result = _run(dist, "https://d111111abcdef8.cloudfront.net/api/test", apis=[_rest(**{"/test": ["GET"]})])
    assert result.verdict["text"] == ('403 {"message":"Missing Authentication Token"}: no resource /api/test in '
                                      f"stage prod of REST API api-{API} ({API}); resources are /test")
    assert result.verdict["rules"] == ["apigw-path-unroutable"]


def test_jwt_route_without_authorization_in_the_request() -> None:
    api = http_api(API, routes=[("GET /items", "JWT")], authorizers=[Authorizer("j1", "jwt", "JWT")])
    dist = distribution(origins=[api_origin("api", API)], behaviors=[behavior("*", "api", orp=AEHH)])
    result = _run(dist, "https://d111111abcdef8.cloudfront.net/items", apis=[api])
    assert (result.verdict["status"], result.verdict["short"], result.verdict["rules"]) == \
        (401, "no Authorization header", [])
    ok = _run(dist, "https://d111111abcdef8.cloudfront.net/items", headers=["Authorization: Bearer t"], apis=[api])
    assert (ok.ok, ok.steps["api"]["route_key"], ok.steps["api"]["authorization"]) == (True, "GET /items", "JWT")


@pytest.mark.parametrize("viewer, scheme, ok, status", [
    ("https-only", "wss", True, 101), ("https-only", "ws", False, 403),
    ("allow-all", "ws", True, 101), ("redirect-to-https", "ws", False, 301),
])
def test_websocket_handshake_per_viewer_protocol(viewer: str, scheme: str, ok: bool, status: int) -> None:
    dist = distribution(origins=[api_origin("ws", API, path="")],
                        behaviors=[behavior("/production", "ws", orp=AEHH, viewer=viewer), behavior("*", "ws")])
    result = _run(dist, f"{scheme}://d111111abcdef8.cloudfront.net/production", apis=[websocket_api(API)])
    assert result.ok is ok
    assert result.verdict["status"] == status
    if ok:
        assert result.steps["api"]["route_key"] == "$connect"


def test_request_parsing_errors() -> None:
    with pytest.raises(TraceError, match="not 'Name: value'"):
        parse_request("https://x.example/", "GET", ["Authorization"])
    with pytest.raises(TraceError, match="CloudFront accepts"):
        parse_request("https://x.example/", "TRACE")
    with pytest.raises(TraceError, match="has no host"):
        parse_request("https:///api")


# --------------------------------------------------------------------------------------------- one line, alerts


def _planned_story():
    """Story 3's API behavior as AWS returns it: legacy settings, GET and HEAD only."""
    config = raw_config(origins=[raw_origin("site", "site.s3.amazonaws.com", protocol=None),
                                 raw_origin("cart-api", API_HOST, path="/prod")],
                        behaviors=[raw_behavior("/api/*", "cart-api", legacy_headers=()),
                                   raw_behavior("*", "site", cache=p.CACHING_OPTIMIZED)])
    summary = {"Id": "E2CART", "ARN": "arn:aws:cloudfront::123456789012:distribution/E2CART",
               "DomainName": "d2cart.cloudfront.net", "Status": "Deployed"}
    dist = distribution_from_config(summary, config, "ETAG1", PolicyResolver(None), {})
    inv = inventory(dist, apis=[rest_api(API, resources={"/api/cart": ["GET", "POST"]})])
    return dist, inv


def test_one_line_before_and_after_the_fix() -> None:
    dist, inv = _planned_story()
    findings = {f.rule: f for f in engine.evaluate(dist, inv)}
    planned = after_fix(dist, inv)
    assert planned.plan is not None
    assert one_line(dist, inv, findings["apigw-methods-blocked"], after=planned.distribution) == (
        "before: POST /api/cart -> 403 (CloudFront: method not allowed) | after: -> 200 via POST /prod/api/cart")
    assert one_line(dist, inv, findings["apigw-response-cached"], after=planned.distribution) == (
        "before: GET /api/cart -> 200 via GET /prod/api/cart (cached 86400 s at the edge) "
        "| after: -> 200 via GET /prod/api/cart")
    assert one_line(dist, inv, findings["apigw-methods-blocked"]) == (
        "before: POST /api/cart -> 403 (CloudFront: method not allowed)")


def test_slack_message_and_ticket_carry_the_trace_line() -> None:
    dist, inv = _planned_story()
    findings = engine.evaluate(dist, inv)
    lines = traces_for(dist, inv, findings, after=after_fix(dist, inv).distribution)
    alert = Alert.for_manual(DistributionInfo.from_model(dist), findings).with_traces(lines)
    expected = "Trace: before: POST /api/cart -> 403 (CloudFront: method not allowed) | after: -> 200 via POST " \
               "/prod/api/cart"
    texts = [b["text"]["text"] for b in build_message(alert).block_dicts() if b["type"] == "section" and "text" in b]
    assert any(expected.replace(">", "&gt;") in text for text in texts)
    assert expected in ticket_content(alert).text
    assert [f.key for f in alert.findings] == [f.key for f in findings]


# --------------------------------------------------------------------------------------------- catalog v2 trace items


def test_patterns_match_the_normalized_path_and_the_origin_gets_the_raw_one() -> None:
    dist = _dist(behavior("/api/*", "api"))
    result = _run(dist, "https://d111111abcdef8.cloudfront.net/static/../api//items", "GET")
    assert result.steps["behavior"]["pattern"] == "/api/*"
    assert result.steps["behavior"]["matched_path"] == "/api/items"
    assert result.steps["origin_request"]["path"] == "/prod/static/../api//items"


def test_a_post_blocked_at_the_edge_names_methods_blocked_even_when_the_path_is_broken_too() -> None:
    # OriginPath /v9 names no stage: the path is broken too, and no single OriginPath is proposed for it here.
    dist = _dist(behavior("/api/*", "api", methods={"GET", "HEAD"}), path="/v9")
    apis = [rest_api(API, stages=("prod", "dev"), resources={"/api/items": ["GET", "POST"]})]
    result = _run(dist, "https://d111111abcdef8.cloudfront.net/api/items", "POST", apis=apis)
    verdict = result.verdict
    assert (verdict["status"], verdict["rules"]) == (403, ["apigw-methods-blocked"])
    assert [f["rules"] for f in verdict["then"]] == [["apigw-path-unroutable"]]


def test_websocket_subprotocol_not_forwarded_is_a_note_not_a_failure() -> None:
    ws = "w1s2o3c4k5"
    key_and_version = custom_origin_request_policy("orp-ws", "ws-min", "whitelist",
                                                   ["Sec-WebSocket-Key", "Sec-WebSocket-Version"])
    dist = distribution(origins=[s3_origin("site"), api_origin("ws", ws)],
                        behaviors=[with_policies(behavior("/production", "ws", viewer="https-only"),
                                                 orp=key_and_version), behavior("*", "site")])
    inv = inventory(dist, apis=[websocket_api(ws)])
    result = trace(dist, inv, parse_request("wss://d111111abcdef8.cloudfront.net/production", None,
                                            ["Sec-WebSocket-Protocol: graphql-ws"]))
    assert result.verdict["ok"] is True
    assert [w["text"] for w in result.verdict["warnings"]] == [
        "this client sends Sec-WebSocket-Protocol, which CloudFront does not forward: the subprotocol or extension "
        "it asks for is not negotiated (clients that do not send it are not affected)"]


def test_a_behavior_to_an_origin_group_is_traced_to_its_primary() -> None:
    from edgemedic.model import OriginGroup

    group = OriginGroup("api-failover", ("api", "api-dr"), (502, 503))
    dist = distribution(origins=[s3_origin("site"), api_origin("api", API, path="/prod"),
                                 api_origin("api-dr", API, "us-west-2", path="/prod")],
                        behaviors=[behavior("/api/*", "api-failover", methods={"GET", "HEAD", "OPTIONS"}),
                                   behavior("*", "site")], groups=(group,))
    result = _run(dist, "https://d111111abcdef8.cloudfront.net/api/items", "GET")
    assert result.steps["behavior"]["origin_group"] == {"id": "api-failover", "members": ["api", "api-dr"],
                                                        "failover_codes": [502, 503], "traced": "api"}
    assert result.verdict["ok"] is True


def test_an_edge_function_makes_the_api_step_unknown() -> None:
    """A viewer-request function that strips /api: edgemedic does not guess what it does."""
    dist = _dist(behavior("/api/*", "api", functions=("viewer-request",)))
    result = _run(dist, "https://d111111abcdef8.cloudfront.net/api/items", "GET")
    assert (result.verdict["outcome"], result.verdict["text"]) == (
        "unknown", "behavior /api/* runs CloudFront Function rewrite-0 (viewer-request) before the origin: it may "
                   "rewrite the path, Host, headers or query, or sign the request, so what API Gateway receives "
                   "could not be checked")


def test_lambda_url_origin_with_origin_access_control_needs_the_body_hash_on_put_and_post() -> None:
    from dataclasses import replace as _replace

    url = "abcdefghijklmnop.lambda-url.eu-west-1.on.aws"
    fn = custom_origin("fn", url, kind=OriginKind.LAMBDA_URL)  # as the origin classifier names this domain
    config = raw_config(origins=[raw_origin("fn", url), raw_origin("site", "site.s3.amazonaws.com", protocol=None)],
                        behaviors=[raw_behavior("/fn/*", "fn"), raw_behavior("*", "site")])
    config["Origins"]["Items"][0]["OriginAccessControlId"] = "E2OACEXAMPLE"
    dist = _replace(distribution(origins=[fn, s3_origin("site")], behaviors=[behavior("/fn/*", "fn"),
                                                                             behavior("*", "site")]), config=config)
    inv = inventory(dist)
    post = trace(dist, inv, parse_request("https://d111111abcdef8.cloudfront.net/fn/orders", "POST", []))
    assert (post.verdict["status"], post.verdict["short"], post.verdict["rules"]) == (403, "body hash missing", [])
    signed = trace(dist, inv, parse_request("https://d111111abcdef8.cloudfront.net/fn/orders", "POST",
                                            ["x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb924"]))
    get = trace(dist, inv, parse_request("https://d111111abcdef8.cloudfront.net/fn/orders", "GET", []))
    assert signed.verdict["ok"] and get.verdict["ok"]
