"""API Gateway routing as seen through CloudFront: the one API router every rule (and ``edgemedic trace``) uses.

Sources: ../shared/reference/aws-facts.md sections 4 and 6, and the catalog's "Host at the API" / "Path at the API".

- Path at the API = OriginPath + the full viewer path (CloudFront never strips the matched prefix).
- Host at the API = the viewer's Host when the behavior forwards it, else the origin domain. A forwarded Host only
  routes when it is an API Gateway custom domain mapped to the API (host intent); otherwise API Gateway answers 403
  before any path routing. That case belongs to ``apigw-host-forwarded``: :func:`reachable` says so in ``notes``
  with ``known=False`` so that path rules stay silent.
- ``execute-api`` host: the first path segment is the stage; an HTTP API's ``$default`` stage has no segment and
  takes the paths whose first segment names no stage. Custom domain: the mapping with the longest matching base
  path, ``(none)`` as catch-all; a REST mapping with stage ``(none)`` takes the stage from the next segment.
- REST resources: ``{param}`` = one non-empty segment, ``{proxy+}`` = one or more segments; literal beats
  ``{param}`` beats ``{proxy+}``, segment by segment. HTTP routes likewise, a route naming the method beats ``ANY``,
  and the ``$default`` route takes the rest. WebSocket: the path at the API is exactly the stage (or the mapping).
- A trailing ``/`` reaches the same resource as without it ([3P] powertools-lambda-python#1552: REST and HTTP
  APIs route ``/hello/`` to ``/hello``).
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

from . import automata
from .apis import domain_of_origin, host_intent
from .automata import GREEDY, OPT_SLASH, OPT_TAIL, SEGMENT, Language
from .forwarding import forwarding_of
from .model import (
    ROUTING_RULE_ONLY,
    Api,
    ApiMapping,
    ApiMethod,
    ApiProtocol,
    ApiResource,
    Behavior,
    CustomDomain,
    Distribution,
    EndpointType,
    Inventory,
    Origin,
    RoutingRule,
    api_key,
    custom_domain_key,
    domains_key,
    has_tenant_parameter,
)
from .pathmatch import earlier_patterns, pattern_language, viewer_path

MISSING_AUTH_TOKEN = '{"message":"Missing Authentication Token"}'
NOT_FOUND = '{"message":"Not Found"}'
FORBIDDEN = '{"message":"Forbidden"}'
WEBSOCKET_HANDSHAKE_FAILED = "WebSocket handshake fails"



@dataclass(frozen=True, slots=True)
class Reach:
    """An API method that requests through a behavior reach, with a viewer path that reaches it."""

    api: Api
    stage: str
    resource: ApiResource
    method: ApiMethod
    example_path: str  # viewer path
    mapping: ApiMapping | None = None
    api_prefix: str = ""  # literal path at the API before the resource path: "/prod", "/orders", ""

    @property
    def api_path(self) -> str:
        """The resource as addressed at the API host: ``/prod/items``, ``/orders/items/{id}``."""
        if self.resource.path in ("", "/"):
            return self.api_prefix or "/"
        if self.resource.path == "$default":
            return f"{self.api_prefix or ''} ($default route)".strip()
        return self.api_prefix + self.resource.path

    def label(self) -> str:
        """``GET /prod/items (AWS_IAM)``."""
        return f"{self.method.http_method} {self.api_path} ({self.method.authorization_type})"


@dataclass(frozen=True, slots=True)
class Reachability:
    reaches: tuple[Reach, ...]
    routable: bool  # some viewer path through the behavior reaches some API method
    notes: tuple[str, ...]
    example_unroutable: str | None  # a viewer path through the behavior that reaches no method
    known: bool = True  # False: data missing, Host forwarded without intent, shadowed, ...: rules do not fire
    api_host: str | None = None  # the Host API Gateway sees
    origin_path: str = ""
    host_intent: CustomDomain | None = None


@dataclass(frozen=True, slots=True)
class RouteResult:
    """Where one concrete request lands at API Gateway, or the error it gets."""

    host: str
    path: str
    routed: bool
    explanation: str  # one line
    api: Api | None = None
    stage: str | None = None
    domain: CustomDomain | None = None
    mapping: ApiMapping | None = None
    resource: ApiResource | None = None
    method: ApiMethod | None = None
    status: int | None = None  # the error's status when not routed
    error: str | None = None  # the error body (or WEBSOCKET_HANDSHAKE_FAILED)
    stage_path: str | None = None  # the path inside the stage or mapping ("/api/x" of "/prod/api/x"), when one matched
    known: bool = True  # False when the API or domain could not be read


# --------------------------------------------------------------------------------------------- templates


def _segments(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/") if s] if path not in ("", "/", "$default") else []


def _kind(segment: str) -> int:
    """2 literal, 1 ``{param}``, 0 ``{proxy+}``."""
    if segment.startswith("{") and segment.endswith("+}"):
        return 0
    if segment.startswith("{") and segment.endswith("}"):
        return 1
    return 2


@lru_cache(maxsize=4096)
def template_language(path: str) -> Language:
    """A REST resource path or HTTP route path as the language of resource-relative paths it matches."""
    tokens: list = []
    for segment in _segments(path):
        kind = _kind(segment)
        tokens.append("/")
        tokens.append((GREEDY,) if kind == 0 else (SEGMENT,) if kind == 1 else segment)
    return automata.concat(*tokens, (OPT_SLASH,))


@lru_cache(maxsize=16384)
def _beats(winner: str, loser: str) -> bool:
    """Whether template ``winner`` takes the paths it shares with ``loser`` (literal > {param} > {proxy+})."""
    a, b = _segments(winner), _segments(loser)
    for sa, sb in zip(a, b):
        ka, kb = _kind(sa), _kind(sb)
        if ka == 2 and kb == 2:
            if sa != sb:
                return False
            continue
        if ka != kb:
            return ka > kb
        if ka == 0:
            return False
    return False


# --------------------------------------------------------------------------------------------- scopes


@dataclass(frozen=True, slots=True)
class _Scope:
    """One (API, stage) as addressed at a host: the literal path prefix that selects it."""

    api: Api
    stage: str
    prefix: str  # "/prod", "/orders", "/orders/prod", ""
    excluded: tuple[str, ...] = ()  # prefixes below `prefix` that other scopes (or nothing) take
    mapping: ApiMapping | None = None
    strip: str | None = None  # what API Gateway removes before the API sees the path; None: all of `prefix`
    rule: RoutingRule | None = None  # the routing rule that selects this scope

    @property
    def api_prefix(self) -> str:
        """The literal part of the path at the host that the API does not see."""
        return self.prefix if self.strip is None else self.strip

    def matches(self, path: str) -> bool:
        return _under(path, self.prefix) and not any(_under(path, p) for p in self.excluded)

    @property
    def language(self) -> Language:
        return automata.concat(self.prefix, (OPT_TAIL,))

    @property
    def exclusions(self) -> tuple[Language, ...]:
        return tuple(automata.concat(p, (OPT_TAIL,)) for p in self.excluded)


def _under(path: str, prefix: str) -> bool:
    return not prefix or path == prefix or path.startswith(prefix + "/")


@lru_cache(maxsize=1024)
def _glob(glob: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in glob.split("*")), re.DOTALL)


def header_glob_matches(glob: str, value: str) -> bool:
    """A routing rule's ValueGlob against a whole header value: case-sensitive, ``*`` the only wildcard (prefix,
    suffix or infix; ``?`` is a literal character there). Source: apigatewayv2 MatchHeaderValue.ValueGlob."""
    return _glob(glob).fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class _Target:
    """Where the Host at the API leads: one API (execute-api) or a custom domain and its mapped APIs."""

    host: str
    api: Api | None = None
    domain: CustomDomain | None = None
    domain_apis: tuple[Api | None, ...] = ()  # parallel to domain.live_mappings; None = unreadable
    rule_apis: tuple[Api | None, ...] = ()  # parallel to domain.live_rules; None = unreadable
    # Headers that reach API Gateway, for routing rules' header conditions: (all viewer headers, names, except),
    # or the concrete request's (name, value) pairs; neither: unknown (a conditional rule may match).
    forwarded: tuple[bool, frozenset[str], frozenset[str]] | None = None
    request_headers: tuple[tuple[str, str], ...] | None = None

    def rule_may_match(self, rule: RoutingRule) -> bool:
        """Whether some request through here can satisfy the rule's header conditions."""
        for group in rule.header_conditions:
            if self.request_headers is not None:
                values = dict(self.request_headers)
                if not any(h in values and header_glob_matches(glob, values[h]) for h, glob in group):
                    return False
            elif self.forwarded is not None:
                every, names, excepted = self.forwarded
                if not any((every and h not in excepted) or h in names for h, _ in group):
                    return False
        return True


@dataclass(frozen=True, slots=True)
class _Scopes:
    scopes: tuple[_Scope, ...]
    unreadable_prefixes: tuple[tuple[str, tuple[str, ...]], ...]  # (prefix, excluded) of unreadable mapped APIs
    notes: tuple[str, ...]
    incomplete: bool = False  # an API could not be read (wholly or in part): "nothing routes" is not known


def _execute_api_scopes(api: Api) -> list[_Scope]:
    named = [s for s in api.stages if s != "$default"]
    scopes = [_Scope(api, stage, "/" + stage) for stage in named]
    if api.protocol is ApiProtocol.HTTP and "$default" in api.stages:
        scopes.append(_Scope(api, "$default", "", tuple("/" + s for s in named)))
    return scopes


@lru_cache(maxsize=1024)
def _scopes(target: _Target) -> _Scopes:
    if target.api is not None:
        notes = tuple(f"API {target.api.id}: {note}" for note in target.api.notes)
        if not target.api.stages:
            notes += (f"{_api_label(target.api)} has no deployed stage",)
        return _Scopes(tuple(_execute_api_scopes(target.api)), (), notes, bool(target.api.notes))
    domain = target.domain
    assert domain is not None
    scopes: list[_Scope] = []
    unreadable: list[tuple[str, tuple[str, ...]]] = []
    notes: list[str] = []
    partial = False
    # Routing rules first, in priority order (ROUTING_RULE_ONLY / ROUTING_RULE_THEN_API_MAPPING). A rule without
    # header conditions takes every path under its base paths; a rule with them takes only the requests carrying
    # matching headers, so later rules and mappings still see the others.
    taken: list[str] = []

    def readable(api: Api | None, prefix: str, excluded: tuple[str, ...], missing: str) -> bool:
        nonlocal partial
        if api is None:
            unreadable.append((prefix, excluded))
            notes.append(missing)
            return False
        notes.extend(f"API {api.id}: {note}" for note in api.notes)
        partial = partial or bool(api.notes)
        return True

    for rule, api in zip(domain.live_rules, target.rule_apis):
        if not target.rule_may_match(rule):
            notes.append(f"{rule.label} cannot match: the headers it needs do not reach API Gateway")
            continue
        bases = tuple("/" + b.strip("/") if b.strip("/") else "" for b in rule.base_paths) or ("",)
        for prefix in bases:
            if any(_under(prefix, t) for t in taken):
                continue  # an earlier rule takes all of it
            excluded = tuple(sorted({t for t in taken if t != prefix and _under(t, prefix)}))
            if not readable(api, prefix, excluded, f"API {rule.api_id} routed by {rule.label} could not be read"):
                continue
            assert api is not None
            scopes.append(_Scope(api, rule.stage, prefix, excluded, None,
                                 strip=prefix if rule.strip_base_path else "", rule=rule))
        if not rule.header_conditions:
            taken.extend(bases)
    if domain.routing_mode == ROUTING_RULE_ONLY and domain.mappings:
        notes.append(f"custom domain {domain.name} routes by routing rules only: its API mappings are not used")
    mappings = domain.live_mappings
    bases = [m.base_path.strip("/") for m in mappings]
    for mapping, api in zip(mappings, target.domain_apis):
        base = mapping.base_path.strip("/")
        prefix = "/" + base if base else ""
        if any(_under(prefix, t) for t in taken):
            continue
        # Longest matching base path first: longer mappings below this one take their paths.
        excluded = tuple(sorted(
            {"/" + other for other in bases if other != base and (not base or other.startswith(base + "/"))}
            | {t for t in taken if t != prefix and _under(t, prefix)}
        ))
        if not readable(api, prefix, excluded, f"API {mapping.api_id} mapped at {domain.name}/{base} could not be read"):
            continue
        assert api is not None
        if mapping.stage is None:
            scopes.extend(_Scope(api, stage, f"{prefix}/{stage}", excluded, mapping) for stage in api.stages
                          if stage != "$default")
        else:
            scopes.append(_Scope(api, mapping.stage, prefix, excluded, mapping))
    if not mappings and not domain.live_rules:
        notes.append(f"custom domain {domain.name} has no API mappings")
    return _Scopes(tuple(scopes), tuple(unreadable), tuple(notes), partial or bool(unreadable))


@dataclass(frozen=True, slots=True)
class _Entry:
    """The API paths that land on one resource (and, for HTTP routes, one method) inside a scope."""

    language: Language
    exclusions: tuple[Language, ...]
    resource: ApiResource
    methods: tuple[ApiMethod, ...]


def _websocket_resource(api: Api) -> ApiResource:
    for resource in api.resources:
        if any(m.route_key == "$connect" for m in resource.methods):
            return resource
    return ApiResource("/", (ApiMethod("GET", route_key="$connect"),))


@lru_cache(maxsize=4096)
def _entries(scope: _Scope) -> tuple[_Entry, ...]:
    api, prefix, outside = scope.api, scope.api_prefix, scope.exclusions
    if api.protocol is ApiProtocol.WEBSOCKET:
        return (_Entry(automata.concat(prefix, (OPT_SLASH,)), outside, _websocket_resource(api),
                       _websocket_resource(api).methods),)
    paths = [r.path for r in api.resources]
    entries = []
    if api.protocol is ApiProtocol.REST:
        for resource in api.resources:
            better = tuple(automata.concat(prefix, template_language(p)) for p in paths if _beats(p, resource.path))
            entries.append(_Entry(automata.concat(prefix, template_language(resource.path)), outside + better,
                                  resource, resource.methods))
        return tuple(entries)
    # HTTP: a route is a method and a path; a more specific path with the same method (or ANY) wins.
    by_path = {r.path: r for r in api.resources}
    any_paths = [r.path for r in api.resources if any(m.http_method == "ANY" for m in r.methods)]
    for resource in api.resources:
        for method in resource.methods:
            verbs = {"ANY"} if method.http_method == "ANY" else {"ANY", method.http_method}
            better = tuple(
                automata.concat(prefix, template_language(p)) for p in paths
                if _beats(p, resource.path) and any(m.http_method in verbs for m in by_path[p].methods)
            )
            entries.append(_Entry(automata.concat(prefix, template_language(resource.path)), outside + better,
                                  resource, (method,)))
    if api.default_route is not None:
        taken = tuple(automata.concat(prefix, template_language(p)) for p in any_paths)
        entries.append(_Entry(scope.language, outside + taken, ApiResource("$default", (api.default_route,)),
                              (api.default_route,)))
    return tuple(entries)


def _api_label(api: Api) -> str:
    return f"{api.protocol.value} API {api.name} ({api.id})"


# --------------------------------------------------------------------------------------------- reachable


def _unknown(note: str, **kw) -> Reachability:
    return Reachability((), False, (note,), None, known=False, **kw)


def _why(inv: Inventory, key: str, fallback: str) -> str:
    found = inv.why_unreadable(key)
    return f"{found.what}: {found.reason}" if found else fallback


# Several rules ask about the same behavior in one evaluation. Keys are object identities (hashing a whole API
# model costs more than answering); entries hold the objects themselves, so an id is never reused while cached.
# The model is immutable by contract, so an entry never goes stale.
_MEMO: OrderedDict[tuple, tuple[Distribution, Behavior, Inventory, Reachability]] = OrderedDict()
_MEMO_SIZE = 1024


def reachable(dist: Distribution, behavior: Behavior, inv: Inventory, *, origin_path: str | None = None,
              assume_host_fix: bool = False, origin_id: str | None = None) -> Reachability:
    """The API methods reachable through ``behavior``: viewer paths its pattern matches and no earlier behavior
    takes, sent with the Host and path API Gateway sees.

    ``origin_path`` overrides the origin's OriginPath (to test candidate fixes). ``assume_host_fix`` routes a
    forwarded Host without host intent as the origin domain (what API Gateway sees once apigw-host-forwarded's fix
    is applied) instead of answering "nothing routes". ``origin_id`` names the origin when the behavior's target is
    an origin group (each member is evaluated on its own).
    """
    key = (id(dist), id(behavior), id(inv), origin_path, assume_host_fix, origin_id)
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is dist and hit[1] is behavior and hit[2] is inv:
        return hit[3]
    result = _reachable(dist, behavior, inv, origin_path, assume_host_fix, origin_id)
    _MEMO[key] = (dist, behavior, inv, result)
    if len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return result


def _reachable(dist: Distribution, behavior: Behavior, inv: Inventory, origin_path: str | None,
               assume_host_fix: bool, origin_id: str | None = None) -> Reachability:
    origin = dist.origin(origin_id or behavior.target_origin_id)
    if origin is None or origin.api is None:
        return _unknown(f"origin {origin_id or behavior.target_origin_id} is not an API Gateway origin")
    path_prefix = origin.origin_path if origin_path is None else origin_path
    path_prefix = path_prefix.rstrip("/")
    if has_tenant_parameter(path_prefix):
        return _unknown(f"OriginPath {path_prefix} of origin {origin.id} names a tenant parameter, resolved per "
                        "distribution tenant: the path at the API is indeterminate", origin_path=path_prefix)
    forwarding = forwarding_of(behavior)
    if forwarding.unknown:
        return _unknown(f"cannot tell what reaches the API: {forwarding.unknown}", origin_path=path_prefix)
    intent = None
    if forwarding.forwards_host:
        intent = host_intent(dist, origin, inv)
        if intent is None and assume_host_fix:
            # Judging the path as the Host fix would send it is only right when Host intent is known to be absent.
            # When an alias (or tenant domain) could not be read, it may be a custom domain that routes this very
            # request: a path verdict would then be a guess (apigw-host-forwarded asks a person instead).
            from .rules.common import host_intent_of  # late: the rules import this module

            why = host_intent_of(dist, origin, inv).unknown
            if why:
                return _unknown(
                    f"the viewer Host is forwarded ({forwarding.source_of('host')}) and whether it reaches API "
                    f"Gateway on purpose could not be checked ({'; '.join(why)}): what the API receives is unknown",
                    origin_path=path_prefix,
                )
        if intent is None and not assume_host_fix:
            return _unknown(
                f"the viewer Host is forwarded ({forwarding.source_of('host')}) and no alias is an API Gateway custom "
                "domain mapped to this API: API Gateway answers 403 before any path routing (apigw-host-forwarded)",
                origin_path=path_prefix,
            )
    if intent is not None:
        target = _domain_target(intent.name, intent, inv, forwarded=_reaching_headers(behavior, origin))
    elif origin.api.via == "execute-api" and origin.api.api_id:
        api = inv.api(origin.api.region, origin.api.api_id)
        if api is None:
            return _unknown(_why(inv, api_key(origin.api.region, origin.api.api_id),
                                 f"API {origin.api.api_id} in {origin.api.region} could not be read"),
                            origin_path=path_prefix, api_host=origin.domain_name)
        if api.disable_execute_api_endpoint or api.endpoint_type is EndpointType.PRIVATE:
            why = "its default endpoint is disabled" if api.disable_execute_api_endpoint else "it is PRIVATE"
            return _unknown(f"{_api_label(api)} cannot be reached at {origin.domain_name}: {why}",
                            origin_path=path_prefix, api_host=origin.domain_name)
        target = _Target(origin.domain_name, api=api)
    else:
        domain = domain_of_origin(origin, inv)
        if domain is None:
            name = origin.api.domain_name or origin.domain_name
            return _unknown(_why(inv, custom_domain_key(name), f"custom domain {name} could not be read"),
                            origin_path=path_prefix, api_host=origin.domain_name)
        target = _domain_target(origin.domain_name, domain, inv, forwarded=_reaching_headers(behavior, origin))
    pattern = "*" if behavior.is_default else behavior.path_pattern
    reaches, notes, example, known = _reach(pattern, earlier_patterns(dist, behavior), path_prefix, target)
    return Reachability(reaches, bool(reaches), notes, example, known, target.host, path_prefix, intent)


def _domain_target(host: str, domain: CustomDomain, inv: Inventory, *,
                   forwarded: tuple[bool, frozenset[str], frozenset[str]] | None = None,
                   request_headers: tuple[tuple[str, str], ...] | None = None) -> _Target:
    return _Target(host, domain=domain,
                   domain_apis=tuple(inv.api(domain.region, m.api_id) for m in domain.live_mappings),
                   rule_apis=tuple(inv.api(domain.region, r.api_id) for r in domain.live_rules),
                   forwarded=forwarded, request_headers=request_headers)


def _reaching_headers(behavior: Behavior, origin: Origin) -> tuple[bool, frozenset[str], frozenset[str]]:
    """Which viewer headers reach API Gateway through the behavior (and which the origin adds itself)."""
    forwarding = forwarding_of(behavior)
    names = frozenset({h for h, _ in forwarding.header_sources} | {h.lower() for h in origin.custom_header_names})
    return bool(forwarding.all_headers_from), names, forwarding.all_headers_except


@lru_cache(maxsize=4096)
def _reach(pattern: str, earlier: tuple[str, ...], path_prefix: str,
           target: _Target) -> tuple[tuple[Reach, ...], tuple[str, ...], str | None, bool]:
    viewer = automata.concat(path_prefix, pattern_language(pattern))
    taken = tuple(automata.concat(path_prefix, pattern_language(p)) for p in earlier)
    first = automata.witness((viewer,), taken)
    if first is None:
        return (), (f"every path {pattern} matches is taken by an earlier behavior",), None, False
    scopes = _scopes(target)
    notes = scopes.notes
    reaches: list[Reach] = []
    for scope in scopes.scopes:
        if automata.witness((viewer, scope.language), taken + scope.exclusions) is None:
            continue
        for entry in _entries(scope):
            found = automata.witness((viewer, scope.language, entry.language), taken + entry.exclusions)
            if found is None:
                continue
            reaches.extend(Reach(scope.api, scope.stage, entry.resource, m, found[len(path_prefix):] or "/",
                                 scope.mapping, scope.api_prefix) for m in entry.methods)
    known = bool(reaches) or not scopes.incomplete
    if not reaches:
        example = first[len(path_prefix):] or "/"
    else:
        # A path that matches no template at all is certainly unroutable (paths lost to priorities may be
        # unroutable too; they are not needed for an example).
        every = tuple(e.language for s in scopes.scopes for e in _entries(s))
        every += tuple(automata.concat(p, (OPT_TAIL,)) for p, _ in scopes.unreadable_prefixes)
        found = automata.witness((viewer,), taken + every)
        example = (found[len(path_prefix):] or "/") if found is not None else None
    return tuple(reaches), notes, example, known


# --------------------------------------------------------------------------------------------- route


def route(api_host: str, path: str, inv: Inventory, *, region: str, method: str | None = None,
          headers: Mapping[str, str] | None = None) -> RouteResult:
    """Resolve one request (Host ``api_host``, path at the API ``path``) the way API Gateway does.

    ``method`` (GET, POST, ...) picks the method on the resource; without it the resource decides. ``headers`` are
    the request headers that reach API Gateway, for a custom domain's routing rules (none given: a rule with header
    conditions does not match).
    """
    host = api_host.lower().split(":", 1)[0]
    path = viewer_path(path)
    verb = method.upper() if method else None
    from .collect.origins import execute_api_id  # late: the collect package is for scans, not `rules`

    found = execute_api_id(host)
    if found:
        api_id, api_region = found
        api = inv.api(api_region, api_id)
        if api is None:
            return RouteResult(host, path, False, _why(inv, api_key(api_region, api_id),
                                                       f"API {api_id} in {api_region} could not be read"), known=False)
        if api.disable_execute_api_endpoint:
            return RouteResult(host, path, False, f"{_api_label(api)} has its default endpoint disabled", api=api,
                               status=403, error=FORBIDDEN)
        target = _Target(host, api=api)
    else:
        domain = inv.custom_domain(host) or next(
            (d for d in inv.custom_domains.values() if host in (n.lower() for n in d.target_names)), None)
        if domain is None:
            if inv.why_unreadable(domains_key(region)) or inv.why_unreadable(custom_domain_key(host)):
                return RouteResult(host, path, False, _why(inv, custom_domain_key(host), f"custom domains in {region}"
                                                                                         " could not be read"),
                                   known=False)
            return RouteResult(host, path, False, f"{host} is neither an execute-api host nor a known API Gateway "
                                                  "custom domain", status=403, error=FORBIDDEN)
        request = tuple(sorted((k.lower(), v) for k, v in (headers or {}).items()))
        target = _domain_target(host, domain, inv, request_headers=request)
    scopes = _scopes(target)
    scope = next((s for s in scopes.scopes if s.matches(path)), None)
    if scope is None:
        for prefix, excluded in scopes.unreadable_prefixes:
            if _under(path, prefix) and not any(_under(path, p) for p in excluded):
                return RouteResult(host, path, False, f"the API mapped at {host}{prefix or '/'} could not be read",
                                   domain=target.domain, known=False)
        return _no_scope(target, path)
    return _in_scope(target, scope, path, verb)


def _no_scope(target: _Target, path: str) -> RouteResult:
    host = target.host
    if target.api is not None:
        api = target.api
        first = path.strip("/").split("/", 1)[0]
        stages = ", ".join(api.stages) or "none"
        why = f"no stage {first!r} in {_api_label(api)}; stages are {stages}"
        if api.protocol is ApiProtocol.HTTP:
            return RouteResult(host, path, False, why + " (and no $default stage)", api=api, status=404,
                               error=NOT_FOUND)
        if api.protocol is ApiProtocol.WEBSOCKET:
            return RouteResult(host, path, False, why, api=api, status=403, error=WEBSOCKET_HANDSHAKE_FAILED)
        return RouteResult(host, path, False, why, api=api, status=403, error=MISSING_AUTH_TOKEN)
    domain = target.domain
    assert domain is not None
    bases = ", ".join(sorted(("/" + m.base_path.strip("/")) if m.base_path.strip("/") else "(none)"
                             for m in domain.live_mappings)) or "none"
    stage_missing = [m for m, api in zip(domain.live_mappings, target.domain_apis)
                     if api is not None and m.stage is None and _under(path, "/" + m.base_path.strip("/")
                                                                       if m.base_path.strip("/") else "")]
    if stage_missing:
        api = next(a for m, a in zip(domain.live_mappings, target.domain_apis) if m is stage_missing[0])
        assert api is not None
        return RouteResult(host, path, False, f"{path} names no stage of {_api_label(api)} mapped with stage (none) at "
                                              f"{domain.name}; stages are {', '.join(api.stages)}", api=api,
                           domain=domain, mapping=stage_missing[0], status=403, error=MISSING_AUTH_TOKEN)
    # [UNVERIFIED] the body API Gateway returns when no mapping matches; 403 Forbidden is what is commonly reported.
    rules = "; ".join(r.label for r in domain.live_rules)
    what = f"no routing rule or API mapping of {domain.name} matches {path}" if rules else \
        f"no API mapping of {domain.name} matches {path}"
    return RouteResult(host, path, False, f"{what}; mappings are {bases}" + (f"; rules: {rules}" if rules else ""),
                       domain=domain, status=403, error=FORBIDDEN)


def _in_scope(target: _Target, scope: _Scope, path: str, verb: str | None) -> RouteResult:
    api = scope.api
    rest = path[len(scope.api_prefix):] or "/"
    where = f"stage {scope.stage} of {_api_label(api)}"
    common = dict(api=api, stage=scope.stage, domain=target.domain, mapping=scope.mapping, stage_path=rest)
    hits = [e for e in _entries(scope)
            if automata.member(e.language, path) and not any(automata.member(x, path) for x in e.exclusions)]
    if api.protocol is ApiProtocol.WEBSOCKET:
        if hits:
            return RouteResult(target.host, path, True, f"{path} opens a WebSocket connection to {where}",
                               resource=hits[0].resource, method=hits[0].methods[0], **common)
        return RouteResult(target.host, path, False, f"a WebSocket connection must ask for exactly "
                                                     f"{scope.prefix or '/'}, not {path} ({where})",
                           status=403, error=WEBSOCKET_HANDSHAKE_FAILED, **common)
    if api.protocol is ApiProtocol.REST:
        known = ", ".join(r.path for r in api.resources) or "none"
        if not hits:
            return RouteResult(target.host, path, False, f"no resource {rest} in {where}; resources are {known}",
                               status=403, error=MISSING_AUTH_TOKEN, **common)
        resource = hits[0].resource
        if verb is None:
            return RouteResult(target.host, path, True, f"{path} reaches resource {resource.path} in {where}",
                               resource=resource, **common)
        chosen = next((m for m in resource.methods if m.http_method == verb), None) or next(
            (m for m in resource.methods if m.http_method == "ANY"), None)
        if chosen is None:
            verbs = ", ".join(m.http_method for m in resource.methods) or "none"
            return RouteResult(target.host, path, False, f"resource {resource.path} in {where} has no {verb} method; "
                                                         f"methods are {verbs}", resource=resource, status=403,
                               error=MISSING_AUTH_TOKEN, **common)
        return RouteResult(target.host, path, True, f"{verb} {path} reaches {chosen.http_method} {resource.path} "
                                                    f"({chosen.authorization_type}) in {where}",
                           resource=resource, method=chosen, **common)
    # HTTP API
    routes = [e for e in hits if e.resource.path != "$default"]
    if verb is not None:
        exact = [e for e in routes if e.methods[0].http_method == verb]
        routes = exact or [e for e in routes if e.methods[0].http_method == "ANY"]
    if routes:
        entry = routes[0]
        return RouteResult(target.host, path, True, f"{verb or ''} {path} matches route "
                                                    f"{entry.methods[0].route_key or entry.resource.path} in {where}"
                           .strip(), resource=entry.resource, method=entry.methods[0], **common)
    if api.default_route is not None:
        return RouteResult(target.host, path, True, f"{path} falls to the $default route of {where}",
                           resource=ApiResource("$default", (api.default_route,)), method=api.default_route,
                           **common)
    keys = ", ".join(m.route_key or f"{m.http_method} {r.path}" for r in api.resources for m in r.methods) or "none"
    return RouteResult(target.host, path, False, f"no route matches {(verb + ' ') if verb else ''}{rest} in {where}; "
                                                 f"routes are {keys}", status=404, error=NOT_FOUND, **common)
