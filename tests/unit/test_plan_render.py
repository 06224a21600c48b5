"""plan.Planner renders a distribution's config once and re-encodes only the parts a fix changed: every diff it
writes equals the one ``render_diff`` writes from scratch (the slow, obvious way)."""
from __future__ import annotations

import json

from builders import raw_behavior, raw_config, raw_origin
from edgemedic import policies
from edgemedic.findings import (
    Finding,
    Fix,
    FixClass,
    MoveBehavior,
    SetAllowedMethods,
    SetBehaviorPolicies,
    SetOriginPath,
    SetOriginProtocol,
    SetViewerProtocol,
    Severity,
)
from edgemedic.plan import Planner, _annotated, _Lines, render_diff

DIST = "E2QWRUHAPOMQZL"
API = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
ALL7 = ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE")
CUSTOM_CACHE = "4f1c2a7e-1111-4222-8333-944455556666"


def config() -> dict:
    api = raw_origin("api", API, path="/prod")
    api["CustomHeaders"] = {"Quantity": 1, "Items": [{"HeaderName": "X-Origin-Verify", "HeaderValue": "s3cret"}]}
    return raw_config(
        origins=[api, raw_origin("old", "legacy.example.com", ssl=("SSLv3", "TLSv1")),
                 raw_origin("site", "site.s3.amazonaws.com", protocol=None)],
        behaviors=[
            raw_behavior("/api/*", "api", orp=policies.ALL_VIEWER),
            raw_behavior("/api/v1/*", "api", cache=CUSTOM_CACHE),
            raw_behavior("/static/*", "site", cache=policies.CACHING_OPTIMIZED),
            raw_behavior("/old/*", "old", legacy_headers=("Host",)),
            raw_behavior("*", "site", cache=policies.CACHING_OPTIMIZED),
        ],
        aliases=("api.example.com",),
    )


def finding(rule: str, behavior: str, change: object, origin: str = "api") -> Finding:
    return Finding(rule, Severity.HIGH, DIST, behavior, origin, rule, "requests fail",
                   Fix(FixClass.APPROVE, f"fix {rule}", (change,)))


FINDINGS = [
    finding("apigw-host-forwarded", "/api/*",
            SetBehaviorPolicies("/api/*", origin_request_policy_id=policies.ALL_VIEWER_EXCEPT_HOST_HEADER)),
    finding("apigw-response-cached", "/static/*", SetBehaviorPolicies("/static/*", policies.CACHING_DISABLED)),
    finding("apigw-host-forwarded", "/old/*", SetBehaviorPolicies("/old/*")),
    finding("apigw-methods-blocked", "*", SetAllowedMethods("*", ALL7)),
    finding("apigw-viewer-http-allowed", "/api/v1/*", SetViewerProtocol("/api/v1/*", "https-only")),
    finding("apigw-origin-protocol", "", SetOriginProtocol("old", "https-only", ("TLSv1.2",)), origin="old"),
    finding("apigw-path-unroutable", "", SetOriginPath("api", ""), origin="api"),
    finding("behavior-shadowed", "/api/v1/*", MoveBehavior("/api/v1/*", "/api/*")),
]


def test_base_lines_are_json_dumps_of_the_annotated_config():
    shaped = Planner(DIST, config(), "E1", {CUSTOM_CACHE: "api-host-key"}).config
    expected = json.dumps(_annotated(shaped), sort_keys=True, indent=2, default=str).splitlines()
    assert _Lines(shaped).base_lines == expected
    assert any('"HeaderValue": "(hidden)"' in line for line in expected)


def test_each_diff_equals_the_diff_rendered_from_scratch():
    planner = Planner(DIST, config(), "E1")
    for one in FINDINGS:
        plan = planner.plan([one], classes={FixClass.APPROVE})
        assert plan is not None, one.rule
        assert plan.diff == render_diff(DIST, plan.base_config, plan.new_config), one.rule
        assert planner.diff([one], classes={FixClass.APPROVE}) == plan.diff
    together = planner.plan(FINDINGS[:6], classes={FixClass.APPROVE})
    assert together.diff == render_diff(DIST, together.base_config, together.new_config)
    assert together.diff.count("\n+") >= 6


def test_planner_leaves_its_config_alone():
    planner = Planner(DIST, config(), "E1")
    before = json.dumps(planner.config, sort_keys=True)
    for one in FINDINGS:
        planner.plan([one], classes={FixClass.APPROVE})
    assert json.dumps(planner.config, sort_keys=True) == before
