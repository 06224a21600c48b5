"""Small builders for model objects in unit tests (pure; no AWS).

    dist = distribution(
        origins=[api_origin("api", "abc123def4", "us-east-1", path="/prod")],
        behaviors=[behavior("/api/*", "api", orp=ALL_VIEWER)],
    )
    inv = inventory(dist, apis=[rest_api("abc123def4", stages=["prod"], resources={"/api/users": ["GET"]})])

Shared by every unit test module: extend it (append) rather than writing a second one.
"""
from __future__ import annotations

from typing import Iterable, Mapping

from edgemedic import policies
from edgemedic.model import (
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
    EndpointType,
    Inventory,
    LegacySettings,
    LoadBalancer,
    Origin,
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
) -> Behavior:
    """A behavior; ``pattern='*'`` makes the default one. ``legacy=`` makes a legacy (ForwardedValues) behavior."""
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
