"""CloudFront's managed policies (ids and contents) and the parsers for custom ones.

The one place that knows them. Source: ../shared/reference/aws-facts.md section 1 (AWS managed-policy pages,
cross-checked with aws-cdk). Managed policies are matched by id, never by name: AWS's own names are inconsistent
(``Managed-CachingOptimized`` but ``UseOriginCacheControlHeaders``).
"""
from __future__ import annotations

from typing import Any, Mapping

from .model import CachePolicy, OriginRequestPolicy

# --------------------------------------------------------------------------------------------- cache policies

AMPLIFY = "2e54312d-136d-493c-8eb9-b001f22f67d2"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_OPTIMIZED_UNCOMPRESSED = "b2884449-e4de-46a7-ac36-70bc7f1ddd6d"
ELEMENTAL_MEDIA_PACKAGE = "08627262-05a9-4f76-9ded-b50ca2e3a84f"
USE_ORIGIN_CACHE_CONTROL_HEADERS = "83da9c7e-98b4-4e11-a168-04f0df8e2c65"
USE_ORIGIN_CACHE_CONTROL_HEADERS_QS = "4cc15a8a-d715-48a4-82b8-cc0b614638fe"

_ORIGIN_CACHE_CONTROL_HEADERS = frozenset({"host", "origin", "x-http-method-override", "x-http-method", "x-method-override"})

MANAGED_CACHE_POLICIES: Mapping[str, CachePolicy] = {
    p.id: p
    for p in (
        CachePolicy(AMPLIFY, "Amplify", True, 2, 2, 600, "whitelist",
                    frozenset({"authorization", "cloudfront-viewer-country", "host"}), "all", "all"),
        CachePolicy(CACHING_DISABLED, "CachingDisabled", True, 0, 0, 0),
        CachePolicy(CACHING_OPTIMIZED, "CachingOptimized", True, 1, 86400, 31536000),
        CachePolicy(CACHING_OPTIMIZED_UNCOMPRESSED, "CachingOptimizedForUncompressedObjects", True, 1, 86400, 31536000),
        CachePolicy(ELEMENTAL_MEDIA_PACKAGE, "Elemental-MediaPackage", True, 0, 86400, 31536000, "whitelist",
                    frozenset({"origin"}), "none", "whitelist", frozenset({"aws.manifestfilter", "start", "end", "m"})),
        CachePolicy(USE_ORIGIN_CACHE_CONTROL_HEADERS, "UseOriginCacheControlHeaders", True, 0, 0, 31536000,
                    "whitelist", _ORIGIN_CACHE_CONTROL_HEADERS, "all", "none"),
        CachePolicy(USE_ORIGIN_CACHE_CONTROL_HEADERS_QS, "UseOriginCacheControlHeaders-QueryStrings", True, 0, 0,
                    31536000, "whitelist", _ORIGIN_CACHE_CONTROL_HEADERS, "all", "all"),
        # Amplify Hosting's own policies: contents are not published; listed so they are named, not fetched.
    )
}

AMPLIFY_HOSTING_CACHE_POLICY_NAMES: Mapping[str, str] = {
    "4d1d2f1d-3a71-49ad-9e08-7ea5d843a556": "Amplify-Default",
    "a6bad946-36c3-4c33-aa98-362c74a7fb13": "Amplify-DefaultNoCookies",
    "1c6db51a-a33f-469a-8245-dae26771f530": "Amplify-ImageOptimization",
    "7e5fad67-ee98-4ad0-b05a-394999eefc1a": "Amplify-StaticContent",
}

# --------------------------------------------------------------------------------------------- origin request policies

ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
ALL_VIEWER_AND_CLOUDFRONT_2022_06 = "33f36d7e-f396-46d9-90e0-52428a34d9dc"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
CORS_CUSTOM_ORIGIN = "59781a5b-3903-41f3-afcb-af62929ccde1"
CORS_S3_ORIGIN = "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf"
ELEMENTAL_MEDIATAILOR = "775133bc-15f2-49f9-abea-afb2e0bf67d2"
USER_AGENT_REFERER_HEADERS = "acba4595-bd28-49b8-b9fe-13317c0390fa"
HOST_HEADER_ONLY = "bf0718e1-ba1e-49d1-88b1-f726733018ae"

_CLOUDFRONT_VIEWER_HEADERS = frozenset(
    h.lower()
    for h in (
        "CloudFront-Forwarded-Proto", "CloudFront-Is-Android-Viewer", "CloudFront-Is-Desktop-Viewer",
        "CloudFront-Is-IOS-Viewer", "CloudFront-Is-Mobile-Viewer", "CloudFront-Is-SmartTV-Viewer",
        "CloudFront-Is-Tablet-Viewer", "CloudFront-Viewer-Address", "CloudFront-Viewer-ASN", "CloudFront-Viewer-City",
        "CloudFront-Viewer-Country", "CloudFront-Viewer-Country-Name", "CloudFront-Viewer-Country-Region",
        "CloudFront-Viewer-Country-Region-Name", "CloudFront-Viewer-Http-Version", "CloudFront-Viewer-Latitude",
        "CloudFront-Viewer-Longitude", "CloudFront-Viewer-Metro-Code", "CloudFront-Viewer-Postal-Code",
        "CloudFront-Viewer-Time-Zone", "CloudFront-Viewer-TLS",
    )
)

MANAGED_ORIGIN_REQUEST_POLICIES: Mapping[str, OriginRequestPolicy] = {
    p.id: p
    for p in (
        OriginRequestPolicy(ALL_VIEWER, "AllViewer", True, "allViewer", frozenset(), "all", "all"),
        OriginRequestPolicy(ALL_VIEWER_AND_CLOUDFRONT_2022_06, "AllViewerAndCloudFrontHeaders-2022-06", True,
                            "allViewerAndWhitelistCloudFront", _CLOUDFRONT_VIEWER_HEADERS, "all", "all"),
        OriginRequestPolicy(ALL_VIEWER_EXCEPT_HOST_HEADER, "AllViewerExceptHostHeader", True, "allExcept",
                            frozenset({"host"}), "all", "all"),
        OriginRequestPolicy(CORS_CUSTOM_ORIGIN, "CORS-CustomOrigin", True, "whitelist", frozenset({"origin"})),
        OriginRequestPolicy(CORS_S3_ORIGIN, "CORS-S3Origin", True, "whitelist",
                            frozenset({"origin", "access-control-request-headers", "access-control-request-method"})),
        OriginRequestPolicy(ELEMENTAL_MEDIATAILOR, "Elemental-MediaTailor-PersonalizedManifests", True, "whitelist",
                            frozenset({"origin", "access-control-request-headers", "access-control-request-method",
                                       "user-agent", "x-forwarded-for"}), "none", "all"),
        OriginRequestPolicy(USER_AGENT_REFERER_HEADERS, "UserAgentRefererHeaders", True, "whitelist",
                            frozenset({"user-agent", "referer"})),
        OriginRequestPolicy(HOST_HEADER_ONLY, "HostHeaderOnly", True, "whitelist", frozenset({"host"})),
    )
}


def managed_cache_policy(policy_id: str) -> CachePolicy | None:
    return MANAGED_CACHE_POLICIES.get(policy_id)


def managed_origin_request_policy(policy_id: str) -> OriginRequestPolicy | None:
    return MANAGED_ORIGIN_REQUEST_POLICIES.get(policy_id)


def is_managed(policy_id: str) -> bool:
    return (
        policy_id in MANAGED_CACHE_POLICIES
        or policy_id in MANAGED_ORIGIN_REQUEST_POLICIES
        or policy_id in AMPLIFY_HOSTING_CACHE_POLICY_NAMES
    )


def policy_name(policy_id: str | None, custom: Mapping[str, str] | None = None) -> str:
    """A person's name for a policy id: ``AllViewer``, a custom policy's name, or the id itself."""
    if not policy_id:
        return "(none)"
    for table in (MANAGED_CACHE_POLICIES, MANAGED_ORIGIN_REQUEST_POLICIES):
        if policy_id in table:
            return table[policy_id].name
    if policy_id in AMPLIFY_HOSTING_CACHE_POLICY_NAMES:
        return AMPLIFY_HOSTING_CACHE_POLICY_NAMES[policy_id]
    if custom and policy_id in custom:
        return custom[policy_id]
    return policy_id


# --------------------------------------------------------------------------------------------- custom policies


def _items(container: Mapping[str, Any] | None, key: str) -> frozenset[str]:
    if not container:
        return frozenset()
    return frozenset(str(item).lower() for item in (container.get(key) or {}).get("Items", []) or [])


def cache_policy_from_api(policy: Mapping[str, Any]) -> CachePolicy:
    """Build a CachePolicy from GetCachePolicy's ``CachePolicy`` member (boto3 shape)."""
    config = policy["CachePolicyConfig"]
    params = config.get("ParametersInCacheKeyAndForwardedToOrigin") or {}
    headers = params.get("HeadersConfig") or {}
    cookies = params.get("CookiesConfig") or {}
    queries = params.get("QueryStringsConfig") or {}
    min_ttl = int(config.get("MinTTL", 0))
    default_ttl = int(config.get("DefaultTTL", max(86400, min_ttl)))
    return CachePolicy(
        id=policy["Id"],
        name=config.get("Name", policy["Id"]),
        managed=is_managed(policy["Id"]),
        min_ttl=min_ttl,
        default_ttl=default_ttl,
        max_ttl=int(config.get("MaxTTL", max(31536000, default_ttl))),
        header_behavior=headers.get("HeaderBehavior", "none"),
        headers=_items(headers, "Headers"),
        cookie_behavior=cookies.get("CookieBehavior", "none"),
        query_string_behavior=queries.get("QueryStringBehavior", "none"),
        query_strings=_items(queries, "QueryStrings"),
    )


def origin_request_policy_from_api(policy: Mapping[str, Any]) -> OriginRequestPolicy:
    """Build an OriginRequestPolicy from GetOriginRequestPolicy's ``OriginRequestPolicy`` member (boto3 shape)."""
    config = policy["OriginRequestPolicyConfig"]
    headers = config.get("HeadersConfig") or {}
    cookies = config.get("CookiesConfig") or {}
    queries = config.get("QueryStringsConfig") or {}
    return OriginRequestPolicy(
        id=policy["Id"],
        name=config.get("Name", policy["Id"]),
        managed=is_managed(policy["Id"]),
        header_behavior=headers.get("HeaderBehavior", "none"),
        headers=_items(headers, "Headers"),
        cookie_behavior=cookies.get("CookieBehavior", "none"),
        query_string_behavior=queries.get("QueryStringBehavior", "none"),
        query_strings=_items(queries, "QueryStrings"),
    )
