"""What a behavior sends to its origin: the one place that knows CloudFront's forwarding rules.

Sources (../shared/reference/aws-facts.md sections 2, 3, 5):
- Everything in a cache policy's key is also forwarded; a cache policy's headers are ``none`` or ``whitelist``.
- An origin request policy adds headers by ``whitelist``, ``allViewer``, ``allViewerAndWhitelistCloudFront`` or
  ``allExcept``. ``Authorization`` cannot be forwarded by an origin request policy whitelist (CloudFront answers
  400 to such a policy), only by all-viewer behaviors, the cache key, or legacy ``Headers``.
- Legacy ``ForwardedValues.Headers``: the listed headers, or all of them with ``*``.
- Without any of these, CloudFront sets ``Host`` to the origin's domain and strips ``Authorization`` on GET and
  HEAD (and OPTIONS when OPTIONS is cached).
"""
from __future__ import annotations

from dataclasses import dataclass

from .model import Behavior
from .policies import policy_name

_ALL_VIEWER_BEHAVIORS = frozenset({"allViewer", "allViewerAndWhitelistCloudFront"})

# Under legacy settings CloudFront's header table for custom origins forwards every header it does not define
# ("other-defined headers"), and these it defines otherwise: Host is the origin's, Authorization follows the method
# (authorization_reaches_origin), Cookie follows the cookie setting, User-Agent is "Amazon CloudFront", and CloudFront
# removes or replaces the rest (RequestAndResponseBehaviorCustomOrigin.html). A header the table does not settle counts
# as forwarded (catalog "Forwarded").
LEGACY_TABLE_NOT_FORWARDED = frozenset({
    "host", "authorization", "cookie", "user-agent", "connection", "upgrade", "expect", "proxy-authorization",
    "proxy-authenticate", "proxy-connection", "te", "trailer", "x-real-ip", "x-amz-cf-id",
})


@dataclass(frozen=True, slots=True)
class Forwarding:
    """The union of what a behavior forwards, with where each part comes from (for evidence)."""

    all_headers_from: str | None  # source that forwards every viewer header, e.g. "origin request policy AllViewer"
    all_headers_except: frozenset[str]  # lower-cased names the all-headers source leaves out (allExcept)
    header_sources: tuple[tuple[str, str], ...]  # (lower-cased header, source) for explicitly forwarded headers
    all_query_strings_from: str | None
    query_string_names: frozenset[str]
    any_query_strings: bool
    unknown: str | None = None  # set when a policy could not be read: nothing can be said for sure

    def forwards_header(self, name: str) -> bool:
        return self.source_of(name) is not None

    def source_of(self, name: str) -> str | None:
        """Where the header ``name`` is forwarded from, or None when CloudFront does not forward it."""
        lowered = name.lower()
        for header, source in self.header_sources:
            if header == lowered:
                return source
        if self.all_headers_from and lowered not in self.all_headers_except:
            return self.all_headers_from
        return None

    @property
    def forwards_host(self) -> bool:
        return self.forwards_header("host")


def _legacy_source(behavior: Behavior) -> str:
    return f"legacy ForwardedValues of behavior {behavior.path_pattern}"


def forwarding_of(behavior: Behavior, custom_names: dict[str, str] | None = None) -> Forwarding:
    """Compute what ``behavior`` forwards. A policy that could not be read makes ``unknown`` say so."""
    header_sources: list[tuple[str, str]] = []
    all_headers_from: str | None = None
    all_headers_except: frozenset[str] = frozenset()
    all_query_from: str | None = None
    query_names: set[str] = set()
    any_query = False
    unknown: str | None = None

    if behavior.legacy is not None:
        legacy = behavior.legacy
        source = _legacy_source(behavior)
        if "*" in legacy.headers:
            all_headers_from = f"{source} (Headers: *)"
        else:
            all_headers_from = f"{source} (CloudFront's header table forwards other-defined headers)"
            all_headers_except = LEGACY_TABLE_NOT_FORWARDED
        for header in legacy.headers:
            if header != "*":
                header_sources.append((header, f"{source} (Headers: {header})"))
        if legacy.query_string:
            any_query = True
            if legacy.query_string_cache_keys:
                # QueryStringCacheKeys limits the cache key; all query strings are still forwarded.
                pass
            all_query_from = f"{source} (QueryString: true)"
        return Forwarding(all_headers_from, all_headers_except, tuple(header_sources), all_query_from,
                          frozenset(query_names), any_query)

    if behavior.cache_policy_id and behavior.cache_policy is None:
        unknown = f"cache policy {behavior.cache_policy_id} could not be read"
    if behavior.origin_request_policy_id and behavior.origin_request_policy is None:
        unknown = f"origin request policy {behavior.origin_request_policy_id} could not be read"

    cache = behavior.cache_policy
    if cache is not None:
        source = f"cache policy {policy_name(cache.id, custom_names) if cache.managed else cache.name}"
        if cache.header_behavior == "whitelist":
            header_sources.extend((header, f"{source} (cache key)") for header in sorted(cache.headers))
        if cache.query_string_behavior in {"all", "allExcept"}:
            all_query_from, any_query = f"{source} (cache key)", True
        elif cache.query_string_behavior == "whitelist" and cache.query_strings:
            query_names |= cache.query_strings
            any_query = True

    orp = behavior.origin_request_policy
    if orp is not None:
        source = f"origin request policy {policy_name(orp.id, custom_names) if orp.managed else orp.name}"
        if orp.header_behavior in _ALL_VIEWER_BEHAVIORS:
            all_headers_from = source
        elif orp.header_behavior == "allExcept":
            all_headers_from, all_headers_except = source, orp.headers
        elif orp.header_behavior == "whitelist":
            # CloudFront refuses Authorization in an origin request policy whitelist: it is never forwarded so.
            header_sources.extend(
                (header, source) for header in sorted(orp.headers) if header != "authorization"
            )
        if orp.query_string_behavior in {"all", "allExcept"}:
            all_query_from, any_query = all_query_from or source, True
        elif orp.query_string_behavior == "whitelist" and orp.query_strings:
            query_names |= orp.query_strings
            any_query = True

    return Forwarding(all_headers_from, all_headers_except, tuple(header_sources), all_query_from,
                      frozenset(query_names), any_query, unknown)


def authorization_reaches_origin(behavior: Behavior, method: str, forwarding: Forwarding | None = None) -> bool:
    """Whether a viewer's ``Authorization`` header on ``method`` reaches the origin through ``behavior``."""
    forwarding = forwarding or forwarding_of(behavior)
    if forwarding.forwards_header("authorization"):
        return True
    method = method.upper()
    if method in {"GET", "HEAD"}:
        return False
    if method == "OPTIONS":
        return "OPTIONS" not in behavior.cached_methods
    return True  # DELETE, PATCH, POST, PUT keep it


def caches(behavior: Behavior) -> tuple[bool, str]:
    """Whether the behavior caches responses the origin did not ask to cache, and the evidence."""
    if behavior.legacy is not None:
        legacy = behavior.legacy
        if "*" in legacy.headers:
            # API reference, Headers.Quantity / DeveloperGuide header-caching.html: with legacy settings that forward
            # all headers, CloudFront does not cache and sends every request to the origin (MinTTL must then be 0).
            return False, "legacy Headers: * (CloudFront does not cache when forwarding all headers)"
        if legacy.min_ttl > 0 or legacy.default_ttl > 0:
            return True, f"legacy MinTTL={legacy.min_ttl}, DefaultTTL={legacy.default_ttl}"
        return False, "legacy MinTTL=0, DefaultTTL=0"
    policy = behavior.cache_policy
    if policy is None:
        return False, "cache policy could not be read"
    label = policy.name
    if policy.min_ttl > 0 or policy.default_ttl > 0:
        return True, f"cache policy {label}: MinTTL={policy.min_ttl}, DefaultTTL={policy.default_ttl}"
    return False, f"cache policy {label}: MinTTL=0, DefaultTTL=0"
