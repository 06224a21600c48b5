"""The collectors behind catalog v2's five new rules, on the emulator, and the rules on what they read.

moto 5.2 has Lambda function URLs (CreateFunctionUrlConfig, GetFunctionUrlConfig) but no ListFunctionUrlConfigs:
the project's emulator answers that one as the Lambda API reference documents it (see edgemedic.emulator). Everything
else here is moto: Lambda functions, REST methods with apiKeyRequired and integrations, an HTTP API's CORS
configuration, and a distribution's OriginReadTimeout and CustomErrorResponses.
"""
from __future__ import annotations

import io
import zipfile

from edgemedic import engine, policies
from edgemedic.collect import collect
from edgemedic.findings import SetOriginReadTimeout
from edgemedic.model import CorsConfiguration, CustomErrorResponse, FunctionUrl, OriginKind, function_url_key

from conftest import custom_origin, policy_behavior, s3_origin

NEW_RULES = {"lambda-url-host-forwarded", "apigw-identity-header-dropped", "apigw-cors-preflight-cached",
             "origin-timeout-short", "custom-error-masks-api"}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


def _function_url(clients, region: str, name: str, timeout: int, *, url: bool = True) -> str | None:
    iam = clients.client("iam")
    try:
        role = iam.get_role(RoleName="report-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="report-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = clients.client("lambda", region)
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler",
                        Code={"ZipFile": _zip()}, Timeout=timeout)
    if not url:
        return None
    return lam.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]


def _rest_api(clients) -> str:
    apigw = clients.apigateway("us-east-1")
    api_id = apigw.create_rest_api(name="orders-api", endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    orders = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="orders")["id"]
    apigw.put_method(restApiId=api_id, resourceId=orders, httpMethod="GET", authorizationType="NONE",
                     apiKeyRequired=True)
    apigw.put_integration(restApiId=api_id, resourceId=orders, httpMethod="GET", type="HTTP_PROXY",
                          integrationHttpMethod="GET", uri="https://orders.internal.example.com/orders",
                          timeoutInMillis=29000)
    apigw.put_method(restApiId=api_id, resourceId=orders, httpMethod="OPTIONS", authorizationType="NONE")
    apigw.put_integration(restApiId=api_id, resourceId=orders, httpMethod="OPTIONS", type="HTTP_PROXY",
                          integrationHttpMethod="OPTIONS", uri="https://orders.internal.example.com/orders")
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    return api_id


def _http_api(clients) -> str:
    v2 = clients.apigatewayv2("eu-west-1")
    api_id = v2.create_api(Name="items-api", ProtocolType="HTTP", CorsConfiguration={
        "AllowOrigins": ["https://shop.example.com", "https://admin.example.com"],
        "AllowMethods": ["GET", "POST"], "AllowHeaders": ["content-type"]})["ApiId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /items")
    v2.create_stage(ApiId=api_id, StageName="$default")
    return api_id


def _distribution(clients, *, lambda_domain: str, rest_id: str, http_id: str) -> str:
    options_cached = {"Quantity": 7, "Items": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                      "CachedMethods": {"Quantity": 3, "Items": ["GET", "HEAD", "OPTIONS"]}}
    orders = custom_origin("orders-api", f"{rest_id}.execute-api.us-east-1.amazonaws.com", path="/prod")
    orders["CustomOriginConfig"]["OriginReadTimeout"] = 10
    reports = custom_origin("reports", lambda_domain)
    reports["CustomOriginConfig"]["OriginReadTimeout"] = 30
    config = {
        "CallerReference": "new-rules", "Comment": "shop with a report function", "Enabled": True,
        "Origins": {"Quantity": 4, "Items": [s3_origin("site", "shop-site"), orders, reports,
                                             custom_origin("items-api",
                                                           f"{http_id}.execute-api.eu-west-1.amazonaws.com")]},
        "CacheBehaviors": {"Quantity": 3, "Items": [
            {**policy_behavior("orders-api", "/orders*", cache=policies.CACHING_OPTIMIZED,
                               orp=policies.CORS_S3_ORIGIN), "AllowedMethods": options_cached},
            policy_behavior("reports", "/reports/*", orp=policies.ALL_VIEWER),
            {**policy_behavior("items-api", "/items*", cache=policies.CACHING_OPTIMIZED),
             "AllowedMethods": options_cached},
        ]},
        "DefaultCacheBehavior": policy_behavior("site", cache=policies.CACHING_OPTIMIZED, allowed=("GET", "HEAD")),
        "CustomErrorResponses": {"Quantity": 2, "Items": [
            {"ErrorCode": 403, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10},
            {"ErrorCode": 404, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10},
        ]},
    }
    return clients.cloudfront().create_distribution(DistributionConfig=config)["Distribution"]["Id"]


def test_collect_reads_what_the_new_rules_need_and_they_fire_exactly(emu):
    clients = emu.clients()
    url = _function_url(clients, "eu-west-1", "report-builder", 45)
    _function_url(clients, "eu-west-1", "thumbnailer", 10, url=False)
    _function_url(clients, "eu-west-1", "nightly-export", 900, url=True)
    lambda_domain = url.removeprefix("https://").rstrip("/")
    url_id = lambda_domain.split(".")[0]
    rest_id, http_id = _rest_api(clients), _http_api(clients)
    dist_id = _distribution(clients, lambda_domain=lambda_domain, rest_id=rest_id, http_id=http_id)
    emu.calls.clear()

    inv = collect(clients)

    [dist] = inv.distributions
    reports = dist.origin("reports")
    assert (reports.kind, reports.lambda_url.url_id, reports.read_timeout) == (OriginKind.LAMBDA_URL, url_id, 30)
    assert dist.origin("orders-api").read_timeout == 10
    assert dist.custom_error_responses == (CustomErrorResponse(403, "/index.html", "200"),
                                           CustomErrorResponse(404, "/index.html", "200"))
    assert inv.function_urls == {("eu-west-1", url_id): FunctionUrl(url_id, "eu-west-1", "report-builder", 45)}
    rest = inv.api("us-east-1", rest_id)
    get, options = rest.resources[-1].methods
    assert (get.http_method, get.api_key_required, get.integration_type, get.integration_timeout_ms) == (
        "GET", True, "HTTP_PROXY", 29000)
    assert (options.http_method, options.integration_type) == ("OPTIONS", "HTTP_PROXY")
    assert rest.api_key_source == "HEADER"
    assert inv.api("eu-west-1", http_id).cors == CorsConfiguration(
        ("https://shop.example.com", "https://admin.example.com"), False)
    # One ListFunctions in the one region with a function URL origin; at most one ListFunctionUrlConfigs per function
    # (three functions), none once the URL is found; no Lambda call in us-east-1.
    lambda_calls = {op: n for (service, op), n in emu.calls.items() if service == "lambda"}
    assert lambda_calls["ListFunctions"] == 1
    assert 1 <= lambda_calls["ListFunctionUrlConfigs"] <= 3
    assert set(lambda_calls) == {"ListFunctions", "ListFunctionUrlConfigs"}

    found = sorted((f.rule, f.behavior, f.origin, f.fix.fix_class.value)
                   for f in engine.evaluate(dist, inv) if f.rule in NEW_RULES)
    assert found == [
        ("apigw-cors-preflight-cached", "/items*", "items-api", "auto"),
        ("apigw-cors-preflight-cached", "/orders*", "orders-api", "auto"),
        ("apigw-identity-header-dropped", "/orders*", "orders-api", "auto"),
        ("custom-error-masks-api", "/orders*", "orders-api", "manual"),
        ("lambda-url-host-forwarded", "/reports/*", "reports", "auto"),
        ("origin-timeout-short", "", "orders-api", "auto"),
        ("origin-timeout-short", "", "reports", "auto"),
    ]
    timeouts = {f.origin: f.fix.changes for f in engine.evaluate(dist, inv) if f.rule == "origin-timeout-short"}
    assert timeouts == {"orders-api": (SetOriginReadTimeout("orders-api", 29),),
                        "reports": (SetOriginReadTimeout("reports", 45),)}
    assert dist_id == dist.id


def test_the_auto_fixes_apply_on_the_emulator_and_leave_a_valid_config(emu):
    from edgemedic.plan import build_plan
    from edgemedic.validate import validate_config

    clients = emu.clients()
    url = _function_url(clients, "eu-west-1", "report-builder", 45)
    rest_id, http_id = _rest_api(clients), _http_api(clients)
    dist_id = _distribution(clients, lambda_domain=url.removeprefix("https://").rstrip("/"), rest_id=rest_id,
                            http_id=http_id)
    inv = collect(clients)
    [dist] = inv.distributions
    plan = build_plan(dist, engine.evaluate(dist, inv))
    assert validate_config(plan.new_config, original=plan.base_config) == []
    assert "origin reports: OriginReadTimeout 30 s -> 45 s" in plan.summary
    assert "origin orders-api: OriginReadTimeout 10 s -> 29 s" in plan.summary
    assert "/orders* cached methods: GET,HEAD,OPTIONS -> GET,HEAD" in plan.summary
    cloudfront = clients.cloudfront()
    cloudfront.update_distribution(Id=dist_id, IfMatch=plan.etag, DistributionConfig=plan.new_config)

    after = collect(clients)
    left = sorted((f.rule, f.origin) for f in engine.evaluate(after.distributions[0], after) if f.rule in NEW_RULES)
    assert left == [("custom-error-masks-api", "orders-api")]  # manual: a ticket, never applied


def test_no_function_url_origin_means_no_lambda_call(emu):
    clients = emu.clients()
    _function_url(clients, "eu-west-1", "report-builder", 45)
    rest_id, http_id = _rest_api(clients), _http_api(clients)
    config = {"CallerReference": "plain", "Comment": "", "Enabled": True,
              "Origins": {"Quantity": 1, "Items": [custom_origin("orders-api",
                                                                 f"{rest_id}.execute-api.us-east-1.amazonaws.com",
                                                                 path="/prod")]},
              "DefaultCacheBehavior": policy_behavior("orders-api", orp=policies.ALL_VIEWER_EXCEPT_HOST_HEADER)}
    clients.cloudfront().create_distribution(DistributionConfig=config)
    emu.calls.clear()
    inv = collect(clients)
    assert not [key for key in emu.calls if key[0] == "lambda"]
    assert inv.function_urls == {}


def test_a_function_url_of_another_account_is_a_note_never_a_finding(emu):
    clients = emu.clients()
    _function_url(clients, "eu-west-1", "report-builder", 45)
    rest_id, http_id = _rest_api(clients), _http_api(clients)
    foreign = "0123456789abcdef0123456789abcdef.lambda-url.eu-west-1.on.aws"
    _distribution(clients, lambda_domain=foreign, rest_id=rest_id, http_id=http_id)
    inv = collect(clients)
    [dist] = inv.distributions
    why = inv.why_unreadable(function_url_key("eu-west-1", "0123456789abcdef0123456789abcdef"))
    assert why.reason.startswith("no Lambda function in this account and region has this URL")
    assert any("0123456789abcdef0123456789abcdef" in w for w in inv.warnings)
    timeouts = [f.origin for f in engine.evaluate(dist, inv) if f.rule == "origin-timeout-short"]
    assert timeouts == ["orders-api"]  # the function URL's timeout is unknown: no finding about it
    hosts = [f.origin for f in engine.evaluate(dist, inv) if f.rule == "lambda-url-host-forwarded"]
    assert hosts == ["reports"]  # the domain alone says it: no read needed
