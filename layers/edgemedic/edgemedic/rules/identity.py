"""Headers other than Authorization that API methods are authorized with: the API key and authorizer identity sources.

Sources (../shared/reference/aws-facts.md section 11.2): with API key source HEADER, API Gateway reads the key from
``x-api-key`` (api-gateway-api-key-source.html); a REST authorizer's identity source is ``method.request.header.NAME``,
an HTTP API authorizer's ``$request.header.NAME``. Under policies a viewer header reaches the origin only through
the cache key, the origin request policy, or an origin custom header (OriginRequestPolicyHeadersConfig). API Gateway
answers a missing API key with 403 Forbidden and a missing identity source with 401 Unauthorized without calling
the authorizer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from ..findings import Finding, FixClass, Rule, Severity
from ..lazy import lazy_module
from ..model import Api, ApiMethod, ApiProtocol, Distribution, Inventory
from .common import api_behaviors, describe_policies, finding, pass_through_change, policy_fix
from .passthrough import header_at_origin

if TYPE_CHECKING:
    from ..router import Reach

router = lazy_module("edgemedic.router")  # loaded by the first check: `edgemedic rules` needs no router

API_KEY_HEADER = "x-api-key"
_HEADER_SOURCE_PREFIXES = ("method.request.header.", "$request.header.")


@dataclass(frozen=True, slots=True)
class IdentityHeader:
    name: str  # lower-cased
    why: str  # "apiKeyRequired, API key source HEADER", "identity source ... of authorizer jwt (JWT)"
    api_key: bool


def identity_headers(api: Api, method: ApiMethod) -> tuple[tuple[IdentityHeader, ...], str | None]:
    """Headers other than Authorization that ``method`` is authorized with, and a note when its authorizer could
    not be read. WebSocket APIs are left out (their handshake is traced by the WebSocket rules)."""
    if api.protocol is ApiProtocol.WEBSOCKET:
        return (), None
    found: list[IdentityHeader] = []
    if api.protocol is ApiProtocol.REST and method.api_key_required and api.api_key_source == "HEADER":
        found.append(IdentityHeader(API_KEY_HEADER, "apiKeyRequired, API key source HEADER", True))
    note = None
    if method.authorizer_id and method.authorization_type not in ("NONE", "AWS_IAM"):
        authorizer = api.authorizer(method.authorizer_id)
        if authorizer is None:
            note = f"authorizer {method.authorizer_id} of API {api.id} could not be read: its identity sources are unknown"
        else:
            for source in authorizer.identity_sources:
                lowered = source.strip().lower()
                for prefix in _HEADER_SOURCE_PREFIXES:
                    if lowered.startswith(prefix):
                        name = lowered[len(prefix):]
                        if name and name != "authorization":  # apigw-auth-header-dropped owns Authorization
                            found.append(IdentityHeader(
                                name, f"identity source {source} of authorizer {authorizer.name} ({authorizer.type})",
                                False))
    return tuple(found), note


def _denial(header: IdentityHeader) -> str:
    return '403 {"message":"Forbidden"}' if header.api_key else '401 {"message":"Unauthorized"}'


def check_identity_header_dropped(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """Methods under the behavior are authorized with a header the behavior does not send to the origin."""
    # An edge function may add the header itself: api_behaviors leaves such behaviors out for this rule, and the
    # scan warns instead (rules.common.edge_function_warnings).
    for ab in api_behaviors(dist, inv, rule="apigw-identity-header-dropped"):
        behavior, origin = ab.behavior, ab.origin
        reach = router.reachable(dist, behavior, inv, assume_host_fix=True)
        if not reach.known or not reach.reaches:
            continue
        dropped: dict[str, list[tuple[Reach, IdentityHeader]]] = {}
        notes: list[str] = list(reach.notes)
        for r in reach.reaches:
            headers, note = identity_headers(r.api, r.method)
            if note:
                notes.append(note)
            for header in headers:
                at_origin = header_at_origin(behavior, origin, header.name)
                if at_origin.reaches is None:
                    notes.append(f"whether {header.name} reaches the origin is unknown: {at_origin.source}")
                elif not at_origin.reaches:
                    dropped.setdefault(header.name, []).append((r, header))
        if not dropped:
            continue
        names = sorted(dropped)
        first_reach, first_header = dropped[names[0]][0]
        policy = behavior.cache_policy
        can_cache = policy is not None and policy.max_ttl > 0
        intent = reach.host_intent is not None
        change = pass_through_change(behavior, intent=intent, disable_caching=can_cache)
        summary = f"Use {describe_policies(change)} on behavior {behavior.path_pattern} so that {', '.join(names)} " \
                  "reaches the API"
        fix, fix_notes = policy_fix(dist, origin, behavior, inv, summary, change)
        if can_cache:
            fix_notes += (f"cache policy {policy.name} can cache (MaxTTL {policy.max_ttl} s) and its key lacks "
                          f"{', '.join(names)}: CachingDisabled, so that no response for one caller is served to "
                          "another",)
        labels = list(dict.fromkeys(f"{r.method.http_method} {r.api_path}" for name in names for r, _ in dropped[name]))
        verb = first_reach.method.http_method if first_reach.method.http_method != "ANY" else "GET"
        yield finding(
            IDENTITY_HEADER_DROPPED, dist, behavior=behavior.path_pattern, origin=origin.id,
            message=(f"Behavior {behavior.path_pattern} does not send {', '.join(names)} to API origin {origin.id}, "
                     f"but {', '.join(labels[:6])}{' and more' if len(labels) > 6 else ''} "
                     f"{'need' if len(labels) > 1 else 'needs'} it"),
            symptom=(f"{verb} {first_reach.example_path} with {first_header.name} returns {_denial(first_header)} "
                     "through CloudFront on every call, while direct calls to the API work"),
            fix=fix,
            evidence=(
                f"behavior {behavior.path_pattern}: " + "; ".join(
                    f"{name} is neither in the cache key nor forwarded by the origin request policy nor an origin "
                    "custom header" for name in names),
                *(f"{name}: " + "; ".join(dict.fromkeys(f"{r.method.http_method} {r.api_path} ({h.why})"
                                                        for r, h in dropped[name]))
                  for name in names),
            ),
            notes=[*notes, *fix_notes],
        )


IDENTITY_HEADER_DROPPED = Rule(
    id="apigw-identity-header-dropped",
    severity=Severity.HIGH,
    fix_class=FixClass.AUTO.value,
    title=("Methods under the behavior need a header other than Authorization to be authorized: x-api-key for "
          "REST methods with apiKeyRequired (API key source HEADER), or an authorizer's identity-source header "
          "(REST method.request.header.X, HTTP API $request.header.X), and the behavior neither forwards that "
          "header (cache key, origin request policy, legacy whitelist) nor sets it as an origin custom header."),
    symptom=('403 {"message":"Forbidden"} (API key) or 401 Unauthorized on every call through CloudFront, while '
             "direct calls work."),
    remediation=("AllViewerExceptHostHeader (AllViewer under Host intent), with the caching rule of "
                 "apigw-auth-header-dropped (auto)."),
    url="https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-key-source.html",
    check=check_identity_header_dropped,
)

RULES: tuple[Rule, ...] = (IDENTITY_HEADER_DROPPED,)

__all__ = ["RULES", "IDENTITY_HEADER_DROPPED", "identity_headers", "API_KEY_HEADER"]
