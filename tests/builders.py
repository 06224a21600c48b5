"""Small builders for model objects in unit tests (pure; no AWS).

    dist = distribution(
        origins=[api_origin("api", "abc123def4", "us-east-1", path="/prod")],
        behaviors=[behavior("/api/*", "api", orp=ALL_VIEWER)],
    )
    inv = inventory(dist, apis=[rest_api("abc123def4", stages=["prod"], resources={"/api/users": ["GET"]})])

Shared by every unit test module: extend it (append) rather than writing a second one.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Mapping

from edgemedic import policies
from edgemedic.model import (
    CLOUDFRONT_FUNCTION,
    LAMBDA_EDGE,
    Api,
    ApiMapping,
    ApiMethod,
    ApiProtocol,
    ApiResource,
    ApiTarget,
    Authorizer,
    Behavior,
    Certificate,
    CustomDomain,
    Distribution,
    EdgeFunction,
    EndpointType,
    Inventory,
    LegacySettings,
    LoadBalancer,
    Origin,
    OriginGroup,
    OriginKind,
)

GET_HEAD = frozenset({"GET", "HEAD"})
ALL_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"})


def behavior(
    pattern: str,
    origin: str,
    *,
    cache: str | None = policies.CACHING_DISABLED,
    orp: str | None = None,
    legacy: LegacySettings | None = None,
    methods: Iterable[str] = ALL_METHODS,
    cached: Iterable[str] = GET_HEAD,
    viewer: str = "redirect-to-https",
    functions: tuple[str, ...] = (),
    lambdas: tuple[str, ...] = (),
) -> Behavior:
    """A behavior; ``pattern='*'`` makes the default one. ``legacy=`` makes a legacy (ForwardedValues) behavior.
    ``functions`` / ``lambdas`` name the events of a CloudFront Function / Lambda@Edge association."""
    if legacy is not None:
        cache = orp = None
    return Behavior(
        path_pattern=pattern,
        is_default=pattern == "*",
        target_origin_id=origin,
        viewer_protocol_policy=viewer,
        allowed_methods=frozenset(methods),
        cached_methods=frozenset(cached),
        cache_policy_id=cache,
        origin_request_policy_id=orp,
        cache_policy=policies.managed_cache_policy(cache) if cache else None,
        origin_request_policy=policies.managed_origin_request_policy(orp) if orp else None,
        legacy=legacy,
        function_events=functions,
        lambda_events=lambdas,
        edge_functions=(
            *(EdgeFunction(e, CLOUDFRONT_FUNCTION, f"arn:aws:cloudfront::123456789012:function/rewrite-{i}")
              for i, e in enumerate(functions)),
            *(EdgeFunction(e, LAMBDA_EDGE, f"arn:aws:lambda:us-east-1:123456789012:function:signer-{i}:1")
              for i, e in enumerate(lambdas))),
    )


def api_origin(
    origin_id: str,
    api_id: str,
    region: str = "us-east-1",
    *,
    path: str = "",
    protocol: str = "https-only",
    ssl: tuple[str, ...] = ("TLSv1.2",),
) -> Origin:
    return Origin(
        id=origin_id,
        domain_name=f"{api_id}.execute-api.{region}.amazonaws.com",
        origin_path=path,
        kind=OriginKind.API_GATEWAY,
        protocol_policy=protocol,
        ssl_protocols=ssl,
        api=ApiTarget("execute-api", region, api_id=api_id),
    )


def domain_origin(origin_id: str, domain: str, region: str = "us-east-1", *, path: str = "",
                  protocol: str = "https-only", ssl: tuple[str, ...] = ("TLSv1.2",)) -> Origin:
    """An origin pointing at an API Gateway custom domain name."""
    return Origin(origin_id, domain, path, OriginKind.API_GATEWAY, protocol, ssl,
                  api=ApiTarget("custom-domain", region, domain_name=domain))


def s3_origin(origin_id: str, bucket: str = "site") -> Origin:
    return Origin(origin_id, f"{bucket}.s3.amazonaws.com", "", OriginKind.S3)


def custom_origin(origin_id: str, domain: str, *, kind: OriginKind = OriginKind.CUSTOM, protocol: str = "https-only",
                  ssl: tuple[str, ...] = ("TLSv1.2",), path: str = "") -> Origin:
    return Origin(origin_id, domain, path, kind, protocol, ssl)


def distribution(
    *,
    origins: list[Origin],
    behaviors: list[Behavior],
    dist_id: str = "E1EXAMPLE",
    aliases: tuple[str, ...] = (),
    domain: str = "d111111abcdef8.cloudfront.net",
    groups: tuple[OriginGroup, ...] = (),
) -> Distribution:
    """Additional behaviors in order; a ``'*'`` behavior in the list becomes the default (placed last)."""
    default = [b for b in behaviors if b.is_default]
    extra = [b for b in behaviors if not b.is_default]
    if not default:
        default = [behavior("*", origins[0].id)]
    return Distribution(
        id=dist_id,
        arn=f"arn:aws:cloudfront::123456789012:distribution/{dist_id}",
        domain_name=domain,
        aliases=aliases,
        enabled=True,
        status="Deployed",
        etag="ETAG1",
        origins=tuple(origins),
        behaviors=(*extra, default[0]),
        origin_groups=groups,
    )


def method(http_method: str, auth: str = "NONE", *, authorizer: str | None = None,
           query: tuple[str, ...] = ()) -> ApiMethod:
    return ApiMethod(http_method, auth, authorizer, False, query)


MethodSpec = str | ApiMethod


def rest_api(
    api_id: str,
    *,
    region: str = "us-east-1",
    stages: Iterable[str] = ("prod",),
    resources: Mapping[str, Iterable[MethodSpec]] | None = None,
    endpoint: EndpointType = EndpointType.REGIONAL,
    disabled_default: bool = False,
    authorizers: Iterable[Authorizer] = (),
) -> Api:
    """A REST API; ``resources`` maps a path to methods (``"GET"`` or ``method("GET", "AWS_IAM")``)."""
    built = tuple(
        ApiResource(path, tuple(m if isinstance(m, ApiMethod) else method(m) for m in methods))
        for path, methods in (resources or {"/": ["GET"]}).items()
    )
    return Api(api_id, f"api-{api_id}", region, ApiProtocol.REST, endpoint, disabled_default, tuple(stages), built,
               tuple(authorizers))


def http_api(
    api_id: str,
    *,
    region: str = "us-east-1",
    stages: Iterable[str] = ("$default",),
    routes: Iterable[str | tuple[str, str]] = ("GET /items",),
    default_route: bool = False,
    authorizers: Iterable[Authorizer] = (),
    cors: bool = False,
    disabled_default: bool = False,
) -> Api:
    """An HTTP API; a route is ``"GET /items"`` or ``("GET /items", "JWT")`` (authorization type)."""
    by_path: dict[str, list[ApiMethod]] = {}
    for route in routes:
        key, auth = (route, "NONE") if isinstance(route, str) else route
        verb, path = key.split(" ", 1)
        by_path.setdefault(path, []).append(ApiMethod(verb, auth, None, False, (), key))
    resources = tuple(ApiResource(path, tuple(ms)) for path, ms in by_path.items())
    return Api(api_id, f"http-{api_id}", region, ApiProtocol.HTTP, EndpointType.REGIONAL, disabled_default,
               tuple(stages), resources, tuple(authorizers),
               default_route=ApiMethod("ANY", "NONE", route_key="$default") if default_route else None,
               cors_configured=cors)


def websocket_api(api_id: str, *, region: str = "us-east-1", stages: Iterable[str] = ("production",)) -> Api:
    routes = tuple(ApiResource("/", (ApiMethod("GET", "NONE", route_key=k),)) for k in ("$connect",))
    return Api(api_id, f"ws-{api_id}", region, ApiProtocol.WEBSOCKET, EndpointType.REGIONAL, False,
               tuple(stages), routes)


def custom_domain(name: str, mappings: Iterable[tuple[str, str, str | None]], *, region: str = "us-east-1",
                  endpoint: EndpointType = EndpointType.REGIONAL) -> CustomDomain:
    """``mappings``: (base_path or "", api_id, stage or None)."""
    return CustomDomain(
        name=name,
        region=region,
        endpoint_type=endpoint,
        regional_domain_name=f"d-{abs(hash(name)) % 10**10:010d}.execute-api.{region}.amazonaws.com"
        if endpoint is EndpointType.REGIONAL else None,
        distribution_domain_name="d3example.cloudfront.net" if endpoint is EndpointType.EDGE else None,
        mappings=tuple(ApiMapping(base, api_id, stage) for base, api_id, stage in mappings),
    )


def inventory(
    *dists: Distribution,
    apis: Iterable[Api] = (),
    domains: Iterable[CustomDomain] = (),
    load_balancers: Iterable[LoadBalancer] = (),
    certificates: Iterable[Certificate] = (),
    unreadable: Mapping | None = None,
) -> Inventory:
    return Inventory(
        distributions=tuple(dists),
        apis={(api.region, api.id): api for api in apis},
        custom_domains={d.name.lower(): d for d in domains},
        load_balancers={lb.dns_name.lower(): lb for lb in load_balancers},
        certificates={c.arn: c for c in certificates},
        unreadable=dict(unreadable or {}),
    )


# --------------------------------------------------------------------------------------------- raw configs (boto3 shape)


def raw_origin(origin_id: str, domain: str, *, path: str = "", protocol: str | None = "https-only",
               ssl: tuple[str, ...] = ("TLSv1.2",)) -> dict:
    """An Origins item as GetDistributionConfig returns it; ``protocol=None`` makes an S3 origin."""
    origin = {"Id": origin_id, "DomainName": domain, "OriginPath": path,
              "CustomHeaders": {"Quantity": 0}, "ConnectionAttempts": 3, "ConnectionTimeout": 10,
              "OriginShield": {"Enabled": False}, "OriginAccessControlId": ""}
    if protocol is None:
        origin["S3OriginConfig"] = {"OriginAccessIdentity": ""}
    else:
        origin["CustomOriginConfig"] = {
            "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": protocol,
            "OriginSslProtocols": {"Quantity": len(ssl), "Items": list(ssl)},
            "OriginReadTimeout": 30, "OriginKeepaliveTimeout": 5,
        }
    return origin


def raw_behavior(pattern: str, origin: str, *, cache: str | None = policies.CACHING_DISABLED,
                 orp: str | None = None, legacy_headers: tuple[str, ...] | None = None,
                 methods: tuple[str, ...] = ("HEAD", "GET"), cached: tuple[str, ...] = ("HEAD", "GET"),
                 viewer: str = "redirect-to-https", ttls: tuple[int, int, int] = (0, 86400, 31536000)) -> dict:
    """A behavior as AWS returns it: a cache policy, or (``legacy_headers=`` given) ForwardedValues + TTLs."""
    behavior: dict = {}
    if pattern != "*":
        behavior["PathPattern"] = pattern
    behavior.update({
        "TargetOriginId": origin,
        "TrustedSigners": {"Enabled": False, "Quantity": 0},
        "TrustedKeyGroups": {"Enabled": False, "Quantity": 0},
        "ViewerProtocolPolicy": viewer,
        "AllowedMethods": {"Quantity": len(methods), "Items": list(methods),
                           "CachedMethods": {"Quantity": len(cached), "Items": list(cached)}},
        "SmoothStreaming": False,
        "Compress": True,
        "LambdaFunctionAssociations": {"Quantity": 0},
        "FunctionAssociations": {"Quantity": 0},
        "FieldLevelEncryptionId": "",
    })
    if legacy_headers is not None:
        headers: dict = {"Quantity": len(legacy_headers)}
        if legacy_headers:
            headers["Items"] = list(legacy_headers)
        behavior["ForwardedValues"] = {"QueryString": True, "Cookies": {"Forward": "none"}, "Headers": headers,
                                       "QueryStringCacheKeys": {"Quantity": 0}}
        behavior["MinTTL"], behavior["DefaultTTL"], behavior["MaxTTL"] = ttls
    else:
        behavior["CachePolicyId"] = cache
        if orp:
            behavior["OriginRequestPolicyId"] = orp
    return behavior


def raw_config(*, origins: list[dict], behaviors: list[dict], aliases: tuple[str, ...] = (),
               caller_reference: str = "edgemedic-test-1") -> dict:
    """A DistributionConfig (boto3 shape); the behavior without a PathPattern is the default one."""
    default = [b for b in behaviors if "PathPattern" not in b]
    extra = [b for b in behaviors if "PathPattern" in b]
    config = {
        "CallerReference": caller_reference,
        "Aliases": {"Quantity": len(aliases), **({"Items": list(aliases)} if aliases else {})},
        "DefaultRootObject": "",
        "Origins": {"Quantity": len(origins), "Items": origins},
        "OriginGroups": {"Quantity": 0},
        "DefaultCacheBehavior": default[0] if default else raw_behavior("*", origins[0]["Id"]),
        "CacheBehaviors": {"Quantity": len(extra), **({"Items": extra} if extra else {})},
        "CustomErrorResponses": {"Quantity": 0},
        "Comment": "edgemedic test distribution",
        "Logging": {"Enabled": False, "IncludeCookies": False, "Bucket": "", "Prefix": ""},
        "PriceClass": "PriceClass_All",
        "Enabled": True,
        "ViewerCertificate": {"CloudFrontDefaultCertificate": True, "MinimumProtocolVersion": "TLSv1",
                              "CertificateSource": "cloudfront"},
        "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
        "WebACLId": "",
        "HttpVersion": "http2",
        "IsIPV6Enabled": True,
    }
    return config


def with_config(dist: Distribution) -> Distribution:
    """``dist`` with a DistributionConfig in AWS's shape that says what its model says (for build_plan): origins,
    origin groups, behaviors in order, aliases and custom error responses."""
    order = ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE")
    origins = []
    for o in dist.origins:
        raw = raw_origin(o.id, o.domain_name, path=o.origin_path,
                         protocol=None if o.kind is OriginKind.S3 else o.protocol_policy or "https-only",
                         ssl=o.ssl_protocols or ("TLSv1.2",))
        if "CustomOriginConfig" in raw:
            raw["CustomOriginConfig"]["OriginReadTimeout"] = o.read_timeout
        origins.append(raw)
    behaviors = []
    for b in dist.behaviors:
        methods = tuple(m for m in order if m in b.allowed_methods)
        cached = tuple(m for m in order if m in b.cached_methods)
        if b.legacy is not None:
            raw = raw_behavior(b.path_pattern, b.target_origin_id, legacy_headers=b.legacy.headers, methods=methods,
                               cached=cached, viewer=b.viewer_protocol_policy,
                               ttls=(b.legacy.min_ttl, b.legacy.default_ttl, b.legacy.max_ttl))
            raw["ForwardedValues"]["QueryString"] = b.legacy.query_string
        else:
            raw = raw_behavior(b.path_pattern, b.target_origin_id, cache=b.cache_policy_id,
                               orp=b.origin_request_policy_id, methods=methods, cached=cached,
                               viewer=b.viewer_protocol_policy)
        if b.is_default:
            raw.pop("PathPattern", None)
        behaviors.append(raw)
    config = raw_config(origins=origins, behaviors=behaviors, aliases=dist.aliases)
    errors = [{"ErrorCode": e.error_code, "ResponsePagePath": e.response_page_path,
               "ResponseCode": e.response_code, "ErrorCachingMinTTL": 10} for e in dist.custom_error_responses]
    config["CustomErrorResponses"] = {"Quantity": len(errors), **({"Items": errors} if errors else {})}
    groups = [{"Id": g.id,
               "FailoverCriteria": {"StatusCodes": {"Quantity": len(g.failover_codes),
                                                    "Items": list(g.failover_codes)}},
               "Members": {"Quantity": len(g.members), "Items": [{"OriginId": m} for m in g.members]}}
              for g in dist.origin_groups]
    config["OriginGroups"] = {"Quantity": len(groups), **({"Items": groups} if groups else {})}
    return replace(dist, config=config)


# --------------------------------------------------------------------------------------------- custom policies, TLS
# (appended by the rules helper for headers/caching/protocols/endpoints/tls)


def custom_cache_policy(
    policy_id: str,
    name: str,
    *,
    min_ttl: int = 0,
    default_ttl: int = 0,
    max_ttl: int = 1,
    headers: Iterable[str] = (),
    cookies: str = "none",
    query: str = "none",
) -> "CachePolicy":
    """A custom cache policy (as read by GetCachePolicy); ``headers`` non-empty means a whitelist."""
    from edgemedic.model import CachePolicy

    listed = frozenset(h.lower() for h in headers)
    return CachePolicy(policy_id, name, False, min_ttl, default_ttl, max_ttl, "whitelist" if listed else "none",
                       listed, cookies, query)


def custom_origin_request_policy(
    policy_id: str,
    name: str,
    header_behavior: str,
    headers: Iterable[str] = (),
    *,
    cookies: str = "none",
    query: str = "none",
) -> "OriginRequestPolicy":
    from edgemedic.model import OriginRequestPolicy

    return OriginRequestPolicy(policy_id, name, False, header_behavior, frozenset(h.lower() for h in headers),
                               cookies, query)


def with_policies(base: Behavior, *, cache: "CachePolicy | None | str" = "keep",
                  orp: "OriginRequestPolicy | None | str" = "keep") -> Behavior:
    """``base`` with custom policies attached (``None`` detaches; ``"keep"`` keeps)."""
    from dataclasses import replace

    changes: dict = {"legacy": None}
    if cache != "keep":
        changes.update(cache_policy_id=cache.id if cache else None, cache_policy=cache)
    if orp != "keep":
        changes.update(origin_request_policy_id=orp.id if orp else None, origin_request_policy=orp)
    return replace(base, **changes)


def legacy(*headers: str, min_ttl: int = 0, default_ttl: int = 86400, max_ttl: int = 31536000,
           query: bool = False, cookies: str = "none") -> LegacySettings:
    """Legacy ForwardedValues + TTLs; the defaults are AWS's when the TTL fields are absent."""
    return LegacySettings(tuple(h.lower() for h in headers), query, (), cookies, min_ttl, default_ttl, max_ttl)


def load_balancer(dns_name: str, *, certificates: Iterable[str] = (), aliases: Iterable[str] = (),
                  scheme: str = "internet-facing") -> LoadBalancer:
    region = dns_name.split(".")[-4] if dns_name.endswith(".elb.amazonaws.com") else "us-east-1"
    return LoadBalancer(f"arn:aws:elasticloadbalancing:{region}:123456789012:loadbalancer/app/{dns_name.split('.')[0]}",
                        dns_name, scheme, tuple(certificates), tuple(aliases))


def certificate(arn_suffix: str, *names: str, status: str = "ISSUED") -> Certificate:
    return Certificate(f"arn:aws:acm:us-east-1:123456789012:certificate/{arn_suffix}", tuple(names), status)


def probe(host: str, problem: str | None, *, sni: str | None = None, names: tuple[str, ...] = (),
          detail: str = "") -> "ProbeResult":
    from edgemedic.model import ProbeResult

    return ProbeResult(host, 443, sni or host, problem is None, problem, detail, names)


def with_probes(inv: Inventory, *probes: "ProbeResult") -> Inventory:
    from dataclasses import replace

    return replace(inv, probes={**inv.probes, **{(p.host, p.server_name): p for p in probes}})


# --------------------------------------------------------------------------------------------- HTTP stand-ins
# A real HTTP server on 127.0.0.1 standing in for Slack, GitHub or Jira: it records every request exactly and answers
# from a script (appended for the notify tests).


class RecordingServer:
    """``with RecordingServer() as srv:`` then ``srv.answer("POST", "/api/chat.postMessage", 200, {...})``.

    Answers queued for a (method, path) are used in order, the last one repeats; ``srv.requests`` holds
    ``Request(method, path, headers, body)`` for every request received.
    """

    def __init__(self) -> None:
        import collections
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list = []
        self._answers: dict = collections.defaultdict(list)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                with server._lock:
                    server.requests.append(RecordedRequest(self.command, self.path, self.headers, body))
                    queue = server._answers.get((self.command, path)) or [(404, {"error": "not scripted"}, {})]
                    status, payload, headers = queue.pop(0) if len(queue) > 1 else queue[0]
                data = payload if isinstance(payload, bytes) else __import__("json").dumps(payload).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, method: str, path: str, status: int, payload: object = b"", headers: dict | None = None) -> None:
        self._answers[(method, path)].append((status, payload, headers or {}))

    def __enter__(self) -> "RecordingServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class RecordedRequest:
    def __init__(self, method: str, path: str, headers: object, body: bytes):  # headers: case-insensitive
        self.method, self.path, self.headers, self.body = method, path, headers, body

    def json(self) -> object:
        return __import__("json").loads(self.body)

    def form(self) -> dict:
        from urllib.parse import parse_qs

        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def __repr__(self) -> str:
        return f"{self.method} {self.path} {self.body[:80]!r}"


def load_script(name: str):
    """``scripts/<name>.py`` of the repository as a module (the scripts are not part of the package)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------- injected faults


def fail(client: Any, operation: str, code: str, status: int = 500, times: int | None = None,
         after: int = 0) -> list[int]:
    """Make ``client`` answer ``operation`` with ``code`` (what botocore raises once its retries are spent): after
    ``after`` calls that are answered, ``times`` calls (None: every one). Returns the count of calls seen."""
    from botocore.exceptions import ClientError

    seen = [0]

    def answer(**_: Any) -> None:
        seen[0] += 1
        if seen[0] > after and (times is None or seen[0] <= after + times):
            raise ClientError({"Error": {"Code": code, "Message": f"injected {code}"},
                               "ResponseMetadata": {"HTTPStatusCode": status}}, operation)

    client.meta.events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}",
                                answer, unique_id=f"fault-{operation}")
    return seen


def heal(client: Any, operation: str) -> None:
    client.meta.events.unregister(f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}",
                                  unique_id=f"fault-{operation}")
