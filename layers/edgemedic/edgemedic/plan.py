"""Findings -> a new DistributionConfig, a unified diff and plain-words summary. Nothing is sent from here.

    plan = build_plan(dist, findings)                       # auto fixes only
    plan = build_plan(dist, findings, classes={FixClass.AUTO, FixClass.APPROVE})
    print("\\n".join(plan.summary)); print(plan.diff)

The change intents of every selected finding (``edgemedic.findings``) are merged, then applied to a deep copy of
the config exactly as read. Only the named behavior / origin fields change; every other field, known or not, is
kept as it was, because UpdateDistribution replaces the whole config (aws-facts.md section 9).

Merging is order-independent and idempotent. Where findings ask different things of one field:

- cache policy: CachingDisabled wins (it both stops caching and keeps Host out of the key); any other
  disagreement is a ``PlanError``.
- origin request policy: AllViewerExceptHostHeader wins over a Host-forwarding policy (AllViewer,
  AllViewerAndCloudFrontHeaders-2022-06) unless that request was made under Host intent. Rules ask for a
  Host-forwarding policy only under Host intent (pitfalls.md), so such a request counts as made under Host intent
  when the distribution has an alias and no ``apigw-host-forwarded`` finding names the same behavior (that rule
  fires only without Host intent, so it disproves it). Other disagreements are a ``PlanError``.
- allowed methods: the largest set (the three sets are nested); its smallest requested cached set.
- viewer protocol: the strictest (https-only > redirect-to-https > allow-all).
- origin protocol: https-only > match-viewer > http-only; SSL protocols: the intersection of the requests.
- OriginPath, origin domain: different requests are a ``PlanError``.
- OriginReadTimeout: the longest requested (each asks for what its backend may take).
- moves: a behavior is moved just before its target only when it is not before it already; moves are done in
  the config order of the moved behaviors, so the result does not depend on the order of the findings.

A legacy behavior (ForwardedValues + TTLs) given policies is migrated: ForwardedValues, MinTTL, DefaultTTL and
MaxTTL are removed, CachePolicyId is set (CachingDisabled unless named) and an origin request policy is set
(when none is named: AllViewer if the legacy headers forwarded Host, else AllViewerExceptHostHeader, so the origin
keeps receiving what it received).
"""
from __future__ import annotations

import contextvars
import difflib
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from . import policies
from .errors import EdgemedicError
from .findings import (
    Change,
    Finding,
    FixClass,
    MoveBehavior,
    SetAllowedMethods,
    SetBehaviorPolicies,
    SetOriginDomain,
    SetOriginPath,
    SetOriginProtocol,
    SetOriginReadTimeout,
    SetViewerProtocol,
)
from .model import ALL_METHODS, DEFAULT_PATTERN, GET_HEAD, Distribution
from .shape import aws_shape, clone

METHOD_ORDER = ALL_METHODS
SSL_ORDER = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2")
LEGACY_FIELDS = ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL")
HOST_FORWARDING_ORPS = frozenset({policies.ALL_VIEWER, policies.ALL_VIEWER_AND_CLOUDFRONT_2022_06})
_VIEWER_RANK = {"allow-all": 0, "redirect-to-https": 1, "https-only": 2}
_ORIGIN_RANK = {"http-only": 0, "match-viewer": 1, "https-only": 2}
_POLICY_ID_KEYS = ("CachePolicyId", "OriginRequestPolicyId", "ResponseHeadersPolicyId")
REDACTED = "(hidden)"


# Custom policy names for summaries and diffs during one build (a ContextVar, so concurrent builds cannot mix).
_CUSTOM_NAMES: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("custom_names", default=None)


class PlanError(EdgemedicError):
    """The findings ask for something that cannot be planned (a missing behavior, conflicting requests)."""


@dataclass(frozen=True)
class Plan:
    distribution_id: str
    etag: str
    config_hash: str  # of base_config, the config the plan was built on
    base_config: Mapping[str, Any]
    new_config: dict[str, Any]
    findings: tuple[Finding, ...]
    changes: tuple[Change, ...]
    summary: tuple[str, ...]
    diff: str
    fix_class: FixClass


# --------------------------------------------------------------------------------------------- config helpers


def canonical_json(config: Mapping[str, Any]) -> str:
    return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a config in AWS's shape: equal configs hash equal whatever their key order,
    and whichever endpoint (AWS, moto) answered."""
    return hashlib.sha256(canonical_json(aws_shape(config)).encode("utf-8")).hexdigest()


def behavior_label(pattern: str) -> str:
    return "default behavior (*)" if pattern == DEFAULT_PATTERN else pattern


def _additional(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list((config.get("CacheBehaviors") or {}).get("Items") or [])


def _origins(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list((config.get("Origins") or {}).get("Items") or [])


def _strip_slash(pattern: str) -> str:
    return pattern[1:] if pattern.startswith("/") else pattern


def _resolve_pattern(config: Mapping[str, Any], pattern: str) -> str:
    """The behavior's pattern as the config spells it (CloudFront treats a leading / as optional)."""
    if pattern == DEFAULT_PATTERN:
        return pattern
    patterns = [b.get("PathPattern", "") for b in _additional(config)]
    if pattern in patterns:
        return pattern
    loose = [p for p in patterns if _strip_slash(p) == _strip_slash(pattern)]
    if len(loose) == 1:
        return loose[0]
    raise PlanError(f"behavior {pattern} is not in the distribution any more; scan again before fixing")


def _behavior(config: dict[str, Any], pattern: str) -> dict[str, Any]:
    if pattern == DEFAULT_PATTERN:
        return config["DefaultCacheBehavior"]
    for item in _additional(config):
        if item.get("PathPattern") == pattern:
            return item
    raise PlanError(f"behavior {pattern} is not in the distribution any more; scan again before fixing")


def _origin(config: dict[str, Any], origin_id: str) -> dict[str, Any]:
    for item in _origins(config):
        if item.get("Id") == origin_id:
            return item
    raise PlanError(f"origin {origin_id} is not in the distribution any more; scan again before fixing")


def _has_alias(config: Mapping[str, Any]) -> bool:
    return bool((config.get("Aliases") or {}).get("Items"))


def _methods(items: Iterable[str]) -> tuple[str, ...]:
    wanted = {m.upper() for m in items}
    return tuple(m for m in METHOD_ORDER if m in wanted) + tuple(sorted(wanted - set(METHOD_ORDER)))


def _ssl(items: Iterable[str]) -> tuple[str, ...]:
    wanted = set(items)
    return tuple(p for p in SSL_ORDER if p in wanted) + tuple(sorted(wanted - set(SSL_ORDER)))


def _legacy_forwards_host(behavior: Mapping[str, Any]) -> bool:
    headers = ((behavior.get("ForwardedValues") or {}).get("Headers") or {}).get("Items") or []
    return any(h == "*" or str(h).lower() == "host" for h in headers)


def _is_legacy(behavior: Mapping[str, Any]) -> bool:
    # Empty-string ids mean absent (moto writes CachePolicyId "" on legacy behaviors).
    return not behavior.get("CachePolicyId")


# --------------------------------------------------------------------------------------------- merging


@dataclass
class _Requests:
    cache: dict[str, dict[str, list[Finding]]]
    orp: dict[str, dict[str, list[Finding]]]
    methods: dict[str, set[tuple[tuple[str, ...], tuple[str, ...]]]]
    viewer: dict[str, set[str]]
    origin_protocol: dict[str, set[str]]
    origin_ssl: dict[str, set[tuple[str, ...]]]
    origin_path: dict[str, set[str]]
    origin_domain: dict[str, set[str]]
    moves: set[tuple[str, str]]
    touched_policies: set[str]
    read_timeout: dict[str, set[int]]

    @classmethod
    def empty(cls) -> "_Requests":
        return cls({}, {}, {}, {}, {}, {}, {}, {}, set(), set(), {})


def _collect(config: Mapping[str, Any], findings: Sequence[Finding]) -> _Requests:
    req = _Requests.empty()
    for finding in findings:
        for change in finding.fix.changes:
            if isinstance(change, SetBehaviorPolicies):
                key = _resolve_pattern(config, change.behavior)
                req.touched_policies.add(key)
                if change.cache_policy_id:
                    req.cache.setdefault(key, {}).setdefault(change.cache_policy_id, []).append(finding)
                if change.origin_request_policy_id:
                    req.orp.setdefault(key, {}).setdefault(change.origin_request_policy_id, []).append(finding)
            elif isinstance(change, SetAllowedMethods):
                key = _resolve_pattern(config, change.behavior)
                req.methods.setdefault(key, set()).add((_methods(change.methods), _methods(change.cached_methods)))
            elif isinstance(change, SetViewerProtocol):
                req.viewer.setdefault(_resolve_pattern(config, change.behavior), set()).add(change.policy)
            elif isinstance(change, SetOriginProtocol):
                if change.protocol_policy:
                    req.origin_protocol.setdefault(change.origin, set()).add(change.protocol_policy)
                if change.ssl_protocols is not None:
                    req.origin_ssl.setdefault(change.origin, set()).add(_ssl(change.ssl_protocols))
            elif isinstance(change, SetOriginPath):
                req.origin_path.setdefault(change.origin, set()).add(change.path)
            elif isinstance(change, SetOriginDomain):
                req.origin_domain.setdefault(change.origin, set()).add(change.domain)
            elif isinstance(change, MoveBehavior):
                req.moves.add((_resolve_pattern(config, change.behavior), _resolve_pattern(config, change.before)))
            elif isinstance(change, SetOriginReadTimeout):
                req.read_timeout.setdefault(change.origin, set()).add(change.seconds)
            else:  # pragma: no cover - a new intent type must be taught here first
                raise PlanError(f"edgemedic cannot plan a {type(change).__name__} change yet")
    return req


def _conflict(what: str, where: str, asked: Mapping[str, list[Finding]] | Iterable[str]) -> PlanError:
    if isinstance(asked, Mapping):
        parts = [f"{policy_label(v)} ({', '.join(sorted({f.rule for f in fs}))})"
                 for v, fs in sorted(asked.items())]
    else:
        parts = [repr(v) for v in sorted(asked)]
    return PlanError(f"findings ask for different {what} on {where}: {' vs '.join(parts)}; fix it by hand")


def policy_label(policy_id: str | None) -> str:
    """A policy's name for people (managed table, then the custom names of the current build)."""
    return policies.policy_name(policy_id, _CUSTOM_NAMES.get())


def _pick_cache(pattern: str, asked: Mapping[str, list[Finding]]) -> str:
    if len(asked) == 1:
        return next(iter(asked))
    if policies.CACHING_DISABLED in asked:
        return policies.CACHING_DISABLED
    raise _conflict("cache policies", behavior_label(pattern), asked)


def _pick_orp(pattern: str, asked: Mapping[str, list[Finding]], all_findings: Sequence[Finding],
              config: Mapping[str, Any]) -> str:
    if len(asked) == 1:
        return next(iter(asked))
    ids = set(asked)
    except_host = policies.ALL_VIEWER_EXCEPT_HOST_HEADER
    if except_host in ids and ids - {except_host} <= HOST_FORWARDING_ORPS:
        host_forwarding = sorted(ids - {except_host}, key=lambda i: (i != policies.ALL_VIEWER, i))
        disproved = any(
            f.rule == "apigw-host-forwarded" and _strip_slash(f.behavior) == _strip_slash(pattern)
            for f in all_findings
        )
        if _has_alias(config) and not disproved:
            return host_forwarding[0]
        return except_host
    raise _conflict("origin request policies", behavior_label(pattern), asked)



# --------------------------------------------------------------------------------------------- applying


class _Builder:
    def __init__(self, config: Mapping[str, Any]):
        self.config: dict[str, Any] = clone(dict(config))
        self.summary: list[str] = []
        self.changes: list[Change] = []

    def policies(self, pattern: str, cache_id: str | None, orp_id: str | None) -> None:
        b = _behavior(self.config, pattern)
        label = behavior_label(pattern)
        if _is_legacy(b):
            new_cache = cache_id or policies.CACHING_DISABLED
            if orp_id is None:
                orp_id = policies.ALL_VIEWER if _legacy_forwards_host(b) else policies.ALL_VIEWER_EXCEPT_HOST_HEADER
            old_orp = b.get("OriginRequestPolicyId") or None
            for key in LEGACY_FIELDS:
                b.pop(key, None)
            b["CachePolicyId"] = new_cache
            b["OriginRequestPolicyId"] = orp_id
            self.summary.append(
                f"{label} cache settings: legacy ForwardedValues and TTLs -> cache policy {policy_label(new_cache)}"
            )
            self.summary.append(f"{label} origin request policy: {policy_label(old_orp)} -> {policy_label(orp_id)}")
            self.changes.append(SetBehaviorPolicies(pattern, new_cache, orp_id))
            return
        old_cache, old_orp = b.get("CachePolicyId") or None, b.get("OriginRequestPolicyId") or None
        new_cache = cache_id if cache_id and cache_id != old_cache else None
        new_orp = orp_id if orp_id and orp_id != old_orp else None
        if new_cache is None and new_orp is None:
            return
        # A behavior with a cache policy carries no legacy fields on AWS; moto leaves them, so drop them here.
        for key in LEGACY_FIELDS:
            b.pop(key, None)
        if new_cache:
            b["CachePolicyId"] = new_cache
            self.summary.append(f"{label} cache policy: {policy_label(old_cache)} -> {policy_label(new_cache)}")
        if new_orp:
            b["OriginRequestPolicyId"] = new_orp
            self.summary.append(f"{label} origin request policy: {policy_label(old_orp)} -> {policy_label(new_orp)}")
        self.changes.append(SetBehaviorPolicies(pattern, new_cache, new_orp))

    def methods(self, pattern: str, methods: tuple[str, ...], cached: tuple[str, ...]) -> None:
        b = _behavior(self.config, pattern)
        label = behavior_label(pattern)
        allowed = b.get("AllowedMethods")
        old = _methods((allowed or {}).get("Items") or GET_HEAD)
        old_cached = _methods(((allowed or {}).get("CachedMethods") or {}).get("Items") or GET_HEAD)
        if set(old) == set(methods) and set(old_cached) == set(cached):
            return
        allowed = b.setdefault("AllowedMethods", {})
        if set(old) != set(methods):
            allowed["Quantity"], allowed["Items"] = len(methods), list(methods)
            self.summary.append(f"{label} allowed methods: {','.join(old)} -> {','.join(methods)}")
        if set(old_cached) != set(cached) or "CachedMethods" not in allowed:
            cached_field = allowed.setdefault("CachedMethods", {})
            cached_field["Quantity"], cached_field["Items"] = len(cached), list(cached)
            if set(old_cached) != set(cached):
                self.summary.append(f"{label} cached methods: {','.join(old_cached)} -> {','.join(cached)}")
        self.changes.append(SetAllowedMethods(pattern, methods, cached))

    def viewer(self, pattern: str, policy: str) -> None:
        b = _behavior(self.config, pattern)
        old = b.get("ViewerProtocolPolicy")
        if old == policy:
            return
        b["ViewerProtocolPolicy"] = policy
        self.summary.append(f"{behavior_label(pattern)} viewer protocol policy: {old} -> {policy}")
        self.changes.append(SetViewerProtocol(pattern, policy))

    def origin_protocol(self, origin_id: str, protocol: str | None, ssl: tuple[str, ...] | None) -> None:
        o = _origin(self.config, origin_id)
        custom = o.get("CustomOriginConfig")
        if custom is None:
            raise PlanError(f"origin {origin_id} is not a custom origin: its protocol cannot be set")
        old_protocol = custom.get("OriginProtocolPolicy")
        old_ssl = _ssl((custom.get("OriginSslProtocols") or {}).get("Items") or ())
        set_protocol = protocol if protocol and protocol != old_protocol else None
        set_ssl = ssl if ssl is not None and set(ssl) != set(old_ssl) else None
        if set_protocol is None and set_ssl is None:
            return
        if set_protocol:
            custom["OriginProtocolPolicy"] = set_protocol
            self.summary.append(f"origin {origin_id}: OriginProtocolPolicy {old_protocol} -> {set_protocol}")
        if set_ssl:
            field = custom.setdefault("OriginSslProtocols", {})
            field["Quantity"], field["Items"] = len(set_ssl), list(set_ssl)
            self.summary.append(
                f"origin {origin_id}: OriginSslProtocols {','.join(old_ssl) or '(none)'} -> {','.join(set_ssl)}"
            )
        self.changes.append(SetOriginProtocol(origin_id, set_protocol, set_ssl))

    def origin_path(self, origin_id: str, path: str) -> None:
        o = _origin(self.config, origin_id)
        old = o.get("OriginPath", "")
        if old == path:
            return
        o["OriginPath"] = path
        self.summary.append(f'origin {origin_id}: OriginPath "{old}" -> "{path}"')
        self.changes.append(SetOriginPath(origin_id, path))

    def origin_domain(self, origin_id: str, domain: str) -> None:
        o = _origin(self.config, origin_id)
        old = o.get("DomainName")
        if old == domain:
            return
        o["DomainName"] = domain
        self.summary.append(f"origin {origin_id}: DomainName {old} -> {domain}")
        self.changes.append(SetOriginDomain(origin_id, domain))

    def read_timeout(self, origin_id: str, seconds: int) -> None:
        custom = _origin(self.config, origin_id).get("CustomOriginConfig")
        if custom is None:
            raise PlanError(f"origin {origin_id} is not a custom origin: it has no OriginReadTimeout")
        old = custom.get("OriginReadTimeout", 30)
        if old == seconds:
            return
        custom["OriginReadTimeout"] = seconds
        self.summary.append(f"origin {origin_id}: OriginReadTimeout {old} s -> {seconds} s")
        self.changes.append(SetOriginReadTimeout(origin_id, seconds))

    def moves(self, moves: set[tuple[str, str]]) -> None:
        if not moves:
            return
        items = (self.config.get("CacheBehaviors") or {}).get("Items")
        if not items:
            raise PlanError("the distribution has no additional behaviors to reorder; scan again before fixing")
        for moved, before in moves:
            if DEFAULT_PATTERN in (moved, before) and moved != before:
                raise PlanError("the default behavior (*) always comes last and cannot be moved")
        original = [b.get("PathPattern") for b in items]
        ordered = sorted(moves, key=lambda m: (original.index(m[0]), original.index(m[1])))
        for _ in range(len(moves) + 1):
            moved_any = False
            for moved, before in ordered:
                patterns = [b.get("PathPattern") for b in items]
                i, j = patterns.index(moved), patterns.index(before)
                if i > j:
                    items.insert(j, items.pop(i))
                    moved_any = True
            if not moved_any:
                break
        else:
            raise PlanError("the requested behavior moves contradict each other; reorder the behaviors by hand")
        for moved, before in ordered:
            patterns = [b.get("PathPattern") for b in items]
            if patterns.index(moved) < patterns.index(before) and original.index(moved) > original.index(before):
                self.summary.append(f"{moved} moved before {before} (first match wins)")
                self.changes.append(MoveBehavior(moved, before))


def _config_order(config: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    patterns = [b.get("PathPattern", "") for b in _additional(config)] + [DEFAULT_PATTERN]
    origins = [o.get("Id", "") for o in _origins(config)]
    return patterns, origins


def _ordered(keys: Iterable[str], order: list[str]) -> list[str]:
    return sorted(keys, key=lambda k: (order.index(k) if k in order else len(order), k))


def _apply(config: Mapping[str, Any], selected: Sequence[Finding], all_findings: Sequence[Finding]) -> _Builder:
    req = _collect(config, selected)
    builder = _Builder(config)
    patterns, origins = _config_order(config)
    for pattern in _ordered(req.touched_policies, patterns):
        cache = _pick_cache(pattern, req.cache[pattern]) if pattern in req.cache else None
        orp = _pick_orp(pattern, req.orp[pattern], all_findings, config) if pattern in req.orp else None
        builder.policies(pattern, cache, orp)
    for pattern in _ordered(req.methods, patterns):
        largest = max(len(m) for m, _ in req.methods[pattern])
        cached = min((c for m, c in req.methods[pattern] if len(m) == largest), key=lambda c: (len(c), c))
        methods = min(m for m, _ in req.methods[pattern] if len(m) == largest)
        builder.methods(pattern, methods, cached)
    for pattern in _ordered(req.viewer, patterns):
        builder.viewer(pattern, max(req.viewer[pattern], key=lambda p: (_VIEWER_RANK.get(p, -1), p)))
    for origin_id in _ordered(set(req.origin_protocol) | set(req.origin_ssl), origins):
        protocol = None
        if origin_id in req.origin_protocol:
            protocol = max(req.origin_protocol[origin_id], key=lambda p: (_ORIGIN_RANK.get(p, -1), p))
        ssl = None
        if origin_id in req.origin_ssl:
            common = set.intersection(*(set(s) for s in req.origin_ssl[origin_id]))
            if not common:
                raise _conflict("OriginSslProtocols", f"origin {origin_id}",
                                {",".join(s) for s in req.origin_ssl[origin_id]})
            ssl = _ssl(common)
        builder.origin_protocol(origin_id, protocol, ssl)
    for origin_id in _ordered(req.origin_path, origins):
        if len(req.origin_path[origin_id]) > 1:
            raise _conflict("OriginPath values", f"origin {origin_id}", req.origin_path[origin_id])
        builder.origin_path(origin_id, next(iter(req.origin_path[origin_id])))
    for origin_id in _ordered(req.origin_domain, origins):
        if len(req.origin_domain[origin_id]) > 1:
            raise _conflict("origin domains", f"origin {origin_id}", req.origin_domain[origin_id])
        builder.origin_domain(origin_id, next(iter(req.origin_domain[origin_id])))
    for origin_id in _ordered(req.read_timeout, origins):
        builder.read_timeout(origin_id, max(req.read_timeout[origin_id]))
    builder.moves(req.moves)
    return builder


# --------------------------------------------------------------------------------------------- diff


def _annotated(config: Any) -> Any:
    """A copy for display only: policy ids followed by their names, origin custom header values hidden (they
    are often shared secrets such as X-Origin-Verify, and diffs go to Slack and tickets). Never sent."""
    if isinstance(config, Mapping):
        out = {}
        for key, value in config.items():
            if key == "HeaderValue" and isinstance(value, str):
                out[key] = REDACTED
            elif key in _POLICY_ID_KEYS and isinstance(value, str) and value and policy_label(value) != value:
                out[key] = f"{value}  ({policy_label(value)})"
            else:
                out[key] = _annotated(value)
        return out
    if isinstance(config, list):
        return [_annotated(v) for v in config]
    return config


def _scalar(key: str | None, value: Any) -> str:
    """One JSON value as ``_annotated`` + ``json.dumps`` write it under ``key``."""
    if key == "HeaderValue" and isinstance(value, str):
        value = REDACTED
    elif key in _POLICY_ID_KEYS and isinstance(value, str) and value and policy_label(value) != value:
        value = f"{value}  ({policy_label(value)})"
    return json.dumps(value, default=str)


class _Lines:
    """A config as the lines of ``json.dumps(_annotated(config), sort_keys=True, indent=2, default=str)``.

    The lines of a base config are kept part by part (each behavior, origin...), indented for where the part sits.
    A config planned from that base shares most of its parts with it: a part equal to the base's part at the same
    place takes the base's lines, so only the parts a fix changed are encoded again (the pure-Python indenting
    encoder is the slow part) and nothing is re-indented.
    """

    _DEPTH = 3  # parts below this depth are encoded whole

    def __init__(self, base: Mapping[str, Any]):
        self.base = base
        self._memo: dict[int, tuple[Any, list[str]]] = {}  # id(base part) -> (part, its lines)
        self.base_lines = self._render(base, None, 0)

    def lines(self, config: Mapping[str, Any]) -> list[str]:
        return self._render(config, self.base, 0)

    def _render(self, value: Any, ref: Any, depth: int) -> list[str]:
        """The lines of ``value`` at ``depth``: the first as it follows a key, the others fully indented."""
        if ref is not None:
            known = self._memo.get(id(ref))
            if known is not None and known[0] is ref and (value is ref or value == ref):
                return known[1]
        inner = "  " * (depth + 1)
        if isinstance(value, (dict, list)) and value and depth < self._DEPTH:
            if isinstance(value, dict):
                refs = ref if isinstance(ref, dict) else {}
                parts = [(key, value[key], refs.get(key)) for key in sorted(value)]
                brackets = "{}"
            else:
                refs_list = ref if isinstance(ref, list) else []
                parts = [(None, item, refs_list[i] if i < len(refs_list) else None) for i, item in enumerate(value)]
                brackets = "[]"
            lines = [brackets[0]]
            last = len(parts) - 1
            for i, (key, item, item_ref) in enumerate(parts):
                head = inner if key is None else f"{inner}{json.dumps(key)}: "
                if isinstance(item, (dict, list)):
                    sub = self._render(item, item_ref, depth + 1)
                    lines.append(head + sub[0])
                    lines.extend(sub[1:])
                else:
                    lines.append(head + _scalar(key, item))
                if i < last:
                    lines[-1] += ","
            lines.append("  " * depth + brackets[1])
        else:
            lines = json.dumps(_annotated(value), sort_keys=True, indent=2, default=str).splitlines()
            if depth and len(lines) > 1:
                outer = "  " * depth
                lines[1:] = [outer + line for line in lines[1:]]
        if ref is None and isinstance(value, (dict, list)):  # a part of the base: remember its lines
            self._memo[id(value)] = (value, lines)
        return lines


def _unified(distribution_id: str, a: list[str], b: list[str]) -> str:
    return "\n".join(difflib.unified_diff(
        a, b, fromfile=f"a/{distribution_id}/DistributionConfig", tofile=f"b/{distribution_id}/DistributionConfig",
        lineterm="",
    ))


def render_diff(distribution_id: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """Unified diff of two configs as sorted, 2-space-indented JSON, policy ids annotated with names."""
    a = json.dumps(_annotated(before), sort_keys=True, indent=2, default=str).splitlines()
    b = json.dumps(_annotated(after), sort_keys=True, indent=2, default=str).splitlines()
    return _unified(distribution_id, a, b)


# --------------------------------------------------------------------------------------------- entry points


def custom_policy_names(dist: Distribution | None) -> dict[str, str]:
    names: dict[str, str] = {}
    for behavior in dist.behaviors if dist else ():
        for policy in (behavior.cache_policy, behavior.origin_request_policy):
            if policy is not None and not policy.managed:
                names[policy.id] = policy.name
    return names


class Planner:
    """Plans on one distribution's config: the config is put in AWS's shape, hashed and rendered for diffs once,
    however many plans are built on it (``scan --format json`` builds one per finding)."""

    def __init__(self, distribution_id: str, config: Mapping[str, Any], etag: str,
                 policy_names: Mapping[str, str] | None = None):
        self.distribution_id = distribution_id
        self.etag = etag
        self.config = aws_shape(config)  # what CloudFront accepts back, whichever endpoint answered (edgemedic.shape)
        self.policy_names = dict(policy_names or {})
        self._hash: str | None = None
        self._lines: _Lines | None = None

    @classmethod
    def for_distribution(cls, dist: Distribution) -> "Planner":
        return cls(dist.id, dist.config, dist.etag, custom_policy_names(dist))

    @property
    def config_hash(self) -> str:
        if self._hash is None:
            self._hash = hashlib.sha256(canonical_json(self.config).encode("utf-8")).hexdigest()
        return self._hash

    def plan(self, findings: Sequence[Finding], *,
             classes: Iterable[FixClass] = frozenset({FixClass.AUTO})) -> Plan | None:
        """Plan ``findings`` (others' findings are ignored); None when nothing would change."""
        built = self._build(findings, classes)
        if built is None:
            return None
        selected, builder, diff = built
        needs_approval = any(f.fix.fix_class is FixClass.APPROVE for f in selected)
        return Plan(
            distribution_id=self.distribution_id,
            etag=self.etag,
            config_hash=self.config_hash,
            base_config=clone(self.config),
            new_config=builder.config,
            findings=tuple(selected),
            changes=tuple(builder.changes),
            summary=tuple(builder.summary),
            diff=diff,
            fix_class=FixClass.APPROVE if needs_approval else FixClass.AUTO,
        )

    def diff(self, findings: Sequence[Finding], *,
             classes: Iterable[FixClass] = frozenset({FixClass.AUTO})) -> str | None:
        """The diff :meth:`plan` would have, without the rest of the plan."""
        built = self._build(findings, classes)
        return built[2] if built is not None else None

    def _build(self, findings: Sequence[Finding],
               classes: Iterable[FixClass]) -> tuple[list[Finding], _Builder, str] | None:
        classes = frozenset(classes)
        mine = [f for f in findings if f.distribution == self.distribution_id]
        selected = sorted(
            (f for f in mine if f.fix.fix_class in classes and f.fix.changes),
            key=lambda f: (f.key, f.message, repr(f)),
        )
        if not selected:
            return None
        token = _CUSTOM_NAMES.set(self.policy_names)
        try:
            builder = _apply(self.config, selected, mine)
            if builder.config == self.config:
                return None
            if self._lines is None:
                self._lines = _Lines(self.config)
            diff = _unified(self.distribution_id, self._lines.base_lines, self._lines.lines(builder.config))
        finally:
            _CUSTOM_NAMES.reset(token)
        return selected, builder, diff


def plan_from_config(
    distribution_id: str,
    config: Mapping[str, Any],
    etag: str,
    findings: Sequence[Finding],
    *,
    classes: Iterable[FixClass] = frozenset({FixClass.AUTO}),
    policy_names: Mapping[str, str] | None = None,
) -> Plan | None:
    """Plan ``findings`` on a raw DistributionConfig (for re-planning on a config read just now).

    Findings of other distributions are ignored. None when nothing would change.
    """
    return Planner(distribution_id, config, etag, policy_names).plan(findings, classes=classes)


def build_plan(dist: Distribution, findings: Sequence[Finding], *,
               classes: Iterable[FixClass] = frozenset({FixClass.AUTO})) -> Plan | None:
    """Plan the fixes of ``findings`` (of ``dist``) whose class is in ``classes``; None when nothing changes."""
    return Planner.for_distribution(dist).plan(findings, classes=classes)


def converged_plan(dist: Distribution, findings: Sequence[Finding], *, classes: Iterable[FixClass],
                   evaluate: Callable[[dict[str, Any]], Sequence[Finding]], rounds: int = 4) -> Plan | None:
    """A plan that leaves nothing one plan could have included: plan, evaluate the planned config, add the findings
    of ``classes`` it still has (those a fix uncovered, e.g. methods once the path routes), plan again from the
    original config, until nothing new appears (at most ``rounds`` times). A round whose additions cannot be
    planned together with the rest (a conflict) is left out, and the plan stands as it was."""
    classes = frozenset(classes)
    chosen = [f for f in findings if f.fix.fix_class in classes and f.fix.changes]
    built = build_plan(dist, chosen, classes=classes)
    for _ in range(rounds):
        if built is None:
            return None
        keys = {f.key for f in chosen}
        new = [f for f in evaluate(built.new_config)
               if f.fix.fix_class in classes and f.fix.changes and f.key not in keys]
        if not new:
            break
        try:
            extended = build_plan(dist, [*chosen, *new], classes=classes)
        except PlanError:
            break
        if extended is None or extended.new_config == built.new_config:
            break
        chosen, built = [*chosen, *new], extended
    return built


# --------------------------------------------------------------------------------------------- CloudTrail


@functools.lru_cache(maxsize=1)
def _distribution_config_shape() -> Any:
    import botocore.session  # late: reading the model is file I/O, not for import time

    return botocore.session.get_session().get_service_model("cloudfront").shape_for("DistributionConfig")


def _pascal(value: Any, shape: Any) -> Any:
    if isinstance(value, Mapping):
        members = getattr(shape, "members", None) or {}
        by_lower = {member.lower(): (member, sub) for member, sub in members.items()}
        out: dict[str, Any] = {}
        for key, item in value.items():
            # CloudTrail lower-cases only the first letter of the member name (hTTPSPort, sSLSupportMethod,
            # aCMCertificateArn, webACLId), so a case-insensitive match against the model finds the member;
            # a field the installed model does not know keeps its name with the first letter raised.
            member, sub = by_lower.get(key.lower(), (key[:1].upper() + key[1:], None))
            out[member] = _pascal(item, sub)
        return out
    if isinstance(value, list):
        return [_pascal(item, getattr(shape, "member", None)) for item in value]
    return value


def from_cloudtrail_config(camel: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudTrail ``requestParameters.distributionConfig`` (lowerCamelCase) in boto3's PascalCase shape.

    >>> from_cloudtrail_config({"viewerCertificate": {"aCMCertificateArn": "arn:x", "sSLSupportMethod": "sni-only"}})
    {'ViewerCertificate': {'ACMCertificateArn': 'arn:x', 'SSLSupportMethod': 'sni-only'}}

    CloudTrail redacts sensitive fields (``comment`` is ``HIDDEN_DUE_TO_SECURITY_REASONS``, custom header values
    likely too): the result is for analysis, never to send back to UpdateDistribution.
    """
    return _pascal(camel, _distribution_config_shape())
