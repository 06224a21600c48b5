"""Small helpers shared by the rule modules: API behaviors with their origin and APIs, Host intent, and
findings built the same way everywhere. Pure functions of the model.

    for ab in api_behaviors(dist, inv):
        if ab.websocket: ...
        yield finding(RULE, dist, behavior=ab.behavior.path_pattern, origin=ab.origin.id,
                      message="...", fix=auto("...", change), evidence=(...,))
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Iterator

from .. import policies
from ..apis import OriginApis, apis_behind, host_intent
from ..findings import Change, Finding, Fix, FixClass, Rule, SetBehaviorPolicies, Severity
from ..forwarding import Forwarding, forwarding_of
from ..model import (
    Api,
    ApiMethod,
    ApiProtocol,
    Behavior,
    CustomDomain,
    Distribution,
    Inventory,
    Origin,
    OriginGroup,
    OriginKind,
    custom_domain_key,
    domains_key,
    tenants_key,
)
from .terms import EDGE_FUNCTION_RULES

# --------------------------------------------------------------------------------------------- API behaviors


@dataclass(frozen=True, slots=True)
class ApiBehavior:
    """A behavior whose target is an API origin, with that origin and the APIs behind it."""

    behavior: Behavior
    origin: Origin
    apis: OriginApis
    group: OriginGroup | None = None  # set when the behavior's target is an origin group with this origin in it

    @property
    def websocket(self) -> bool | None:
        """True/False when the APIs behind were read, None when unknown.

        API Gateway refuses to map a WebSocket API on a domain that also maps REST/HTTP APIs, so one readable
        API behind the origin tells for all of them.
        """
        if not self.apis.entries:
            return None
        return any(entry.api.protocol is ApiProtocol.WEBSOCKET for entry in self.apis.entries)


def is_api_origin(origin: Origin | None) -> bool:
    return origin is not None and origin.kind is OriginKind.API_GATEWAY and origin.api is not None


def targets(dist: Distribution, behavior: Behavior) -> Iterator[tuple[Origin, OriginGroup | None]]:
    """The origins a behavior's requests can reach: its target origin, or each member of its origin group."""
    origin = dist.origin(behavior.target_origin_id)
    if origin is not None:
        yield origin, None
        return
    group = dist.origin_group(behavior.target_origin_id)
    if group is not None:
        for member in group.members:
            found = dist.origin(member)
            if found is not None:
                yield found, group


def api_behaviors(dist: Distribution, inv: Inventory, *, rule: str | None = None) -> Iterator[ApiBehavior]:
    """API behaviors in distribution order; a behavior whose target is an origin group gives one per API member.

    With ``rule`` one of the catalog's edge-function rules, behaviors running an edge function before the origin
    are left out: what reaches the origin there is the function's doing (see :func:`edge_function_warnings`).
    """
    skip_edge = rule in EDGE_FUNCTION_RULES
    for behavior in dist.behaviors:
        if skip_edge and behavior.request_functions:
            continue
        for origin, group in targets(dist, behavior):
            if is_api_origin(origin):
                yield ApiBehavior(behavior, origin, apis_behind(origin, inv), group)


def edge_function_warnings(dist: Distribution, inv: Inventory) -> list[str]:
    """One warning per API behavior whose edge function decides what reaches the origin: the behavior, the
    function and what could not be checked. (The catalog's "Edge function": those rules do not fire there.)"""
    from . import RULES_BY_ID  # late: the registry imports this module

    # lambda-url-host-forwarded is about function URL origins (rules.passthrough.lambda_url_edge_warnings).
    skipped = ", ".join(r for r in EDGE_FUNCTION_RULES if r in RULES_BY_ID and r != "lambda-url-host-forwarded")
    warnings: list[str] = []
    seen: set[str] = set()
    for ab in api_behaviors(dist, inv):
        functions = ab.behavior.request_functions
        if not functions or ab.behavior.path_pattern in seen:
            continue
        seen.add(ab.behavior.path_pattern)
        names = "; ".join(f"{f.kind} {f.name or '(unnamed)'} ({f.event})" for f in functions)
        warnings.append(
            f"distribution {dist.id}, behavior {ab.behavior.path_pattern} (API origin {ab.origin.id}) runs {names} "
            "before the origin: it may rewrite the path, Host, headers or query, or sign the request, so what "
            f"reaches API Gateway could not be checked ({skipped} not evaluated on this behavior)")
    return warnings


def behaviors_of(dist: Distribution, origin_id: str) -> tuple[Behavior, ...]:
    return tuple(b for b in dist.behaviors if b.target_origin_id == origin_id)


def used_by(dist: Distribution, origin_id: str) -> str:
    """Evidence line naming the behaviors that send requests to an origin (directly or through an origin group)."""
    patterns = [b.path_pattern for b in behaviors_of(dist, origin_id)]
    groups = [g for g in dist.origin_groups if origin_id in g.members]
    via = [(g.id, [b.path_pattern for b in behaviors_of(dist, g.id)]) for g in groups]
    parts = []
    if patterns:
        parts.append(f"the target of behavior{'s' if len(patterns) > 1 else ''} {', '.join(patterns)}")
    parts += [f"a member of origin group {gid}" + (f" (behaviors {', '.join(ps)})" if ps else "") for gid, ps in via]
    if not parts:
        return f"origin {origin_id} is not the target of any behavior (unused)"
    return f"origin {origin_id} is " + "; ".join(parts)


# --------------------------------------------------------------------------------------------- Host intent


@dataclass(frozen=True, slots=True)
class HostIntent:
    """``domain`` is the alias that is a custom domain mapped to the API behind the origin (the viewer Host is then
    meant to reach API Gateway). ``unknown`` says why its absence could not be established."""

    domain: CustomDomain | None
    unknown: tuple[str, ...] = ()

    @property
    def present(self) -> bool:
        return self.domain is not None

    @property
    def certain(self) -> bool:
        return self.domain is not None or not self.unknown


def host_intent_of(dist: Distribution, origin: Origin, inv: Inventory) -> HostIntent:
    """``apis.host_intent``, plus what stopped it from being sure.

    For an ``execute-api`` origin the API id is in the origin's domain, so intent is found even when the API itself
    could not be read.
    """
    domain = host_intent(dist, origin, inv)
    if domain is not None:
        return HostIntent(domain)
    target = origin.api
    names = inv.viewer_names(dist)
    unknown: list[str] = []
    if dist.tenant_only:
        why_tenants = inv.why_unreadable(tenants_key(dist.id))
        if why_tenants is not None or dist.id not in inv.tenant_domains:
            unknown.append(f"distribution {dist.id} is multi-tenant and its tenants' domains were not read"
                           + (f" ({why_tenants.what}: {why_tenants.reason})" if why_tenants else ""))
    if target is None or not names:
        return HostIntent(None, tuple(unknown))
    if target.via == "execute-api" and target.api_id:
        for alias in names:
            candidate = inv.custom_domain(alias)
            if candidate and target.api_id in candidate.routed_api_ids:
                return HostIntent(candidate)
    if target.via != "execute-api":
        behind = apis_behind(origin, inv)
        if not behind.entries:
            unknown.extend(behind.notes)
    region_listing = inv.why_unreadable(domains_key(target.region))
    for alias in names:
        if inv.custom_domain(alias) is not None:
            continue
        why = inv.why_unreadable(custom_domain_key(alias)) or region_listing
        if why is not None:
            unknown.append(f"whether alias {alias} is an API Gateway custom domain is unknown "
                           f"({why.what}: {why.reason})")
    return HostIntent(None, tuple(dict.fromkeys(unknown)))


# --------------------------------------------------------------------------------------------- forwarding


def sources_of(forwarding: Forwarding, header: str) -> tuple[str, ...]:
    """Every source that forwards ``header`` (a header can come from the cache key and the ORP at once)."""
    lowered = header.lower()
    found = [source for name, source in forwarding.header_sources if name == lowered]
    if forwarding.all_headers_from and lowered not in forwarding.all_headers_except:
        found.append(forwarding.all_headers_from)
    return tuple(dict.fromkeys(found))


def cache_key_has_header(behavior: Behavior, header: str) -> bool:
    policy = behavior.cache_policy
    return policy is not None and policy.header_behavior == "whitelist" and header.lower() in policy.headers


def cache_key_forwards_anything(behavior: Behavior) -> bool:
    policy = behavior.cache_policy
    return policy is not None and (
        (policy.header_behavior == "whitelist" and bool(policy.headers))
        or policy.cookie_behavior != "none"
        or policy.query_string_behavior != "none"
    )


_BEARER_TYPES = frozenset({"COGNITO_USER_POOLS", "JWT"})


def needs_authorization_header(api: Api, method: ApiMethod) -> bool | None:
    """Whether the method reads the viewer's Authorization header (None when its authorizer could not be read)."""
    kind = method.authorization_type
    if kind == "AWS_IAM":
        return True
    if kind in _BEARER_TYPES or kind == "CUSTOM":
        authorizer = api.authorizer(method.authorizer_id)
        if authorizer is None:
            # Cognito and JWT authorizers read Authorization unless told otherwise; a Lambda authorizer's
            # identity source is unknown without it.
            return True if kind in _BEARER_TYPES else None
        return authorizer.reads_authorization_header
    return False


def cache_can_share(behavior: Behavior, header: str = "authorization") -> bool:
    """Whether the behavior's cache policy can keep a response (MaxTTL > 0, even with DefaultTTL 0: the origin's
    Cache-Control max-age or s-maxage is then obeyed) without ``header`` in its key: a response for one caller can
    then be served to another. Legacy behaviors are migrated to CachingDisabled by every policy fix."""
    policy = behavior.cache_policy
    return policy is not None and policy.max_ttl > 0 and not cache_key_has_header(behavior, header)


def authorization_needed(dist: Distribution, ab: "ApiBehavior", inv: Inventory) -> bool:
    """Whether methods behind ``ab`` (as the path would be once Host is fixed) need the Authorization header.
    True also when it cannot be established that none does: a fix must never risk sharing authorized responses."""
    from ..router import reachable  # late: the router imports the origin classifier, which imports collect

    reach = reachable(dist, ab.behavior, inv, assume_host_fix=True, origin_id=ab.origin.id)
    if not reach.known:
        return True
    if not reach.reaches:
        # Nothing routes yet: the methods that matter are those apigw-path-unroutable's OriginPath reaches, since
        # the plan that holds this fix may hold that one too. (With no such OriginPath, a person's later path fix
        # is a change of its own, evaluated when it happens: apigw-response-cached then guards the cache.)
        from .routing import proposed_origin_path  # late: routing imports this module

        path = proposed_origin_path(dist, ab, inv)
        if path is None:
            return False
        reach = reachable(dist, ab.behavior, inv, origin_path=path, assume_host_fix=True, origin_id=ab.origin.id)
        if not reach.known:
            return True
    return any(needs_authorization_header(r.api, r.method) is not False for r in reach.reaches)


_PASS_THROUGH_ORPS = frozenset({
    policies.ALL_VIEWER, policies.ALL_VIEWER_AND_CLOUDFRONT_2022_06, policies.ALL_VIEWER_EXCEPT_HOST_HEADER,
})


def pass_through_orp(intent: bool) -> str:
    """The managed origin request policy that passes a viewer request through to API Gateway."""
    return policies.ALL_VIEWER if intent else policies.ALL_VIEWER_EXCEPT_HOST_HEADER


def pass_through_change(behavior: Behavior, *, intent: bool, disable_caching: bool = False,
                        authorization: bool = True) -> SetBehaviorPolicies:
    """Policies under which ``behavior`` passes viewer requests through to an API origin.

    Origin request policy AllViewerExceptHostHeader (AllViewer under Host intent). The cache policy becomes
    CachingDisabled when asked, for a legacy behavior (migration), when its key carries Host without intent, or
    when ``authorization`` (methods behind need Authorization, :func:`authorization_needed`) and the cache can keep
    a response without Authorization in its key: the pass-through policy forwards Authorization, and CloudFront
    would otherwise serve one caller's response to another. Otherwise the cache policy is kept. Every rule that
    touches these policies asks here, so their fixes never disagree.
    """
    cache: str | None = None
    if (disable_caching or behavior.legacy is not None or (not intent and cache_key_has_header(behavior, "host"))
            or (authorization and cache_can_share(behavior))):
        cache = policies.CACHING_DISABLED
    return SetBehaviorPolicies(behavior.path_pattern, cache, pass_through_orp(intent))


def disable_caching_change(behavior: Behavior, *, intent: bool) -> SetBehaviorPolicies:
    """CachingDisabled, plus the pass-through ORP when the replaced cache key forwarded something the current
    origin request policy would not (else the fix would silently stop forwarding e.g. Authorization)."""
    if behavior.legacy is not None:
        return pass_through_change(behavior, intent=intent, disable_caching=True)
    orp: str | None = None
    if cache_key_forwards_anything(behavior) and behavior.origin_request_policy_id not in _PASS_THROUGH_ORPS:
        orp = pass_through_orp(intent)
    return SetBehaviorPolicies(behavior.path_pattern, policies.CACHING_DISABLED, orp)


def forwards_host_after(behavior: Behavior, change: SetBehaviorPolicies) -> bool:
    """Whether ``behavior`` still forwards the viewer Host once ``change`` is applied (as ``plan`` applies it:
    a legacy behavior is migrated, with CachingDisabled when no cache policy is named)."""
    cache_id = change.cache_policy_id or (policies.CACHING_DISABLED if behavior.legacy is not None else None)
    after = replace(
        behavior,
        legacy=None,
        cache_policy_id=cache_id or behavior.cache_policy_id,
        cache_policy=policies.managed_cache_policy(cache_id) if cache_id else behavior.cache_policy,
        origin_request_policy_id=change.origin_request_policy_id or behavior.origin_request_policy_id,
        origin_request_policy=(policies.managed_origin_request_policy(change.origin_request_policy_id)
                               if change.origin_request_policy_id else behavior.origin_request_policy),
    )
    return forwarding_of(after).forwards_host


def policy_fix(dist: Distribution, origin: Origin, behavior: Behavior, inv: Inventory, summary: str,
               change: SetBehaviorPolicies) -> tuple[Fix, tuple[str, ...]]:
    """The fix for a policy change, and notes: ``auto``, unless the change stops forwarding a Host that reaches
    API Gateway today while Host intent could not be checked. Then a person confirms (``approve``), exactly as
    apigw-host-forwarded does in that case: an auto fix must never silently undo a custom-domain design."""
    if forwarding_of(behavior).forwards_host and not forwards_host_after(behavior, change):
        intent = host_intent_of(dist, origin, inv)
        if not intent.certain:
            return approve(summary, change), (
                *intent.unknown,
                f"this change stops forwarding the viewer Host on behavior {behavior.path_pattern}, and whether Host "
                "reaches API Gateway on purpose could not be checked: a person confirms",
            )
    return auto(summary, change), ()


def describe_policies(change: SetBehaviorPolicies) -> str:
    parts = []
    if change.origin_request_policy_id:
        parts.append(f"origin request policy {policies.policy_name(change.origin_request_policy_id)}")
    if change.cache_policy_id:
        parts.append(f"cache policy {policies.policy_name(change.cache_policy_id)}")
    return " and ".join(parts)


# --------------------------------------------------------------------------------------------- findings


def auto(summary: str, *changes: Change) -> Fix:
    return Fix(FixClass.AUTO, summary, tuple(changes))


def approve(summary: str, *changes: Change) -> Fix:
    return Fix(FixClass.APPROVE, summary, tuple(changes))


def manual(summary: str, ticket: str) -> Fix:
    return Fix(FixClass.MANUAL, summary, (), ticket)


def finding(
    rule: Rule,
    dist: Distribution,
    *,
    behavior: str,
    origin: str,
    message: str,
    fix: Fix,
    evidence: Iterable[str] = (),
    notes: Iterable[str] = (),
    symptom: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    """A finding of ``rule`` with its id and severity (a rule whose catalog row names a lower one for some case
    passes ``severity``); ``symptom`` defaults to the rule's."""
    return Finding(
        rule=rule.id,
        severity=severity or rule.severity,
        distribution=dist.id,
        behavior=behavior,
        origin=origin,
        message=message,
        symptom=symptom or rule.symptom,
        fix=fix,
        evidence=tuple(evidence),
        notes=tuple(dict.fromkeys(notes)),
    )
