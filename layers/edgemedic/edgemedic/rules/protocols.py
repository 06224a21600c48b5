"""Protocols between viewer, CloudFront and origin.

Sources: ../shared/reference/aws-facts.md sections 6.1 (API Gateway serves HTTPS with TLS 1.2 only), 6.6 (viewer and
origin protocol policies apply to WebSocket traffic) and 8 (OriginSslProtocols; SSLv3 makes CloudFront send only
SSLv3 handshakes).

``apigw-origin-protocol`` owns TLS protocol findings on API origins (catalog v2), so one problem gives one finding:
it fires on ``http-only``, on ``match-viewer`` when a behavior targeting the origin (directly or through an origin
group) lets viewers in over HTTP (``allow-all``; behind HTTPS-only viewers match-viewer always speaks HTTPS), on
OriginSslProtocols without TLSv1.2, and on SSLv3 in them (CloudFront then offers only SSLv3 handshakes, which API
Gateway refuses). Its auto fix, https-only with TLSv1.2 only, settles all of them. ``origin-tls-protocols`` covers
the other custom origins and skips ``http-only`` ones: CloudFront never shakes hands with them.
"""
from __future__ import annotations

from typing import Iterator

from ..findings import Finding, FixClass, Rule, SetOriginProtocol, SetViewerProtocol, Severity
from ..model import Distribution, Inventory, Origin
from .common import api_behaviors, approve, auto, finding, is_api_origin, manual, targets, used_by

TLS12 = ("TLSv1.2",)


def _http_viewers(dist: Distribution, origin: Origin) -> list[str]:
    """Patterns of the behaviors that send requests to ``origin`` (directly or as an origin group member) and
    let viewers in over plain HTTP."""
    return [b.path_pattern for b in dist.behaviors if b.viewer_protocol_policy == "allow-all"
            and any(o.id == origin.id for o, _ in targets(dist, b))]


def _api_origin_problems(dist: Distribution, origin: Origin) -> list[str]:
    if origin.protocol_policy is None:
        return []  # not read: no guess
    problems = []
    if origin.protocol_policy == "http-only":
        problems.append("OriginProtocolPolicy is http-only")
    elif origin.protocol_policy == "match-viewer":
        http = _http_viewers(dist, origin)
        if http:
            problems.append(f"OriginProtocolPolicy is match-viewer and behavior{'s' if len(http) > 1 else ''} "
                            f"{', '.join(http)} allow{'' if len(http) > 1 else 's'} viewers on HTTP")
    if "TLSv1.2" not in origin.ssl_protocols:
        problems.append(f"OriginSslProtocols is {', '.join(origin.ssl_protocols) or 'empty'} (no TLSv1.2)")
    elif "SSLv3" in origin.ssl_protocols:
        problems.append("OriginSslProtocols includes SSLv3 (CloudFront then sends only SSLv3 handshakes)")
    return problems


def check_api_origin_protocol(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """An API origin is not https-only, or does not offer TLSv1.2."""
    for origin in dist.origins:
        problems = _api_origin_problems(dist, origin) if is_api_origin(origin) else []
        if not problems:
            continue
        if origin.protocol_policy == "http-only":
            symptom = "Every request fails (CloudFront 502): API Gateway does not answer plain HTTP"
        elif problems[0].startswith("OriginProtocolPolicy is match-viewer"):
            symptom = "Requests from viewers on plain HTTP fail (CloudFront 502): API Gateway does not answer HTTP"
        else:
            symptom = "CloudFront 502: the TLS handshake with API Gateway (TLS 1.2 only) fails"
        yield finding(
            API_ORIGIN_PROTOCOL, dist, behavior="", origin=origin.id,
            message=f"API Gateway origin {origin.id} is not reached with HTTPS and TLS 1.2 ({'; '.join(problems)})",
            symptom=symptom,
            fix=auto(f"Set origin {origin.id} to https-only with TLSv1.2",
                     SetOriginProtocol(origin.id, "https-only", TLS12)),
            evidence=(*problems, f"origin {origin.id} is API Gateway at {origin.domain_name}", used_by(dist, origin.id)),
        )


def check_viewer_http_allowed(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """An API behavior (not WebSocket) lets viewers use plain HTTP."""
    for ab in api_behaviors(dist, inv):
        behavior = ab.behavior
        # Unknown API type: allow-all is right for plain ws://, so nothing is claimed.
        if behavior.viewer_protocol_policy != "allow-all" or ab.websocket is not False:
            continue
        yield finding(
            VIEWER_HTTP_ALLOWED, dist, behavior=behavior.path_pattern, origin=ab.origin.id,
            message=f"Behavior {behavior.path_pattern} to API Gateway origin {ab.origin.id} accepts plain HTTP from viewers",
            symptom=f"Tokens, cookies and signatures sent to {behavior.path_pattern} over http:// travel in clear text",
            fix=approve(f"Set the viewer protocol policy of behavior {behavior.path_pattern} to redirect-to-https",
                        SetViewerProtocol(behavior.path_pattern, "redirect-to-https")),
            evidence=(f"behavior {behavior.path_pattern}: ViewerProtocolPolicy allow-all",
                      f"origin {ab.origin.id} is API Gateway at {ab.origin.domain_name}"),
        )


def check_websocket_redirect(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """A behavior to a WebSocket API answers ws:// with a redirect that WebSocket clients do not follow."""
    for ab in api_behaviors(dist, inv):
        behavior = ab.behavior
        if ab.websocket is not True or behavior.viewer_protocol_policy != "redirect-to-https":
            continue
        ticket = (
            f"Distribution {dist.id}, behavior {behavior.path_pattern} (WebSocket API origin {ab.origin.id}): change "
            "ViewerProtocolPolicy from redirect-to-https to https-only if every client connects with wss://, or to "
            "allow-all if clients must connect with plain ws://. WebSocket clients do not follow the 301 that "
            "redirect-to-https sends."
        )
        yield finding(
            WEBSOCKET_REDIRECT, dist, behavior=behavior.path_pattern, origin=ab.origin.id,
            message=f"Behavior {behavior.path_pattern} to WebSocket API origin {ab.origin.id} redirects ws:// to https",
            symptom=f"ws:// clients connecting through {behavior.path_pattern} get a 301 and never connect",
            fix=manual("Choose https-only (wss only) or allow-all (plain ws wanted) for the viewer protocol policy",
                       ticket),
            evidence=(f"behavior {behavior.path_pattern}: ViewerProtocolPolicy redirect-to-https",
                      f"API behind origin {ab.origin.id}: " + ", ".join(
                          f"{e.api.id} ({e.api.protocol})" for e in ab.apis.entries)),
        )


def check_origin_tls_protocols(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """A custom origin offers SSLv3, or does not offer TLSv1.2."""
    for origin in dist.origins:
        if not origin.is_custom or origin.protocol_policy == "http-only" or not origin.ssl_protocols:
            continue
        if is_api_origin(origin):
            continue  # apigw-origin-protocol owns TLS protocols on API origins
        problems = []
        if "SSLv3" in origin.ssl_protocols:
            problems.append("OriginSslProtocols includes SSLv3 (CloudFront then sends only SSLv3 handshakes)")
        if "TLSv1.2" not in origin.ssl_protocols:
            problems.append("OriginSslProtocols lacks TLSv1.2")
        if not problems:
            continue
        yield finding(
            ORIGIN_TLS_PROTOCOLS, dist, behavior="", origin=origin.id,
            message=f"Origin {origin.id} ({origin.domain_name}) offers {', '.join(origin.ssl_protocols)} for TLS",
            symptom=f"Weak or failing TLS handshakes between CloudFront and {origin.domain_name} (CloudFront 502)",
            fix=approve(f"Set the origin SSL protocols of {origin.id} to TLSv1.2",
                        SetOriginProtocol(origin.id, ssl_protocols=TLS12)),
            evidence=(*problems, used_by(dist, origin.id)),
        )


API_ORIGIN_PROTOCOL = Rule(
    id="apigw-origin-protocol",
    severity=Severity.HIGH,
    fix_class=FixClass.AUTO.value,
    title="An API origin whose OriginProtocolPolicy is http-only, or match-viewer while a behavior "
          "targeting it lets viewers in over HTTP (allow-all), or whose OriginSslProtocols lacks "
          "TLSv1.2 (API Gateway serves HTTPS with TLS 1.2 only). This rule owns TLS protocol findings"
          " on API origins.",
    symptom="502, or failures for viewers on HTTP.",
    remediation="https-only with TLSv1.2 (auto).",
    url="https://repost.aws/knowledge-center/api-gateway-domain-cloudfront",
    check=check_api_origin_protocol,
)

VIEWER_HTTP_ALLOWED = Rule(
    id="apigw-viewer-http-allowed",
    severity=Severity.MEDIUM,
    fix_class=FixClass.APPROVE.value,
    title="An API behavior (not WebSocket) has ViewerProtocolPolicy allow-all.",
    symptom="Tokens and signatures sent in clear text.",
    remediation="redirect-to-https (approve).",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/distribution-web-values-specify.html"
        "#DownloadDistValuesViewerProtocolPolicy",
    check=check_viewer_http_allowed,
)

WEBSOCKET_REDIRECT = Rule(
    id="websocket-redirect-to-https",
    severity=Severity.HIGH,
    fix_class=FixClass.MANUAL.value,
    title="A behavior to a WebSocket API uses redirect-to-https.",
    symptom="ws:// clients get 301 and never connect.",
    remediation="https-only (wss only) or allow-all where plain ws is wanted (manual).",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/distribution-working-with.websockets.html",
    check=check_websocket_redirect,
)

ORIGIN_TLS_PROTOCOLS = Rule(
    id="origin-tls-protocols",
    severity=Severity.MEDIUM,
    fix_class=FixClass.APPROVE.value,
    title="A custom origin that is not an API origin and is reached over HTTPS (https-only, or "
          "match-viewer with HTTPS viewers) has OriginSslProtocols including SSLv3, or lacking "
          "TLSv1.2.",
    symptom="Weak or failing handshakes.",
    remediation="TLSv1.2 only (approve).",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-https-cloudfront-to-custom-origin.html",
    check=check_origin_tls_protocols,
)

RULES: tuple[Rule, ...] = (API_ORIGIN_PROTOCOL, VIEWER_HTTP_ALLOWED, WEBSOCKET_REDIRECT, ORIGIN_TLS_PROTOCOLS)

__all__ = ["RULES", "API_ORIGIN_PROTOCOL", "VIEWER_HTTP_ALLOWED", "WEBSOCKET_REDIRECT", "ORIGIN_TLS_PROTOCOLS"]
