"""CloudFront: distributions and their policies, read and turned into the model.

AWS returns a behavior with either a ``CachePolicyId`` or the legacy ``ForwardedValues`` + TTL fields (CloudFront API
reference, ``CacheBehavior``). moto returns both, with ``CachePolicyId: ""`` on legacy behaviors, so the builder
normalises: a non-empty ``CachePolicyId`` wins, and empty ids mean absent. Legacy TTLs absent from a config take the
API's documented defaults (DefaultTTL 86400, MaxTTL 31536000, MinTTL 0).
"""
from __future__ import annotations

from typing import Any, Mapping

from .. import policies
from ..model import (
    GET_HEAD,
    Behavior,
    CachePolicy,
    CustomDomain,
    CustomErrorResponse,
    CLOUDFRONT_FUNCTION,
    LAMBDA_EDGE,
    Distribution,
    EdgeFunction,
    LegacySettings,
    Origin,
    OriginGroup,
    OriginKind,
    OriginRequestPolicy,
    Unreadable,
)
from ..shape import clone
from .calls import ResourceUnreadable, call
from .origins import classify_origin, lambda_url_target

DEFAULT_METHODS = GET_HEAD


class PolicyResolver:
    """Resolves cache / origin request policy ids: managed ones from the table (no call), custom ones with
    GetCachePolicy / GetOriginRequestPolicy, each read at most once per run. ``cloudfront=None`` reads nothing."""

    def __init__(self, cloudfront: Any | None):
        self._cloudfront = cloudfront
        self._cache: dict[str, CachePolicy | Unreadable] = {}
        self._origin_request: dict[str, OriginRequestPolicy | Unreadable] = {}

    @property
    def custom_names(self) -> dict[str, str]:
        """Names of the custom policies read so far (for messages)."""
        found = {**self._cache, **self._origin_request}
        return {pid: p.name for pid, p in found.items() if not isinstance(p, Unreadable) and not p.managed}

    def cache_policy(self, policy_id: str) -> CachePolicy | Unreadable:
        if policy_id not in self._cache:
            managed = policies.managed_cache_policy(policy_id)
            self._cache[policy_id] = managed or self._read(
                f"cache policy {policy_id}", "get_cache_policy", "CachePolicy", policy_id,
                policies.cache_policy_from_api)
        return self._cache[policy_id]

    def origin_request_policy(self, policy_id: str) -> OriginRequestPolicy | Unreadable:
        if policy_id not in self._origin_request:
            managed = policies.managed_origin_request_policy(policy_id)
            self._origin_request[policy_id] = managed or self._read(
                f"origin request policy {policy_id}", "get_origin_request_policy", "OriginRequestPolicy", policy_id,
                policies.origin_request_policy_from_api)
        return self._origin_request[policy_id]

    def _read(self, what: str, operation: str, member: str, policy_id: str, build: Any) -> Any:
        if self._cloudfront is None:
            return Unreadable(what, "not read (no CloudFront client given)")
        try:
            return build(call(what, getattr(self._cloudfront, operation), Id=policy_id)[member])
        except ResourceUnreadable as problem:
            return problem.unreadable()


def _items(container: Mapping | None) -> list:
    return list((container or {}).get("Items") or [])


def _origin(raw: Mapping, custom_domains: Mapping[str, CustomDomain]) -> Origin:
    custom = raw.get("CustomOriginConfig")
    kind, target = classify_origin(raw["DomainName"], custom_domains, s3_origin_config="S3OriginConfig" in raw)
    return Origin(
        id=raw["Id"],
        domain_name=raw["DomainName"],
        origin_path=(raw.get("OriginPath") or "").rstrip("/"),
        kind=kind,
        protocol_policy=custom.get("OriginProtocolPolicy") if custom else None,
        ssl_protocols=tuple(_items((custom or {}).get("OriginSslProtocols"))),
        https_port=int((custom or {}).get("HTTPSPort") or 443),
        http_port=int((custom or {}).get("HTTPPort") or 80),
        api=target if kind is OriginKind.API_GATEWAY else None,
        custom_header_names=tuple(h["HeaderName"] for h in _items(raw.get("CustomHeaders"))),
        read_timeout=int((custom or {}).get("OriginReadTimeout") or 30),
        lambda_url=lambda_url_target(raw["DomainName"]) if kind is OriginKind.LAMBDA_URL else None,
    )


def _error_responses(config: Mapping) -> tuple[CustomErrorResponse, ...]:
    return tuple(
        CustomErrorResponse(int(raw["ErrorCode"]), raw.get("ResponsePagePath") or "", str(raw.get("ResponseCode") or ""))
        for raw in _items(config.get("CustomErrorResponses"))
    )


def _legacy(raw: Mapping) -> LegacySettings:
    forwarded = raw.get("ForwardedValues") or {}
    return LegacySettings(
        headers=tuple(h.lower() for h in _items(forwarded.get("Headers"))),
        query_string=bool(forwarded.get("QueryString", False)),
        query_string_cache_keys=tuple(_items(forwarded.get("QueryStringCacheKeys"))),
        cookies_forward=(forwarded.get("Cookies") or {}).get("Forward", "none"),
        min_ttl=int(raw["MinTTL"]) if raw.get("MinTTL") is not None else 0,
        default_ttl=int(raw["DefaultTTL"]) if raw.get("DefaultTTL") is not None else 86400,
        max_ttl=int(raw["MaxTTL"]) if raw.get("MaxTTL") is not None else 31536000,
    )


def _behavior(raw: Mapping, is_default: bool, resolver: PolicyResolver, unreadable: list[Unreadable]) -> Behavior:
    allowed = raw.get("AllowedMethods") or {}
    cache_id = raw.get("CachePolicyId") or None
    orp_id = raw.get("OriginRequestPolicyId") or None
    cache_policy = origin_request_policy = None
    if cache_id:
        resolved = resolver.cache_policy(cache_id)
        if isinstance(resolved, Unreadable):
            unreadable.append(resolved)
        else:
            cache_policy = resolved
    if orp_id:
        resolved_orp = resolver.origin_request_policy(orp_id)
        if isinstance(resolved_orp, Unreadable):
            unreadable.append(resolved_orp)
        else:
            origin_request_policy = resolved_orp
    return Behavior(
        path_pattern="*" if is_default else raw["PathPattern"],
        is_default=is_default,
        target_origin_id=raw["TargetOriginId"],
        viewer_protocol_policy=raw["ViewerProtocolPolicy"],
        allowed_methods=frozenset(m.upper() for m in (_items(allowed) or DEFAULT_METHODS)),
        cached_methods=frozenset(m.upper() for m in (_items(allowed.get("CachedMethods")) or DEFAULT_METHODS)),
        cache_policy_id=cache_id,
        origin_request_policy_id=orp_id,
        response_headers_policy_id=raw.get("ResponseHeadersPolicyId") or None,
        cache_policy=cache_policy,
        origin_request_policy=origin_request_policy,
        legacy=None if cache_id else _legacy(raw),
        function_events=tuple(a["EventType"] for a in _items(raw.get("FunctionAssociations"))),
        lambda_events=tuple(a["EventType"] for a in _items(raw.get("LambdaFunctionAssociations"))),
        edge_functions=edge_functions_of(raw),
    )


def edge_functions_of(raw: Mapping) -> tuple[EdgeFunction, ...]:
    """The CloudFront Functions and Lambda@Edge functions associated with a behavior (boto3 shape)."""
    return (*(EdgeFunction(a["EventType"], CLOUDFRONT_FUNCTION, a.get("FunctionARN", ""))
              for a in _items(raw.get("FunctionAssociations"))),
            *(EdgeFunction(a["EventType"], LAMBDA_EDGE, a.get("LambdaFunctionARN", ""))
              for a in _items(raw.get("LambdaFunctionAssociations"))))


def origin_groups_of(config: Mapping) -> tuple[OriginGroup, ...]:
    """The failover origin groups of a DistributionConfig (boto3 shape), members primary first."""
    return tuple(
        OriginGroup(
            id=raw["Id"],
            members=tuple(m["OriginId"] for m in _items(raw.get("Members"))),
            failover_codes=tuple(int(c) for c in _items((raw.get("FailoverCriteria") or {}).get("StatusCodes"))),
        )
        for raw in _items(config.get("OriginGroups"))
    )


def distribution_from_config(summary: Mapping, config: Mapping, etag: str, resolver: PolicyResolver,
                             custom_domains: Mapping[str, CustomDomain]) -> Distribution:
    """Build the model of one distribution from its DistributionConfig (boto3 shape).

    ``summary`` carries ``Id``, ``ARN``, ``DomainName`` and ``Status``; ``custom_domains`` (lower-cased name ->
    domain) lets origins pointing at an API Gateway custom domain be recognised.
    """
    unreadable: list[Unreadable] = []
    behaviors = [_behavior(raw, False, resolver, unreadable) for raw in _items(config.get("CacheBehaviors"))]
    behaviors.append(_behavior(config["DefaultCacheBehavior"], True, resolver, unreadable))
    return Distribution(
        id=summary["Id"],
        arn=summary.get("ARN", ""),
        domain_name=summary.get("DomainName", ""),
        aliases=tuple(_items(config.get("Aliases"))),
        enabled=bool(config.get("Enabled", True)),
        status=summary.get("Status", ""),
        etag=etag,
        origins=tuple(_origin(raw, custom_domains) for raw in _items(config.get("Origins"))),
        behaviors=tuple(behaviors),
        config=clone(dict(config)),
        unreadable=tuple(dict.fromkeys(unreadable)),
        custom_error_responses=_error_responses(config),
        origin_groups=origin_groups_of(config),
        connection_mode=config.get("ConnectionMode") or "direct",
    )
