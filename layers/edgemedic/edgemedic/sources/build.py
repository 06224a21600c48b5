"""The parts a template or plan loader fills, and the model they make: the same Inventory the live collectors build.

A loader turns each source's shapes into the API's own (a DistributionConfig as GetDistributionConfig returns it,
a cache policy as GetCachePolicy returns it) and hands them to the code the live scan uses
(``collect.cloudfront.distribution_from_config``, ``policies.*_from_api``, ``collect.origins.classify_origin``), so a
rule cannot tell where its model came from. What could not be resolved goes into ``Inventory.unreadable`` under the
keys the live collectors use, with the reason, and into the warnings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .. import policies
from ..collect.cloudfront import PolicyResolver, distribution_from_config
from ..model import (
    ALL_METHODS,
    Api,
    ApiMethod,
    ApiProtocol,
    ApiResource,
    Authorizer,
    CachePolicy,
    Certificate,
    CustomDomain,
    Distribution,
    EndpointType,
    Inventory,
    LoadBalancer,
    OriginRequestPolicy,
    Unreadable,
)

_VERBS = {m.lower() for m in ALL_METHODS}
_ANY = "x-amazon-apigateway-any-method"
_QUERY_PREFIX = "method.request.querystring."


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding lives in a source file: ``resource`` is the logical id or Terraform address."""

    file: str
    line: int | None
    resource: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "resource": self.resource}


@dataclass
class DistributionLines:
    file: str
    resource: str
    line: int | None = None
    behaviors: dict[str, int] = field(default_factory=dict)  # path pattern ("*" default) -> line
    origins: dict[str, int] = field(default_factory=dict)  # origin id -> line

    def locate(self, behavior: str, origin: str) -> Location:
        line = self.behaviors.get(behavior) if behavior else None
        if line is None and origin:
            line = self.origins.get(origin)
        return Location(self.file, line if line is not None else self.line, self.resource)


@dataclass(frozen=True)
class SourceScan:
    """One source file's model and where its distributions are written."""

    file: str
    inventory: Inventory
    lines: Mapping[str, DistributionLines]


class TemplatePolicies(PolicyResolver):
    """Policies from the source itself (by the id the source gives them), managed ones from the table, and for any
    other id an Unreadable saying why (a policy defined outside the source)."""

    def __init__(self, cache: Mapping[str, CachePolicy | Unreadable],
                 origin_request: Mapping[str, OriginRequestPolicy | Unreadable], outside: str):
        super().__init__(None)
        self._cache.update(cache)
        self._origin_request.update(origin_request)
        self._outside = outside

    def _read(self, what: str, operation: str, member: str, policy_id: str, build: Any) -> Any:
        return Unreadable(what, self._outside)


def items(values: Iterable[Any] | None) -> dict[str, Any]:
    """The API's ``{"Quantity": n, "Items": [...]}`` shape."""
    values = list(values or [])
    return {"Quantity": len(values), "Items": values} if values else {"Quantity": 0}


def cache_policy(policy_id: str, config: Mapping[str, Any]) -> CachePolicy:
    """A cache policy from its config in CloudFormation's shape (lists where the API has Items)."""
    params = config.get("ParametersInCacheKeyAndForwardedToOrigin") or {}
    api_params = {
        "HeadersConfig": _named_items(params.get("HeadersConfig"), "Headers"),
        "CookiesConfig": _named_items(params.get("CookiesConfig"), "Cookies"),
        "QueryStringsConfig": _named_items(params.get("QueryStringsConfig"), "QueryStrings"),
    }
    api_config = {k: config[k] for k in ("Name", "MinTTL", "DefaultTTL", "MaxTTL") if k in config}
    return policies.cache_policy_from_api({"Id": policy_id, "CachePolicyConfig": {
        **api_config, "ParametersInCacheKeyAndForwardedToOrigin": api_params}})


def origin_request_policy(policy_id: str, config: Mapping[str, Any]) -> OriginRequestPolicy:
    api_config = {
        "Name": config.get("Name", policy_id),
        "HeadersConfig": _named_items(config.get("HeadersConfig"), "Headers"),
        "CookiesConfig": _named_items(config.get("CookiesConfig"), "Cookies"),
        "QueryStringsConfig": _named_items(config.get("QueryStringsConfig"), "QueryStrings"),
    }
    return policies.origin_request_policy_from_api({"Id": policy_id, "OriginRequestPolicyConfig": api_config})


def _named_items(config: Mapping[str, Any] | None, member: str) -> dict[str, Any]:
    config = dict(config or {})
    if isinstance(config.get(member), list):
        config[member] = items(config[member])
    return config


# --------------------------------------------------------------------------------------------- OpenAPI bodies


@dataclass(frozen=True, slots=True)
class OpenApi:
    resources: tuple[ApiResource, ...]
    authorizers: tuple[Authorizer, ...]
    default_route: ApiMethod | None = None
    cors: bool = False
    endpoint_type: str | None = None
    disable_execute_api_endpoint: bool | None = None


def _schemes(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return body.get("securityDefinitions") or (body.get("components") or {}).get("securitySchemes") or {}


def _authorization(requirements: Any, schemes: Mapping[str, Any], http: bool) -> tuple[str, str | None, bool]:
    """(authorization type, authorizer id, api key required) of an operation's ``security`` list."""
    auth, authorizer, api_key = "NONE", None, False
    for requirement in requirements or []:
        for name in requirement if isinstance(requirement, Mapping) else ():
            scheme = schemes.get(name) or {}
            kind = str(scheme.get("x-amazon-apigateway-authtype", "")).lower()
            custom = scheme.get("x-amazon-apigateway-authorizer") or {}
            custom_type = str(custom.get("type", "")).lower()
            if kind == "awssigv4":
                auth = "AWS_IAM"
            elif kind == "cognito_user_pools" or custom_type == "cognito_user_pools":
                auth, authorizer = "COGNITO_USER_POOLS", name
            elif custom_type == "jwt":
                auth, authorizer = "JWT", name
            elif custom or kind == "custom":
                auth, authorizer = "CUSTOM", name
            elif scheme.get("type") == "apiKey" and not http:
                api_key = True
    return auth, authorizer, api_key


def _authorizers(schemes: Mapping[str, Any]) -> tuple[Authorizer, ...]:
    found = []
    for name, scheme in schemes.items():
        custom = scheme.get("x-amazon-apigateway-authorizer") if isinstance(scheme, Mapping) else None
        kind = str((scheme or {}).get("x-amazon-apigateway-authtype", "")).lower() if isinstance(scheme, Mapping) \
            else ""
        if not custom and kind != "cognito_user_pools":
            continue
        custom = custom or {}
        custom_type = str(custom.get("type", "token" if kind != "cognito_user_pools" else "cognito_user_pools"))
        sources = custom.get("identitySource")
        if isinstance(sources, str):
            sources = [s.strip() for s in sources.split(",") if s.strip()]
        if not sources and scheme.get("in") == "header" and scheme.get("name"):
            sources = [f"method.request.header.{scheme['name']}"]
        found.append(Authorizer(name, name, {"cognito_user_pools": "COGNITO_USER_POOLS", "jwt": "JWT",
                                             "request": "REQUEST", "token": "TOKEN"}.get(custom_type.lower(),
                                                                                          custom_type.upper()),
                                tuple(sources or ())))
    return tuple(found)


def parse_openapi(body: Mapping[str, Any], *, http: bool) -> OpenApi:
    """Resources (REST) or routes (HTTP API) declared by an OpenAPI / Swagger body with API Gateway extensions."""
    schemes = _schemes(body)
    top_security = body.get("security")
    resources: list[ApiResource] = []
    default_route: ApiMethod | None = None
    for path, operations in sorted((body.get("paths") or {}).items()):
        if not isinstance(operations, Mapping):
            continue
        shared_query = [p.get("name") for p in operations.get("parameters") or []
                        if isinstance(p, Mapping) and p.get("in") == "query"]
        methods = []
        for verb, operation in sorted(operations.items()):
            verb = str(verb).lower()
            if verb not in _VERBS and verb != _ANY:
                continue
            operation = operation if isinstance(operation, Mapping) else {}
            security = operation.get("security", top_security)
            auth, authorizer, api_key = _authorization(security, schemes, http)
            # x-amazon-apigateway-auth sets the method's authorization type directly (NONE or AWS_IAM).
            explicit = str((operation.get("x-amazon-apigateway-auth") or {}).get("type", "")).upper()
            if explicit == "AWS_IAM":
                auth, authorizer = "AWS_IAM", None
            query = [p.get("name") for p in operation.get("parameters") or []
                     if isinstance(p, Mapping) and p.get("in") == "query"]
            http_method = "ANY" if verb == _ANY else verb.upper()
            method = ApiMethod(http_method, auth, authorizer, api_key,
                               tuple(sorted({str(q) for q in [*shared_query, *query] if q})) if not http else (),
                               route_key=(f"{http_method} {path}" if path != "$default" else "$default")
                               if http else None)
            if http and path == "$default":
                default_route = method
                continue
            methods.append(method)
        if methods or not http:
            resources.append(ApiResource(str(path), tuple(methods)))
    if not http and not any(r.path == "/" for r in resources):
        resources.append(ApiResource("/", ()))
    endpoint = body.get("x-amazon-apigateway-endpoint-configuration") or {}
    return OpenApi(
        resources=tuple(sorted(resources, key=lambda r: r.path)),
        authorizers=_authorizers(schemes),
        default_route=default_route,
        cors=bool(body.get("x-amazon-apigateway-cors")),
        disable_execute_api_endpoint=endpoint.get("disableExecuteApiEndpoint"),
    )


# --------------------------------------------------------------------------------------------- the builder


@dataclass
class ApiParts:
    """An API as the source declares it, put together from its resource and its children."""

    id: str
    name: str
    region: str
    protocol: ApiProtocol
    endpoint_type: EndpointType
    disable_execute_api_endpoint: bool = False
    stages: set[str] = field(default_factory=set)
    resources: dict[str, list[ApiMethod]] = field(default_factory=dict)  # path -> methods
    authorizers: dict[str, Authorizer] = field(default_factory=dict)
    default_route: ApiMethod | None = None
    cors: bool = False
    unresolved: list[str] = field(default_factory=list)  # why the API is not fully known

    def add_openapi(self, parsed: OpenApi) -> None:
        for resource in parsed.resources:
            self.resources.setdefault(resource.path, []).extend(resource.methods)
        for authorizer in parsed.authorizers:
            self.authorizers.setdefault(authorizer.id, authorizer)
        self.default_route = self.default_route or parsed.default_route
        self.cors = self.cors or parsed.cors
        if parsed.disable_execute_api_endpoint is not None:
            self.disable_execute_api_endpoint = bool(parsed.disable_execute_api_endpoint)

    def add_route(self, route_key: str, *, authorization_type: str = "NONE", authorizer_id: str | None = None,
                  api_key_required: bool = False) -> None:
        """An HTTP or WebSocket route, as the live reader files it: every WebSocket route is reached through the one
        handshake (GET on the stage URL), ``$default`` is the catch-all, others are ``VERB /path``."""
        args = dict(authorization_type=authorization_type, authorizer_id=authorizer_id,
                    api_key_required=api_key_required, route_key=route_key)
        if self.protocol is ApiProtocol.WEBSOCKET:
            self.resources.setdefault("/", []).append(ApiMethod("GET", **args))
        elif route_key == "$default":
            self.default_route = ApiMethod("ANY", **args)
        else:
            verb, _, path = route_key.partition(" ")
            self.resources.setdefault(path or "/", []).append(ApiMethod(verb.upper(), **args))

    def model(self) -> Api:
        resources = dict(self.resources)
        if self.protocol is ApiProtocol.REST:
            resources.setdefault("/", [])
        return Api(
            id=self.id, name=self.name, region=self.region, protocol=self.protocol, endpoint_type=self.endpoint_type,
            disable_execute_api_endpoint=self.disable_execute_api_endpoint, stages=tuple(sorted(self.stages)),
            resources=tuple(ApiResource(path, tuple(methods)) for path, methods in sorted(resources.items())),
            authorizers=tuple(self.authorizers.values()), default_route=self.default_route,
            cors_configured=self.cors,
        )


@dataclass
class ModelBuilder:
    """Collects what a loader read; :meth:`inventory` makes the model."""

    source: str  # "template" | "Terraform plan", for reasons
    configs: list[tuple[dict, dict]] = field(default_factory=list)  # (summary, DistributionConfig)
    lines: dict[str, DistributionLines] = field(default_factory=dict)  # distribution id -> lines
    apis: dict[tuple[str, str], ApiParts] = field(default_factory=dict)
    custom_domains: dict[str, CustomDomain] = field(default_factory=dict)
    load_balancers: dict[str, LoadBalancer] = field(default_factory=dict)
    certificates: dict[str, Certificate] = field(default_factory=dict)
    cache_policies: dict[str, CachePolicy | Unreadable] = field(default_factory=dict)
    origin_request_policies: dict[str, OriginRequestPolicy | Unreadable] = field(default_factory=dict)
    unreadable: dict[str, Unreadable] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def inventory(self) -> Inventory:
        from ..model import api_key

        resolver = TemplatePolicies(self.cache_policies, self.origin_request_policies,
                                    f"defined outside this {self.source}")
        domains = dict(self.custom_domains)
        distributions: list[Distribution] = []
        for summary, config in self.configs:
            dist = distribution_from_config(summary, config, "", resolver, domains)
            distributions.append(dist)
            for missing in dist.unreadable:
                self.warn(f"distribution {dist.id}: {missing.what} is {missing.reason}; the rules that need it "
                          "stay silent for its behaviors")
        apis: dict[tuple[str, str], Api] = {}
        for key, parts in self.apis.items():
            if not parts.stages and not parts.unresolved:
                # A stage deployed by another stack or by hand cannot be seen; "no stage" would be a guess.
                parts.unresolved.append(f"no stage of it is in this {self.source}")
            if parts.unresolved:
                reason = "; ".join(dict.fromkeys(parts.unresolved))
                self.unreadable[api_key(parts.region, parts.id)] = Unreadable(f"API {parts.name}", reason)
                self.warn(f"API {parts.name} is not fully known ({reason}); the rules that need its routes stay "
                          "silent for the behaviors in front of it")
                continue
            apis[key] = parts.model()
        return Inventory(
            distributions=tuple(distributions), apis=apis, custom_domains=domains,
            load_balancers=dict(self.load_balancers), certificates=dict(self.certificates),
            unreadable=dict(self.unreadable), warnings=tuple(self.warnings),
        )


def display_name(path: Path, relative_to: Path | None = None) -> str:
    """``path`` relative to ``relative_to`` (default: the working directory) where it is under it, else absolute:
    the name findings carry (SARIF wants artifact URIs relative to where the scan ran)."""
    base = (relative_to or Path.cwd()).resolve()
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return path.resolve().as_posix()
