"""apigw-origin-protocol, apigw-viewer-http-allowed, websocket-redirect-to-https, origin-tls-protocols."""
from __future__ import annotations

import pytest

from builders import (
    api_origin,
    behavior,
    custom_origin,
    distribution,
    domain_origin,
    http_api,
    inventory,
    rest_api,
    s3_origin,
    websocket_api,
)
from edgemedic import policies as p
from edgemedic.findings import FixClass, SetOriginProtocol, SetViewerProtocol, Severity
from edgemedic.model import OriginKind, Unreadable, api_key
from edgemedic.rules.protocols import (
    RULES,
    check_api_origin_protocol,
    check_origin_tls_protocols,
    check_viewer_http_allowed,
    check_websocket_redirect,
)

API = "a1b2c3d4e5"
WS = "w1s2o3c4k5"


def _summary(findings):
    return [(f.rule, f.severity, f.behavior, f.origin, f.fix.fix_class, f.fix.changes) for f in findings]


# --------------------------------------------------------------------------------------------- apigw-origin-protocol

ORIGIN_CASES = {
    "http-only": (dict(protocol="http-only"), ("OriginProtocolPolicy is http-only",),
                  "Every request fails (CloudFront 502): API Gateway does not answer plain HTTP"),
    "match-viewer behind an allow-all behavior": (
        dict(protocol="match-viewer", viewer="allow-all"),
        ("OriginProtocolPolicy is match-viewer and behavior * allows viewers on HTTP",),
        "Requests from viewers on plain HTTP fail (CloudFront 502): API Gateway does not answer HTTP"),
    "TLSv1 only": (dict(ssl=("TLSv1",)), ("OriginSslProtocols is TLSv1 (no TLSv1.2)",),
                   "CloudFront 502: the TLS handshake with API Gateway (TLS 1.2 only) fails"),
    "SSLv3 and TLSv1.1, match-viewer": (
        dict(protocol="match-viewer", ssl=("SSLv3", "TLSv1.1"), viewer="allow-all"),
        ("OriginProtocolPolicy is match-viewer and behavior * allows viewers on HTTP",
         "OriginSslProtocols is SSLv3, TLSv1.1 (no TLSv1.2)"),
        "Requests from viewers on plain HTTP fail (CloudFront 502): API Gateway does not answer HTTP"),
    # Catalog v2: this rule owns TLS protocols on API origins (origin-tls-protocols stays quiet on them).
    "https-only with SSLv3 and TLSv1.2": (
        dict(ssl=("SSLv3", "TLSv1.2")),
        ("OriginSslProtocols includes SSLv3 (CloudFront then sends only SSLv3 handshakes)",),
        "CloudFront 502: the TLS handshake with API Gateway (TLS 1.2 only) fails"),
}


@pytest.mark.parametrize("case", ORIGIN_CASES.values(), ids=ORIGIN_CASES.keys())
def test_api_origin_protocol(case):
    kw, problems, symptom = case
    kw = dict(kw)
    viewer = kw.pop("viewer", "redirect-to-https")
    dist = distribution(origins=[api_origin("api", API, **kw)], behaviors=[behavior("*", "api", viewer=viewer)])
    found = list(check_api_origin_protocol(dist, inventory(dist)))
    assert _summary(found) == [("apigw-origin-protocol", Severity.HIGH, "", "api", FixClass.AUTO,
                                (SetOriginProtocol("api", "https-only", ("TLSv1.2",)),))]
    assert found[0].evidence == (*problems, f"origin api is API Gateway at {API}.execute-api.us-east-1.amazonaws.com",
                                 "origin api is the target of behavior *")
    assert found[0].symptom == symptom
    # The same problem is not reported twice by origin-tls-protocols.
    assert list(check_origin_tls_protocols(dist, inventory(dist))) == []


@pytest.mark.parametrize("viewer", ["redirect-to-https", "https-only"])
def test_match_viewer_behind_https_only_viewers_is_fine(viewer):
    """Catalog v2: match-viewer behind viewers that only arrive over HTTPS always speaks HTTPS to API Gateway."""
    dist = distribution(origins=[api_origin("api", API, protocol="match-viewer"), s3_origin("site")],
                        behaviors=[behavior("/api/*", "api", viewer=viewer), behavior("*", "site", viewer="allow-all")])
    assert list(check_api_origin_protocol(dist, inventory(dist))) == []


def test_api_origin_protocol_custom_domain_origin_and_passing_inputs():
    bad = domain_origin("cd", "api.example.com", protocol="http-only")
    good = api_origin("api", API, ssl=("TLSv1.1", "TLSv1.2"))
    dist = distribution(origins=[good, bad, s3_origin("site")],
                        behaviors=[behavior("/a/*", "api"), behavior("/b/*", "cd"), behavior("*", "site")])
    assert [(f.origin, f.evidence[-1]) for f in check_api_origin_protocol(dist, inventory(dist))] == [
        ("cd", "origin cd is the target of behavior /b/*")]


# --------------------------------------------------------------------------------------------- viewer protocol


def test_viewer_http_allowed_on_rest_and_http_apis():
    dist = distribution(
        origins=[api_origin("rest", API, path="/prod"), api_origin("http", "h1t2t3p4a5"), s3_origin("site")],
        behaviors=[behavior("/api/*", "rest", viewer="allow-all"), behavior("/v2/*", "http", viewer="allow-all"),
                   behavior("/x/*", "rest", viewer="https-only"), behavior("*", "site", viewer="allow-all")])
    inv = inventory(dist, apis=[rest_api(API), http_api("h1t2t3p4a5")])
    found = list(check_viewer_http_allowed(dist, inv))
    assert _summary(found) == [
        ("apigw-viewer-http-allowed", Severity.MEDIUM, "/api/*", "rest", FixClass.APPROVE,
         (SetViewerProtocol("/api/*", "redirect-to-https"),)),
        ("apigw-viewer-http-allowed", Severity.MEDIUM, "/v2/*", "http", FixClass.APPROVE,
         (SetViewerProtocol("/v2/*", "redirect-to-https"),)),
    ]
    assert found[0].evidence == ("behavior /api/*: ViewerProtocolPolicy allow-all",
                                 f"origin rest is API Gateway at {API}.execute-api.us-east-1.amazonaws.com")


def test_viewer_http_allowed_skips_websocket_and_unknown_apis():
    dist = distribution(origins=[api_origin("ws", WS), api_origin("api", API)],
                        behaviors=[behavior("/ws", "ws", viewer="allow-all"), behavior("*", "api", viewer="allow-all")])
    inv = inventory(dist, apis=[websocket_api(WS)],
                    unreadable={api_key("us-east-1", API): Unreadable(f"REST API {API}", "AccessDenied")})
    assert list(check_viewer_http_allowed(dist, inv)) == []


# --------------------------------------------------------------------------------------------- websocket redirect


def test_websocket_redirect_to_https_is_a_ticket():
    dist = distribution(origins=[api_origin("ws", WS, path="/production"), api_origin("api", API)],
                        behaviors=[behavior("/ws", "ws", viewer="redirect-to-https"),
                                   behavior("/ws2", "ws", viewer="https-only"),
                                   behavior("*", "api", viewer="redirect-to-https")])
    found = list(check_websocket_redirect(dist, inventory(dist, apis=[websocket_api(WS), rest_api(API)])))
    assert _summary(found) == [("websocket-redirect-to-https", Severity.HIGH, "/ws", "ws", FixClass.MANUAL, ())]
    assert found[0].fix.ticket == (
        "Distribution E1EXAMPLE, behavior /ws (WebSocket API origin ws): change ViewerProtocolPolicy from "
        "redirect-to-https to https-only if every client connects with wss://, or to allow-all if clients must "
        "connect with plain ws://. WebSocket clients do not follow the 301 that redirect-to-https sends.")
    assert found[0].symptom == "ws:// clients connecting through /ws get a 301 and never connect"


# --------------------------------------------------------------------------------------------- origin-tls-protocols

TLS_CASES = {
    "custom origin with SSLv3": (custom_origin("app", "app.example.com", ssl=("SSLv3", "TLSv1", "TLSv1.2")),
                                 ("OriginSslProtocols includes SSLv3 (CloudFront then sends only SSLv3 handshakes)",)),
    "load balancer without TLSv1.2": (
        custom_origin("lb", "app-1.eu-west-1.elb.amazonaws.com", kind=OriginKind.LOAD_BALANCER, ssl=("TLSv1", "TLSv1.1")),
        ("OriginSslProtocols lacks TLSv1.2",)),
    "match-viewer, SSLv3 only": (custom_origin("app", "app.example.com", protocol="match-viewer", ssl=("SSLv3",)),
                                 ("OriginSslProtocols includes SSLv3 (CloudFront then sends only SSLv3 handshakes)",
                                  "OriginSslProtocols lacks TLSv1.2")),
}


@pytest.mark.parametrize("case", TLS_CASES.values(), ids=TLS_CASES.keys())
def test_origin_tls_protocols(case):
    origin, problems = case
    dist = distribution(origins=[origin], behaviors=[behavior("*", origin.id)])
    found = list(check_origin_tls_protocols(dist, inventory(dist)))
    assert _summary(found) == [("origin-tls-protocols", Severity.MEDIUM, "", origin.id, FixClass.APPROVE,
                                (SetOriginProtocol(origin.id, None, ("TLSv1.2",)),))]
    assert found[0].evidence == (*problems, f"origin {origin.id} is the target of behavior *")
    assert list(check_api_origin_protocol(dist, inventory(dist))) == []


TLS_PASSING = {
    "TLSv1.2 only": custom_origin("app", "app.example.com"),
    "TLSv1.1 and TLSv1.2": custom_origin("app", "app.example.com", ssl=("TLSv1.1", "TLSv1.2")),
    "http-only (no handshake at all)": custom_origin("app", "app.example.com", protocol="http-only", ssl=("SSLv3",)),
    "S3 REST origin": s3_origin("app"),
}


@pytest.mark.parametrize("origin", TLS_PASSING.values(), ids=TLS_PASSING.keys())
def test_origin_tls_protocols_passing(origin):
    dist = distribution(origins=[origin], behaviors=[behavior("*", origin.id)])
    assert list(check_origin_tls_protocols(dist, inventory(dist))) == []


def test_rule_metadata():
    assert [(r.id, r.severity, r.fix_class) for r in RULES] == [
        ("apigw-origin-protocol", Severity.HIGH, "auto"),
        ("apigw-viewer-http-allowed", Severity.MEDIUM, "approve"),
        ("websocket-redirect-to-https", Severity.HIGH, "manual"),
        ("origin-tls-protocols", Severity.MEDIUM, "approve"),
    ]
