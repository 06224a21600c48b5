"""The five rules of catalog v2: lambda-url-host-forwarded, apigw-identity-header-dropped,
apigw-cors-preflight-cached, origin-timeout-short, custom-error-masks-api. Input model -> exact findings, failing and
passing cases for each, their plans through the validator, and the SPA fallback function run in a JS engine."""
from __future__ import annotations

from dataclasses import replace

import pytest

from builders import (
    GET_HEAD,
    api_origin,
    behavior,
    custom_cache_policy,
    custom_origin,
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
    with_policies,
)
from edgemedic import policies as p
from edgemedic.collect.origins import classify_origin, lambda_url_target
from edgemedic.findings import FixClass, SetAllowedMethods, SetBehaviorPolicies, SetOriginReadTimeout, Severity
from edgemedic.model import (
    ApiMethod,
    Authorizer,
    CorsConfiguration,
    CustomErrorResponse,
    FunctionUrl,
    LambdaUrlTarget,
    OriginKind,
    Unreadable,
    function_url_key,
)
from edgemedic.plan import build_plan
from edgemedic.rules import RULES_BY_ID
from edgemedic.rules.cors import check_cors_preflight_cached
from edgemedic.rules.errorpages import check_custom_error_masks_api, spa_fallback_function
from edgemedic.rules.identity import check_identity_header_dropped
from edgemedic.rules.lambdaurl import check_lambda_url_host
from edgemedic.rules.timeouts import check_origin_timeout_short
from edgemedic.validate import validate_config

API = "a1b2c3d4e5"
URL_ID = "abcdefghijklmnopqrstuvwxyz012345"
URL_DOMAIN = f"{URL_ID}.lambda-url.eu-west-1.on.aws"
OPTIONS_CACHED = frozenset({"GET", "HEAD", "OPTIONS"})


def lambda_origin(origin_id: str = "fn", *, read_timeout: int = 30):
    origin = custom_origin(origin_id, URL_DOMAIN, kind=OriginKind.LAMBDA_URL)
    return replace(origin, lambda_url=LambdaUrlTarget(URL_ID, "eu-west-1"), read_timeout=read_timeout)


def api_dist(*behaviors, origins=None, aliases=(), errors=()):
    dist = distribution(origins=origins or [s3_origin("site"), api_origin("api", API, path="/prod")],
                        behaviors=[*behaviors, behavior("*", "site", cache=p.CACHING_OPTIMIZED)], aliases=aliases)
    return replace(dist, custom_error_responses=tuple(errors))


# --------------------------------------------------------------------------------------------- classification


def test_a_function_url_domain_is_a_lambda_url_origin():
    assert classify_origin(URL_DOMAIN, {}) == (OriginKind.LAMBDA_URL, None)
    assert lambda_url_target(URL_DOMAIN.upper() + ".") == LambdaUrlTarget(URL_ID, "eu-west-1")
    assert lambda_url_target("api.example.com") is None
    assert classify_origin("abc.lambda-url.eu-west-1.on.aws.example.com", {}) == (OriginKind.CUSTOM, None)


# --------------------------------------------------------------------------------------------- lambda-url-host-forwarded


def test_lambda_url_behavior_forwarding_host_is_found_with_an_auto_fix():
    dist = api_dist(behavior("/fn/*", "fn", orp=p.ALL_VIEWER), origins=[s3_origin("site"), lambda_origin()])
    inv = inventory(dist)
    [found] = check_lambda_url_host(dist, inv)
    assert (found.rule, found.severity, found.behavior, found.origin) == (
        "lambda-url-host-forwarded", Severity.HIGH, "/fn/*", "fn")
    assert found.fix.fix_class is FixClass.AUTO
    assert found.fix.changes == (SetBehaviorPolicies("/fn/*", None, p.ALL_VIEWER_EXCEPT_HOST_HEADER),)
    assert "origin request policy AllViewer forwards Host" in found.evidence
    plan = build_plan(replace(dist, config=raw_config(
        origins=[raw_origin("site", "site.s3.amazonaws.com", protocol=None), raw_origin("fn", URL_DOMAIN)],
        behaviors=[raw_behavior("/fn/*", "fn", orp=p.ALL_VIEWER), raw_behavior("*", "site")])), [found])
    assert plan.summary == ("/fn/* origin request policy: AllViewer -> AllViewerExceptHostHeader",)
    assert validate_config(plan.new_config, original=plan.base_config) == []


def test_lambda_url_host_in_the_cache_key_also_gets_caching_disabled():
    dist = api_dist(behavior("/fn/*", "fn", cache=p.AMPLIFY), origins=[s3_origin("site"), lambda_origin()])
    [found] = check_lambda_url_host(dist, inventory(dist))
    assert found.fix.changes == (SetBehaviorPolicies("/fn/*", p.CACHING_DISABLED, p.ALL_VIEWER_EXCEPT_HOST_HEADER),)


@pytest.mark.parametrize("shape", [
    dict(orp=p.ALL_VIEWER_EXCEPT_HOST_HEADER),
    dict(orp=p.ALL_VIEWER, functions=("viewer-request",)),  # an edge function may set Host: not guessed
])
def test_lambda_url_behavior_without_host_or_with_an_edge_function_is_silent(shape):
    dist = api_dist(behavior("/fn/*", "fn", **shape), origins=[s3_origin("site"), lambda_origin()])
    assert list(check_lambda_url_host(dist, inventory(dist))) == []


# --------------------------------------------------------------------------------------------- identity headers


def _keyed_api(**kw):
    return rest_api(API, resources={"/api/orders": [ApiMethod("GET", api_key_required=True),
                                                    ApiMethod("POST", api_key_required=True)]}, **kw)


def test_api_key_not_forwarded_is_found():
    dist = api_dist(behavior("/api/*", "api", orp=p.CORS_S3_ORIGIN))
    [found] = check_identity_header_dropped(dist, inventory(dist, apis=[_keyed_api()]))
    assert (found.rule, found.severity, found.behavior, found.origin) == (
        "apigw-identity-header-dropped", Severity.HIGH, "/api/*", "api")
    assert found.message == ("Behavior /api/* does not send x-api-key to API origin api, but GET /prod/api/orders, "
                             "POST /prod/api/orders need it")
    assert found.evidence[1] == ("x-api-key: GET /prod/api/orders (apiKeyRequired, API key source HEADER); "
                                 "POST /prod/api/orders (apiKeyRequired, API key source HEADER)")
    assert found.symptom.startswith('GET /api/orders with x-api-key returns 403 {"message":"Forbidden"}')
    assert found.fix.fix_class is FixClass.AUTO
    # CachingDisabled cannot cache: the cache policy stays, only the origin request policy changes.
    assert found.fix.changes == (SetBehaviorPolicies("/api/*", None, p.ALL_VIEWER_EXCEPT_HOST_HEADER),)


def test_api_key_behind_a_caching_policy_also_disables_caching():
    dist = api_dist(behavior("/api/*", "api", cache=p.CACHING_OPTIMIZED))
    [found] = check_identity_header_dropped(dist, inventory(dist, apis=[_keyed_api()]))
    assert found.fix.changes == (SetBehaviorPolicies("/api/*", p.CACHING_DISABLED, p.ALL_VIEWER_EXCEPT_HOST_HEADER),)
    assert any("CachingDisabled, so that no response for one caller is served to another" in n for n in found.notes)


def test_authorizer_identity_header_of_an_http_api_is_found():
    authorizer = Authorizer("au1", "tenant-auth", "REQUEST", ("$request.header.X-Tenant-Token",))
    api = http_api(API, authorizers=[authorizer])
    api = replace(api, resources=(replace(api.resources[0], methods=(
        ApiMethod("GET", "CUSTOM", "au1", route_key="GET /items"),)),))
    dist = api_dist(behavior("/items*", "api"), origins=[s3_origin("site"), api_origin("api", API)])
    [found] = check_identity_header_dropped(dist, inventory(dist, apis=[api]))
    assert "x-tenant-token" in found.message
    assert "401" in found.symptom


@pytest.mark.parametrize("case", ["custom-header", "legacy", "orp-forwards", "key-source-authorizer",
                                  "unreadable-policy", "edge-function"])
def test_identity_header_that_reaches_the_api_or_cannot_be_told_is_silent(case):
    b = behavior("/api/*", "api", orp=p.CORS_S3_ORIGIN)
    origin = api_origin("api", API, path="/prod")
    api = _keyed_api()
    if case == "custom-header":
        origin = replace(origin, custom_header_names=("X-API-Key",))  # CloudFront adds the key itself
    elif case == "legacy":
        b = behavior("/api/*", "api", legacy=legacy())  # other-defined headers are forwarded under legacy settings
    elif case == "orp-forwards":
        b = behavior("/api/*", "api", orp=p.ALL_VIEWER_EXCEPT_HOST_HEADER)
    elif case == "key-source-authorizer":
        api = replace(api, api_key_source="AUTHORIZER")
    elif case == "unreadable-policy":
        b = with_policies(b, orp=None)
        b = replace(b, origin_request_policy_id="custom-orp")
    elif case == "edge-function":
        b = replace(b, function_events=("viewer-request",))
    dist = api_dist(b, origins=[s3_origin("site"), origin])
    assert list(check_identity_header_dropped(dist, inventory(dist, apis=[api]))) == []


# --------------------------------------------------------------------------------------------- CORS preflights


def _cors_api(origins=("https://a.example.com", "https://b.example.com"), credentials=False):
    return replace(http_api(API, routes=("GET /items", "POST /items")),
                   cors=CorsConfiguration(tuple(origins), credentials), cors_configured=True)


def _cors_dist(cache=p.CACHING_OPTIMIZED, cached=OPTIONS_CACHED):
    return api_dist(behavior("/items*", "api", cache=cache, cached=cached),
                    origins=[s3_origin("site"), api_origin("api", API)])


def test_cached_preflight_of_an_http_api_with_several_origins_is_found_with_an_auto_fix():
    dist = _cors_dist()
    [found] = check_cors_preflight_cached(dist, inventory(dist, apis=[_cors_api()]))
    assert (found.rule, found.severity, found.behavior) == ("apigw-cors-preflight-cached", Severity.MEDIUM, "/items*")
    assert "not in the cache key: Origin, Access-Control-Request-Method, Access-Control-Request-Headers" \
        in found.evidence
    assert found.fix.fix_class is FixClass.AUTO
    assert found.fix.changes == (SetAllowedMethods("/items*", ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST",
                                                               "DELETE"), ("GET", "HEAD")),)


def test_cached_preflight_of_a_rest_options_method_with_a_lambda_integration_is_found():
    api = rest_api(API, resources={"/api/items": [ApiMethod("GET"), ApiMethod("OPTIONS", integration_type="AWS_PROXY")]})
    dist = api_dist(behavior("/api/*", "api", cache=p.CACHING_OPTIMIZED, cached=OPTIONS_CACHED))
    [found] = check_cors_preflight_cached(dist, inventory(dist, apis=[api]))
    assert "OPTIONS /prod/api/items of REST API a1b2c3d4e5 has a AWS_PROXY integration" in found.evidence


@pytest.mark.parametrize("case", ["one-origin", "options-not-cached", "caching-disabled", "mock-options",
                                  "cors-headers-in-key", "integration-unread"])
def test_preflights_that_cannot_mix_are_silent(case):
    dist, api = _cors_dist(), _cors_api()
    if case == "one-origin":
        api = _cors_api(origins=("https://a.example.com",))
    elif case == "options-not-cached":
        dist = _cors_dist(cached=GET_HEAD)
    elif case == "caching-disabled":
        dist = _cors_dist(cache=p.CACHING_DISABLED)
    elif case == "mock-options":
        api = rest_api(API, resources={"/items": [ApiMethod("OPTIONS", integration_type="MOCK")]}, stages=("$default",))
    elif case == "cors-headers-in-key":
        policy = custom_cache_policy("cors-key", "cors-key", max_ttl=3600, headers=("Origin", "Access-Control-Request-Method",
                                                          "Access-Control-Request-Headers"), default_ttl=60)
        dist = api_dist(with_policies(behavior("/items*", "api", cached=OPTIONS_CACHED), cache=policy),
                        origins=[s3_origin("site"), api_origin("api", API)])
    elif case == "integration-unread":
        api = rest_api(API, resources={"/items": [ApiMethod("OPTIONS")]}, stages=("$default",))
    assert list(check_cors_preflight_cached(dist, inventory(dist, apis=[api]))) == []


def test_cors_fix_and_methods_fix_merge_into_one_valid_plan():
    base = raw_config(origins=[raw_origin("site", "site.s3.amazonaws.com", protocol=None),
                               raw_origin("api", f"{API}.execute-api.us-east-1.amazonaws.com")],
                      behaviors=[raw_behavior("/items*", "api", cache=p.CACHING_OPTIMIZED,
                                              methods=("GET", "HEAD", "OPTIONS"),
                                              cached=("GET", "HEAD", "OPTIONS")), raw_behavior("*", "site")])
    from edgemedic.rules.requests import check_methods_blocked

    dist = api_dist(behavior("/items*", "api", cache=p.CACHING_OPTIMIZED, methods=OPTIONS_CACHED,
                             cached=OPTIONS_CACHED), origins=[s3_origin("site"), api_origin("api", API)])
    dist = replace(dist, config=base)
    inv = inventory(dist, apis=[_cors_api()])
    [cors] = check_cors_preflight_cached(dist, inv)
    assert cors.fix.changes == (SetAllowedMethods("/items*", ("GET", "HEAD", "OPTIONS"), ("GET", "HEAD")),)
    plan = build_plan(dist, [cors])
    assert plan.summary == ("/items* cached methods: GET,HEAD,OPTIONS -> GET,HEAD",)
    assert validate_config(plan.new_config, original=plan.base_config) == []
    [methods] = check_methods_blocked(dist, inv)  # POST /items: all seven methods, cached GET,HEAD
    plan = build_plan(dist, [cors, methods])
    assert plan.summary == ("/items* allowed methods: GET,HEAD,OPTIONS -> GET,HEAD,OPTIONS,PUT,PATCH,POST,DELETE",
                            "/items* cached methods: GET,HEAD,OPTIONS -> GET,HEAD")
    assert validate_config(plan.new_config, original=plan.base_config) == []


# --------------------------------------------------------------------------------------------- timeouts


def _function(timeout):
    return {("eu-west-1", URL_ID): FunctionUrl(URL_ID, "eu-west-1", "report-builder", timeout)}


def _lambda_dist(read_timeout=30):
    origin = lambda_origin(read_timeout=read_timeout)
    dist = api_dist(behavior("/reports/*", "fn", orp=p.ALL_VIEWER_EXCEPT_HOST_HEADER),
                    origins=[s3_origin("site"), origin])
    config = raw_config(origins=[raw_origin("site", "site.s3.amazonaws.com", protocol=None),
                                 raw_origin("fn", URL_DOMAIN)],
                        behaviors=[raw_behavior("/reports/*", "fn", orp=p.ALL_VIEWER_EXCEPT_HOST_HEADER),
                                   raw_behavior("*", "site")])
    config["Origins"]["Items"][1]["CustomOriginConfig"]["OriginReadTimeout"] = read_timeout
    return replace(dist, config=config)


def test_function_timeout_above_the_origin_timeout_is_found_with_an_auto_fix_up_to_60_s():
    dist = _lambda_dist()
    inv = replace(inventory(dist), function_urls=_function(45))
    [found] = check_origin_timeout_short(dist, inv)
    assert (found.rule, found.severity, found.behavior, found.origin) == ("origin-timeout-short", Severity.MEDIUM,
                                                                          "", "fn")
    assert found.message == ("Origin fn gives up after 30 s (OriginReadTimeout), but function report-builder "
                             "behind the function URL may run 45 s (Timeout)")
    assert found.fix.fix_class is FixClass.AUTO and found.fix.changes == (SetOriginReadTimeout("fn", 45),)
    plan = build_plan(dist, [found])
    assert plan.summary == ("origin fn: OriginReadTimeout 30 s -> 45 s",)
    assert validate_config(plan.new_config, original=plan.base_config) == []


def test_function_timeout_above_60_s_is_a_ticket_for_a_quota_increase():
    dist = _lambda_dist()
    [found] = check_origin_timeout_short(dist, replace(inventory(dist), function_urls=_function(900)))
    assert found.fix.fix_class is FixClass.MANUAL and found.fix.changes == ()
    assert "CloudFront waits at most 180 s for an origin, even with a quota increase" in found.fix.ticket
    [found] = check_origin_timeout_short(dist, replace(inventory(dist), function_urls=_function(120)))
    assert "Request a quota increase for CloudFront 'Response timeout per origin' to 120 s" in found.fix.ticket


def test_rest_integration_timeout_above_a_lowered_origin_timeout_is_found():
    api = rest_api(API, resources={"/api/slow": [ApiMethod("GET", integration_type="AWS_PROXY",
                                                           integration_timeout_ms=29000)],
                                   "/api/fast": [ApiMethod("GET", integration_type="MOCK",
                                                           integration_timeout_ms=1000)]})
    dist = api_dist(behavior("/api/*", "api"),
                    origins=[s3_origin("site"), replace(api_origin("api", API, path="/prod"), read_timeout=10)])
    [found] = check_origin_timeout_short(dist, inventory(dist, apis=[api]))
    assert found.fix.changes == (SetOriginReadTimeout("api", 29),)
    assert "integration timeoutInMillis 29000: GET /prod/api/slow (NONE)" in found.evidence


@pytest.mark.parametrize("case", ["default-rest", "function-fits", "function-unreadable", "unused-origin"])
def test_backends_that_fit_or_cannot_be_read_are_silent(case):
    if case == "default-rest":  # 29 s integrations behind the default 30 s
        api = rest_api(API, resources={"/api/x": [ApiMethod("GET", integration_type="HTTP",
                                                            integration_timeout_ms=29000)]})
        dist = api_dist(behavior("/api/*", "api"))
        inv = inventory(dist, apis=[api])
    else:
        dist = _lambda_dist()
        inv = replace(inventory(dist), function_urls=_function(30))
        if case == "function-unreadable":
            inv = replace(inventory(dist, unreadable={function_url_key("eu-west-1", URL_ID): Unreadable(
                "Lambda function URL", "AccessDeniedException")}))
        elif case == "unused-origin":
            dist = replace(dist, behaviors=(behavior("*", "site"),))
            inv = replace(inventory(dist), function_urls=_function(45))
    assert list(check_origin_timeout_short(dist, inv)) == []


@pytest.mark.parametrize(("before", "after", "ok"), [
    (30, 60, True), (30, 61, False), (30, 0, False), (90, 180, True), (90, 181, False), (30, "45", False),
])
def test_validator_checks_the_documented_origin_read_timeout_range(before, after, ok):
    base = raw_config(origins=[raw_origin("api", "x.example.com")], behaviors=[raw_behavior("*", "api")])
    base["Origins"]["Items"][0]["CustomOriginConfig"]["OriginReadTimeout"] = before
    new = raw_config(origins=[raw_origin("api", "x.example.com")], behaviors=[raw_behavior("*", "api")])
    new["Origins"]["Items"][0]["CustomOriginConfig"]["OriginReadTimeout"] = after
    problems = validate_config(new, original=base)
    assert (problems == []) is ok, problems


# --------------------------------------------------------------------------------------------- custom error responses


SPA = (CustomErrorResponse(403, "/index.html", "200"), CustomErrorResponse(404, "/index.html", "200"))


def test_spa_fallback_in_front_of_an_api_is_a_ticket_with_the_function():
    dist = api_dist(behavior("/api/*", "api"), errors=SPA)
    [found] = check_custom_error_masks_api(dist, inventory(dist, apis=[rest_api(API)]))
    assert (found.rule, found.severity, found.behavior, found.origin) == (
        "custom-error-masks-api", Severity.MEDIUM, "/api/*", "api")
    assert found.fix.fix_class is FixClass.MANUAL
    assert found.symptom.startswith("API errors reach clients as /index.html with status 200")
    assert "CustomErrorResponses: 403 -> /index.html (200); 404 -> /index.html (200)" in found.evidence
    assert "runtime cloudfront-js-2.0" in found.fix.ticket
    assert "associate it (event type viewer-request) with the behaviors that serve the app: * (origin site)" \
        in found.fix.ticket.replace("Associate", "associate")
    assert spa_fallback_function("/index.html") in found.fix.ticket


def test_error_pages_that_keep_the_status_are_a_ticket_without_a_function():
    dist = api_dist(behavior("/api/*", "api"), errors=(CustomErrorResponse(500, "/errors/500.html", "500"),))
    [found] = check_custom_error_masks_api(dist, inventory(dist, apis=[rest_api(API)]))
    assert "function" not in found.fix.ticket.lower()
    assert "500 -> /errors/500.html (500)" in found.evidence[0]


@pytest.mark.parametrize("errors", [(), (CustomErrorResponse(404, "", ""),)])
def test_no_page_replacement_is_silent(errors):
    dist = api_dist(behavior("/api/*", "api"), errors=errors)
    assert list(check_custom_error_masks_api(dist, inventory(dist, apis=[rest_api(API)]))) == []


def test_error_pages_on_a_distribution_without_an_api_are_silent():
    dist = replace(distribution(origins=[s3_origin("site")], behaviors=[behavior("*", "site")]),
                   custom_error_responses=SPA)
    assert list(check_custom_error_masks_api(dist, inventory(dist))) == []


@pytest.mark.parametrize(("uri", "expected"), [
    ("/", "/index.html"), ("/settings/profile", "/index.html"), ("/assets/app.3f9a.js", "/assets/app.3f9a.js"),
    ("/favicon.ico", "/favicon.ico"), ("/app/", "/index.html"),
])
def test_the_spa_fallback_function_runs_as_cloudfront_would(uri, expected):
    """The ticket's function in an ES5.1 engine (the core cloudfront-js-1.0 and -2.0 share): it parses, exports a
    ``handler(event)`` and rewrites only app routes."""
    dukpy = pytest.importorskip("dukpy")
    code = spa_fallback_function("/index.html")
    event = {"version": "1.0", "context": {"eventType": "viewer-request"},
             "viewer": {"ip": "198.51.100.7"},
             "request": {"method": "GET", "uri": uri, "querystring": {}, "headers": {}, "cookies": {}}}
    result = dukpy.evaljs([code, "handler(dukpy.event)"], event=event)
    assert result["uri"] == expected
    assert result["method"] == "GET"
    joined = dukpy.evaljs([" ".join(code.split()), "handler(dukpy.event)"], event=event)  # as a chat view shows it
    assert joined == result


def test_rule_metadata_matches_the_catalog():
    expected = {
        "lambda-url-host-forwarded": ("high", "auto"),
        "apigw-identity-header-dropped": ("high", "auto"),
        "apigw-cors-preflight-cached": ("medium", "auto"),
        "origin-timeout-short": ("medium", "auto/manual"),
        "custom-error-masks-api": ("medium", "manual"),
    }
    for rule_id, (severity, fix_class) in expected.items():
        rule = RULES_BY_ID[rule_id]
        assert (rule.severity.value, rule.fix_class) == (severity, fix_class)
        assert rule.url.startswith("https://docs.aws.amazon.com/") and rule.title and rule.symptom


# --------------------------------------------------------------------------------------------- trace steps


def _trace(dist, inv, url, method="GET", headers=()):
    from edgemedic.trace import parse_request, trace

    return trace(dist, inv, parse_request(url, method, list(headers)))


def test_trace_shows_x_api_key_dropped_at_the_edge_and_the_error_page_replacing_it():
    dist = api_dist(behavior("/api/*", "api", orp=p.CORS_S3_ORIGIN), errors=SPA)
    inv = inventory(dist, apis=[_keyed_api()])
    verdict = _trace(dist, inv, "https://d111111abcdef8.cloudfront.net/api/orders", headers=["x-api-key: k"]).verdict
    assert (verdict["status"], verdict["short"], verdict["rules"]) == (
        403, "x-api-key dropped at the edge", ["apigw-identity-header-dropped"])
    assert verdict["warnings"] == [{
        "text": "CloudFront replaces this 403 with /index.html (status 200, a custom error response of the "
                "distribution): the client never sees the API's own answer",
        "rules": ["custom-error-masks-api"]}]


def test_trace_one_line_of_the_identity_finding_before_and_after_the_fix():
    from edgemedic.trace import after_fix, one_line

    config = raw_config(origins=[raw_origin("site", "site.s3.amazonaws.com", protocol=None),
                                 raw_origin("api", f"{API}.execute-api.us-east-1.amazonaws.com", path="/prod")],
                        behaviors=[raw_behavior("/api/*", "api", orp=p.CORS_S3_ORIGIN, methods=(
                            "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE")),
                            raw_behavior("*", "site", cache=p.CACHING_OPTIMIZED)])
    dist = replace(api_dist(behavior("/api/*", "api", orp=p.CORS_S3_ORIGIN)), config=config)
    inv = inventory(dist, apis=[_keyed_api()])
    [found] = check_identity_header_dropped(dist, inv)
    after = after_fix(dist, inv).distribution
    assert one_line(dist, inv, found, after=after) == (
        "before: GET /api/orders -> 403 (API Gateway: x-api-key dropped at the edge) | after: -> 200 via GET "
        "/prod/api/orders")


def test_trace_shows_the_function_url_receiving_the_viewer_host_and_the_timeout():
    dist = api_dist(behavior("/fn/*", "fn", orp=p.ALL_VIEWER), origins=[s3_origin("site"), lambda_origin()])
    inv = replace(inventory(dist), function_urls=_function(45))
    verdict = _trace(dist, inv, "https://d111111abcdef8.cloudfront.net/fn/report").verdict
    assert (verdict["status"], verdict["by"], verdict["rules"]) == (502, "CloudFront", ["lambda-url-host-forwarded"])
    assert verdict["short"] == "function URL gets the viewer's Host"
    assert verdict["warnings"] == [{
        "text": "CloudFront gives up after 30 s (OriginReadTimeout of origin fn); function report-builder may run "
                "45 s: a request slower than 30 s gets 504 although the function would answer",
        "rules": ["origin-timeout-short"]}]


def test_trace_shows_a_preflight_served_from_the_cache():
    dist = _cors_dist()
    inv = inventory(dist, apis=[_cors_api()])
    findings = list(check_cors_preflight_cached(dist, inv))
    from edgemedic.trace import parse_request, trace

    request = parse_request("https://d111111abcdef8.cloudfront.net/items", "OPTIONS",
                            ["Origin: https://b.example.com", "Access-Control-Request-Method: POST"])
    verdict = trace(dist, inv, request, findings=findings).verdict
    assert {"text": "the preflight is served from the edge cache, whose key lacks origin, "
                    "access-control-request-method, access-control-request-headers: the Access-Control-Allow-* "
                    "headers for Origin https://b.example.com may be those cached for another origin or request",
            "rules": ["apigw-cors-preflight-cached"]} in verdict["warnings"]


def test_an_edge_function_in_front_of_a_function_url_is_a_scan_warning_not_a_finding():
    from edgemedic import engine

    dist = api_dist(behavior("/fn/*", "fn", orp=p.ALL_VIEWER, functions=("viewer-request",)),
                    origins=[s3_origin("site"), lambda_origin()])
    inv = inventory(dist)
    assert [f.rule for f in engine.evaluate(dist, inv) if f.rule == "lambda-url-host-forwarded"] == []
    assert engine.warnings(inv) == [
        "distribution E1EXAMPLE, behavior /fn/* (Lambda function URL origin fn) runs CloudFront Function rewrite-0 "
        "(viewer-request) before the origin: it may set the Host the function URL receives, so that could not be "
        "checked (lambda-url-host-forwarded not evaluated on this behavior)"]
