"""CloudFront's documented constraints on a DistributionConfig, checked before anything is sent.

    problems = validate_config(plan.new_config, original=plan.base_config)   # [] when CloudFront would accept it

moto accepts most of these configs, so this is edgemedic's only guard in tests and its first one in production.
Sources: aws-facts.md sections 4 (path patterns, OriginPath, quotas), 5 (methods, legacy TTLs), 8 (SSL
protocols), 9 (CallerReference, InconsistentQuantities) and the botocore model (enums, required members).
Not checked: rules that need the policies themselves (a cache policy with all TTLs 0 cannot carry headers).
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

from .model import ALLOWED_METHOD_SETS, CACHED_METHOD_SETS, DEFAULT_PATTERN
VIEWER_PROTOCOL_POLICIES = frozenset({"allow-all", "https-only", "redirect-to-https"})
ORIGIN_PROTOCOL_POLICIES = frozenset({"http-only", "match-viewer", "https-only"})
SSL_PROTOCOLS = frozenset({"SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2"})
MAX_CACHE_BEHAVIORS = 25  # default quota (adjustable)
MAX_ORIGINS = 25  # default quota (adjustable)
MAX_LEGACY_HEADERS = 10
MAX_PATH_PATTERN = 255
_PATH_PATTERN_CHARS = re.compile(r"^[A-Za-z0-9_\-.*$/~\"'@:+&?]*$")
REQUIRED_TOP_LEVEL = ("CallerReference", "Origins", "DefaultCacheBehavior", "Comment", "Enabled")
LEGACY_DEFAULT_TTL = 86400
LEGACY_MAX_TTL = 31536000
_ORIGIN_KINDS = ("S3OriginConfig", "CustomOriginConfig", "VpcOriginConfig")
# Origin response timeout (OriginReadTimeout): 1 to 60 s by default, up to 180 s with a quota increase
# (DownloadDistValuesOriginResponseTimeout; aws-facts.md section 11.9).
ORIGIN_READ_TIMEOUT_RANGE = (1, 60)
ORIGIN_READ_TIMEOUT_MAX = 180


def _items(container: Any) -> list[Any]:
    if not isinstance(container, Mapping):
        return []
    return list(container.get("Items") or [])


def _behaviors(config: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for item in _items(config.get("CacheBehaviors")):
        if isinstance(item, Mapping):
            yield f"behavior {item.get('PathPattern', '(no path pattern)')}", item
    default = config.get("DefaultCacheBehavior")
    if isinstance(default, Mapping):
        yield f"default behavior ({DEFAULT_PATTERN})", default


# --------------------------------------------------------------------------------------------- quantities


def _child_label(parent: str, key: str, item: Any, index: int) -> str:
    if isinstance(item, Mapping):
        if key == "CacheBehaviors":
            return f"behavior {item.get('PathPattern', index)}"
        if key == "Origins":
            return f"origin {item.get('Id', index)}"
        if key == "OriginGroups":
            return f"origin group {item.get('Id', index)}"
    return f"{parent} item {index + 1}".strip()


def _quantities(node: Any, where: str, key: str, problems: list[str]) -> None:
    """Every {Quantity, Items} pair must agree, at any depth (else CloudFront answers InconsistentQuantities)."""
    if isinstance(node, Mapping):
        if "Quantity" in node:
            items = node.get("Items")
            count = len(items) if isinstance(items, list) else 0
            if node.get("Quantity") != count:
                problems.append(
                    f"{where}: Quantity is {node.get('Quantity')} but there are {count} Items "
                    "(CloudFront answers InconsistentQuantities)."
                )
        for child_key, child in node.items():
            if child_key == "Items" and isinstance(child, list):
                for index, item in enumerate(child):
                    _quantities(item, _child_label(where, key, item, index), child_key, problems)
            elif child_key == "DefaultCacheBehavior" and not where:
                _quantities(child, f"default behavior ({DEFAULT_PATTERN})", child_key, problems)
            else:
                _quantities(child, f"{where} {child_key}".strip() if where else child_key, child_key, problems)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _quantities(item, f"{where} item {index + 1}", key, problems)


# --------------------------------------------------------------------------------------------- behaviors


def _methods(label: str, behavior: Mapping[str, Any], problems: list[str]) -> None:
    allowed_field = behavior.get("AllowedMethods")
    if allowed_field is None:
        return  # CloudFront's default: GET, HEAD
    allowed_items = [str(m) for m in _items(allowed_field)]
    allowed = frozenset(allowed_items)
    if len(allowed) != len(allowed_items) or allowed not in ALLOWED_METHOD_SETS:
        problems.append(
            f"{label}: AllowedMethods {','.join(allowed_items) or '(none)'} is not one of the three sets CloudFront "
            "accepts (GET,HEAD; GET,HEAD,OPTIONS; or all seven)."
        )
    cached_field = allowed_field.get("CachedMethods") if isinstance(allowed_field, Mapping) else None
    if cached_field is None:
        return
    cached_items = [str(m) for m in _items(cached_field)]
    cached = frozenset(cached_items)
    if len(cached) != len(cached_items) or cached not in CACHED_METHOD_SETS:
        problems.append(
            f"{label}: CachedMethods {','.join(cached_items) or '(none)'} is not GET,HEAD or GET,HEAD,OPTIONS."
        )
    elif not cached <= allowed:
        problems.append(f"{label}: CachedMethods {','.join(cached_items)} are not all in AllowedMethods.")


def _legacy(label: str, behavior: Mapping[str, Any], problems: list[str]) -> None:
    forwarded = behavior.get("ForwardedValues") or {}
    headers = [str(h) for h in _items(forwarded.get("Headers"))]
    min_ttl = behavior.get("MinTTL", 0)
    default_ttl = behavior.get("DefaultTTL", max(LEGACY_DEFAULT_TTL, min_ttl))
    max_ttl = behavior.get("MaxTTL", max(LEGACY_MAX_TTL, default_ttl))
    if not min_ttl <= default_ttl <= max_ttl:
        problems.append(
            f"{label}: TTLs must satisfy MinTTL <= DefaultTTL <= MaxTTL, got {min_ttl}, {default_ttl}, {max_ttl} "
            "(CloudFront answers InvalidTTLOrder)."
        )
    if "*" in headers:
        if len(headers) > 1:
            problems.append(f"{label}: legacy Headers '*' forwards every header and must be the only item.")
        if min_ttl != 0:
            problems.append(f"{label}: MinTTL must be 0 when legacy Headers is '*' (all headers), got {min_ttl}.")
    elif len(headers) > MAX_LEGACY_HEADERS:
        problems.append(
            f"{label}: {len(headers)} legacy forwarded headers, more than CloudFront's {MAX_LEGACY_HEADERS} "
            "per behavior."
        )


_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _behavior(label: str, behavior: Mapping[str, Any], targets: set[str], problems: list[str]) -> None:
    viewer = behavior.get("ViewerProtocolPolicy")
    if viewer not in VIEWER_PROTOCOL_POLICIES:
        problems.append(
            f"{label}: ViewerProtocolPolicy {viewer!r} is not allow-all, https-only or redirect-to-https."
        )
    target = behavior.get("TargetOriginId")
    if target not in targets:
        problems.append(f"{label}: TargetOriginId {target!r} names no origin or origin group of the distribution.")
    _methods(label, behavior, problems)

    cache_policy = behavior.get("CachePolicyId") or None  # "" means absent
    has_legacy = "ForwardedValues" in behavior
    if cache_policy and has_legacy:
        problems.append(f"{label}: has both CachePolicyId and ForwardedValues; CloudFront takes exactly one.")
    elif not cache_policy and not has_legacy:
        problems.append(f"{label}: has neither CachePolicyId nor ForwardedValues; CloudFront needs exactly one.")
    ttls = [key for key in ("MinTTL", "DefaultTTL", "MaxTTL") if key in behavior]
    if cache_policy and ttls:
        problems.append(
            f"{label}: {', '.join(ttls)} cannot stand beside a CachePolicyId (the TTLs belong to the cache policy)."
        )
    if behavior.get("OriginRequestPolicyId") and not cache_policy:
        problems.append(f"{label}: an OriginRequestPolicyId needs a CachePolicyId on the same behavior.")
    if not cache_policy:
        _legacy(label, behavior, problems)


def _path_pattern(label: str, pattern: Any, problems: list[str]) -> None:
    if not isinstance(pattern, str) or not pattern:
        problems.append(f"{label}: PathPattern is missing.")
        return
    if len(pattern) > MAX_PATH_PATTERN:
        problems.append(f"{label}: PathPattern is {len(pattern)} characters, more than {MAX_PATH_PATTERN}.")
    if not _PATH_PATTERN_CHARS.match(pattern):
        bad = sorted({c for c in pattern if not _PATH_PATTERN_CHARS.match(c)})
        problems.append(f"{label}: PathPattern has characters CloudFront does not allow: {' '.join(bad)}.")


# --------------------------------------------------------------------------------------------- origins


def _read_timeout(label: str, custom: Mapping[str, Any], before: Any, problems: list[str]) -> None:
    """OriginReadTimeout within 1..60 s; up to 180 s only where the config already had more than 60 (an account with
    the quota raised), as for the other adjustable quotas."""
    if "OriginReadTimeout" not in custom:
        return
    value = custom.get("OriginReadTimeout")
    low, high = ORIGIN_READ_TIMEOUT_RANGE
    if isinstance(before, int) and not isinstance(before, bool) and before > high:
        high = ORIGIN_READ_TIMEOUT_MAX
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        beyond = (f"; above {high} s needs a quota increase (at most {ORIGIN_READ_TIMEOUT_MAX} s)"
                  if high < ORIGIN_READ_TIMEOUT_MAX else "")
        problems.append(f"{label}: OriginReadTimeout {value!r} is not a whole number of seconds from {low} to "
                        f"{high}{beyond}.")


def _origin(origin: Mapping[str, Any], problems: list[str], before: Mapping[str, Any] | None = None) -> None:
    label = f"origin {origin.get('Id', '(no id)')}"
    path = origin.get("OriginPath", "")
    if path and (not path.startswith("/") or path.endswith("/")):
        problems.append(f"{label}: OriginPath {path!r} must be empty or start with / and not end with /.")
    kinds = [kind for kind in _ORIGIN_KINDS if origin.get(kind) is not None]
    # Only "at most one": moto returns S3 origins without S3OriginConfig, and a plan never changes an origin's kind.
    if len(kinds) > 1:
        problems.append(f"{label}: has {' and '.join(kinds)}; an origin is of exactly one kind.")
    custom = origin.get("CustomOriginConfig")
    if not isinstance(custom, Mapping):
        return
    _read_timeout(label, custom, ((before or {}).get("CustomOriginConfig") or {}).get("OriginReadTimeout"), problems)
    protocol = custom.get("OriginProtocolPolicy")
    if protocol not in ORIGIN_PROTOCOL_POLICIES:
        problems.append(f"{label}: OriginProtocolPolicy {protocol!r} is not http-only, match-viewer or https-only.")
    if "OriginSslProtocols" in custom:
        protocols = [str(p) for p in _items(custom.get("OriginSslProtocols"))]
        if not protocols:
            problems.append(f"{label}: OriginSslProtocols is empty; name at least one (TLSv1.2).")
        unknown = [p for p in protocols if p not in SSL_PROTOCOLS]
        if unknown:
            problems.append(
                f"{label}: OriginSslProtocols {', '.join(unknown)} not one of SSLv3, TLSv1, TLSv1.1, TLSv1.2."
            )


# --------------------------------------------------------------------------------------------- entry point


def validate_config(config: Mapping[str, Any], *, original: Mapping[str, Any] | None = None) -> list[str]:
    """Problems CloudFront would reject ``config`` for, one plain sentence each; [] when it would accept it.

    ``original`` is the config as read: CallerReference must not change, and the (adjustable) quotas of 25
    behaviors and 25 origins are enforced only when the config grows past them, since an account may have more.
    """
    problems: list[str] = []
    for key in REQUIRED_TOP_LEVEL:
        if key not in config:
            problems.append(f"the config has no {key}, which CloudFront requires.")
    if original is not None and config.get("CallerReference") != original.get("CallerReference"):
        problems.append(
            f"CallerReference changed from {original.get('CallerReference')!r} to {config.get('CallerReference')!r}; "
            "CloudFront does not allow changing it."
        )
    _quantities(config, "", "", problems)

    origins = [o for o in _items(config.get("Origins")) if isinstance(o, Mapping)]
    groups = [g for g in _items(config.get("OriginGroups")) if isinstance(g, Mapping)]
    ids = [o.get("Id") for o in origins] + [g.get("Id") for g in groups]
    for duplicate in sorted({i for i in ids if ids.count(i) > 1}, key=str):
        problems.append(f"origin id {duplicate!r} is used more than once; origin and origin group ids must be unique.")
    if not origins and "Origins" in config:
        problems.append("the distribution needs at least one origin.")
    original_origins = {o.get("Id"): o for o in _items((original or {}).get("Origins")) if isinstance(o, Mapping)}
    for origin in origins:
        _origin(origin, problems, original_origins.get(origin.get("Id")))
    origin_ids = {o.get("Id") for o in origins}
    for group in groups:
        for member in _items(group.get("Members")):
            member_id = member.get("OriginId") if isinstance(member, Mapping) else None
            if member_id not in origin_ids:
                problems.append(f"origin group {group.get('Id')}: member {member_id!r} names no origin.")

    targets = {i for i in ids if isinstance(i, str)}
    additional = [b for b in _items(config.get("CacheBehaviors")) if isinstance(b, Mapping)]
    patterns = [b.get("PathPattern") for b in additional]
    for duplicate in sorted({p for p in patterns if patterns.count(p) > 1}, key=str):
        problems.append(f"behavior {duplicate}: the path pattern is used by more than one behavior.")
    group_ids = {g.get("Id") for g in groups}
    for label, behavior in _behaviors(config):
        if behavior is not config.get("DefaultCacheBehavior"):
            _path_pattern(label, behavior.get("PathPattern"), problems)
        _behavior(label, behavior, targets, problems)
        if behavior.get("TargetOriginId") in group_ids:
            writes = [m for m in _items(behavior.get("AllowedMethods")) if m in _WRITE_METHODS]
            if writes:
                # CloudFront API reference / high_availability_origin_failover.html: origin failover serves GET,
                # HEAD and OPTIONS only, and UpdateDistribution refuses write methods on such a behavior.
                problems.append(f"{label}: AllowedMethods cannot include {', '.join(writes)} on a behavior whose "
                                f"target is origin group {behavior.get('TargetOriginId')}.")

    before_behaviors = len(_items((original or {}).get("CacheBehaviors")))
    if len(additional) > max(MAX_CACHE_BEHAVIORS, before_behaviors):
        problems.append(
            f"{len(additional)} cache behaviors, more than the default quota of {MAX_CACHE_BEHAVIORS} "
            "(CloudFront answers TooManyCacheBehaviors)."
        )
    before_origins = len(_items((original or {}).get("Origins")))
    if len(origins) > max(MAX_ORIGINS, before_origins):
        problems.append(f"{len(origins)} origins, more than the default quota of {MAX_ORIGINS} (TooManyOrigins).")
    return problems
