"""The seed stories: real-shaped broken (and one healthy) setups, built with the same boto3 calls a person would make.

    with Emulator() as emu:
        ids = scenarios.build(emu.clients())      # {"forbidden": "E2ABC...", ...}

Used by ``edgemedic demo``, the end-to-end tests, the SAM handler tests and the benchmark. Every resource is created
through its service's API (API Gateway, API Gateway v2, EC2, ELBv2, ACM, Route 53, CloudFront), so API ids, load
balancer names and distribution ids come from the emulator, never from this file.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from . import policies
from .aws import Clients
from .model import ALL_METHODS, GET_HEAD


US_EAST_1 = "us-east-1"
EU_WEST_1 = "eu-west-1"


@dataclass(frozen=True)
class Story:
    """One seed story: what the person saw, and how to build the setup that causes it."""

    name: str  # stable key, e.g. "forbidden"
    title: str  # "Story 1: the API answers 403 Forbidden through CloudFront but works directly"
    tale: str  # two or three sentences a new user understands
    build: Callable[["_Builder"], str]  # -> distribution id


# --------------------------------------------------------------------------------------------- config shapes


def _items(values: Sequence[Any]) -> dict[str, Any]:
    return {"Quantity": len(values), "Items": list(values)} if values else {"Quantity": 0}


def custom_origin(origin_id: str, domain: str, *, path: str = "") -> dict[str, Any]:
    """A custom origin as the console creates one for API Gateway or a load balancer (HTTPS only, TLS 1.2)."""
    return {
        "Id": origin_id,
        "DomainName": domain,
        "OriginPath": path,
        "CustomHeaders": {"Quantity": 0},
        "CustomOriginConfig": {
            "HTTPPort": 80,
            "HTTPSPort": 443,
            "OriginProtocolPolicy": "https-only",
            "OriginSslProtocols": _items(["TLSv1.2"]),
            "OriginReadTimeout": 30,
            "OriginKeepaliveTimeout": 5,
        },
        "ConnectionAttempts": 3,
        "ConnectionTimeout": 10,
    }


def s3_origin(origin_id: str, bucket: str) -> dict[str, Any]:
    # The bucket itself is not created: CloudFront does not check it and edgemedic never reads S3.
    return {
        "Id": origin_id,
        "DomainName": f"{bucket}.s3.amazonaws.com",
        "OriginPath": "",
        "CustomHeaders": {"Quantity": 0},
        "S3OriginConfig": {"OriginAccessIdentity": ""},
        "ConnectionAttempts": 3,
        "ConnectionTimeout": 10,
    }


def behavior(
    pattern: str | None,
    origin_id: str,
    *,
    cache: str = policies.CACHING_DISABLED,
    orp: str | None = None,
    methods: Sequence[str] = ALL_METHODS,
    viewer: str = "redirect-to-https",
) -> dict[str, Any]:
    """A behavior with policies (``pattern=None`` for the default behavior)."""
    shape: dict[str, Any] = {
        "TargetOriginId": origin_id,
        "ViewerProtocolPolicy": viewer,
        "AllowedMethods": {**_items(list(methods)), "CachedMethods": _items(list(GET_HEAD))},
        "SmoothStreaming": False,
        "Compress": True,
        "CachePolicyId": cache,
    }
    if orp:
        shape["OriginRequestPolicyId"] = orp
    if pattern is not None:
        shape["PathPattern"] = pattern
    return shape


def legacy_behavior(pattern: str | None, origin_id: str, *, methods: Sequence[str] = GET_HEAD,
                    viewer: str = "redirect-to-https") -> dict[str, Any]:
    """A behavior from before cache policies: ForwardedValues and TTLs.

    The TTLs are what CloudFront stores when none are given (DefaultTTL 86400, MaxTTL 31536000), written out
    because that is what GetDistributionConfig returns for such a behavior.
    """
    shape: dict[str, Any] = {
        "TargetOriginId": origin_id,
        "ViewerProtocolPolicy": viewer,
        "AllowedMethods": {**_items(list(methods)), "CachedMethods": _items(list(GET_HEAD))},
        "SmoothStreaming": False,
        "Compress": False,
        "ForwardedValues": {
            "QueryString": False,
            "Cookies": {"Forward": "none"},
            "Headers": {"Quantity": 0},
            "QueryStringCacheKeys": {"Quantity": 0},
        },
        "MinTTL": 0,
        "DefaultTTL": 86400,
        "MaxTTL": 31536000,
    }
    if pattern is not None:
        shape["PathPattern"] = pattern
    return shape


def distribution_config(
    reference: str,
    comment: str,
    *,
    origins: Sequence[Mapping[str, Any]],
    default: Mapping[str, Any],
    behaviors: Sequence[Mapping[str, Any]] = (),
    aliases: Sequence[str] = (),
    certificate_arn: str | None = None,
) -> dict[str, Any]:
    viewer_certificate: dict[str, Any] = (
        {"ACMCertificateArn": certificate_arn, "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021",
         "CloudFrontDefaultCertificate": False}
        if certificate_arn
        else {"CloudFrontDefaultCertificate": True}
    )
    return {
        "CallerReference": reference,
        "Comment": comment,
        "Enabled": True,
        "Aliases": _items(list(aliases)),
        "Origins": _items(list(origins)),
        "DefaultCacheBehavior": dict(default),
        "CacheBehaviors": _items(list(behaviors)),
        "ViewerCertificate": viewer_certificate,
        "PriceClass": "PriceClass_100",
        "HttpVersion": "http2",
        "IsIPV6Enabled": True,
    }


# --------------------------------------------------------------------------------------------- resource builders


class _Builder:
    """Creates the resources of the stories through ``clients`` (one CA shared by the imported certificates)."""

    def __init__(self, clients: Clients):
        self.clients = clients
        self._ca: tuple[Any, Any] | None = None

    # -- API Gateway (REST)

    def rest_api(self, region: str, name: str, *, endpoint: str, stage: str,
                 resources: Mapping[str, Mapping[str, str]], api_key_required: bool = False) -> str:
        """Create a REST API; ``resources`` maps a path to {HTTP method: authorization type}; every method requires
        an API key (x-api-key) with ``api_key_required``. Returns its id."""
        apigw = self.clients.apigateway(region)
        api_id = apigw.create_rest_api(name=name, endpointConfiguration={"types": [endpoint]})["id"]
        ids = {"/": next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")}
        for path, methods in resources.items():
            parent = "/"
            for part in path.strip("/").split("/"):
                current = f"{parent.rstrip('/')}/{part}"
                if current not in ids:
                    ids[current] = apigw.create_resource(restApiId=api_id, parentId=ids[parent], pathPart=part)["id"]
                parent = current
            for http_method, authorization in methods.items():
                apigw.put_method(restApiId=api_id, resourceId=ids[path], httpMethod=http_method,
                                 authorizationType=authorization, apiKeyRequired=api_key_required)
                apigw.put_integration(restApiId=api_id, resourceId=ids[path], httpMethod=http_method, type="MOCK",
                                      requestTemplates={"application/json": '{"statusCode": 200}'})
        apigw.create_deployment(restApiId=api_id, stageName=stage, description="seed story")
        return api_id

    # -- API Gateway v2 (WebSocket)

    def websocket_api(self, region: str, name: str, *, stage: str) -> str:
        v2 = self.clients.apigatewayv2(region)
        api_id = v2.create_api(Name=name, ProtocolType="WEBSOCKET",
                               RouteSelectionExpression="$request.body.action")["ApiId"]
        integration = v2.create_integration(ApiId=api_id, IntegrationType="MOCK",
                                            RequestTemplates={"$default": '{"statusCode": 200}'},
                                            TemplateSelectionExpression="\\$default")["IntegrationId"]
        for route_key in ("$connect", "$disconnect", "sendmessage"):
            v2.create_route(ApiId=api_id, RouteKey=route_key, AuthorizationType="NONE",
                            Target=f"integrations/{integration}")
        # A real setup deploys before creating the stage; moto has no v2 CreateDeployment, and the stage name is
        # all edgemedic reads.
        v2.create_stage(ApiId=api_id, StageName=stage)
        return api_id

    # -- ACM

    def certificate(self, region: str, *names: str) -> str:
        """Import a certificate for ``names`` issued by a private test CA (ISSUED at once, unlike a requested one
        that waits for DNS validation). The emulator never serves it, so who signed it does not matter."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = _dt.datetime.now(_dt.timezone.utc)
        if self._ca is None:
            ca_key = ec.generate_private_key(ec.SECP256R1())
            ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edgemedic demo CA")])
            ca_cert = (
                x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - _dt.timedelta(days=1))
                .not_valid_after(now + _dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(ca_key, hashes.SHA256())
            )
            self._ca = (ca_key, ca_cert)
        ca_key, ca_cert = self._ca
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(days=1)).not_valid_after(now + _dt.timedelta(days=395))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        return self.clients.acm(region).import_certificate(
            Certificate=leaf.public_bytes(pem),
            PrivateKey=key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
            CertificateChain=ca_cert.public_bytes(pem),
        )["CertificateArn"]

    # -- ELBv2 + EC2

    def load_balancer(self, region: str, name: str, *, certificate_arn: str) -> tuple[str, str]:
        """An internet-facing ALB with an HTTPS listener. Returns (DNS name, canonical hosted zone id)."""
        ec2 = self.clients.client("ec2", region)
        vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=f"{region}{zone}")["Subnet"]
            ["SubnetId"]
            for i, zone in enumerate("ab")
        ]
        group = ec2.create_security_group(GroupName=f"{name}-web", Description="HTTPS from CloudFront",
                                          VpcId=vpc)["GroupId"]
        elbv2 = self.clients.elbv2(region)
        lb = elbv2.create_load_balancer(Name=name, Subnets=subnets, SecurityGroups=[group],
                                        Scheme="internet-facing", Type="application")["LoadBalancers"][0]
        target_group = elbv2.create_target_group(Name=f"{name}-app", Protocol="HTTP", Port=8080, VpcId=vpc,
                                                 TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=443,
                              Certificates=[{"CertificateArn": certificate_arn}],
                              SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}])
        return lb["DNSName"], lb["CanonicalHostedZoneId"]

    # -- Route 53

    def alias_record(self, zone: str, name: str, *, target_dns: str, target_zone: str) -> None:
        route53 = self.clients.route53()
        zone_id = route53.create_hosted_zone(Name=zone, CallerReference=f"edgemedic-{zone}")["HostedZone"]["Id"]
        route53.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                "Name": name, "Type": "A",
                "AliasTarget": {"HostedZoneId": target_zone, "DNSName": target_dns, "EvaluateTargetHealth": False},
            }}]},
        )

    # -- CloudFront

    def distribution(self, config: Mapping[str, Any]) -> str:
        return self.clients.cloudfront().create_distribution(DistributionConfig=dict(config))["Distribution"]["Id"]


def execute_api(api_id: str, region: str) -> str:
    return f"{api_id}.execute-api.{region}.amazonaws.com"


# --------------------------------------------------------------------------------------------- the stories


def _forbidden(b: _Builder) -> str:
    api = b.rest_api(EU_WEST_1, "users-api", endpoint="REGIONAL", stage="prod",
                     resources={"/users": {"GET": "NONE", "POST": "NONE"}})
    return b.distribution(distribution_config(
        "story-forbidden", "shop: web app and users API",
        origins=[s3_origin("site", "shop-web-assets"),
                 custom_origin("users-api", execute_api(api, EU_WEST_1), path="/prod")],
        behaviors=[behavior("/api/*", "users-api", orp=policies.ALL_VIEWER)],
        default=behavior(None, "site", cache=policies.CACHING_OPTIMIZED, methods=GET_HEAD),
    ))


def _iam_signature(b: _Builder) -> str:
    api = b.rest_api(US_EAST_1, "orders-api", endpoint="EDGE", stage="v1", resources={
        "/orders": {"GET": "AWS_IAM", "POST": "AWS_IAM"},
        "/orders/{id}": {"GET": "AWS_IAM"},
    })
    certificate = b.certificate(US_EAST_1, "orders.example.com")
    return b.distribution(distribution_config(
        "story-iam-signature", "orders: partner API signed with SigV4",
        origins=[s3_origin("docs", "orders-partner-docs"),
                 custom_origin("orders-api", execute_api(api, US_EAST_1), path="/v1")],
        behaviors=[behavior("/orders*", "orders-api")],
        default=behavior(None, "docs", cache=policies.CACHING_OPTIMIZED, methods=GET_HEAD),
        aliases=["orders.example.com"], certificate_arn=certificate,
    ))


def _get_only_cached(b: _Builder) -> str:
    api = b.rest_api(US_EAST_1, "cart-api", endpoint="REGIONAL", stage="prod",
                     resources={"/api/cart": {"GET": "NONE", "POST": "NONE"}})
    return b.distribution(distribution_config(
        "story-get-only-cached", "store: site, uploads and cart API (set up in 2019)",
        origins=[s3_origin("site", "store-site"), s3_origin("uploads", "store-user-uploads"),
                 custom_origin("cart-api", execute_api(api, US_EAST_1), path="/prod")],
        behaviors=[
            legacy_behavior("/api/*", "cart-api"),
            behavior("/assets/*", "site", cache=policies.CACHING_OPTIMIZED, methods=GET_HEAD),
            behavior("/assets/uploads/*", "uploads", cache=policies.CACHING_OPTIMIZED, methods=GET_HEAD),
        ],
        default=behavior(None, "site", cache=policies.CACHING_OPTIMIZED, methods=GET_HEAD),
    ))


def _websocket(b: _Builder) -> str:
    api = b.websocket_api(US_EAST_1, "chat", stage="production")
    return b.distribution(distribution_config(
        "story-websocket", "chat: web client and WebSocket API",
        origins=[s3_origin("web", "chat-web-client"),
                 custom_origin("chat-ws", execute_api(api, US_EAST_1), path="/production")],
        behaviors=[behavior("/ws", "chat-ws", cache=policies.CACHING_OPTIMIZED)],
        default=behavior(None, "web", cache=policies.CACHING_OPTIMIZED, methods=GET_HEAD),
    ))


def _alb_tls(b: _Builder) -> str:
    certificate = b.certificate(US_EAST_1, "app.example.com")
    dns_name, zone_id = b.load_balancer(US_EAST_1, "shop-web", certificate_arn=certificate)
    b.alias_record("example.com", "app.example.com", target_dns=dns_name, target_zone=zone_id)
    viewer_certificate = b.certificate(US_EAST_1, "www.example.com")
    return b.distribution(distribution_config(
        "story-alb-tls", "www: server-rendered shop on an ALB",
        origins=[custom_origin("shop-web-alb", dns_name)],
        default=behavior(None, "shop-web-alb", orp=policies.ALL_VIEWER_EXCEPT_HOST_HEADER),
        aliases=["www.example.com"], certificate_arn=viewer_certificate,
    ))


def _spa_fallback(b: _Builder) -> str:
    api = b.rest_api(EU_WEST_1, "account-api", endpoint="REGIONAL", stage="prod",
                     resources={"/api/account": {"GET": "NONE", "PUT": "NONE"}}, api_key_required=True)
    config = distribution_config(
        "story-spa-fallback", "app: single-page app and account API",
        origins=[s3_origin("app", "account-app"), custom_origin("account-api", execute_api(api, EU_WEST_1),
                                                                path="/prod")],
        # The API behavior copied from the S3 one: CORS-S3Origin forwards only the CORS headers, not x-api-key.
        behaviors=[behavior("/api/*", "account-api", orp=policies.CORS_S3_ORIGIN)],
        default=behavior(None, "app", cache=policies.CACHING_OPTIMIZED, methods=GET_HEAD),
    )
    # The SPA fallback every single-page-app tutorial adds: deep links answer index.html.
    config["CustomErrorResponses"] = _items([
        {"ErrorCode": code, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10}
        for code in (403, 404)])
    return b.distribution(config)


def _clean(b: _Builder) -> str:
    api = b.rest_api(EU_WEST_1, "catalog-api", endpoint="REGIONAL", stage="prod", resources={
        "/api/health": {"GET": "NONE"},
        "/api/items": {"GET": "NONE", "POST": "NONE"},
        "/api/items/{id}": {"GET": "NONE", "PUT": "NONE", "DELETE": "NONE"},
    })
    return b.distribution(distribution_config(
        "story-clean", "catalog: done right",
        origins=[s3_origin("site", "catalog-site"),
                 custom_origin("catalog-api", execute_api(api, EU_WEST_1), path="/prod")],
        behaviors=[behavior("/api/*", "catalog-api", orp=policies.ALL_VIEWER_EXCEPT_HOST_HEADER)],
        default=behavior(None, "site", cache=policies.CACHING_OPTIMIZED, methods=GET_HEAD),
    ))


STORIES: tuple[Story, ...] = (
    Story("forbidden", "Story 1: the API answers 403 Forbidden through CloudFront but works directly",
          "The users API works with curl on its execute-api URL. Through the shop's CloudFront domain every call "
          "under /api/ answers 403 {\"message\":\"Forbidden\"}, and once that is fixed, "
          "403 Missing Authentication Token.", _forbidden),
    Story("iam-signature", "Story 2: signed GET requests fail while signed POSTs work",
          "Partners sign their calls to orders.example.com with SigV4. POST /orders works; GET /orders answers "
          "403 Missing Authentication Token, and the signature never matches anyway.", _iam_signature),
    Story("get-only-cached", "Story 3: adding to the cart fails and the cart shows yesterday's items",
          "POST /api/cart gets CloudFront's 403 \"not configured to allow the HTTP request method\", GET /api/cart "
          "shows what some other visitor had a day ago, and uploaded pictures answer NoSuchKey.", _get_only_cached),
    Story("websocket", "Story 4: the chat client never connects",
          "The WebSocket API works on its wss:// URL. Through CloudFront, ws:// clients get a 301 and wss:// "
          "clients a failed handshake.", _websocket),
    Story("alb-tls", "Story 5: the shop behind a load balancer answers 502 Bad Gateway",
          "The load balancer's HTTPS listener has a certificate for app.example.com. CloudFront connects to the "
          "load balancer's own DNS name and every request ends in 502.", _alb_tls),
    Story("spa-fallback", "Story 6: every API call answers 200 with the app's index.html",
          "The account API works with curl and its API key. From the single-page app, every call under /api/ "
          "gets 200 with index.html (\"Unexpected token <\" in the JSON parser): CloudFront drops x-api-key, the "
          "API answers 403, and the app's SPA fallback turns that 403 into index.html.", _spa_fallback),
    Story("clean", "And one distribution that is set up right",
          "A REST API behind /api/* with CachingDisabled, AllViewerExceptHostHeader, all methods and resources "
          "under /api: edgemedic has nothing to say about it.", _clean),
)

STORY_BY_NAME: Mapping[str, Story] = {story.name: story for story in STORIES}


def build(clients: Clients, names: Sequence[str] | None = None) -> dict[str, str]:
    """Build the stories (all, or those named) with ``clients``; returns story name -> distribution id."""
    builder = _Builder(clients)
    chosen = STORIES if names is None else tuple(STORY_BY_NAME[name] for name in names)
    return {story.name: story.build(builder) for story in chosen}
