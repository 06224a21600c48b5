"""The catalog's shared words, its version, and the rules an edge function silences: data that the rules, the
generated rule reference (docs/rules.md) and the README table all read from here.

New rules append their ids where a definition names them (e.g. :data:`EDGE_FUNCTION_RULES`).
"""
from __future__ import annotations

CATALOG_VERSION = 2

# Rules whose verdict depends on what reaches the origin. A CloudFront Function (viewer-request) or a Lambda@Edge
# function (viewer-request, origin-request) can rewrite the path, Host, headers and query, or sign the request, so
# these rules do not fire on a behavior with one; the scan warns instead.
EDGE_FUNCTION_RULES: tuple[str, ...] = (
    "apigw-host-forwarded",
    "lambda-url-host-forwarded",
    "apigw-path-unroutable",
    "apigw-methods-blocked",
    "apigw-auth-header-dropped",
    "apigw-identity-header-dropped",
    "apigw-query-dropped",
    "apigw-iam-host-mismatch",
    "websocket-handshake-dropped",
)

TERMS: tuple[tuple[str, str], ...] = (
    ("API origin", "A CloudFront origin whose domain is an API Gateway endpoint "
     "(`{api-id}.execute-api.{region}.amazonaws.com`: REST, HTTP or WebSocket API), or an API Gateway custom domain "
     "name (or its `d-xxxx.execute-api...` target). The APIs behind it are resolved through the custom domain's "
     "routing rules and base path / API mappings."),
    ("API behavior", "A cache behavior whose target is an API origin, or an origin group whose members are API "
     "origins (each member is evaluated)."),
    ("Origin group", "A behavior whose target is an origin group reaches its primary and, on the group's failover "
     "status codes, its secondary. CloudFront rejects POST, PUT, PATCH and DELETE on such a behavior, so no fix "
     "adds them there."),
    ("Edge function", "A CloudFront Function (viewer-request) or Lambda@Edge function (viewer-request or "
     "origin-request) on a behavior. It can rewrite the path, Host, headers and query, or sign the request. "
     "edgemedic does not guess what it does: the rules " + ", ".join(f"`{r}`" for r in EDGE_FUNCTION_RULES)
     + " do not fire on such a behavior; the scan warns instead, naming the behavior, the function and what could "
     "not be checked. The other rules still fire."),
    ("Host intent", "The distribution has an alias (or, for a multi-tenant distribution, a distribution tenant has "
     "a domain) that is also an API Gateway custom domain name mapped (or routed by a routing rule) to the API "
     "behind that origin. Forwarding the viewer Host is then the correct design."),
    ("Forwarded", "What CloudFront sends to the origin: the cache policy's key, the origin request policy "
     "(all-viewer header behaviors count for every header they do not except), legacy `ForwardedValues` plus "
     "CloudFront's default header table, and the origin's custom headers. Where the documentation does not settle "
     "a header, it counts as forwarded (no finding)."),
    ("Path at the API", "`OriginPath + viewer path`: CloudFront never strips the matched prefix. CloudFront "
     "normalizes the viewer path (RFC 3986) before it matches patterns and sends the raw path to the origin."),
    ("Host at the API", "The viewer's Host when the behavior forwards it, else the origin domain. A custom domain's "
     "routing mode decides between API mappings (`API_MAPPING_ONLY`), routing rules then mappings "
     "(`ROUTING_RULE_THEN_API_MAPPING`) and routing rules alone (`ROUTING_RULE_ONLY`: mappings are ignored). A "
     "rule's header conditions see only the headers that reach API Gateway."),
    ("Fix class", "`auto`: safe to apply without a person (it only makes CloudFront pass through what the API "
     "already expects, or stop caching dynamic responses). `approve`: a concrete patch a person confirms. "
     "`manual`: a change outside the distribution; edgemedic files a ticket and never applies it."),
)

__all__ = ["CATALOG_VERSION", "EDGE_FUNCTION_RULES", "TERMS"]
