"""collect() on moto through the Emulator (moto lacks CloudFront's policy APIs and ETags: the emulator adds them).

One realistic account: a REST API (``{proxy+}``, query parameters, AWS_IAM and COGNITO authorizers), an HTTP API
(``$default`` stage and route, a JWT route), a WebSocket API, a regional custom domain with base path mappings, an ALB
with an HTTPS listener and an ACM certificate aliased in Route 53, and a distribution with managed, custom and legacy
behaviors. The assertions are on the exact model built.
"""
from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edgemedic import policies
from edgemedic.collect import collect, reread_distribution
from edgemedic.errors import AccessError, ThrottledError
from edgemedic.model import (
    CLOUDFRONT_FUNCTION,
    Api,
    ApiMapping,
    ApiMethod,
    ApiProtocol,
    ApiResource,
    ApiTarget,
    Authorizer,
    Behavior,
    CachePolicy,
    Certificate,
    CorsConfiguration,
    CustomDomain,
    EdgeFunction,
    EndpointType,
    LegacySettings,
    LoadBalancer,
    Origin,
    OriginKind,
    OriginRequestPolicy,
    Unreadable,
    api_key,
)

REGION = "eu-west-1"
ALL = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"})
GET_HEAD = frozenset({"GET", "HEAD"})


def _certificate_pem() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app.example.com")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(datetime.datetime(2025, 1, 1))
            .not_valid_after(datetime.datetime(2030, 1, 1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("app.example.com"),
                                                        x509.DNSName("www.example.com")]), False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def build_rest_api(clients) -> dict:
    apigw = clients.apigateway(REGION)
    api = apigw.create_rest_api(name="shop", endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    pool = clients.client("cognito-idp", REGION).create_user_pool(PoolName="shoppers")["UserPool"]["Arn"]
    cognito = apigw.create_authorizer(restApiId=api, name="shoppers", type="COGNITO_USER_POOLS", providerARNs=[pool],
                                      identitySource="method.request.header.Authorization")["id"]
    users = apigw.create_resource(restApiId=api, parentId=root, pathPart="users")["id"]
    proxy = apigw.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="AWS_IAM")
    apigw.put_method(restApiId=api, resourceId=users, httpMethod="GET", authorizationType="NONE",
                     apiKeyRequired=True, requestParameters={"method.request.querystring.limit": False,
                                                             "method.request.querystring.cursor": False,
                                                             "method.request.header.X-Trace": False})
    apigw.put_method(restApiId=api, resourceId=users, httpMethod="POST", authorizationType="AWS_IAM")
    apigw.put_method(restApiId=api, resourceId=proxy, httpMethod="ANY", authorizationType="COGNITO_USER_POOLS",
                     authorizerId=cognito)
    for resource, verb in ((root, "GET"), (users, "GET"), (users, "POST"), (proxy, "ANY")):
        apigw.put_integration(restApiId=api, resourceId=resource, httpMethod=verb, type="MOCK")
    apigw.create_deployment(restApiId=api, stageName="prod")
    return {"id": api, "cognito": cognito}


def build_http_api(clients) -> dict:
    v2 = clients.apigatewayv2(REGION)
    api = v2.create_api(Name="catalog", ProtocolType="HTTP", CorsConfiguration={"AllowOrigins": ["https://example.com"]})
    jwt = v2.create_authorizer(ApiId=api["ApiId"], AuthorizerType="JWT", Name="jwt",
                               IdentitySource=["$request.header.Authorization"],
                               JwtConfiguration={"Audience": ["catalog"], "Issuer": "https://issuer.example.com"})
    v2.create_route(ApiId=api["ApiId"], RouteKey="$default")
    v2.create_route(ApiId=api["ApiId"], RouteKey="GET /items/{id}", AuthorizationType="JWT",
                    AuthorizerId=jwt["AuthorizerId"])
    v2.create_route(ApiId=api["ApiId"], RouteKey="POST /items", AuthorizationType="JWT",
                    AuthorizerId=jwt["AuthorizerId"])
    v2.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    return {"id": api["ApiId"], "jwt": jwt["AuthorizerId"]}


def build_websocket_api(clients) -> dict:
    v2 = clients.apigatewayv2(REGION)
    api = v2.create_api(Name="chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")
    v2.create_route(ApiId=api["ApiId"], RouteKey="$connect", AuthorizationType="AWS_IAM")
    v2.create_route(ApiId=api["ApiId"], RouteKey="$default")
    v2.create_stage(ApiId=api["ApiId"], StageName="production")
    return {"id": api["ApiId"]}


def build_custom_domain(clients, rest_api: str) -> dict:
    apigw = clients.apigateway(REGION)
    cert = clients.acm(REGION).request_certificate(DomainName="api.example.com")["CertificateArn"]
    domain = apigw.create_domain_name(domainName="api.example.com", regionalCertificateArn=cert,
                                      endpointConfiguration={"types": ["REGIONAL"]}, securityPolicy="TLS_1_2")
    apigw.create_base_path_mapping(domainName="api.example.com", restApiId=rest_api, stage="prod")
    apigw.create_base_path_mapping(domainName="api.example.com", restApiId=rest_api, basePath="v1")
    return {"target": domain["regionalDomainName"], "certificate": cert}


def build_load_balancer(clients) -> dict:
    pem, key = _certificate_pem()
    cert = clients.acm(REGION).import_certificate(Certificate=pem, PrivateKey=key)["CertificateArn"]
    ec2 = clients.client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")
               ["Subnet"]["SubnetId"] for i, zone in ((1, "a"), (2, "b"))]
    elbv2 = clients.elbv2(REGION)
    lb = elbv2.create_load_balancer(Name="app", Subnets=subnets, Scheme="internet-facing")["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="app", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    forward = [{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}]
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=443,
                          Certificates=[{"CertificateArn": cert}], DefaultActions=forward)
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=forward)
    route53 = clients.route53()
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="zone")["HostedZone"]["Id"]
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE",
        "ResourceRecordSet": {"Name": "app.example.com", "Type": "A", "AliasTarget": {
            "HostedZoneId": lb["CanonicalHostedZoneId"], "DNSName": f"dualstack.{lb['DNSName']}",
            "EvaluateTargetHealth": False}}}]})
    return {"arn": lb["LoadBalancerArn"], "dns": lb["DNSName"], "certificate": cert}


HOST_CACHE_POLICY = {
    "Name": "api-host-key", "Comment": "", "MinTTL": 0, "DefaultTTL": 0, "MaxTTL": 1,
    "ParametersInCacheKeyAndForwardedToOrigin": {
        "EnableAcceptEncodingGzip": False,
        "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": {"Quantity": 2, "Items": ["Host", "Authorization"]}},
        "CookiesConfig": {"CookieBehavior": "none"},
        "QueryStringsConfig": {"QueryStringBehavior": "whitelist", "QueryStrings": {"Quantity": 1, "Items": ["id"]}},
    },
}
VERSION_ORP = {
    "Name": "api-version", "Comment": "",
    "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": {"Quantity": 1, "Items": ["X-Api-Version"]}},
    "CookiesConfig": {"CookieBehavior": "none"}, "QueryStringsConfig": {"QueryStringBehavior": "all"},
}


@pytest.fixture
def world(emu, cf):
    clients = emu.clients()
    rest, http, ws = build_rest_api(clients), build_http_api(clients), build_websocket_api(clients)
    domain = build_custom_domain(clients, rest["id"])
    lb = build_load_balancer(clients)
    cache_id = emu.create_cache_policy(HOST_CACHE_POLICY)
    orp_id = emu.create_origin_request_policy(VERSION_ORP)
    origins = [
        cf.custom_origin("rest", f"{rest['id']}.execute-api.{REGION}.amazonaws.com", path="/prod"),
        cf.custom_origin("http", f"{http['id']}.execute-api.{REGION}.amazonaws.com"),
        cf.custom_origin("ws", f"{ws['id']}.execute-api.{REGION}.amazonaws.com", path="/production"),
        cf.custom_origin("domain", "api.example.com"),
        cf.custom_origin("target", domain["target"], protocol="match-viewer", ssl=("TLSv1", "TLSv1.2")),
        cf.custom_origin("alb", lb["dns"]),
        cf.s3_origin("site", "shop-site"),
    ]
    behaviors = [
        cf.policy_behavior("rest", "/api/*", orp=policies.ALL_VIEWER_EXCEPT_HOST_HEADER),
        cf.policy_behavior("http", "/items/*", cache=cache_id, orp=orp_id, allowed=("GET", "HEAD", "OPTIONS")),
        cf.legacy_behavior("ws", "/ws", headers=("Sec-WebSocket-Key", "Sec-WebSocket-Version")),
        cf.legacy_behavior("domain", "/v1/*", headers=("Host", "Authorization"), query_string=True,
                           ttls={"MinTTL": 0, "DefaultTTL": 0, "MaxTTL": 0}, allowed=tuple(sorted(ALL))),
        cf.policy_behavior("target", "/regional/*", orp=policies.ALL_VIEWER),
        cf.policy_behavior("alb", "/app/*", cache=policies.CACHING_OPTIMIZED, allowed=("GET", "HEAD")),
    ]
    default = cf.policy_behavior("site", cache=policies.CACHING_OPTIMIZED, allowed=("GET", "HEAD"))
    default["FunctionAssociations"] = {"Quantity": 1, "Items": [
        {"FunctionARN": "arn:aws:cloudfront::123456789012:function/index", "EventType": "viewer-request"}]}
    dist = cf.create_distribution(clients.cloudfront(), cf.distribution_config(
        "shop", origins, default, behaviors, aliases=("shop.example.com",)))
    emu.calls.clear()
    return {"clients": clients, "rest": rest, "http": http, "ws": ws, "domain": domain, "lb": lb,
            "cache_id": cache_id, "orp_id": orp_id, "dist": dist}


def test_collect_builds_the_exact_model(world, emu):
    inv = collect(world["clients"], regions=[REGION])
    rest, http, ws, lb = world["rest"]["id"], world["http"]["id"], world["ws"]["id"], world["lb"]
    assert inv.warnings == ()
    assert inv.unreadable == {}
    (dist,) = inv.distributions
    assert dist.id == world["dist"]
    assert dist.aliases == ("shop.example.com",)
    assert dist.etag == emu.etag(world["dist"])
    assert dist.config["Comment"] == "shop"

    assert dist.origins == (
        Origin("rest", f"{rest}.execute-api.{REGION}.amazonaws.com", "/prod", OriginKind.API_GATEWAY, "https-only",
               ("TLSv1.2",), api=ApiTarget("execute-api", REGION, api_id=rest)),
        Origin("http", f"{http}.execute-api.{REGION}.amazonaws.com", "", OriginKind.API_GATEWAY, "https-only",
               ("TLSv1.2",), api=ApiTarget("execute-api", REGION, api_id=http)),
        Origin("ws", f"{ws}.execute-api.{REGION}.amazonaws.com", "/production", OriginKind.API_GATEWAY,
               "https-only", ("TLSv1.2",), api=ApiTarget("execute-api", REGION, api_id=ws)),
        Origin("domain", "api.example.com", "", OriginKind.API_GATEWAY, "https-only", ("TLSv1.2",),
               api=ApiTarget("custom-domain", REGION, domain_name="api.example.com")),
        Origin("target", world["domain"]["target"], "", OriginKind.API_GATEWAY, "match-viewer",
               ("TLSv1", "TLSv1.2"), api=ApiTarget("custom-domain", REGION, domain_name="api.example.com")),
        Origin("alb", lb["dns"], "", OriginKind.LOAD_BALANCER, "https-only", ("TLSv1.2",)),
        Origin("site", "shop-site.s3.amazonaws.com", "", OriginKind.S3),
    )

    custom_cache = CachePolicy(world["cache_id"], "api-host-key", False, 0, 0, 1, "whitelist",
                               frozenset({"host", "authorization"}), "none", "whitelist", frozenset({"id"}))
    custom_orp = OriginRequestPolicy(world["orp_id"], "api-version", False, "whitelist", frozenset({"x-api-version"}),
                                     "none", "all")
    managed = policies.MANAGED_CACHE_POLICIES
    assert dist.behaviors == (
        Behavior("/api/*", False, "rest", "redirect-to-https", ALL, GET_HEAD, policies.CACHING_DISABLED,
                 policies.ALL_VIEWER_EXCEPT_HOST_HEADER, cache_policy=managed[policies.CACHING_DISABLED],
                 origin_request_policy=policies.MANAGED_ORIGIN_REQUEST_POLICIES[policies.ALL_VIEWER_EXCEPT_HOST_HEADER]),
        Behavior("/items/*", False, "http", "redirect-to-https", frozenset({"GET", "HEAD", "OPTIONS"}), GET_HEAD,
                 world["cache_id"], world["orp_id"], cache_policy=custom_cache, origin_request_policy=custom_orp),
        Behavior("/ws", False, "ws", "https-only", GET_HEAD, GET_HEAD,
                 legacy=LegacySettings(("sec-websocket-key", "sec-websocket-version"), False, (), "none",
                                       0, 86400, 31536000)),
        Behavior("/v1/*", False, "domain", "https-only", ALL, GET_HEAD,
                 legacy=LegacySettings(("host", "authorization"), True, (), "none", 0, 0, 0)),
        Behavior("/regional/*", False, "target", "redirect-to-https", ALL, GET_HEAD, policies.CACHING_DISABLED,
                 policies.ALL_VIEWER, cache_policy=managed[policies.CACHING_DISABLED],
                 origin_request_policy=policies.MANAGED_ORIGIN_REQUEST_POLICIES[policies.ALL_VIEWER]),
        Behavior("/app/*", False, "alb", "redirect-to-https", GET_HEAD, GET_HEAD, policies.CACHING_OPTIMIZED,
                 cache_policy=managed[policies.CACHING_OPTIMIZED]),
        Behavior("*", True, "site", "redirect-to-https", GET_HEAD, GET_HEAD, policies.CACHING_OPTIMIZED,
                 cache_policy=managed[policies.CACHING_OPTIMIZED], function_events=("viewer-request",),
                 edge_functions=(EdgeFunction("viewer-request", CLOUDFRONT_FUNCTION,
                                              "arn:aws:cloudfront::123456789012:function/index"),)),
    )

    MOCK = {"integration_type": "MOCK", "integration_timeout_ms": 29000}
    assert inv.apis[(REGION, rest)] == Api(
        rest, "shop", REGION, ApiProtocol.REST, EndpointType.REGIONAL, False, ("prod",),
        (
            # MOCK integrations, read from GetResources(embed=methods); timeoutInMillis absent: API Gateway's 29000.
            ApiResource("/", (ApiMethod("GET", "AWS_IAM", **MOCK),)),
            ApiResource("/users", (ApiMethod("GET", "NONE", None, True, ("cursor", "limit"), **MOCK),
                                   ApiMethod("POST", "AWS_IAM", **MOCK))),
            ApiResource("/{proxy+}", (ApiMethod("ANY", "COGNITO_USER_POOLS", world["rest"]["cognito"], **MOCK),)),
        ),
        (Authorizer(world["rest"]["cognito"], "shoppers", "COGNITO_USER_POOLS",
                    ("method.request.header.Authorization",)),),
    )
    jwt = world["http"]["jwt"]
    assert inv.apis[(REGION, http)] == Api(
        http, "catalog", REGION, ApiProtocol.HTTP, EndpointType.REGIONAL, False, ("$default",),
        (
            ApiResource("/items", (ApiMethod("POST", "JWT", jwt, route_key="POST /items"),)),
            ApiResource("/items/{id}", (ApiMethod("GET", "JWT", jwt, route_key="GET /items/{id}"),)),
        ),
        (Authorizer(jwt, "jwt", "JWT", ("$request.header.Authorization",)),),
        default_route=ApiMethod("ANY", "NONE", route_key="$default"),
        cors_configured=True,
        cors=CorsConfiguration(("https://example.com",), False),
    )
    assert inv.apis[(REGION, ws)] == Api(
        ws, "chat", REGION, ApiProtocol.WEBSOCKET, EndpointType.REGIONAL, False, ("production",),
        (ApiResource("/", (ApiMethod("GET", "AWS_IAM", route_key="$connect"),
                           ApiMethod("GET", "NONE", route_key="$default"))),),
    )
    assert set(inv.apis) == {(REGION, rest), (REGION, http), (REGION, ws)}

    assert inv.custom_domains == {"api.example.com": CustomDomain(
        "api.example.com", REGION, EndpointType.REGIONAL, world["domain"]["target"],
        inv.custom_domains["api.example.com"].distribution_domain_name, world["domain"]["certificate"], "TLS_1_2",
        (ApiMapping("", rest, "prod"), ApiMapping("v1", rest, None)))}

    assert inv.load_balancers == {lb["dns"]: LoadBalancer(lb["arn"], lb["dns"], "internet-facing",
                                                          (lb["certificate"],), ("app.example.com",))}
    assert inv.certificates == {lb["certificate"]: Certificate(
        lb["certificate"], ("app.example.com", "www.example.com"), "ISSUED", "2030-01-01T00:00:00+00:00")}
    assert inv.probes == {}


def test_each_api_and_policy_is_read_once_for_three_distributions(world, emu, cf):
    clients = world["clients"]
    rest = world["rest"]["id"]
    for n in range(3):
        cf.create_distribution(clients.cloudfront(), cf.distribution_config(
            f"extra-{n}",
            [cf.custom_origin("rest", f"{rest}.execute-api.{REGION}.amazonaws.com", path="/prod")],
            cf.policy_behavior("rest", cache=world["cache_id"], orp=policies.ALL_VIEWER_EXCEPT_HOST_HEADER)))
    emu.calls.clear()

    inv = collect(clients, regions=[REGION])

    assert len(inv.distributions) == 4
    calls = emu.calls
    assert calls[("cloudfront", "ListDistributions")] == 1
    assert calls[("cloudfront", "GetDistributionConfig")] == 4
    # Custom policies: once per run; managed ones never.
    assert calls[("cloudfront", "GetCachePolicy")] == 1
    assert calls[("cloudfront", "GetOriginRequestPolicy")] == 1
    for operation in ("GetStages", "GetResources", "GetAuthorizers"):
        assert calls[("apigateway", operation)] == 1, operation
    # The APIs are listed once per region (the listing says which kind each is): no API is got by id, and no
    # HTTP or WebSocket API is first tried as a REST API.
    assert calls[("apigateway", "GetRestApis")] == 1
    assert calls[("apigatewayv2", "GetApis")] == 1
    assert calls[("apigateway", "GetRestApi")] == 0
    assert calls[("apigatewayv2", "GetApi")] == 0
    assert calls[("apigatewayv2", "GetRoutes")] == 2
    assert calls[("apigatewayv2", "GetAuthorizer")] == 1
    # Custom domains: the region asked for, and the configured region (us-east-1 here), once each.
    assert calls[("apigateway", "GetDomainNames")] == 2
    assert calls[("apigateway", "GetBasePathMappings")] == 1
    assert calls[("elbv2", "DescribeLoadBalancers")] == 1
    assert calls[("acm", "DescribeCertificate")] == 1


def test_distribution_ids_limit_the_scan(world, emu, cf):
    clients = world["clients"]
    other = cf.create_distribution(clients.cloudfront(), cf.distribution_config(
        "other", [cf.s3_origin("site", "other")], cf.policy_behavior("site")))
    emu.calls.clear()
    inv = collect(clients, distribution_ids=[other])
    assert [d.id for d in inv.distributions] == [other]
    assert emu.calls[("cloudfront", "ListDistributions")] == 0
    assert emu.calls[("cloudfront", "GetDistribution")] == 1
    assert inv.apis == {}


def test_deleted_api_is_unreadable_with_a_warning(emu, cf):
    clients = emu.clients()
    gone = clients.apigateway(REGION).create_rest_api(name="gone")["id"]
    clients.apigateway(REGION).delete_rest_api(restApiId=gone)
    cf.create_distribution(clients.cloudfront(), cf.distribution_config(
        "deleted", [cf.custom_origin("api", f"{gone}.execute-api.{REGION}.amazonaws.com", path="/prod")],
        cf.policy_behavior("api")))

    inv = collect(clients)

    assert inv.apis == {}
    assert inv.unreadable == {api_key(REGION, gone): Unreadable(
        f"API {gone} in {REGION}",
        "NotFoundException: no REST, HTTP or WebSocket API has this id "
        "(deleted, or never existed in this account and region)", gone=True)}  # AWS's own "not found"
    assert inv.warnings == (f"API {gone} in {REGION} could not be read: " + inv.unreadable[api_key(REGION, gone)].reason,)


def test_access_denied_on_one_api_does_not_stop_the_scan(world, emu):
    """AccessDenied is injected with a botocore hook (moto has no IAM enforcement by default)."""
    clients = world["clients"]
    denied = world["rest"]["id"]

    def deny(params, **kwargs):
        if f"/restapis/{denied}" in params["url_path"]:
            from botocore.awsrequest import AWSResponse
            return AWSResponse("https://apigateway", 403, {}, None), {
                "Error": {"Code": "AccessDeniedException", "Message": "User is not authorized to perform: apigateway:GET"},
                "ResponseMetadata": {"HTTPStatusCode": 403}}
        return None

    clients.apigateway(REGION).meta.events.register("before-call.api-gateway", deny)
    inv = collect(clients, regions=[REGION])

    assert (REGION, denied) not in inv.apis
    assert inv.unreadable[api_key(REGION, denied)] == Unreadable(
        f"REST API {denied} in {REGION}", "AccessDeniedException: User is not authorized to perform: apigateway:GET")
    assert (REGION, world["http"]["id"]) in inv.apis and (REGION, world["ws"]["id"]) in inv.apis
    assert any(w.startswith(f"API {denied} in {REGION} could not be read: AccessDeniedException") for w in inv.warnings)
    assert len(inv.distributions) == 1


def test_list_distributions_access_denied_names_the_permission(emu):
    clients = emu.clients()

    def deny(**kwargs):
        from botocore.awsrequest import AWSResponse
        return AWSResponse("https://cloudfront", 403, {}, None), {
            "Error": {"Code": "AccessDenied", "Message": "User is not authorized to perform: cloudfront:ListDistributions"},
            "ResponseMetadata": {"HTTPStatusCode": 403}}

    clients.cloudfront().meta.events.register("before-call.cloudfront.ListDistributions", deny)
    with pytest.raises(AccessError, match="Grant cloudfront:ListDistributions"):
        collect(clients)


def test_throttling_left_after_retries_is_a_throttled_error(emu):
    clients = emu.clients(max_attempts=1)
    emu.throttle("ListDistributions", 2)
    with pytest.raises(ThrottledError, match="ListDistributions"):
        collect(clients)


def test_reread_distribution_sees_a_concurrent_edit(world, emu):
    inv = collect(world["clients"], regions=[REGION])
    etag = emu.human_edit(world["dist"], lambda config: config["CacheBehaviors"]["Items"][0].update(
        OriginRequestPolicyId=policies.ALL_VIEWER))

    dist, config, new_etag = reread_distribution(world["clients"], inv, world["dist"])

    assert new_etag == etag == dist.etag != inv.distributions[0].etag
    assert dist.behavior("/api/*").origin_request_policy == policies.MANAGED_ORIGIN_REQUEST_POLICIES[policies.ALL_VIEWER]
    assert config["CacheBehaviors"]["Items"][0]["OriginRequestPolicyId"] == policies.ALL_VIEWER
    assert dist.origin("domain").api == ApiTarget("custom-domain", REGION, domain_name="api.example.com")


def test_custom_domains_seen_through_v1_and_v2_are_merged_by_name(world, emu, cf):
    """On AWS a custom domain is one resource that both APIs list; moto keeps two stores, so the domain is created in
    both here (moto's v2 cannot map a REST API, so the v2 side adds only the HTTP API's mapping). The domain appears once
with the mappings of both; a v2-only domain maps the HTTP API."""
    clients = world["clients"]
    v2 = clients.apigatewayv2(REGION)
    rest, http = world["rest"]["id"], world["http"]["id"]
    certificate = world["domain"]["certificate"]
    v2.create_domain_name(DomainName="api.example.com", DomainNameConfigurations=[
        {"CertificateArn": certificate, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}])
    v2.create_api_mapping(DomainName="api.example.com", ApiId=http, Stage="$default", ApiMappingKey="catalog")
    v2.create_domain_name(DomainName="http.example.com", DomainNameConfigurations=[
        {"CertificateArn": certificate, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}])
    v2.create_api_mapping(DomainName="http.example.com", ApiId=http, Stage="$default", ApiMappingKey="")

    inv = collect(clients, regions=[REGION])

    assert sorted(inv.custom_domains) == ["api.example.com", "http.example.com"]
    assert inv.custom_domains["api.example.com"].mappings == (
        ApiMapping("", rest, "prod"), ApiMapping("catalog", http, "$default"), ApiMapping("v1", rest, None))
    assert inv.custom_domains["api.example.com"].regional_domain_name == world["domain"]["target"]
    assert inv.custom_domains["http.example.com"].mappings == (ApiMapping("", http, "$default"),)
    assert inv.custom_domains["http.example.com"].endpoint_type is EndpointType.REGIONAL
