"""``edgemedic trace``: what happens to one request, from the CloudFront edge to API Gateway, step by step.

    request = parse_request("https://d123.cloudfront.net/api/users", "POST", ["Authorization: Bearer x"])
    result = trace(dist, inv, request)              # the model scan reads (edgemedic.collect)
    result.verdict.ok, result.to_dict()
    one_line(dist, inv, finding, after=planned)     # "before: POST /api/cart -> 403 (...) | after: -> 200 via ..."

Nothing here matches paths or routes requests by itself: the behavior comes from ``pathmatch.select_behavior``,
what reaches the origin from ``forwarding``, where it lands at API Gateway from ``router.route``, and which catalog
rule explains a failure from the engine's findings for the distribution (matched to the request, never re-derived).

Steps (``Trace.to_dict()``, the JSON of ``edgemedic trace --format json`` under ``trace``; version 1):

- ``behavior``: ``path`` (what CloudFront matches: no query string), ``pattern`` chosen, ``default``, ``origin``
  (target origin id), ``tried`` (patterns tried before it, in order; none of them matched).
- ``viewer``: ``scheme`` (http/https, ws/wss count as http/https), ``viewer_protocol_policy``, ``protocol_ok``,
  ``method``, ``allowed_methods``, ``method_allowed``.
- ``cache``: ``cached`` (whether a response without Cache-Control is kept at the edge), ``ttl`` ({min, default,
  max} seconds, null when the policy could not be read), ``policy`` (cache policy name, or ``legacy``),
  ``cached_methods``, ``key_headers`` (lower-cased headers in the cache key), ``authorization_in_key``, ``reason``.
- ``origin_request``: ``origin``, ``kind``, ``domain``, ``scheme``, ``port``, ``host`` (Host at the origin),
  ``host_source`` (the policy forwarding the viewer's Host, or null when CloudFront sets the origin domain),
  ``sni`` (null over HTTP), ``path`` (OriginPath + viewer path), ``query`` (the query string that survives),
  ``headers`` (``[{name, action, why}]``, action ``kept | dropped | rewritten | added``; values are never shown),
  ``query_strings`` (``[{name, action}]``), ``cookies`` (``{action, why}`` or null without a Cookie header),
  ``connection`` (``{ok, problem}``).
- ``api`` (null for origins that are not API Gateway): ``host``, ``path``, ``routed``, ``explanation``, ``api``
  ({id, name, protocol, endpoint_type}), ``stage``, ``mapping`` (base path or null), ``resource``, ``method``,
  ``route_key``, ``authorization``, ``status``, ``error``.
- ``verdict``: ``ok``, ``outcome`` (``success | failure | unknown``), ``status`` (the HTTP status the viewer gets,
  null when not known), ``by`` (CloudFront, API Gateway or the origin), ``stage``, ``short``, ``text``, ``rules``
  (catalog ids explaining the failure), ``fix`` ([{rule, class, summary}]), ``then`` (failures met once the first
  is fixed, same shape without ``fix``), ``warnings`` ([{text, rules}]), ``related_rules`` (other findings of the
  behavior or origin).
"""
from __future__ import annotations

import dataclasses
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from . import policies
from .apis import apis_behind
from .errors import EdgemedicError
from .findings import Finding, FixClass
from .forwarding import authorization_reaches_origin, caches, forwarding_of
from .model import (
    ALL_METHODS,
    ApiProtocol,
    Behavior,
    CachePolicy,
    Distribution,
    EndpointType,
    Inventory,
    Origin,
    OriginKind,
    OriginRequestPolicy,
)
from .pathmatch import matches, normalize_path, reaching_example, select_behavior
from .router import MISSING_AUTH_TOKEN, RouteResult, reachable, route

SCHEMA_VERSION = 1
METHODS = ALL_METHODS
PLAN_CLASSES = frozenset({FixClass.AUTO, FixClass.APPROVE})

# CloudFront's texts (aws-facts.md section 5; the ViewerProtocolPolicy API reference).
METHOD_NOT_ALLOWED = ("This distribution is not configured to allow the HTTP request method that was used for this "
                      "request. The distribution supports only cachable requests.")
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS "
                      "Secret Access Key and signing method.")
UNAUTHORIZED = '{"message":"Unauthorized"}'
FORBIDDEN = '{"message":"Forbidden"}'
ORIGIN_CONNECT = "CloudFront wasn't able to connect to the origin."
WEBSOCKET_DEMO_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's sample nonce

# Headers CloudFront sends on whatever the policies say (RequestAndResponseBehaviorCustomOrigin, header table).
_ALWAYS_FORWARDED = {
    "content-length": "CloudFront forwards it on every request",
    "content-md5": "CloudFront forwards it on every request",
    "transfer-encoding": "CloudFront forwards it on every request",
    "x-forwarded-for": "CloudFront appends the viewer's IP address",
    "via": "CloudFront appends its own entry",
}
# Headers the table settles for legacy (ForwardedValues) behaviors: forwarded to custom origins by default.
_LEGACY_TABLE_FORWARDED = frozenset({
    "content-type", "origin", "range", "date", "if-match", "if-modified-since", "if-none-match", "if-range",
    "if-unmodified-since",
})
# Headers CloudFront removes whatever the settings (the same table).
_ALWAYS_REMOVED = {
    "expect": "CloudFront removes Expect (it answers 100-continue itself)",
    "proxy-authorization": "CloudFront removes Proxy-Authorization",
    "te": "CloudFront removes TE",
    "x-real-ip": "CloudFront removes X-Real-IP",
}
_WEBSOCKET_UPGRADE = frozenset({"upgrade", "connection"})
_HANDSHAKE_REQUIRED = ("sec-websocket-key", "sec-websocket-version")
_HANDSHAKE_OPTIONAL = ("sec-websocket-protocol", "sec-websocket-extensions")

# Which catalog rules can explain a failure met at each point (the findings themselves come from the engine).
_RULES_FOR = {
    "shadowed": ("behavior-shadowed",),
    "viewer-protocol": ("websocket-redirect-to-https",),
    "method": ("apigw-methods-blocked",),
    "connection": ("apigw-origin-protocol", "origin-tls-protocols", "origin-tls-name-mismatch",
                   "origin-tls-cert-invalid"),
    "host": ("apigw-host-forwarded",),
    "route": ("apigw-path-unroutable", "apigw-default-endpoint-disabled", "behavior-shadowed"),
    "private": ("apigw-private-endpoint",),
    "handshake": ("websocket-handshake-dropped",),
    "auth-dropped": ("apigw-auth-header-dropped",),
    "signature": ("apigw-iam-host-mismatch",),
    "cached": ("apigw-response-cached",),
    "query": ("apigw-query-dropped",),
    "edge": ("apigw-edge-endpoint",),
    # Catalog v2's new rules (their steps: edgemedic.tracesteps).
    "identity-dropped": ("apigw-identity-header-dropped",),
    "lambda-url-host": ("lambda-url-host-forwarded",),
    "cors-preflight": ("apigw-cors-preflight-cached",),
    "timeout": ("origin-timeout-short",),
    "error-page": ("custom-error-masks-api",),
}


class TraceError(EdgemedicError):
    """The request cannot be traced as given (bad URL, unknown host, ...)."""


# --------------------------------------------------------------------------------------------- the request


@dataclass(frozen=True, slots=True)
class Request:
    """One viewer request. ``headers`` keep the names as given; values are used, never printed."""

    url: str
    method: str
    scheme: str  # http | https | ws | wss
    host: str  # lower-cased, from the URL (what DNS resolves to a distribution)
    path: str  # as given, without query string ("/" when empty)
    query: str  # raw query string, "" when none
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def websocket(self) -> bool:
        return self.scheme in ("ws", "wss")

    @property
    def secure(self) -> bool:
        return self.scheme in ("https", "wss")

    @property
    def host_header(self) -> str:
        """The Host the viewer sends: a ``-H 'Host: ...'`` wins over the URL's host, as with curl."""
        return self.header("host") or self.host

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    def query_params(self) -> list[tuple[str, str]]:
        return urllib.parse.parse_qsl(self.query, keep_blank_values=True)

    def line(self) -> str:
        return f"{self.method} {self.path}" + (f"?{self.query}" if self.query else "")


def parse_header(text: str) -> tuple[str, str]:
    """``'Name: value'`` -> (name, value)."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
        raise TraceError(f"header {text!r} is not 'Name: value'")
    return name.strip(), value.strip()


def parse_request(url: str, method: str | None = None, headers: Iterable[str | tuple[str, str]] = ()) -> Request:
    """A viewer request from a URL, ``-X`` and ``-H`` values; ws:// and wss:// make a WebSocket handshake
    (GET with Upgrade, Connection, Sec-WebSocket-Key and -Version unless given)."""
    parts = urllib.parse.urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "ws", "wss"):
        raise TraceError(f"cannot trace {url!r}: the URL must start with http://, https://, ws:// or wss://")
    try:
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise TraceError(f"cannot trace {url!r}: {exc}") from exc
    if not host:
        raise TraceError(f"cannot trace {url!r}: the URL has no host")
    verb = (method or "GET").upper()
    if verb not in METHODS:
        raise TraceError(f"method {verb} is not one CloudFront accepts ({', '.join(METHODS)})")
    given = [h if isinstance(h, tuple) else parse_header(h) for h in headers]
    if scheme in ("ws", "wss"):
        if verb != "GET":
            raise TraceError(f"a WebSocket handshake is a GET, not {verb}: drop -X for {scheme}:// URLs")
        present = {name.lower() for name, _ in given}
        for name, value in (("Upgrade", "websocket"), ("Connection", "Upgrade"),
                            ("Sec-WebSocket-Key", WEBSOCKET_DEMO_KEY), ("Sec-WebSocket-Version", "13")):
            if name.lower() not in present:
                given.append((name, value))
    return Request(url.strip(), verb, scheme, host, parts.path or "/", parts.query, tuple(given))


# --------------------------------------------------------------------------------------------- finding the distribution


def serves_host(dist: Distribution, host: str) -> bool:
    """Whether ``host`` is the distribution's default domain or one of its aliases (``*.example.com`` included)."""
    host = host.lower().rstrip(".")
    for name in dist.hostnames:
        name = name.lower()
        if name == host:
            return True
        if name.startswith("*.") and host.endswith(name[1:]) and "." not in host[: -len(name) + 1]:
            return True
    return False


def distribution_for_host(distributions: Iterable[Distribution], host: str) -> Distribution | None:
    """The distribution that serves ``host``: an exact alias or domain first, then a wildcard alias."""
    candidates = list(distributions)
    exact = next((d for d in candidates if host.lower() in (n.lower() for n in d.hostnames)), None)
    return exact or next((d for d in candidates if serves_host(d, host)), None)


def locate_distribution(cloudfront: Any, host: str) -> str:
    """The id of the distribution whose alias or default domain is ``host`` (ListDistributions: ids, aliases and
    domains only; the one found is then read in full by ``collect``)."""
    from .collect.calls import ResourceUnreadable, paginate

    try:
        summaries = list(paginate("distributions", cloudfront, "list_distributions", "DistributionList.Items"))
    except ResourceUnreadable as problem:
        raise TraceError(f"cannot list distributions to find {host}: {problem.code}: {problem.message}; "
                         "pass --distribution ID") from problem
    host = host.lower()
    exact = wildcard = None
    for summary in summaries:
        names = [summary.get("DomainName", "")] + list((summary.get("Aliases") or {}).get("Items") or [])
        lowered = [n.lower() for n in names]
        if host in lowered:
            exact = exact or summary["Id"]
        elif any(n.startswith("*.") and host.endswith(n[1:]) and "." not in host[: -len(n) + 1] for n in lowered):
            wildcard = wildcard or summary["Id"]
    found = exact or wildcard
    if found is None:
        raise TraceError(f"no CloudFront distribution in this account has {host} as an alias or domain name: "
                         "pass --distribution ID to trace the request through a given distribution")
    return found


# --------------------------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class Failure:
    """Why the viewer does not get the origin's answer, at one point of the path."""

    stage: str  # behavior | viewer | origin | api
    cause: str  # key of _RULES_FOR
    by: str  # CloudFront | API Gateway | origin
    status: int | None
    short: str  # a few words: "method not allowed"
    text: str  # one line


@dataclass(frozen=True, slots=True)
class Note:
    cause: str
    text: str


@dataclass(frozen=True)
class Trace:
    request: Request
    distribution: Distribution
    config: str  # current | after-fix
    behavior: Behavior
    tried: tuple[Behavior, ...]
    origin: Origin | None
    steps: Mapping[str, Any]
    failures: tuple[Failure, ...]
    warnings: tuple[Note, ...]
    findings: tuple[Finding, ...]  # the distribution's findings that concern this request
    route: RouteResult | None = None
    unknown: str | None = None  # why the outcome cannot be told (something could not be read)
    success_text: str = ""
    success_short: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures and self.unknown is None

    @property
    def outcome(self) -> str:
        return "failure" if self.failures else "unknown" if self.unknown else "success"

    def rules_for(self, cause: str) -> list[Finding]:
        wanted = _RULES_FOR.get(cause, ())
        return [f for f in self.findings if f.rule in wanted]

    @property
    def verdict(self) -> dict[str, Any]:
        return _verdict(self)

    def to_dict(self) -> dict[str, Any]:
        req = self.request
        return {
            "request": {"url": req.url, "method": req.method, "scheme": req.scheme, "host": req.host,
                        "path": req.path, "query": req.query, "websocket": req.websocket,
                        "headers": [name for name, _ in req.headers]},
            "distribution": {"id": self.distribution.id, "domain_name": self.distribution.domain_name,
                             "aliases": list(self.distribution.aliases)},
            "config": self.config,
            "steps": dict(self.steps),
            "verdict": self.verdict,
        }


def _failure_dict(trace: Trace, failure: Failure, *, with_fix: bool) -> dict[str, Any]:
    explaining = trace.rules_for(failure.cause)
    record: dict[str, Any] = {"stage": failure.stage, "status": failure.status, "by": failure.by,
                              "short": failure.short, "text": failure.text,
                              # The catalog rule that explains the step, also when no finding names this request
                              # (e.g. a POST blocked at the edge while the path is broken too).
                              "rules": list(dict.fromkeys(f.rule for f in explaining))
                              or list(_RULES_FOR.get(failure.cause, ()))[:1]}
    if with_fix:
        record["fix"] = [{"rule": f.rule, "class": f.fix.fix_class.value, "summary": f.fix.summary}
                         for f in explaining]
    return record


def _verdict(trace: Trace) -> dict[str, Any]:
    warnings = [{"text": w.text, "rules": [f.rule for f in trace.rules_for(w.cause)]} for w in trace.warnings]
    explained = {f.rule for failure in trace.failures for f in trace.rules_for(failure.cause)}
    explained |= {rule for w in warnings for rule in w["rules"]}
    related = list(dict.fromkeys(f.rule for f in trace.findings if f.rule not in explained))
    if trace.failures:
        first = _failure_dict(trace, trace.failures[0], with_fix=True)
        return {"ok": False, "outcome": "failure", **first,
                "then": [_failure_dict(trace, f, with_fix=False) for f in trace.failures[1:]],
                "warnings": warnings, "related_rules": related}
    if trace.unknown:
        return {"ok": False, "outcome": "unknown", "status": None, "by": None, "stage": "api",
                "short": "cannot tell", "text": trace.unknown, "rules": [], "fix": [], "then": [],
                "warnings": warnings, "related_rules": related}
    by = "API Gateway" if trace.route is not None else "origin"
    status = None
    if trace.route is not None:
        # A WebSocket handshake that succeeds is answered 101 Switching Protocols.
        status = 101 if trace.request.websocket else 200
    return {"ok": True, "outcome": "success", "status": status, "by": by,
            "stage": "api" if trace.route is not None else "origin", "short": trace.success_short,
            "text": trace.success_text, "rules": [], "fix": [], "then": [], "warnings": warnings,
            "related_rules": related}


# --------------------------------------------------------------------------------------------- tracing


def _policy_label(policy: CachePolicy | OriginRequestPolicy | None, policy_id: str | None) -> str | None:
    if policy is not None:
        return policy.name
    return policies.policy_name(policy_id) if policy_id else None


def _cache_step(behavior: Behavior, request: Request) -> tuple[dict[str, Any], bool]:
    cached_methods = sorted(behavior.cached_methods, key=METHODS.index)
    if behavior.legacy is not None:
        legacy = behavior.legacy
        ttl: dict[str, int] | None = {"min": legacy.min_ttl, "default": legacy.default_ttl, "max": legacy.max_ttl}
        label = "legacy"
        key_headers = sorted(h for h in legacy.headers)
    else:
        policy = behavior.cache_policy
        ttl = {"min": policy.min_ttl, "default": policy.default_ttl, "max": policy.max_ttl} if policy else None
        label = _policy_label(policy, behavior.cache_policy_id) or "(none)"
        key_headers = sorted(policy.headers) if policy and policy.header_behavior == "whitelist" else []
    cacheable = request.method in ("GET", "HEAD") or (request.method == "OPTIONS" and "OPTIONS" in cached_methods)
    edge_caches, evidence = caches(behavior)
    if request.websocket:
        cached, reason = False, "a WebSocket connection is passed through, never cached"
    elif not cacheable:
        cached = False
        reason = (f"CloudFront does not cache {request.method} responses (cached methods: "
                  f"{', '.join(cached_methods)})")
    elif edge_caches:
        cached = True
        reason = f"{evidence}: responses without Cache-Control are kept {ttl['default'] if ttl else '?'} s"
        if ttl and ttl["min"] > 0:
            reason += f", and every response at least {ttl['min']} s (even no-store or private)"
    else:
        cached = False
        reason = evidence
        if ttl and ttl["max"] > 0 and "*" not in key_headers:
            reason += f"; kept only when the origin sends Cache-Control (up to {ttl['max']} s)"
    step = {"cached": cached, "ttl": ttl, "policy": label, "cached_methods": cached_methods,
            "key_headers": key_headers, "authorization_in_key": "authorization" in key_headers or "*" in key_headers,
            "reason": reason}
    return step, cached


def _scheme_to_origin(origin: Origin, request: Request) -> str:
    viewer = "https" if request.secure else "http"
    if not origin.is_custom:
        return viewer  # S3 origins: CloudFront uses the viewer's protocol
    return {"http-only": "http", "https-only": "https"}.get(origin.protocol_policy or "", viewer)


def _cookies(behavior: Behavior) -> tuple[str, str]:
    """(action, why) for the viewer's cookies: kept | dropped | listed (only the names a policy lists)."""
    if behavior.legacy is not None:
        mode = behavior.legacy.cookies_forward
        source = f"legacy ForwardedValues (Cookies: {mode})"
        return {"all": "kept", "whitelist": "listed"}.get(mode, "dropped"), source
    modes = []
    for policy, kind in ((behavior.cache_policy, "cache policy"), (behavior.origin_request_policy,
                                                                    "origin request policy")):
        if policy is not None and policy.cookie_behavior != "none":
            modes.append((policy.cookie_behavior, f"{kind} {policy.name} (cookies: {policy.cookie_behavior})"))
    for mode, source in modes:
        if mode in ("all", "allExcept"):
            return ("kept" if mode == "all" else "listed"), source
    if modes:
        return "listed", modes[0][1]
    return "dropped", "no policy of the behavior forwards cookies"


def _origin_step(behavior: Behavior, origin: Origin, request: Request) -> tuple[dict[str, Any], str, str]:
    """The origin request; returns (step, Host at the origin, scheme)."""
    forwarding = forwarding_of(behavior)
    scheme = _scheme_to_origin(origin, request)
    host_source = forwarding.source_of("host")
    host = request.host_header if host_source else origin.domain_name
    headers: list[dict[str, Any]] = []
    if forwarding.unknown:
        headers.append({"name": "*", "action": "unknown", "why": forwarding.unknown})
    seen: set[str] = set()
    for name, _ in request.headers:
        lowered = name.lower()
        if lowered in seen:
            continue
        seen.add(lowered)
        source = forwarding.source_of(lowered)
        if lowered in ("host", "cookie"):
            continue  # reported once, below
        if lowered == "authorization":
            if authorization_reaches_origin(behavior, request.method, forwarding):
                why = source or f"CloudFront keeps Authorization on {request.method}"
                headers.append({"name": name, "action": "kept", "why": why})
            else:
                headers.append({"name": name, "action": "dropped",
                                "why": f"CloudFront removes Authorization on {request.method}: it is not in the cache "
                                       "key and no all-viewer origin request policy forwards it"})
        elif request.websocket and lowered in _WEBSOCKET_UPGRADE:
            headers.append({"name": name, "action": "kept", "why": "WebSocket upgrade: CloudFront passes the "
                                                                   "handshake on"})
        elif lowered in _ALWAYS_REMOVED:
            headers.append({"name": name, "action": "dropped", "why": _ALWAYS_REMOVED[lowered]})
        elif source:
            headers.append({"name": name, "action": "kept", "why": source})
        elif behavior.legacy is not None and lowered in _LEGACY_TABLE_FORWARDED:
            headers.append({"name": name, "action": "kept", "why": "CloudFront's header table forwards it to "
                                                                   "custom origins under legacy settings"})
        elif lowered in _ALWAYS_FORWARDED:
            headers.append({"name": name, "action": "kept", "why": _ALWAYS_FORWARDED[lowered]})
        elif lowered == "user-agent":
            headers.append({"name": name, "action": "rewritten", "why": "not forwarded: CloudFront sends "
                                                                        "User-Agent: Amazon CloudFront"})
        else:
            headers.append({"name": name, "action": "dropped",
                            "why": "neither in the cache key nor forwarded by the origin request policy"})
    headers.insert(0, {"name": "Host", "action": "kept" if host_source else "rewritten",
                       "why": host_source or f"CloudFront sets the origin domain {origin.domain_name}"})
    for name in origin.custom_header_names:
        headers.append({"name": name, "action": "added", "why": f"custom header of origin {origin.id} (value hidden)"})

    query_strings = []
    kept_pairs = []
    for name, value in request.query_params():
        kept = bool(forwarding.all_query_strings_from) or name.lower() in forwarding.query_string_names \
            or name in forwarding.query_string_names
        query_strings.append({"name": name, "action": "kept" if kept else "dropped"})
        if kept:
            kept_pairs.append((name, value))
    cookies = None
    if request.header("cookie") is not None:
        action, why = _cookies(behavior)
        cookies = {"action": action, "why": why}
    step = {
        "origin": origin.id, "kind": origin.kind.value, "domain": origin.domain_name, "scheme": scheme,
        "port": origin.https_port if scheme == "https" else origin.http_port, "host": host,
        "host_source": host_source, "sni": host if scheme == "https" else None,
        "path": origin.origin_path + request.path, "query": urllib.parse.urlencode(kept_pairs),
        "headers": headers, "query_strings": query_strings, "cookies": cookies,
        "connection": {"ok": True, "problem": None},
    }
    return step, host, scheme


def _connection_failure(dist: Distribution, behavior: Behavior, origin: Origin, scheme: str,
                        findings: Sequence[Finding]) -> Failure | None:
    if origin.kind is OriginKind.API_GATEWAY:
        if scheme == "http":
            return Failure("origin", "connection", "CloudFront", 502, "origin connection fails",
                           f"{ORIGIN_CONNECT} API Gateway serves HTTPS only, and origin {origin.id} is reached over "
                           f"HTTP (OriginProtocolPolicy {origin.protocol_policy})")
        if origin.is_custom and "TLSv1.2" not in origin.ssl_protocols:
            return Failure("origin", "connection", "CloudFront", 502, "origin connection fails",
                           f"{ORIGIN_CONNECT} API Gateway speaks TLS 1.2, and origin {origin.id} offers only "
                           f"{', '.join(origin.ssl_protocols) or 'no protocol'}")
    if scheme != "https":
        return None
    for finding in findings:
        if finding.rule in ("origin-tls-name-mismatch", "origin-tls-cert-invalid") and finding.origin == origin.id:
            return Failure("origin", "connection", "CloudFront", 502, "TLS handshake with the origin fails",
                           f"{ORIGIN_CONNECT} {finding.message}")
    return None


def _concerns(finding: Finding, dist: Distribution, behavior: Behavior, request: Request) -> bool:
    """Whether a finding of the distribution is about the behavior or origin this request goes through."""
    if finding.distribution != dist.id:
        return False
    if finding.behavior == behavior.path_pattern:
        return True
    if finding.rule == "behavior-shadowed" and finding.behavior and matches(finding.behavior, request.path):
        return True  # the request was meant for the shadowed behavior
    return not finding.behavior and finding.origin == behavior.target_origin_id


def _handshake_failure(request: Request, behavior: Behavior, result: RouteResult) -> Failure | None:
    """A WebSocket handshake reaching a WebSocket API without Sec-WebSocket-Key/-Version fails, whatever the path."""
    if not request.websocket or result.api is None or result.api.protocol is not ApiProtocol.WEBSOCKET:
        return None
    forwarding = forwarding_of(behavior)
    missing = [name for name in _HANDSHAKE_REQUIRED if not forwarding.forwards_header(name)]
    if not missing:
        return None  # -Protocol / -Extensions: see _handshake_notes
    names = ", ".join(request_name(request, name) for name in missing)
    return Failure("api", "handshake", "API Gateway", None, "handshake fails",
                   f"the WebSocket handshake fails: CloudFront does not forward {names} to the API")


def _unsigned_lambda_url_body(dist: Distribution, origin: Origin, request: Request) -> Failure | None:
    """A PUT or POST to a Lambda function URL origin behind origin access control needs the SHA-256 of its body in
    x-amz-content-sha256 (private-content-restricting-access-to-lambda.html): CloudFront's signature covers it, and
    the function URL refuses the request without it. Not a catalog rule: a correct client sends it."""
    if request.method not in ("PUT", "POST") or request.header("x-amz-content-sha256") is not None:
        return None
    if origin.kind is not OriginKind.LAMBDA_URL:  # the origin classifier knows function URL domains
        return None
    raw = next((o for o in (dist.config.get("Origins") or {}).get("Items") or [] if o.get("Id") == origin.id), {})
    if not raw.get("OriginAccessControlId"):
        return None
    return Failure("origin", "lambda-url-body", "Lambda function URL", 403, "body hash missing",
                   f"403 Forbidden: origin {origin.id} is a Lambda function URL behind origin access control, so "
                   f"CloudFront signs the request, and a {request.method} must carry the SHA-256 of its body in "
                   "x-amz-content-sha256 (the viewer computes it); this request has none")


def _handshake_notes(request: Request, behavior: Behavior) -> list[Note]:
    """Sec-WebSocket-Protocol / -Extensions matter only to clients that send them (AWS's minimum is Key and
    Version): a note when this request sends one that CloudFront does not forward."""
    if not request.websocket:
        return []
    forwarding = forwarding_of(behavior)
    dropped = [request_name(request, h) for h in _HANDSHAKE_OPTIONAL
               if request.header(h) is not None and not forwarding.forwards_header(h)]
    if not dropped:
        return []
    return [Note("handshake", f"this client sends {', '.join(dropped)}, which CloudFront does not forward: the "
                              "subprotocol or extension it asks for is not negotiated (clients that do not send it "
                              "are not affected)")]


def request_name(request: Request, lowered: str) -> str:
    """A header's name as the request spells it."""
    return next((name for name, _ in request.headers if name.lower() == lowered), lowered)


def _api_failures(request: Request, behavior: Behavior, origin: Origin, result: RouteResult,
                  inv: Inventory) -> tuple[list[Failure], list[Note]]:
    failures: list[Failure] = []
    warnings: list[Note] = []
    api, method = result.api, result.method
    assert api is not None and method is not None
    forwarding = forwarding_of(behavior)
    if api.endpoint_type is EndpointType.PRIVATE:
        failures.append(Failure("api", "private", "API Gateway", 403, "private API",
                                f"{FORBIDDEN}: API {api.id} is PRIVATE, reachable only through a VPC endpoint"))
        return failures, warnings
    if api.endpoint_type is EndpointType.EDGE:
        warnings.append(Note("edge", f"API {api.id} is EDGE-optimized: the request crosses a second CloudFront "
                                         "distribution"))
    if api.protocol is ApiProtocol.WEBSOCKET and not request.websocket:
        failures.append(Failure("api", "route", "API Gateway", None, "not a WebSocket handshake",
                                f"API {api.id} is a WebSocket API: trace the wss:// (or ws://) URL"))
        return failures, warnings
    from . import tracesteps
    from .rules.requests import needs_authorization_header

    needs = needs_authorization_header(api, method)
    auth = method.authorization_type
    denial_status, denial = (403, MISSING_AUTH_TOKEN) if auth == "AWS_IAM" else (401, UNAUTHORIZED)
    given = request.header("authorization")
    if needs:
        if given is None:
            failures.append(Failure("api", "no-auth", "API Gateway", denial_status, "no Authorization header",
                                    f"{denial}: {method.http_method} {result.resource.path if result.resource else ''}"
                                    f" uses {auth} and the request carries no Authorization header (add -H "
                                    "'Authorization: ...')"))
        elif not authorization_reaches_origin(behavior, request.method, forwarding):
            failures.append(Failure("api", "auth-dropped", "API Gateway", denial_status, "Authorization stripped",
                                    f"{denial}: CloudFront removes Authorization on {request.method} and "
                                    f"{method.http_method} {result.resource.path if result.resource else ''} uses "
                                    f"{auth}"))
        elif auth == "AWS_IAM":
            if not given.startswith("AWS4-HMAC-SHA256"):
                failures.append(Failure("api", "no-auth", "API Gateway", 403, "not a SigV4 signature",
                                        "403: the method uses AWS_IAM and the Authorization header is not a "
                                        "SigV4 signature (AWS4-HMAC-SHA256 ...)"))
            elif result.host != request.host_header.lower():
                failures.append(Failure("api", "signature", "API Gateway", 403, "signature mismatch",
                                        f"403 {SIGNATURE_MISMATCH!r}: the client signs for Host "
                                        f"{request.host_header}, API Gateway checks {result.host}"))
    elif needs is None:
        warnings.append(Note("auth", f"the authorizer of {method.http_method} could not be read: whether it needs "
                                         "Authorization is not known"))
    failures.extend(Failure("api", *parts) for parts in tracesteps.identity_failures(request.headers, behavior,
                                                                                     origin, api, method))
    timeout = tracesteps.timeout_note(origin, inv, method, api)
    if timeout is not None:
        warnings.append(Note(*timeout))
    if method.query_parameters and request.query:
        kept = forwarding.all_query_strings_from or forwarding.query_string_names
        if not kept:
            warnings.append(Note("query", f"the method reads query parameters "
                                              f"({', '.join(method.query_parameters)}) and CloudFront drops the "
                                              "query string"))
    return failures, warnings


def trace(dist: Distribution, inv: Inventory, request: Request, *, findings: Sequence[Finding] | None = None,
          config: str = "current") -> Trace:
    """Trace ``request`` through ``dist`` (the model ``collect`` built). ``findings`` default to the engine's."""
    if findings is None:
        from . import engine

        findings = engine.evaluate(dist, inv)
    from . import tracesteps

    # CloudFront matches the normalized path (RFC 3986) and sends the raw one (catalog "Path at CloudFront").
    matched_path = normalize_path(request.path)
    behavior, tried = select_behavior(dist, matched_path)
    concerned = tuple(f for f in findings if _concerns(f, dist, behavior, request))
    failures: list[Failure] = []
    warnings: list[Note] = []
    steps: dict[str, Any] = {}

    steps["behavior"] = {"path": request.path, "pattern": behavior.path_pattern, "default": behavior.is_default,
                         "origin": behavior.target_origin_id, "tried": [b.path_pattern for b in tried]}
    if matched_path != request.path:
        steps["behavior"]["matched_path"] = matched_path
    for finding in concerned:
        if finding.rule == "behavior-shadowed" and finding.behavior != behavior.path_pattern:
            meant = dist.behavior(finding.behavior)
            if meant is not None and meant.target_origin_id != behavior.target_origin_id:
                failures.append(Failure("behavior", "shadowed", "origin", None, "answered by the wrong origin",
                                        f"{request.path} is meant for behavior {meant.path_pattern} (origin "
                                        f"{meant.target_origin_id}), but {behavior.path_pattern} comes first and "
                                        f"sends it to origin {behavior.target_origin_id}"))

    # Viewer protocol, then method (ViewerProtocolPolicy API reference; aws-facts.md section 5).
    viewer_scheme = "https" if request.secure else "http"
    policy = behavior.viewer_protocol_policy
    protocol_ok = request.secure or policy == "allow-all"
    method_allowed = request.method in behavior.allowed_methods
    steps["viewer"] = {"scheme": viewer_scheme, "viewer_protocol_policy": policy, "protocol_ok": protocol_ok,
                       "method": request.method,
                       "allowed_methods": sorted(behavior.allowed_methods, key=METHODS.index),
                       "method_allowed": method_allowed}
    if not protocol_ok:
        secure_url = urllib.parse.urlunsplit(("wss" if request.websocket else "https",
                                              *urllib.parse.urlsplit(request.url)[1:]))
        if policy == "redirect-to-https" and request.method in ("GET", "HEAD"):
            tail = ": WebSocket clients do not follow it and never connect" if request.websocket else ""
            failures.append(Failure("viewer", "viewer-protocol", "CloudFront", 301, "redirect to HTTPS",
                                    f"301 Moved Permanently to {secure_url} (behavior {behavior.path_pattern} is "
                                    f"redirect-to-https){tail}"))
        else:
            why = ("https-only" if policy == "https-only" else
                   f"redirect-to-https, and CloudFront does not redirect {request.method}")
            failures.append(Failure("viewer", "viewer-protocol", "CloudFront", 403, "HTTPS required",
                                    f"403 Forbidden: behavior {behavior.path_pattern} is {why}"))
    if not method_allowed:
        failures.append(Failure("viewer", "method", "CloudFront", 403, "method not allowed",
                                f"403 {METHOD_NOT_ALLOWED!r}: behavior {behavior.path_pattern} allows "
                                f"{', '.join(steps['viewer']['allowed_methods'])}"))

    steps["cache"], cached = _cache_step(behavior, request)
    origin = dist.origin(behavior.target_origin_id)
    group = dist.origin_group(behavior.target_origin_id)
    if origin is None and group is not None and group.members:
        # Failover: the request goes to the primary; the secondary only on the group's failover status codes.
        origin = dist.origin(group.members[0])
        steps["behavior"]["origin_group"] = {"id": group.id, "members": list(group.members),
                                             "failover_codes": list(group.failover_codes), "traced": group.members[0]}
    if origin is None:
        raise TraceError(f"behavior {behavior.path_pattern} of {dist.id} targets origin {behavior.target_origin_id}, "
                         "which the distribution does not have")
    if cached and origin.kind is OriginKind.API_GATEWAY:
        warnings.append(Note("cached", f"the API's response is cached at the edge ({steps['cache']['reason']})"))

    preflight = tracesteps.preflight_note(request.method, request.headers, behavior, cached)
    if preflight is not None:
        warnings.append(Note(*preflight))

    steps["origin_request"], host, scheme = _origin_step(behavior, origin, request)
    connection = _connection_failure(dist, behavior, origin, scheme, concerned)
    if connection is None:
        parts = tracesteps.lambda_url_failure(behavior, origin, host, steps["origin_request"]["host_source"])
        connection = Failure("origin", *parts) if parts else None
    if connection is not None:
        steps["origin_request"]["connection"] = {"ok": False, "problem": connection.text}
        failures.append(connection)
    if origin.kind is OriginKind.LAMBDA_URL:
        timeout = tracesteps.timeout_note(origin, inv)
        if timeout is not None:
            warnings.append(Note(*timeout))

    result: RouteResult | None = None
    unknown = None
    success_text = (f"CloudFront forwards the request to origin {origin.id} ({origin.kind.value}, "
                    f"{origin.domain_name}); edgemedic does not model what that origin answers")
    success_short = f"reaches origin {origin.id}"
    steps["api"] = None
    unsigned = _unsigned_lambda_url_body(dist, origin, request)
    if unsigned is not None:
        failures.append(unsigned)
    functions = behavior.request_functions
    if functions and origin.kind is OriginKind.API_GATEWAY:
        # Catalog "Edge function": the function may rewrite or sign the request; edgemedic does not guess.
        names = "; ".join(f"{f.kind} {f.name or '(unnamed)'} ({f.event})" for f in functions)
        unknown = (f"behavior {behavior.path_pattern} runs {names} before the origin: it may rewrite the path, Host, "
                   "headers or query, or sign the request, so what API Gateway receives could not be checked")
    elif origin.kind is OriginKind.API_GATEWAY and origin.api is not None:
        path = steps["origin_request"]["path"]
        result = route(host, path, inv, region=origin.api.region, method=request.method)
        steps["api"] = _api_record(result)
        handshake = _handshake_failure(request, behavior, result)
        if handshake is not None:
            failures.append(handshake)
        elif result.api is not None and result.api.protocol is ApiProtocol.WEBSOCKET:
            warnings.extend(_handshake_notes(request, behavior))
        if not result.known:
            unknown = f"cannot tell what API Gateway answers: {result.explanation}"
        elif not result.routed:
            cause = "host" if host != origin.domain_name and result.domain is None and result.api is None \
                else "route"
            failures.append(Failure("api", cause, "API Gateway", result.status, _short_error(result.error),
                                    f"{result.status} {result.error}: {result.explanation}"))
            if cause == "host":
                # What follows once Host is no longer forwarded: the path is routed at the origin domain.
                fixed = route(origin.domain_name, path, inv, region=origin.api.region, method=request.method)
                if fixed.known and not fixed.routed:
                    failures.append(Failure("api", "route", "API Gateway", fixed.status, _short_error(fixed.error),
                                            f"{fixed.status} {fixed.error}: {fixed.explanation}"))
                elif fixed.routed:
                    more, _ = _api_failures(request, behavior, origin, fixed, inv)
                    failures.extend(more)
        else:
            more, notes = _api_failures(request, behavior, origin, result, inv)
            failures.extend(more)
            warnings.extend(notes)
            success_text = result.explanation
            success_short = f"via {request.method} {path}"
    error_page = tracesteps.error_page_note(dist, failures[0].status if failures else None)
    if error_page is not None:
        warnings.append(Note(*error_page))
    return Trace(request, dist, config, behavior, tried, origin, steps, tuple(failures), tuple(warnings), concerned,
                 result, unknown, success_text, success_short)


def _short_error(error: str | None) -> str:
    if not error:
        return "error"
    if error.startswith('{"message":"'):
        return error[len('{"message":"'):-2]
    return error


def _api_record(result: RouteResult) -> dict[str, Any]:
    api = result.api
    method = result.method
    return {
        "host": result.host, "path": result.path, "routed": result.routed, "explanation": result.explanation,
        "api": None if api is None else {"id": api.id, "name": api.name, "protocol": api.protocol.value,
                                         "endpoint_type": api.endpoint_type.value},
        "stage": result.stage,
        "mapping": None if result.mapping is None else (result.mapping.base_path or "(none)"),
        "resource": result.resource.path if result.resource else None,
        "method": method.http_method if method else None,
        "route_key": method.route_key if method else None,
        "authorization": method.authorization_type if method else None,
        "status": result.status, "error": result.error,
    }


# --------------------------------------------------------------------------------------------- after the fix


class _KnownPolicies:
    """A PolicyResolver that first answers with the policies the distribution already resolved (so a planned
    config is modelled without re-reading them), then asks ``fallback``."""

    def __init__(self, dist: Distribution, fallback: Any):
        self._fallback = fallback
        self._cache = {b.cache_policy.id: b.cache_policy for b in dist.behaviors if b.cache_policy}
        self._orp = {b.origin_request_policy.id: b.origin_request_policy for b in dist.behaviors
                     if b.origin_request_policy}

    def cache_policy(self, policy_id: str) -> Any:
        return self._cache.get(policy_id) or self._fallback.cache_policy(policy_id)

    def origin_request_policy(self, policy_id: str) -> Any:
        return self._orp.get(policy_id) or self._fallback.origin_request_policy(policy_id)


@dataclass(frozen=True)
class AfterFix:
    distribution: Distribution  # the planned config, modelled
    inventory: Inventory
    plan: Any  # edgemedic.plan.Plan | None (None: nothing to plan)


def after_fix(dist: Distribution, inv: Inventory, findings: Sequence[Finding] | None = None, *,
              classes: frozenset[FixClass] = PLAN_CLASSES, resolver: Any = None) -> AfterFix:
    """The distribution as the plan for ``classes`` (auto and approve) would leave it, rebuilt with
    ``distribution_from_config`` from ``plan.new_config``."""
    from . import engine
    from .collect import PolicyResolver, distribution_from_config
    from .plan import build_plan

    if findings is None:
        findings = engine.evaluate(dist, inv)
    chosen = [f for f in findings if f.fix.fix_class in classes and f.fix.changes]
    built = build_plan(dist, chosen, classes=classes) if chosen else None
    if built is None:
        return AfterFix(dist, inv, None)
    summary = {"Id": dist.id, "ARN": dist.arn, "DomainName": dist.domain_name, "Status": dist.status}
    known = _KnownPolicies(dist, resolver or PolicyResolver(None))
    planned = distribution_from_config(summary, built.new_config, dist.etag, known,  # type: ignore[arg-type]
                                       inv.custom_domains)
    others = tuple(d for d in inv.distributions if d.id != dist.id)
    return AfterFix(planned, dataclasses.replace(inv, distributions=(*others, planned)), built)


# --------------------------------------------------------------------------------------------- one line


def label(result: Trace) -> str:
    """``403 (CloudFront: method not allowed)``, ``200 via POST /prod/api/cart``."""
    verdict = result.verdict
    if verdict["outcome"] == "success":
        text = f"{verdict['status']} {verdict['short']}" if verdict["status"] else verdict["short"]
        cache = result.steps["cache"]
        if cache["cached"] and cache["ttl"]:
            text += f" (cached {cache['ttl']['default']} s at the edge)"
        return text
    if verdict["outcome"] == "unknown":
        return "unknown (something could not be read)"
    status = verdict["status"]
    return f"{status if status is not None else 'fails'} ({verdict['by']}: {verdict['short']})"


def _request_of(dist: Distribution, inv: Inventory, finding: Finding) -> Request:
    """The failing request a finding is about: method and path from its symptom or evidence, else the router's
    (or the matcher's) example for the behavior."""
    host = dist.aliases[0] if dist.aliases and not dist.aliases[0].startswith("*.") else dist.domain_name
    behavior = dist.behavior(finding.behavior) if finding.behavior else next(
        (b for b in dist.behaviors if b.target_origin_id == finding.origin), None)
    origin = dist.origin(behavior.target_origin_id) if behavior is not None else None
    websocket = finding.rule.startswith("websocket-") or (origin is not None and any(
        entry.api.protocol is ApiProtocol.WEBSOCKET for entry in apis_behind(origin, inv).entries))
    texts = (finding.symptom, *finding.evidence, finding.message)
    method, path = "GET", None
    for text in texts:
        found = re.search(r"\b(GET|HEAD|OPTIONS|PUT|PATCH|POST|DELETE) (?:https?://[^/\s]+)?(/[^\s,;)]*)", text)
        if found and (behavior is None or matches(behavior.path_pattern, found.group(2)) or behavior.is_default):
            method, path = found.group(1), found.group(2)
            break
    if path is None and behavior is not None:
        reach = reachable(dist, behavior, inv)
        if reach.reaches:
            # A GET shows caching and Authorization stripping; other rules named their method above.
            first = next((r for r in reach.reaches if r.method.http_method in ("GET", "ANY")), reach.reaches[0])
            verb = first.method.http_method
            method, path = ("GET" if verb == "ANY" else verb), first.example_path
    if path is None and behavior is not None:
        for token in re.findall(r"(?<![\w.*])(/[\w\-./+~]*[\w\-.+~])(?![\w*])", finding.symptom):
            if matches(behavior.path_pattern, token):
                path = token
                break
    if path is None and behavior is not None:
        path = reachable(dist, behavior, inv).example_unroutable or reaching_example(dist, behavior)
    path = path or "/"
    if websocket:
        scheme = "ws" if finding.rule == "websocket-redirect-to-https" else "wss"
        method = "GET"
    else:
        # apigw-viewer-http-allowed is about the request that arrives over plain HTTP; the rest about HTTPS ones.
        scheme = "http" if finding.rule == "apigw-viewer-http-allowed" else "https"
    return parse_request(f"{scheme}://{host}{path}", method)


def _with_credentials(dist: Distribution, inv: Inventory, request: Request, findings: Sequence[Finding]) -> Request:
    """The request with the Authorization header its API method needs (SigV4 for AWS_IAM, else a bearer token)."""
    from . import tracesteps

    first = trace(dist, inv, request, findings=findings)
    method = first.route.method if first.route is not None else None
    if method is not None and first.route.api is not None:
        request = tracesteps.with_identity_headers(request, first.route.api, method)
    if method is None or request.header("authorization") is not None:
        return request
    if method.authorization_type == "AWS_IAM":
        value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request, " \
                "SignedHeaders=host;x-amz-date, Signature=0"
    elif method.authorization_type in ("COGNITO_USER_POOLS", "JWT", "CUSTOM"):
        value = "Bearer token"
    else:
        return request
    return dataclasses.replace(request, headers=(*request.headers, ("Authorization", value)))


def _planned(inv: Inventory, after: Distribution) -> tuple[Inventory, list[Finding]]:
    """The inventory with ``after`` in place of its distribution, and ``after``'s findings."""
    from . import engine

    others = tuple(d for d in inv.distributions if d.id != after.id)
    planned_inv = dataclasses.replace(inv, distributions=(*others, after))
    return planned_inv, engine.evaluate(after, planned_inv)


def one_line(dist: Distribution, inv: Inventory, finding: Finding, *, after: Distribution | None = None,
             findings: Sequence[Finding] | None = None,
             planned: tuple[Inventory, Sequence[Finding]] | None = None) -> str:
    """``before: POST /api/cart -> 403 (CloudFront: method not allowed) | after: -> 200 via POST /prod/api/cart``.

    ``after`` is the distribution as the planned fix leaves it (``after_fix(...).distribution``); without it only
    the before part is given. ``findings`` (of ``dist``) and ``planned`` (``_planned(inv, after)``) save
    re-evaluating when many findings are traced.
    """
    from . import engine

    if findings is None:
        findings = engine.evaluate(dist, inv)
    request = _with_credentials(dist, inv, _request_of(dist, inv, finding), findings)
    before = trace(dist, inv, request, findings=findings)
    if request.websocket:
        shown = f"{request.scheme}://…{request.path}"
    elif request.scheme == "http":  # say so: plain HTTP is what the finding is about
        shown = f"{request.method} http://…{request.line().split(' ', 1)[1]}"
    else:
        shown = request.line()
    text = f"before: {shown} -> {label(before)}"
    if after is not None:
        planned_inv, after_findings = planned or _planned(inv, after)
        result = trace(after, planned_inv, request, findings=after_findings, config="after-fix")
        text += f" | after: -> {label(result)}"
    return text


def with_trace_evidence(findings: Sequence[Finding], lines: Mapping[tuple[str, str, str, str], str]) -> list[Finding]:
    """Each finding with its one-line trace (keyed by ``Finding.key``) as its last evidence line, so every message,
    ticket and stored plan that shows the evidence shows the failing request before and after the fix."""
    return [dataclasses.replace(f, evidence=(*f.evidence, f"Trace: {lines[f.key]}")) if f.key in lines else f
            for f in findings]


def annotate(dist: Distribution, inv: Inventory, findings: Sequence[Finding]) -> list[Finding]:
    """``findings`` with their before/after trace line (the after part on the config the planned fixes leave)."""
    from . import engine

    every = engine.evaluate(dist, inv)
    after = after_fix(dist, inv, every).distribution
    return with_trace_evidence(findings, traces_for(dist, inv, findings, after=after, evaluated=every))


def traces_for(dist: Distribution, inv: Inventory, findings: Sequence[Finding], *,
               after: Distribution | None = None,
               evaluated: Sequence[Finding] | None = None) -> dict[tuple[str, str, str, str], str]:
    """``one_line`` for each finding, keyed by ``Finding.key`` (for ``notify.Alert.with_traces``). Each
    distribution is evaluated once (``evaluated``: every finding of ``dist``, when the caller has them)."""
    from . import engine

    every = engine.evaluate(dist, inv) if evaluated is None else evaluated
    planned = _planned(inv, after) if after is not None else None
    lines: dict[tuple[str, str, str, str], str] = {}
    for finding in findings:
        try:
            lines[finding.key] = one_line(dist, inv, finding, after=after, findings=every, planned=planned)
        except EdgemedicError:
            continue  # a finding without a traceable request keeps its message alone
    return lines


# --------------------------------------------------------------------------------------------- output


def document(current: Trace, after: Trace | None = None, plan: Any = None) -> dict[str, Any]:
    """The JSON document of ``edgemedic trace --format json``."""
    after_fix_part = None
    if after is not None:
        after_fix_part = {
            "plan": None if plan is None else {"fix_class": plan.fix_class.value, "summary": list(plan.summary),
                                               "rules": sorted({f.rule for f in plan.findings})},
            "trace": after.to_dict(),
        }
    return {"version": SCHEMA_VERSION, "trace": current.to_dict(), "after_fix": after_fix_part}


_ACTION_STYLE = {"kept": "green", "dropped": "red", "rewritten": "yellow", "added": "cyan", "unknown": "magenta"}


def render(console: Any, result: Trace, *, title: str | None = None) -> None:
    """The trace as numbered steps (rich console)."""
    from rich.text import Text

    def line(text: str, style: str = "") -> None:
        console.print(Text(text, style=style))

    steps = result.steps
    req = result.request
    line(title or f"{req.method} {req.url}  via CloudFront {result.distribution.id} "
                  f"({result.config} config)", "bold")
    b = steps["behavior"]
    tried = ", ".join(b["tried"]) or "none"
    line(f"1. Behavior   {b['pattern']}{' (default)' if b['default'] else ''} -> origin {b['origin']}  "
         f"[path {b['path']}; tried before: {tried}]")
    v = steps["viewer"]
    c = steps["cache"]
    line(f"2. Viewer     {v['scheme']} under {v['viewer_protocol_policy']}: "
         f"{'ok' if v['protocol_ok'] else 'refused'}; {v['method']} "
         f"{'allowed' if v['method_allowed'] else 'not allowed'} ({', '.join(v['allowed_methods'])})")
    ttl = c["ttl"]
    ttl_text = f"TTL min/default/max {ttl['min']}/{ttl['default']}/{ttl['max']}" if ttl else "TTL unknown"
    line(f"   Cache      {'cached' if c['cached'] else 'not cached'} ({c['policy']}, {ttl_text}): {c['reason']}")
    o = steps["origin_request"]
    sni = f", SNI {o['sni']}" if o["sni"] else ""
    query = f"?{o['query']}" if o["query"] else ""
    line(f"3. Origin     {o['scheme']}://{o['domain']}:{o['port']}{o['path']}{query}  Host {o['host']}{sni}")
    for header in o["headers"]:
        text = Text(f"     {header['action']:<9} ", style=_ACTION_STYLE.get(header["action"], ""))
        text.append(f"{header['name']}: {header['why']}")
        console.print(text)
    for item in o["query_strings"]:
        line(f"     {item['action']:<9} query {item['name']}", _ACTION_STYLE.get(item["action"], ""))
    if o["cookies"]:
        line(f"     cookies {o['cookies']['action']}: {o['cookies']['why']}")
    if not o["connection"]["ok"]:
        line(f"     connection fails: {o['connection']['problem']}", "red")
    a = steps["api"]
    if a is None:
        line(f"4. Origin     {o['kind']} origin: edgemedic does not model what it answers")
    else:
        where = f"{a['api']['name']} ({a['api']['id']}, {a['api']['protocol']})" if a["api"] else "no API"
        auth = f", authorization {a['authorization']}" if a["authorization"] else ""
        line(f"4. API        Host {a['host']}, path {a['path']}: {where}{auth}")
        line(f"     {a['explanation']}")
    verdict = result.verdict
    style = "bold green" if verdict["ok"] else "bold red"
    line(f"5. Verdict    {label(result)}: {verdict['text']}", style)
    if verdict["rules"]:
        line(f"     explained by: {', '.join(verdict['rules'])}")
    for fix in verdict["fix"]:
        line(f"     fix ({fix['class']}, {fix['rule']}): {fix['summary']}", "green")
    for then in verdict["then"]:
        rules = f" [{', '.join(then['rules'])}]" if then["rules"] else ""
        line(f"     then: {then['status'] if then['status'] is not None else 'fails'} ({then['by']}: "
             f"{then['short']}){rules}: {then['text']}", "yellow")
    for warning in verdict["warnings"]:
        rules = f" [{', '.join(warning['rules'])}]" if warning["rules"] else ""
        line(f"     warning{rules}: {warning['text']}", "yellow")
    if verdict["related_rules"]:
        line(f"     other findings here: {', '.join(verdict['related_rules'])}", "dim")


__all__ = ["AfterFix", "Request", "Trace", "TraceError", "after_fix", "distribution_for_host", "document",
           "label", "locate_distribution", "one_line", "parse_request", "render", "serves_host", "trace",
           "traces_for"]
