"""edgemedic.forwarding: what a behavior sends to its origin (aws-facts sections 2, 3, 5)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from builders import behavior, custom_cache_policy, custom_origin_request_policy, legacy, with_policies
from edgemedic import policies as p
from edgemedic.forwarding import authorization_reaches_origin, caches, forwarding_of

HOST_SOURCES = {
    "AllViewer": (behavior("*", "o", orp=p.ALL_VIEWER), "origin request policy AllViewer"),
    "AllViewerAndCloudFrontHeaders-2022-06": (
        behavior("*", "o", orp=p.ALL_VIEWER_AND_CLOUDFRONT_2022_06),
        "origin request policy AllViewerAndCloudFrontHeaders-2022-06"),
    "HostHeaderOnly": (behavior("*", "o", orp=p.HOST_HEADER_ONLY), "origin request policy HostHeaderOnly"),
    "Amplify": (behavior("*", "o", cache=p.AMPLIFY), "cache policy Amplify (cache key)"),
    "UseOriginCacheControlHeaders": (
        behavior("*", "o", cache=p.USE_ORIGIN_CACHE_CONTROL_HEADERS),
        "cache policy UseOriginCacheControlHeaders (cache key)"),
    "UseOriginCacheControlHeaders-QueryStrings + AVEHH (cache key wins over allExcept host)": (
        behavior("*", "o", cache=p.USE_ORIGIN_CACHE_CONTROL_HEADERS_QS, orp=p.ALL_VIEWER_EXCEPT_HOST_HEADER),
        "cache policy UseOriginCacheControlHeaders-QueryStrings (cache key)"),
    "custom allExcept without host": (
        with_policies(behavior("*", "o"), orp=custom_origin_request_policy("x", "no-cookie", "allExcept", ["cookie"])),
        "origin request policy no-cookie"),
    "legacy *": (behavior("*", "o", legacy=legacy("*")), "legacy ForwardedValues of behavior * (Headers: *)"),
    "legacy Host": (behavior("*", "o", legacy=legacy("Host")), "legacy ForwardedValues of behavior * (Headers: host)"),
}


@pytest.mark.parametrize("case", HOST_SOURCES.values(), ids=HOST_SOURCES.keys())
def test_host_forwarded_and_its_source(case):
    b, source = case
    forwarding = forwarding_of(b)
    assert forwarding.forwards_host is True
    assert forwarding.source_of("Host") == source


@pytest.mark.parametrize("b", [
    behavior("*", "o"),
    behavior("*", "o", orp=p.ALL_VIEWER_EXCEPT_HOST_HEADER),
    behavior("*", "o", cache=p.CACHING_OPTIMIZED, orp=p.CORS_CUSTOM_ORIGIN),
    behavior("*", "o", legacy=legacy("Authorization")),
], ids=["CachingDisabled", "AVEHH", "CachingOptimized+CORS", "legacy Authorization"])
def test_host_not_forwarded(b):
    assert forwarding_of(b).forwards_host is False


def test_authorization_in_orp_whitelist_is_never_forwarded():
    """CloudFront refuses such a policy (400); the model must not pretend it forwards."""
    orp = custom_origin_request_policy("x", "bad", "whitelist", ["Authorization", "X-Api-Key"])
    b = with_policies(behavior("*", "o"), orp=orp)
    forwarding = forwarding_of(b)
    assert (forwarding.forwards_header("authorization"), forwarding.forwards_header("x-api-key")) == (False, True)
    assert [authorization_reaches_origin(b, m) for m in ("GET", "HEAD", "OPTIONS", "POST", "DELETE")] == [
        False, False, True, True, True]


def test_authorization_through_cache_key_allviewer_or_legacy():
    for b in (behavior("*", "o", cache=p.AMPLIFY), behavior("*", "o", orp=p.ALL_VIEWER_EXCEPT_HOST_HEADER),
              behavior("*", "o", legacy=legacy("Authorization"))):
        assert authorization_reaches_origin(b, "GET") is True


def test_options_keeps_authorization_only_when_not_cached():
    cached = behavior("*", "o", cached=("GET", "HEAD", "OPTIONS"))
    assert (authorization_reaches_origin(cached, "OPTIONS"), authorization_reaches_origin(behavior("*", "o"), "options")) \
        == (False, True)


def test_query_strings():
    assert forwarding_of(behavior("*", "o")).any_query_strings is False
    assert forwarding_of(behavior("*", "o", orp=p.ALL_VIEWER_EXCEPT_HOST_HEADER)).all_query_strings_from == \
        "origin request policy AllViewerExceptHostHeader"
    assert forwarding_of(behavior("*", "o", cache=p.USE_ORIGIN_CACHE_CONTROL_HEADERS_QS)).all_query_strings_from == \
        "cache policy UseOriginCacheControlHeaders-QueryStrings (cache key)"
    qs_policy = replace(custom_cache_policy("c", "by-page", max_ttl=60, query="whitelist"),
                        query_strings=frozenset({"page"}))
    whitelisted = forwarding_of(with_policies(behavior("*", "o"), cache=qs_policy))
    assert (whitelisted.any_query_strings, whitelisted.query_string_names, whitelisted.all_query_strings_from) == (
        True, frozenset({"page"}), None)
    legacy_qs = forwarding_of(behavior("*", "o", legacy=legacy(query=True)))
    assert (legacy_qs.any_query_strings, legacy_qs.all_query_strings_from) == (
        True, "legacy ForwardedValues of behavior * (QueryString: true)")


def test_unreadable_policy_is_reported_as_unknown():
    forwarding = forwarding_of(behavior("*", "o", orp="00000000-1111-2222-3333-444444444444"))
    assert forwarding.unknown == "origin request policy 00000000-1111-2222-3333-444444444444 could not be read"
    forwarding = forwarding_of(behavior("*", "o", cache="00000000-1111-2222-3333-555555555555"))
    assert forwarding.unknown == "cache policy 00000000-1111-2222-3333-555555555555 could not be read"


@pytest.mark.parametrize("b, expected", [
    (behavior("*", "o", cache=p.CACHING_OPTIMIZED), (True, "cache policy CachingOptimized: MinTTL=1, DefaultTTL=86400")),
    (behavior("*", "o", cache=p.AMPLIFY), (True, "cache policy Amplify: MinTTL=2, DefaultTTL=2")),
    (behavior("*", "o", cache=p.ELEMENTAL_MEDIA_PACKAGE), (True, "cache policy Elemental-MediaPackage: MinTTL=0, DefaultTTL=86400")),
    (behavior("*", "o"), (False, "cache policy CachingDisabled: MinTTL=0, DefaultTTL=0")),
    (behavior("*", "o", cache=p.USE_ORIGIN_CACHE_CONTROL_HEADERS),
     (False, "cache policy UseOriginCacheControlHeaders: MinTTL=0, DefaultTTL=0")),
    (behavior("*", "o", legacy=legacy()), (True, "legacy MinTTL=0, DefaultTTL=86400")),
    (behavior("*", "o", legacy=legacy(default_ttl=0, max_ttl=0)), (False, "legacy MinTTL=0, DefaultTTL=0")),
    # Forwarding all headers turns legacy caching off, whatever DefaultTTL says (API reference, Headers.Quantity).
    (behavior("*", "o", legacy=legacy("*")), (False, "legacy Headers: * (CloudFront does not cache when forwarding all headers)")),
    (behavior("*", "o", cache="00000000-1111-2222-3333-555555555555"), (False, "cache policy could not be read")),
], ids=["CachingOptimized", "Amplify", "MediaPackage", "CachingDisabled", "UseOriginCacheControlHeaders",
        "legacy defaults", "legacy zero", "legacy Headers *", "unreadable"])
def test_caches(b, expected):
    assert caches(b) == expected


def test_execute_api_domain_per_partition() -> None:
    from builders import rest_api

    assert rest_api("a1b2c3d4e5", region="eu-west-1").execute_api_domain == "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
    assert rest_api("a1b2c3d4e5", region="cn-north-1").execute_api_domain == \
        "a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn"


def test_legacy_settings_forward_other_defined_headers_as_the_header_table_says():
    """Catalog "Forwarded" (c): under legacy settings CloudFront's header table for custom origins forwards the
    headers it does not define ("other-defined headers"), such as Sec-WebSocket-Key or X-Tenant; Host is the
    origin's, Authorization follows the method, User-Agent is CloudFront's, hop-by-hop headers are its own."""
    forwarding = forwarding_of(behavior("*", "o", legacy=legacy(default_ttl=0, max_ttl=0)))
    table = "legacy ForwardedValues of behavior * (CloudFront's header table forwards other-defined headers)"
    assert [forwarding.source_of(h) for h in ("Sec-WebSocket-Key", "sec-websocket-version", "X-Tenant")] == [
        table, table, table]
    assert [forwarding.forwards_header(h) for h in ("Host", "Authorization", "User-Agent", "Connection", "Upgrade",
                                                     "Expect", "Cookie")] == [False] * 7
    assert forwarding.forwards_host is False
    assert [authorization_reaches_origin(behavior("*", "o", legacy=legacy()), m) for m in ("GET", "POST")] == [
        False, True]
    # A whitelisted header keeps its own source; Headers * stays all headers.
    assert forwarding_of(behavior("*", "o", legacy=legacy("Host"))).source_of("Host") == (
        "legacy ForwardedValues of behavior * (Headers: host)")
    assert forwarding_of(behavior("*", "o", legacy=legacy("*"))).source_of("X-Tenant") == (
        "legacy ForwardedValues of behavior * (Headers: *)")
