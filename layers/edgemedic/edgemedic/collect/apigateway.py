"""API Gateway: the APIs behind API origins and the custom domains that map them, read once per run.

The APIs of a region are listed once (GetRestApis, GetApis): the listing says which kind each id is and carries
the API's own fields, so no API is probed or got one by one. Then each API behind an origin is read once, a few at a
time: REST APIs (``apigateway``) with GetStages, GetResources with ``embed=methods``, and GetAuthorizers only when a
method names an authorizer; HTTP and WebSocket APIs (``apigatewayv2``) with GetStages, GetRoutes and GetAuthorizer
for each authorizer a route names. An id in neither listing is gone (AWS says so); where a listing is not allowed,
the API is read by id (GetRestApi, and on NotFound GetApi). Custom domains are one resource in AWS seen through both APIs: v1 GetDomainNames +
GetBasePathMappings and v2 GetDomainNames + GetApiMappings are merged by name.

Anything that cannot be read makes the whole API (or domain) :class:`~edgemedic.model.Unreadable`: a half-read API
would let rules conclude "no such route" from missing data.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

from ..aws import Clients
from ..model import (
    API_MAPPING_ONLY,
    RoutingRule,
    Api,
    ApiMapping,
    ApiMethod,
    ApiProtocol,
    ApiResource,
    Authorizer,
    CorsConfiguration,
    CustomDomain,
    EndpointType,
    Unreadable,
    api_key,
    custom_domain_key,
    domains_key,
)
from .calls import ResourceUnreadable, call, paginate

_QUERY_PREFIX = "method.request.querystring."
# APIs read at once. API Gateway's control plane throttles early (a few requests per second per account); the
# clients' adaptive retry mode (edgemedic.aws) slows every thread down together when it does.
API_READERS = 8
_REST_PAGE = 500  # GetRestApis' largest page (default 25)
_GONE = "no REST, HTTP or WebSocket API has this id"
# API Gateway's default and maximum REST integration timeout without a quota increase (Integration.timeoutInMillis).
DEFAULT_INTEGRATION_TIMEOUT_MS = 29000


def _integration(method: dict) -> dict:
    """The integration fields of a Method as GetResources(embed=methods) returns it: ``methodIntegration`` carries
    ``type`` and ``timeoutInMillis`` (29000 when absent, API Gateway's default). Nothing when it is not there."""
    integration = method.get("methodIntegration")
    if not isinstance(integration, dict):
        return {}
    timeout = integration.get("timeoutInMillis")
    return {"integration_type": integration.get("type") or None,
            "integration_timeout_ms": int(timeout) if timeout else DEFAULT_INTEGRATION_TIMEOUT_MS}


def _cors(raw: dict | None) -> CorsConfiguration | None:
    if not raw:
        return None
    return CorsConfiguration(tuple(raw.get("AllowOrigins") or ()), bool(raw.get("AllowCredentials", False)))


def _endpoint_type(types: list[str] | None, default: EndpointType) -> EndpointType:
    for value in types or ():
        if value in EndpointType.__members__:
            return EndpointType(value)
    return default


def routing_rule_from_api(raw: dict) -> RoutingRule | None:
    """A RoutingRule from ListRoutingRules / GetRoutingRule (None for a rule without an InvokeApi action)."""
    action = next((a["InvokeApi"] for a in raw.get("Actions") or [] if a.get("InvokeApi")), None)
    if action is None:
        return None
    base_paths: list[str] = []
    headers: list[tuple[tuple[str, str], ...]] = []
    for condition in raw.get("Conditions") or []:
        if condition.get("MatchBasePaths"):
            base_paths.extend(p.strip("/") for p in condition["MatchBasePaths"].get("AnyOf") or [])
        if condition.get("MatchHeaders"):
            headers.append(tuple((h["Header"].lower(), h.get("ValueGlob", "*"))
                                 for h in condition["MatchHeaders"].get("AnyOf") or []))
    return RoutingRule(int(raw.get("Priority", 0)), action["ApiId"], action["Stage"], tuple(base_paths),
                       tuple(headers), bool(action.get("StripBasePath", False)), raw.get("RoutingRuleId", ""))


def _base_path(value: str | None) -> str:
    return "" if value in (None, "", "(none)") else value.strip("/")


def _stage(value: str | None) -> str | None:
    return None if value in (None, "", "(none)") else value


@dataclass
class ApiGatewayReader:
    """Reads APIs and custom domains on demand, caching every answer (and every failure) for the run."""

    clients: Clients
    apis: dict[tuple[str, str], Api] = field(default_factory=dict)
    unreadable: dict[str, Unreadable] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _domains: dict[str, dict[str, CustomDomain]] = field(default_factory=dict)
    _domain_names: dict[str, dict[str, CustomDomain]] = field(default_factory=dict)
    # region -> (REST APIs by id, HTTP/WebSocket APIs by id); None where the listing could not be read
    _listed: dict[str, tuple[dict[str, dict] | None, dict[str, dict] | None]] = field(default_factory=dict)

    # ----------------------------------------------------------------------------------------- APIs

    def api(self, region: str, api_id: str) -> Api | None:
        self.read_apis([(region, api_id)])
        return self.apis.get((region, api_id))

    def read_apis(self, keys: Sequence[tuple[str, str]], progress: Callable[[int], None] | None = None) -> None:
        """Read each (region, API id) not read yet: the regions' listings first, then the APIs in parallel.
        Results (and warnings) are recorded in the order of ``keys``; ``progress(APIs read so far)`` is called from
        this thread as they come in."""
        todo = [key for key in dict.fromkeys(keys) if key not in self.apis and api_key(*key) not in self.unreadable]
        if not todo:
            return
        for region in dict.fromkeys(region for region, _ in todo):
            self._list_apis(region)

        def read(key: tuple[str, str]) -> Api | ResourceUnreadable:
            try:
                return self._read_listed(*key)
            except ResourceUnreadable as problem:
                return problem

        from concurrent.futures import ThreadPoolExecutor  # late: not for commands that read nothing

        with ThreadPoolExecutor(max_workers=min(API_READERS, len(todo))) as pool:
            for (region, api_id), result in zip(todo, pool.map(read, todo)):
                if isinstance(result, ResourceUnreadable):
                    key = api_key(region, api_id)
                    self.unreadable[key] = result.unreadable()
                    self.warnings.append(f"API {api_id} in {region} could not be read: {self.unreadable[key].reason}")
                else:
                    self.apis[(region, api_id)] = result
                    if progress is not None:
                        progress(len(self.apis))

    def _list_apis(self, region: str) -> None:
        if region in self._listed:
            return
        rest: dict[str, dict] | None = {}
        v2: dict[str, dict] | None = {}
        try:
            for raw in paginate(f"REST APIs in {region}", self.clients.apigateway(region), "get_rest_apis", "items",
                                PaginationConfig={"PageSize": _REST_PAGE}):
                rest[raw["id"]] = raw  # type: ignore[index]
        except ResourceUnreadable:
            rest = None  # not allowed to list: each API is read by id instead
        try:
            for raw in paginate(f"HTTP/WebSocket APIs in {region}", self.clients.apigatewayv2(region), "get_apis",
                                "Items"):
                v2[raw["ApiId"]] = raw  # type: ignore[index]
        except ResourceUnreadable:
            v2 = None
        self._listed[region] = (rest, v2)

    def _read_listed(self, region: str, api_id: str) -> Api:
        rest, v2 = self._listed.get(region, (None, None))
        if rest is not None and api_id in rest:
            return self._read_rest(region, api_id, rest[api_id])
        if v2 is not None and api_id in v2:
            return self._read_v2(region, api_id, v2[api_id])
        if rest is not None and v2 is not None:
            raise ResourceUnreadable(f"API {api_id} in {region}", "NotFoundException", _GONE)
        return self._read_api(region, api_id)

    def _read_api(self, region: str, api_id: str) -> Api:
        try:
            rest = call(f"REST API {api_id} in {region}", self.clients.apigateway(region).get_rest_api,
                        restApiId=api_id)
        except ResourceUnreadable as problem:
            if not problem.not_found:
                raise
            try:
                v2 = call(f"HTTP/WebSocket API {api_id} in {region}", self.clients.apigatewayv2(region).get_api,
                          ApiId=api_id)
            except ResourceUnreadable as again:
                if again.not_found:
                    raise ResourceUnreadable(f"API {api_id} in {region}", again.code, _GONE) from again
                raise
            return self._read_v2(region, api_id, v2)
        return self._read_rest(region, api_id, rest)

    def _read_rest(self, region: str, api_id: str, rest: dict) -> Api:
        client = self.clients.apigateway(region)
        what = f"REST API {api_id} in {region}"
        notes: list[str] = []
        types = (rest.get("endpointConfiguration") or {}).get("types")
        if not types:
            # GetRestApi always returns it on AWS; EDGE is API Gateway's documented default for REST APIs.
            notes.append("endpointConfiguration not returned; taken as EDGE, the default for REST APIs")
        stages = call(what, client.get_stages, restApiId=api_id).get("item") or []
        resources = []
        for raw in paginate(what, client, "get_resources", "items", restApiId=api_id, embed=["methods"]):
            methods = tuple(
                ApiMethod(
                    http_method=verb.upper(),
                    authorization_type=method.get("authorizationType", "NONE"),
                    authorizer_id=method.get("authorizerId") or None,
                    api_key_required=bool(method.get("apiKeyRequired", False)),
                    query_parameters=tuple(sorted(
                        name[len(_QUERY_PREFIX):] for name in (method.get("requestParameters") or {})
                        if name.startswith(_QUERY_PREFIX))),
                    **_integration(method),
                )
                for verb, method in sorted((raw.get("resourceMethods") or {}).items())
            )
            resources.append(ApiResource(raw["path"], methods))
        # GetAuthorizers only when a method names an authorizer: the rules look authorizers up by those ids.
        named = any(method.authorizer_id for resource in resources for method in resource.methods)
        authorizers = tuple(
            Authorizer(
                id=raw["id"],
                name=raw.get("name", raw["id"]),
                type=raw.get("type", "TOKEN"),
                identity_sources=tuple(s.strip() for s in (raw.get("identitySource") or "").split(",") if s.strip()),
            )
            for raw in (paginate(what, client, "get_authorizers", "items", restApiId=api_id) if named else ())
        )
        return Api(
            id=api_id,
            name=rest.get("name", api_id),
            region=region,
            protocol=ApiProtocol.REST,
            endpoint_type=_endpoint_type(types, EndpointType.EDGE),
            disable_execute_api_endpoint=bool(rest.get("disableExecuteApiEndpoint", False)),
            stages=tuple(sorted(s["stageName"] for s in stages)),
            resources=tuple(sorted(resources, key=lambda r: r.path)),
            authorizers=authorizers,
            notes=tuple(notes),
            api_key_source=rest.get("apiKeySource") or "HEADER",
        )

    def _read_v2(self, region: str, api_id: str, raw_api: dict) -> Api:
        client = self.clients.apigatewayv2(region)
        protocol = ApiProtocol.WEBSOCKET if raw_api.get("ProtocolType") == "WEBSOCKET" else ApiProtocol.HTTP
        what = f"{protocol.value} API {api_id} in {region}"
        stages = [s["StageName"] for s in paginate(what, client, "get_stages", "Items", ApiId=api_id)]
        routes = list(paginate(what, client, "get_routes", "Items", ApiId=api_id))
        by_path: dict[str, list[ApiMethod]] = {}
        default_route: ApiMethod | None = None
        for route in sorted(routes, key=lambda r: r["RouteKey"]):
            key = route["RouteKey"]
            auth = dict(authorization_type=route.get("AuthorizationType", "NONE"),
                        authorizer_id=route.get("AuthorizerId") or None,
                        api_key_required=bool(route.get("ApiKeyRequired", False)))
            if protocol is ApiProtocol.WEBSOCKET:
                # Every WebSocket route is reached through the one handshake (a GET on the stage URL).
                by_path.setdefault("/", []).append(ApiMethod("GET", route_key=key, **auth))
            elif key == "$default":
                default_route = ApiMethod("ANY", route_key=key, **auth)
            else:
                verb, _, path = key.partition(" ")
                by_path.setdefault(path or "/", []).append(ApiMethod(verb.upper(), route_key=key, **auth))
        # moto has no GetAuthorizers for v2; GetAuthorizer per id named by a route reads the same data on AWS.
        authorizer_ids = sorted({r["AuthorizerId"] for r in routes if r.get("AuthorizerId")})
        authorizers = []
        for authorizer_id in authorizer_ids:
            raw = call(what, client.get_authorizer, ApiId=api_id, AuthorizerId=authorizer_id)
            authorizers.append(Authorizer(authorizer_id, raw.get("Name", authorizer_id), raw.get("AuthorizerType", ""),
                                          tuple(raw.get("IdentitySource") or ())))
        return Api(
            id=api_id,
            name=raw_api.get("Name", api_id),
            region=region,
            protocol=protocol,
            endpoint_type=EndpointType.REGIONAL,  # HTTP and WebSocket APIs are regional only
            disable_execute_api_endpoint=bool(raw_api.get("DisableExecuteApiEndpoint", False)),
            stages=tuple(sorted(stages)),
            resources=tuple(ApiResource(path, tuple(methods)) for path, methods in sorted(by_path.items())),
            authorizers=tuple(authorizers),
            default_route=default_route,
            cors_configured=bool(raw_api.get("CorsConfiguration")),
            cors=_cors(raw_api.get("CorsConfiguration")),
        )

    # ----------------------------------------------------------------------------------------- custom domains

    def domains(self, region: str) -> dict[str, CustomDomain]:
        """Readable custom domains of ``region`` by lower-cased name (those whose mappings could not be read are
        left out and recorded as unreadable)."""
        self._load_domains(region)
        return self._domains[region]

    def all_domains(self) -> dict[str, CustomDomain]:
        """Readable custom domains of every region read so far, by lower-cased name."""
        return {name: d for region in sorted(self._domains) for name, d in self._domains[region].items()}

    def domain_names(self, region: str) -> dict[str, CustomDomain]:
        """Every custom domain listed in ``region``, readable or not: enough to recognise an origin pointing at one."""
        self._load_domains(region)
        return self._domain_names[region]

    def _load_domains(self, region: str) -> None:
        if region in self._domains:
            return
        self._domains[region], self._domain_names[region] = {}, {}
        try:
            listed = self._list_domains(region)
        except ResourceUnreadable as problem:
            self.unreadable[domains_key(region)] = Unreadable(f"custom domains in {region}", problem.unreadable().reason)
            self.warnings.append(f"custom domains in {region} could not be listed: {problem.code}: {problem.message}; "
                                 "origins pointing at them cannot be recognised or checked")
            return
        for name, (domain, sources) in listed.items():
            self._domain_names[region][name] = domain
            try:
                mappings = self._mappings(domain, sources)
            except ResourceUnreadable as problem:
                self.unreadable[custom_domain_key(name)] = problem.unreadable()
                self.warnings.append(f"custom domain {domain.name} in {region}: mappings could not be read: "
                                     f"{problem.code}: {problem.message}")
                continue
            rules: tuple[RoutingRule, ...] = ()
            if domain.routing_mode != API_MAPPING_ONLY:
                try:
                    rules = self._routing_rules(domain)
                except ResourceUnreadable as problem:
                    self.unreadable[custom_domain_key(name)] = problem.unreadable()
                    self.warnings.append(f"custom domain {domain.name} in {region}: routing rules could not be read: "
                                         f"{problem.code}: {problem.message}")
                    continue
            self._domains[region][name] = replace(domain, mappings=mappings, routing_rules=rules)

    def _list_domains(self, region: str) -> dict[str, tuple[CustomDomain, set[str]]]:
        found: dict[str, tuple[CustomDomain, set[str]]] = {}
        what = f"custom domains in {region}"
        for raw in paginate(what, self.clients.apigateway(region), "get_domain_names", "items"):
            found[raw["domainName"].lower()] = (CustomDomain(
                name=raw["domainName"],
                region=region,
                endpoint_type=_endpoint_type((raw.get("endpointConfiguration") or {}).get("types"), EndpointType.EDGE),
                regional_domain_name=raw.get("regionalDomainName"),
                distribution_domain_name=raw.get("distributionDomainName"),
                certificate_arn=raw.get("regionalCertificateArn") or raw.get("certificateArn"),
                security_policy=raw.get("securityPolicy"),
                routing_mode=raw.get("routingMode") or API_MAPPING_ONLY,
            ), {"v1"})
        for raw in paginate(what, self.clients.apigatewayv2(region), "get_domain_names", "Items"):
            name = raw["DomainName"].lower()
            configuration = (raw.get("DomainNameConfigurations") or [{}])[0]
            if name in found:
                domain, sources = found[name]
                sources.add("v2")
                if not domain.regional_domain_name and configuration.get("EndpointType") == "REGIONAL":
                    domain = replace(domain, regional_domain_name=configuration.get("ApiGatewayDomainName"))
                if raw.get("RoutingMode") and domain.routing_mode == API_MAPPING_ONLY:
                    domain = replace(domain, routing_mode=raw["RoutingMode"])
                found[name] = (domain, sources)
                continue
            endpoint = _endpoint_type([configuration.get("EndpointType", "REGIONAL")], EndpointType.REGIONAL)
            target = configuration.get("ApiGatewayDomainName")
            found[name] = (CustomDomain(
                name=raw["DomainName"],
                region=region,
                endpoint_type=endpoint,
                regional_domain_name=target if endpoint is EndpointType.REGIONAL else None,
                distribution_domain_name=target if endpoint is EndpointType.EDGE else None,
                certificate_arn=configuration.get("CertificateArn"),
                security_policy=configuration.get("SecurityPolicy"),
                routing_mode=raw.get("RoutingMode") or API_MAPPING_ONLY,
            ), {"v2"})
        return found

    def _routing_rules(self, domain: CustomDomain) -> tuple[RoutingRule, ...]:
        """ListRoutingRules (apigatewayv2; REST custom domains too), in priority order: one listing per domain whose
        routing mode uses rules."""
        what = f"routing rules of custom domain {domain.name} in {domain.region}"
        client = self.clients.apigatewayv2(domain.region)
        rules: list[RoutingRule] = []
        token: str | None = None
        while True:
            page = call(what, client.list_routing_rules, DomainName=domain.name,
                        **({"NextToken": token} if token else {}))
            for raw in page.get("RoutingRules") or []:
                rule = routing_rule_from_api(raw)
                if rule is not None:
                    rules.append(rule)
            token = page.get("NextToken")
            if not token:
                break
        return tuple(sorted(rules, key=lambda r: r.priority))

    def _mappings(self, domain: CustomDomain, sources: set[str]) -> tuple[ApiMapping, ...]:
        what = f"custom domain {domain.name} in {domain.region}"
        mappings: dict[str, ApiMapping] = {}
        if "v1" in sources:
            for raw in paginate(what, self.clients.apigateway(domain.region), "get_base_path_mappings", "items",
                                domainName=domain.name):
                path = _base_path(raw.get("basePath"))
                mappings[path] = ApiMapping(path, raw["restApiId"], _stage(raw.get("stage")))
        if "v2" in sources:
            client = self.clients.apigatewayv2(domain.region)
            token: str | None = None
            while True:  # GetApiMappings has a NextToken but no boto3 paginator
                page = call(what, client.get_api_mappings, DomainName=domain.name,
                            **({"NextToken": token} if token else {}))
                for raw in page.get("Items") or []:
                    path = _base_path(raw.get("ApiMappingKey"))
                    mappings.setdefault(path, ApiMapping(path, raw["ApiId"], _stage(raw.get("Stage"))))
                token = page.get("NextToken")
                if not token:
                    break
        return tuple(sorted(mappings.values(), key=lambda m: m.base_path))
