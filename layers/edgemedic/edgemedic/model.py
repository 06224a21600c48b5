"""Typed, frozen views of what edgemedic reads: distributions, their behaviors and origins, the APIs behind them.

Everything here is plain data. The collectors (``edgemedic.collect``) build it from boto3 responses; the rules
(``edgemedic.rules``) read it and never call AWS. Names follow CloudFront's and API Gateway's own vocabulary.

Conventions:
- Header names are stored lower-cased (HTTP header names are case-insensitive).
- A behavior is identified inside its distribution by its path pattern; the default behavior's is ``*``.
- Something edgemedic could not read is an :class:`Unreadable` with the reason, never a guess.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Mapping

DEFAULT_PATTERN = "*"

# CloudFront's HTTP methods in its own order, and the only sets it accepts (CloudFront API reference,
# AllowedMethods / CachedMethods; ../shared/reference/aws-facts.md section 5): AllowedMethods is one of three,
# CachedMethods one of the first two.
ALL_METHODS = ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE")
GET_HEAD = ALL_METHODS[:2]
GET_HEAD_OPTIONS = ALL_METHODS[:3]
ALLOWED_METHOD_SETS = (frozenset(GET_HEAD), frozenset(GET_HEAD_OPTIONS), frozenset(ALL_METHODS))
CACHED_METHOD_SETS = ALLOWED_METHOD_SETS[:2]


class OriginKind(StrEnum):
    S3 = "s3"
    API_GATEWAY = "api-gateway"
    LOAD_BALANCER = "load-balancer"
    LAMBDA_URL = "lambda-url"  # {url-id}.lambda-url.{region}.on.aws
    CUSTOM = "custom"


class ApiProtocol(StrEnum):
    REST = "REST"
    HTTP = "HTTP"
    WEBSOCKET = "WEBSOCKET"


class EndpointType(StrEnum):
    EDGE = "EDGE"
    REGIONAL = "REGIONAL"
    PRIVATE = "PRIVATE"


# --------------------------------------------------------------------------------------------- policies


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """A cache policy: its TTLs and what it puts in the cache key (which CloudFront also forwards)."""

    id: str
    name: str
    managed: bool
    min_ttl: int
    default_ttl: int
    max_ttl: int
    header_behavior: str = "none"  # none | whitelist
    headers: frozenset[str] = frozenset()  # lower-cased
    cookie_behavior: str = "none"  # none | whitelist | allExcept | all
    query_string_behavior: str = "none"  # none | whitelist | allExcept | all
    query_strings: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class OriginRequestPolicy:
    """An origin request policy: what CloudFront adds to origin requests beyond the cache key."""

    id: str
    name: str
    managed: bool
    header_behavior: str = "none"  # none | whitelist | allViewer | allViewerAndWhitelistCloudFront | allExcept
    headers: frozenset[str] = frozenset()  # lower-cased; the list for whitelist / allExcept / extra CloudFront headers
    cookie_behavior: str = "none"  # none | whitelist | allExcept | all
    query_string_behavior: str = "none"  # none | whitelist | allExcept | all
    query_strings: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class LegacySettings:
    """The deprecated ForwardedValues + TTL fields of a behavior without a cache policy."""

    headers: tuple[str, ...] = ()  # lower-cased; ("*",) forwards all headers
    query_string: bool = False
    query_string_cache_keys: tuple[str, ...] = ()
    cookies_forward: str = "none"  # none | whitelist | all
    min_ttl: int = 0
    default_ttl: int = 86400  # AWS's default when the field is absent
    max_ttl: int = 31536000


# --------------------------------------------------------------------------------------------- CloudFront


@dataclass(frozen=True, slots=True)
class EdgeFunction:
    """Code CloudFront runs on a behavior: a CloudFront Function or a Lambda@Edge function, at one event."""

    event: str  # viewer-request | viewer-response | origin-request | origin-response
    kind: str  # "CloudFront Function" | "Lambda@Edge"
    arn: str

    @property
    def before_origin(self) -> bool:
        """Whether it runs before the request reaches the origin, where it can rewrite or sign it."""
        return self.event == "viewer-request" or (self.kind == LAMBDA_EDGE and self.event == "origin-request")

    @property
    def name(self) -> str:
        """``arn:aws:cloudfront::1:function/strip-prefix`` -> ``strip-prefix``; a Lambda ARN keeps its version."""
        if ":function/" in self.arn:
            return self.arn.split(":function/", 1)[1]
        return self.arn.split(":function:", 1)[-1]


CLOUDFRONT_FUNCTION = "CloudFront Function"
LAMBDA_EDGE = "Lambda@Edge"


@dataclass(frozen=True, slots=True)
class OriginGroup:
    """A failover origin group: requests go to the primary, and to the secondary on the failover status codes."""

    id: str
    members: tuple[str, ...]  # origin ids, primary first
    failover_codes: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Behavior:
    """A cache behavior (``is_default`` for the default one, whose pattern is ``*``)."""

    path_pattern: str
    is_default: bool
    target_origin_id: str
    viewer_protocol_policy: str  # allow-all | https-only | redirect-to-https
    allowed_methods: frozenset[str]
    cached_methods: frozenset[str]
    cache_policy_id: str | None = None
    origin_request_policy_id: str | None = None
    response_headers_policy_id: str | None = None
    # Resolved policies. None with an id set means the policy could not be read (see Distribution.unreadable).
    cache_policy: CachePolicy | None = None
    origin_request_policy: OriginRequestPolicy | None = None
    legacy: LegacySettings | None = None  # set iff the behavior has no cache policy
    # Event types of CloudFront Functions / Lambda@Edge associated (viewer-request, origin-request, ...).
    function_events: tuple[str, ...] = ()
    lambda_events: tuple[str, ...] = ()
    edge_functions: tuple[EdgeFunction, ...] = ()  # the same associations with their ARNs

    @property
    def request_functions(self) -> tuple[EdgeFunction, ...]:
        """Edge functions that run before the origin and may rewrite or sign what reaches it. A model built with
        event types only (no ARNs) still counts."""
        functions = self.edge_functions or (
            *(EdgeFunction(e, CLOUDFRONT_FUNCTION, "") for e in self.function_events),
            *(EdgeFunction(e, LAMBDA_EDGE, "") for e in self.lambda_events))
        return tuple(f for f in functions if f.before_origin)

    @property
    def label(self) -> str:
        return self.path_pattern


@dataclass(frozen=True, slots=True)
class ApiTarget:
    """How an origin reaches API Gateway.

    ``via`` is ``execute-api`` (origin domain ``{api_id}.execute-api.{region}.amazonaws.com``) or ``custom-domain``
    (origin domain is an API Gateway custom domain name, or its ``d-...`` regional / edge target; ``domain_name``
    is then the custom domain name itself).
    """

    via: str  # execute-api | custom-domain
    region: str
    api_id: str | None = None  # for execute-api
    domain_name: str | None = None  # for custom-domain


@dataclass(frozen=True, slots=True)
class LambdaUrlTarget:
    """A Lambda function URL origin: ``{url_id}.lambda-url.{region}.on.aws``."""

    url_id: str
    region: str


@dataclass(frozen=True, slots=True)
class CustomErrorResponse:
    """One of a distribution's CustomErrorResponses (they apply to every behavior)."""

    error_code: int
    response_page_path: str = ""  # "" when the error is only cached, not replaced
    response_code: str = ""  # the status the viewer gets with the page ("" keeps the origin's)


@dataclass(frozen=True, slots=True)
class Origin:
    id: str
    domain_name: str
    origin_path: str  # "" or "/prefix" (no trailing slash)
    kind: OriginKind
    protocol_policy: str | None = None  # custom origins: http-only | https-only | match-viewer
    ssl_protocols: tuple[str, ...] = ()  # custom origins: SSLv3 | TLSv1 | TLSv1.1 | TLSv1.2
    https_port: int = 443
    http_port: int = 80
    api: ApiTarget | None = None  # set iff kind is API_GATEWAY
    custom_header_names: tuple[str, ...] = ()  # values are never kept (they are often secrets)
    read_timeout: int = 30  # custom origins: OriginReadTimeout in seconds (CloudFront's default when absent)
    lambda_url: "LambdaUrlTarget | None" = None  # set iff kind is LAMBDA_URL

    @property
    def is_custom(self) -> bool:
        return self.protocol_policy is not None


@dataclass(frozen=True, slots=True)
class Distribution:
    id: str
    arn: str
    domain_name: str  # dxxxx.cloudfront.net
    aliases: tuple[str, ...]
    enabled: bool
    status: str  # Deployed | InProgress
    etag: str
    origins: tuple[Origin, ...]
    behaviors: tuple[Behavior, ...]  # additional behaviors in order, then the default behavior last
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), compare=False, repr=False)
    """The DistributionConfig exactly as read (boto3 shape), for planning. Treat as read-only."""
    unreadable: tuple["Unreadable", ...] = ()  # policies etc. that could not be read for this distribution
    custom_error_responses: tuple[CustomErrorResponse, ...] = ()
    origin_groups: tuple[OriginGroup, ...] = ()
    connection_mode: str = "direct"  # direct | tenant-only (multi-tenant: domains live on distribution tenants)

    @property
    def tenant_only(self) -> bool:
        return self.connection_mode == "tenant-only"

    def origin_group(self, group_id: str) -> OriginGroup | None:
        return next((g for g in self.origin_groups if g.id == group_id), None)

    def origin(self, origin_id: str) -> Origin | None:
        for origin in self.origins:
            if origin.id == origin_id:
                return origin
        return None

    def behavior(self, path_pattern: str) -> Behavior | None:
        for behavior in self.behaviors:
            if behavior.path_pattern == path_pattern:
                return behavior
        return None

    @property
    def default_behavior(self) -> Behavior:
        return self.behaviors[-1]

    @property
    def hostnames(self) -> tuple[str, ...]:
        return (*self.aliases, self.domain_name)


# --------------------------------------------------------------------------------------------- API Gateway


@dataclass(frozen=True, slots=True)
class Authorizer:
    id: str
    name: str
    type: str  # REST: TOKEN | REQUEST | COGNITO_USER_POOLS ; v2: REQUEST | JWT
    identity_sources: tuple[str, ...] = ()  # e.g. method.request.header.Authorization, $request.header.Authorization

    @property
    def reads_authorization_header(self) -> bool:
        if self.type in {"COGNITO_USER_POOLS", "JWT"} and not self.identity_sources:
            return True
        return any(source.lower().endswith("header.authorization") for source in self.identity_sources)


@dataclass(frozen=True, slots=True)
class ApiMethod:
    """A REST method on a resource, or an HTTP/WebSocket route (``route_key`` set)."""

    http_method: str  # GET, POST, ..., ANY ; for WebSocket routes "GET" (the handshake)
    authorization_type: str = "NONE"  # NONE | AWS_IAM | CUSTOM | COGNITO_USER_POOLS | JWT
    authorizer_id: str | None = None
    api_key_required: bool = False
    query_parameters: tuple[str, ...] = ()  # declared method.request.querystring.* names
    route_key: str | None = None  # v2 only
    integration_type: str | None = None  # REST: MOCK | AWS | AWS_PROXY | HTTP | HTTP_PROXY; None when not read
    integration_timeout_ms: int | None = None  # REST integration timeoutInMillis (29000 when AWS omits it)


@dataclass(frozen=True, slots=True)
class ApiResource:
    """A REST resource path (``/users/{id}``, ``/{proxy+}``) and its methods; for v2 a route path."""

    path: str
    methods: tuple[ApiMethod, ...]


@dataclass(frozen=True, slots=True)
class CorsConfiguration:
    """An HTTP API's CorsConfiguration (API Gateway answers preflights itself, per request)."""

    allow_origins: tuple[str, ...] = ()
    allow_credentials: bool = False


@dataclass(frozen=True, slots=True)
class Api:
    id: str
    name: str
    region: str
    protocol: ApiProtocol
    endpoint_type: EndpointType
    disable_execute_api_endpoint: bool
    stages: tuple[str, ...]  # stage names; "$default" for an HTTP API default stage
    resources: tuple[ApiResource, ...] = ()  # REST resources; for HTTP APIs one per route path
    authorizers: tuple[Authorizer, ...] = ()
    default_route: ApiMethod | None = None  # HTTP API "$default" route (catch-all)
    cors_configured: bool = False  # HTTP API CorsConfiguration (API Gateway answers OPTIONS itself)
    cors: "CorsConfiguration | None" = None  # HTTP API CorsConfiguration, when set
    api_key_source: str = "HEADER"  # REST: HEADER (x-api-key) | AUTHORIZER
    notes: tuple[str, ...] = ()  # parts that could not be read

    @property
    def execute_api_domain(self) -> str:
        # The aws-cn partition's endpoints end in amazonaws.com.cn.
        suffix = "amazonaws.com.cn" if self.region.startswith("cn-") else "amazonaws.com"
        return f"{self.id}.execute-api.{self.region}.{suffix}"

    def authorizer(self, authorizer_id: str | None) -> Authorizer | None:
        for authorizer in self.authorizers:
            if authorizer.id == authorizer_id:
                return authorizer
        return None


@dataclass(frozen=True, slots=True)
class ApiMapping:
    """A REST base path mapping or an HTTP/WebSocket API mapping on a custom domain.

    ``base_path`` is "" for ``(none)``; ``stage`` is None for a REST mapping with stage ``(none)`` (callers name the
    stage in the path).
    """

    base_path: str
    api_id: str
    stage: str | None


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """A custom domain's routing rule (API Gateway, 2025): when every condition holds, invoke an API stage.

    ``base_paths``: the rule's MatchBasePaths (any of; empty = no base path condition). ``header_conditions``: each
    a MatchHeaders condition, any of its (lower-cased header, value glob) pairs; every condition must hold.
    """

    priority: int  # lower first
    api_id: str
    stage: str
    base_paths: tuple[str, ...] = ()  # without slashes: "orders", "orders/v2"
    header_conditions: tuple[tuple[tuple[str, str], ...], ...] = ()
    strip_base_path: bool = False
    rule_id: str = ""

    @property
    def label(self) -> str:
        conditions = [f"base path {' or '.join('/' + b for b in self.base_paths)}"] if self.base_paths else []
        conditions += [" or ".join(f"{h}: {g}" for h, g in group) for group in self.header_conditions]
        return (f"routing rule {self.rule_id or self.priority} (priority {self.priority}"
                + (f"; {'; '.join(conditions)}" if conditions else "") + f") -> API {self.api_id} stage {self.stage}")


API_MAPPING_ONLY = "API_MAPPING_ONLY"
ROUTING_RULE_THEN_API_MAPPING = "ROUTING_RULE_THEN_API_MAPPING"
ROUTING_RULE_ONLY = "ROUTING_RULE_ONLY"


@dataclass(frozen=True, slots=True)
class CustomDomain:
    name: str
    region: str
    endpoint_type: EndpointType
    regional_domain_name: str | None = None  # d-xxxx.execute-api.{region}.amazonaws.com
    distribution_domain_name: str | None = None  # edge: dxxxx.cloudfront.net
    certificate_arn: str | None = None
    security_policy: str | None = None  # TLS_1_0 | TLS_1_2
    mappings: tuple[ApiMapping, ...] = ()
    routing_mode: str = API_MAPPING_ONLY
    routing_rules: tuple[RoutingRule, ...] = ()  # in priority order

    @property
    def live_mappings(self) -> tuple[ApiMapping, ...]:
        """The mappings API Gateway uses: none in ROUTING_RULE_ONLY (leftover mappings are not live)."""
        return () if self.routing_mode == ROUTING_RULE_ONLY else self.mappings

    @property
    def live_rules(self) -> tuple[RoutingRule, ...]:
        return () if self.routing_mode == API_MAPPING_ONLY else self.routing_rules

    @property
    def routed_api_ids(self) -> tuple[str, ...]:
        """The APIs the domain leads to, through its rules and its live mappings."""
        return tuple(dict.fromkeys((*(r.api_id for r in self.live_rules), *(m.api_id for m in self.live_mappings))))

    @property
    def target_names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.regional_domain_name, self.distribution_domain_name) if n)


# --------------------------------------------------------------------------------------------- load balancers, TLS


@dataclass(frozen=True, slots=True)
class Certificate:
    arn: str
    domain_names: tuple[str, ...]  # the subject and subject alternative names
    status: str  # ISSUED | EXPIRED | PENDING_VALIDATION | ...; "PROBED" for one read by a live probe
    not_after: str | None = None  # ISO 8601
    source: str = "acm"  # acm | probe


@dataclass(frozen=True, slots=True)
class LoadBalancer:
    arn: str
    dns_name: str
    scheme: str  # internet-facing | internal
    https_certificate_arns: tuple[str, ...] = ()  # from HTTPS/TLS listeners
    alias_names: tuple[str, ...] = ()  # Route 53 records in the account that point at this load balancer


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What a live TLS handshake to an origin showed (``edgemedic scan --probe``)."""

    host: str
    port: int
    server_name: str
    ok: bool
    problem: str | None = None  # expired | self-signed | incomplete-chain | name-mismatch | untrusted | unreachable
    detail: str = ""
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FunctionUrl:
    """A Lambda function URL and the function behind it (ListFunctions + ListFunctionUrlConfigs)."""

    url_id: str
    region: str
    function_name: str
    timeout: int  # the function's Timeout in seconds
    auth_type: str = "NONE"  # NONE | AWS_IAM


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Something edgemedic could not read, and why. Rules that need it say so instead of guessing."""

    what: str  # e.g. "REST API abc123 in eu-west-1"
    reason: str  # e.g. "AccessDenied: apigateway:GET"
    gone: bool = False  # AWS said it does not exist (NotFound): a fact, unlike a failed read


# --------------------------------------------------------------------------------------------- the inventory


def api_key(region: str, api_id: str) -> str:
    """Key of an API in ``Inventory.unreadable``."""
    return f"api:{region}:{api_id}"


def custom_domain_key(name: str) -> str:
    return f"domain:{name.lower()}"


def load_balancer_key(dns_name: str) -> str:
    return f"elb:{dns_name.lower()}"


def certificate_key(arn: str) -> str:
    return f"cert:{arn}"


def function_url_key(region: str, url_id: str) -> str:
    """Key of a Lambda function URL in ``Inventory.unreadable``."""
    return f"lambda-url:{region}:{url_id}"


def lambdas_key(region: str) -> str:
    """Key used when the functions of a whole region could not be listed."""
    return f"lambdas:{region}"


def tenants_key(distribution_id: str) -> str:
    """Key used when the distribution tenants of a multi-tenant distribution could not be listed."""
    return f"tenants:{distribution_id}"


TENANT_PARAMETER = "{{"  # a multi-tenant distribution's origin values may name tenant parameters: {{name}}


def has_tenant_parameter(value: str) -> bool:
    """Whether a value names a tenant parameter, resolved per tenant at request time (not literally)."""
    return TENANT_PARAMETER in value


def domains_key(region: str) -> str:
    """Key used when the custom domains of a whole region could not be listed."""
    return f"domains:{region}"


@dataclass(frozen=True, slots=True)
class Inventory:
    """Everything one scan read. Rules take a distribution and this."""

    distributions: tuple[Distribution, ...] = ()
    apis: Mapping[tuple[str, str], Api] = field(default_factory=dict)  # (region, api_id) -> Api
    custom_domains: Mapping[str, CustomDomain] = field(default_factory=dict)  # lower-cased name -> domain
    load_balancers: Mapping[str, LoadBalancer] = field(default_factory=dict)  # lower-cased DNS name -> LB
    certificates: Mapping[str, Certificate] = field(default_factory=dict)  # ARN -> certificate
    probes: Mapping[tuple[str, str], ProbeResult] = field(default_factory=dict)  # (origin domain, SNI) -> result
    function_urls: Mapping[tuple[str, str], FunctionUrl] = field(default_factory=dict)  # (region, url id) -> URL
    unreadable: Mapping[str, Unreadable] = field(default_factory=dict)  # key (see collect) -> why
    warnings: tuple[str, ...] = ()
    # Multi-tenant distributions: distribution id -> the domains of its distribution tenants.
    tenant_domains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def viewer_names(self, dist: Distribution) -> tuple[str, ...]:
        """The names viewers reach ``dist`` by: its aliases and, for a multi-tenant one, its tenants' domains."""
        return tuple(dict.fromkeys((*dist.aliases, *self.tenant_domains.get(dist.id, ()))))

    def why_unreadable(self, key: str) -> Unreadable | None:
        return self.unreadable.get(key)

    def api(self, region: str, api_id: str) -> Api | None:
        return self.apis.get((region, api_id))

    def custom_domain(self, name: str) -> CustomDomain | None:
        return self.custom_domains.get(name.lower())

    def function_url(self, region: str, url_id: str) -> FunctionUrl | None:
        return self.function_urls.get((region, url_id))
