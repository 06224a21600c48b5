"""``edgemedic trace`` run in-process (``cli.main``) on the seed stories, before and after their fixes.

The emulator stands in for AWS (moto has no cache / origin request policy APIs, which every story names). Ids are
the emulator's, so expected documents are built from them.
"""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from edgemedic import cli, scenarios
from edgemedic.emulator import Emulator

METHOD_TEXT = ("403 'This distribution is not configured to allow the HTTP request method that was used for this "
               "request. The distribution supports only cachable requests.': behavior /api/* allows GET, HEAD")
SIGV4 = "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request, " \
        "SignedHeaders=host;x-amz-date, Signature=abc"


class Stories:
    def __init__(self, emu: Emulator):
        self.clients = emu.clients()
        self.ids = scenarios.build(self.clients)
        cloudfront = self.clients.cloudfront()
        self.domains = {name: cloudfront.get_distribution(Id=dist_id)["Distribution"]["DomainName"]
                        for name, dist_id in self.ids.items()}
        self.origins = {}
        for name, dist_id in self.ids.items():
            config = cloudfront.get_distribution_config(Id=dist_id)["DistributionConfig"]
            self.origins[name] = {o["Id"]: o["DomainName"] for o in config["Origins"]["Items"]}

    def run(self, capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
        code = cli.main(["trace", *argv], clients=self.clients)
        out, err = capsys.readouterr()
        return code, out, err

    def json(self, capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, dict[str, Any]]:
        code, out, err = self.run(capsys, *argv, "--format", "json")
        assert err == ""
        return code, json.loads(out)


@pytest.fixture(scope="module")
def stories() -> Iterator[Stories]:
    with Emulator() as emu:
        yield Stories(emu)


def _steps(document: dict, part: str = "trace") -> dict:
    return (document[part] if part == "trace" else document["after_fix"]["trace"])["steps"]


def _verdict(document: dict, part: str = "trace") -> dict:
    return (document[part] if part == "trace" else document["after_fix"]["trace"])["verdict"]


def test_story3_post_blocked_by_allowed_methods_then_routed_after_the_fix(stories: Stories, capsys) -> None:
    url = f"https://{stories.domains['get-only-cached']}/api/cart"
    api_domain = stories.origins["get-only-cached"]["cart-api"]
    code, doc = stories.json(capsys, url, "-X", "POST", "--after-fix")
    assert code == 0  # the planned config lets it through
    steps = _steps(doc)
    assert steps["behavior"] == {"path": "/api/cart", "pattern": "/api/*", "default": False, "origin": "cart-api",
                                 "tried": []}
    assert steps["viewer"] == {"scheme": "https", "viewer_protocol_policy": "redirect-to-https", "protocol_ok": True,
                               "method": "POST", "allowed_methods": ["GET", "HEAD"], "method_allowed": False}
    assert steps["cache"] == {"cached": False, "ttl": {"min": 0, "default": 86400, "max": 31536000},
                              "policy": "legacy", "cached_methods": ["GET", "HEAD"], "key_headers": [],
                              "authorization_in_key": False,
                              "reason": "CloudFront does not cache POST responses (cached methods: GET, HEAD)"}
    origin = steps["origin_request"]
    assert (origin["scheme"], origin["port"], origin["host"], origin["host_source"], origin["sni"], origin["path"]) \
        == ("https", 443, api_domain, None, api_domain, "/prod/api/cart")
    assert origin["headers"] == [{"name": "Host", "action": "rewritten",
                                  "why": f"CloudFront sets the origin domain {api_domain}"}]
    assert (steps["api"]["routed"], steps["api"]["stage"], steps["api"]["resource"], steps["api"]["method"],
            steps["api"]["authorization"]) == (True, "prod", "/api/cart", "POST", "NONE")
    assert _verdict(doc) == {
        "ok": False, "outcome": "failure", "stage": "viewer", "status": 403, "by": "CloudFront",
        "short": "method not allowed", "text": METHOD_TEXT, "rules": ["apigw-methods-blocked"],
        "fix": [{"rule": "apigw-methods-blocked", "class": "auto",
                 "summary": "Allow all seven methods on behavior /api/* (cached methods stay GET,HEAD)"}],
        "then": [], "warnings": [], "related_rules": ["apigw-response-cached"]}
    assert doc["after_fix"]["plan"]["rules"] == ["apigw-methods-blocked", "apigw-response-cached",
                                                 "behavior-shadowed"]
    after = _steps(doc, "after")
    assert after["viewer"]["method_allowed"] is True
    assert (after["cache"]["policy"], after["cache"]["ttl"]) == ("CachingDisabled", {"min": 0, "default": 0, "max": 0})
    verdict = _verdict(doc, "after")
    assert (verdict["ok"], verdict["status"], verdict["short"], verdict["rules"]) == \
        (True, 200, "via POST /prod/api/cart", [])


def test_story3_get_is_cached_a_day_and_query_dropped_until_the_fix(stories: Stories, capsys) -> None:
    url = f"https://{stories.domains['get-only-cached']}/api/cart?page=2"
    code, doc = stories.json(capsys, url, "--after-fix")
    assert code == 0
    steps = _steps(doc)
    assert steps["cache"]["cached"] is True
    assert steps["cache"]["reason"] == ("legacy MinTTL=0, DefaultTTL=86400: responses without Cache-Control are kept "
                                        "86400 s")
    assert steps["origin_request"]["query_strings"] == [{"name": "page", "action": "dropped"}]
    assert steps["origin_request"]["query"] == ""
    assert _verdict(doc)["warnings"] == [{"text": "the API's response is cached at the edge (legacy MinTTL=0, "
                                                  "DefaultTTL=86400: responses without Cache-Control are kept 86400 s)",
                                          "rules": ["apigw-response-cached"]}]
    after = _steps(doc, "after")
    assert (after["cache"]["cached"], after["origin_request"]["query"]) == (False, "page=2")
    assert after["origin_request"]["query_strings"] == [{"name": "page", "action": "kept"}]


def test_story3_shadowed_uploads_go_to_the_site_bucket_until_moved(stories: Stories, capsys) -> None:
    url = f"https://{stories.domains['get-only-cached']}/assets/uploads/cat.png"
    code, doc = stories.json(capsys, url, "--after-fix")
    assert code == 0
    assert _steps(doc)["behavior"] == {"path": "/assets/uploads/cat.png", "pattern": "/assets/*", "default": False,
                                       "origin": "site", "tried": ["/api/*"]}
    verdict = _verdict(doc)
    assert (verdict["stage"], verdict["short"], verdict["rules"]) == \
        ("behavior", "answered by the wrong origin", ["behavior-shadowed"])
    assert _steps(doc, "after")["behavior"] == {"path": "/assets/uploads/cat.png", "pattern": "/assets/uploads/*",
                                                "default": False, "origin": "uploads", "tried": ["/api/*"]}
    assert _steps(doc, "after")["api"] is None
    assert _verdict(doc, "after")["short"] == "reaches origin uploads"


def test_story1_host_forwarded_then_missing_authentication_token(stories: Stories, capsys) -> None:
    host = stories.domains["forbidden"]
    api_domain = stories.origins["forbidden"]["users-api"]
    code, doc = stories.json(capsys, f"https://{host}/api/users", "-X", "POST", "--after-fix")
    assert code == 1  # the remaining fix is manual
    origin = _steps(doc)["origin_request"]
    assert (origin["host"], origin["host_source"], origin["sni"], origin["path"]) == \
        (host, "origin request policy AllViewer", host, "/prod/api/users")
    verdict = _verdict(doc)
    assert (verdict["status"], verdict["by"], verdict["short"], verdict["rules"]) == \
        (403, "API Gateway", "Forbidden", ["apigw-host-forwarded"])
    assert verdict["then"] == [{
        "stage": "api", "status": 403, "by": "API Gateway", "short": "Missing Authentication Token",
        "text": '403 {"message":"Missing Authentication Token"}: no resource /api/users in stage prod of REST API '
                f"users-api ({api_domain.split('.')[0]}); resources are /, /users",
        "rules": ["apigw-path-unroutable"]}]
    after = _steps(doc, "after")
    assert (after["origin_request"]["host"], after["origin_request"]["host_source"]) == (api_domain, None)
    assert (after["api"]["routed"], after["api"]["stage"], after["api"]["error"]) == \
        (False, "prod", '{"message":"Missing Authentication Token"}')
    assert _verdict(doc, "after")["rules"] == ["apigw-path-unroutable"]
    assert _verdict(doc, "after")["fix"][0]["class"] == "manual"


def test_story2_signed_get_loses_authorization_then_the_signature(stories: Stories, capsys) -> None:
    api_domain = stories.origins["iam-signature"]["orders-api"]
    # orders.example.com is an alias of the story's distribution: no --distribution needed.
    code, doc = stories.json(capsys, "https://orders.example.com/orders", "-H", SIGV4, "--after-fix")
    assert code == 1
    assert doc["trace"]["distribution"]["id"] == stories.ids["iam-signature"]
    headers = _steps(doc)["origin_request"]["headers"]
    assert headers[1] == {"name": "Authorization", "action": "dropped",
                          "why": "CloudFront removes Authorization on GET: it is not in the cache key and no "
                                 "all-viewer origin request policy forwards it"}
    assert _steps(doc)["api"]["authorization"] == "AWS_IAM"
    verdict = _verdict(doc)
    assert (verdict["status"], verdict["short"], verdict["rules"]) == \
        (403, "Authorization stripped", ["apigw-auth-header-dropped"])
    assert verdict["warnings"][0]["rules"] == ["apigw-edge-endpoint"]
    after_headers = _steps(doc, "after")["origin_request"]["headers"]
    assert after_headers[1] == {"name": "Authorization", "action": "kept",
                                "why": "origin request policy AllViewerExceptHostHeader"}
    after = _verdict(doc, "after")
    assert (after["status"], after["short"], after["rules"]) == (403, "signature mismatch",
                                                                 ["apigw-iam-host-mismatch"])
    assert after["text"].endswith(f"the client signs for Host orders.example.com, API Gateway checks {api_domain}")


def test_story2_signed_post_keeps_authorization_but_not_the_host(stories: Stories, capsys) -> None:
    code, doc = stories.json(capsys, "https://orders.example.com/orders", "-X", "POST", "-H", SIGV4)
    assert code == 1
    assert doc["after_fix"] is None
    assert _steps(doc)["origin_request"]["headers"][1] == {"name": "Authorization", "action": "kept",
                                                           "why": "CloudFront keeps Authorization on POST"}
    assert _verdict(doc)["rules"] == ["apigw-iam-host-mismatch"]


def test_story4_ws_gets_a_301(stories: Stories, capsys) -> None:
    host = stories.domains["websocket"]
    code, doc = stories.json(capsys, f"ws://{host}/ws")
    assert code == 1
    assert doc["trace"]["request"]["method"] == "GET"
    assert doc["trace"]["request"]["headers"] == ["Upgrade", "Connection", "Sec-WebSocket-Key",
                                                  "Sec-WebSocket-Version"]
    viewer = _steps(doc)["viewer"]
    assert (viewer["scheme"], viewer["protocol_ok"]) == ("http", False)
    verdict = _verdict(doc)
    assert (verdict["status"], verdict["by"], verdict["rules"]) == (301, "CloudFront", ["websocket-redirect-to-https"])
    assert verdict["text"] == (f"301 Moved Permanently to wss://{host}/ws (behavior /ws is redirect-to-https): "
                               "WebSocket clients do not follow it and never connect")


def test_story4_wss_handshake_headers_then_path(stories: Stories, capsys) -> None:
    host = stories.domains["websocket"]
    code, doc = stories.json(capsys, f"wss://{host}/ws", "--after-fix")
    assert code == 1
    actions = {h["name"]: h["action"] for h in _steps(doc)["origin_request"]["headers"]}
    assert actions == {"Host": "rewritten", "Upgrade": "kept", "Connection": "kept", "Sec-WebSocket-Key": "dropped",
                       "Sec-WebSocket-Version": "dropped"}
    verdict = _verdict(doc)
    assert (verdict["short"], verdict["rules"]) == ("handshake fails", ["websocket-handshake-dropped"])
    assert [(t["status"], t["rules"]) for t in verdict["then"]] == [(403, ["apigw-path-unroutable"])]
    after_actions = {h["name"]: h["action"] for h in _steps(doc, "after")["origin_request"]["headers"]}
    assert after_actions["Sec-WebSocket-Key"] == after_actions["Sec-WebSocket-Version"] == "kept"
    assert _steps(doc, "after")["api"]["path"] == "/production/ws"
    assert (_verdict(doc, "after")["status"], _verdict(doc, "after")["rules"]) == (403, ["apigw-path-unroutable"])


def test_story5_tls_name_mismatch_then_reaches_the_load_balancer(stories: Stories, capsys) -> None:
    lb = stories.origins["alb-tls"]["shop-web-alb"]
    code, doc = stories.json(capsys, "https://www.example.com/", "--after-fix")
    assert code == 0
    origin = _steps(doc)["origin_request"]
    assert (origin["host"], origin["sni"], origin["connection"]["ok"]) == (lb, lb, False)
    verdict = _verdict(doc)
    assert (verdict["status"], verdict["by"], verdict["rules"]) == (502, "CloudFront", ["origin-tls-name-mismatch"])
    assert verdict["fix"][0]["class"] == "approve"
    after = _steps(doc, "after")["origin_request"]
    assert (after["domain"], after["host"], after["sni"], after["connection"]) == \
        ("app.example.com", "app.example.com", "app.example.com", {"ok": True, "problem": None})
    assert _verdict(doc, "after")["ok"] is True


def test_clean_story_succeeds_and_forwards_the_query(stories: Stories, capsys) -> None:
    url = f"https://{stories.domains['clean']}/api/items/42?fields=name"
    code, doc = stories.json(capsys, url, "-X", "PUT", "-H", "Cookie: session=1")
    assert code == 0
    origin = _steps(doc)["origin_request"]
    assert (origin["path"], origin["query"]) == ("/prod/api/items/42", "fields=name")
    assert origin["cookies"] == {"action": "kept",
                                 "why": "origin request policy AllViewerExceptHostHeader (cookies: all)"}
    assert (_steps(doc)["api"]["resource"], _steps(doc)["api"]["method"]) == ("/api/items/{id}", "PUT")
    assert _verdict(doc)["short"] == "via PUT /prod/api/items/42"


def test_distribution_needed_for_a_host_that_is_no_alias(stories: Stories, capsys) -> None:
    url = "https://api.shop.example/api/items"
    code, out, err = stories.run(capsys, url)
    assert (code, out) == (2, "")
    assert err == ("edgemedic: no CloudFront distribution in this account has api.shop.example as an alias or domain "
                   "name: pass --distribution ID to trace the request through a given distribution\n")
    code, doc = stories.json(capsys, "--region", "eu-west-1", url, "--distribution", stories.ids["clean"])
    assert code == 0
    assert doc["trace"]["distribution"]["id"] == stories.ids["clean"]


def test_usage_errors_are_one_line(stories: Stories, capsys) -> None:
    assert stories.run(capsys, "ftp://x.example/a")[::2] == (
        2, "edgemedic: cannot trace 'ftp://x.example/a': the URL must start with http://, https://, ws:// or wss://\n")
    assert stories.run(capsys, f"wss://{stories.domains['websocket']}/ws", "-X", "POST")[::2] == (
        2, "edgemedic: a WebSocket handshake is a GET, not POST: drop -X for wss:// URLs\n")
    code, _, err = stories.run(capsys, "https://x.example/", "--distribution", "EDOESNOTEXIST")
    assert code == 2 and err.startswith("edgemedic: distribution EDOESNOTEXIST was not scanned")


def test_table_output_names_the_steps_and_the_rule(stories: Stories, capsys) -> None:
    code, out, err = stories.run(capsys, f"https://{stories.domains['get-only-cached']}/api/cart", "-X", "POST",
                                 "--after-fix")
    assert (code, err) == (0, "")
    for expected in ("1. Behavior   /api/* -> origin cart-api", "5. Verdict    403 (CloudFront: method not allowed)",
                     "explained by: apigw-methods-blocked", "After the fix (approve):",
                     "5. Verdict    200 via POST /prod/api/cart"):
        assert expected in out


def test_after_fix_with_nothing_planned_says_so_and_does_not_repeat_the_trace(stories: Stories, capsys) -> None:
    url = f"https://{stories.domains['clean']}/api/items/42"
    code, out, err = stories.run(capsys, url, "--after-fix")
    assert (code, err) == (0, "")
    assert out.count("5. Verdict") == 1
    assert " ".join(out.split()).endswith(
        f"After the fix: no fix planned for {stories.ids['clean']} (no auto or approve fix applies), so this request "
        "would go as above.")
    code, doc = stories.json(capsys, url, "--after-fix")
    assert code == 0
    assert doc["after_fix"] == {"plan": None, "trace": None}


def test_story6_x_api_key_dropped_at_the_edge_and_masked_by_the_spa_fallback(stories: Stories, capsys) -> None:
    url = f"https://{stories.domains['spa-fallback']}/api/account"
    code, doc = stories.json(capsys, url, "-H", "x-api-key: k3y", "--after-fix")
    assert code == 0  # the planned config lets it through
    headers = {h["name"]: (h["action"], h["why"]) for h in _steps(doc)["origin_request"]["headers"]}
    assert headers["x-api-key"] == ("dropped", "neither in the cache key nor forwarded by the origin request policy")
    verdict = _verdict(doc)
    assert (verdict["status"], verdict["by"], verdict["short"], verdict["rules"]) == (
        403, "API Gateway", "x-api-key dropped at the edge", ["apigw-identity-header-dropped"])
    assert verdict["fix"] == [{"rule": "apigw-identity-header-dropped", "class": "auto",
                               "summary": "Use origin request policy AllViewerExceptHostHeader on behavior /api/* so "
                                          "that x-api-key reaches the API"}]
    assert verdict["warnings"] == [{
        "text": "CloudFront replaces this 403 with /index.html (status 200, a custom error response of the "
                "distribution): the client never sees the API's own answer",
        "rules": ["custom-error-masks-api"]}]
    after = _verdict(doc, "after_fix")
    assert (after["ok"], after["status"], after["short"]) == (True, 200, "via GET /prod/api/account")
    headers = {h["name"]: h["action"] for h in _steps(doc, "after_fix")["origin_request"]["headers"]}
    assert headers["x-api-key"] == "kept"
