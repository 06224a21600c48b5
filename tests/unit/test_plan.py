"""plan.py: findings -> new DistributionConfig, summary, diff; merging rules; the CloudTrail converter."""
from __future__ import annotations

import copy
import dataclasses
import itertools
import json
from pathlib import Path

import pytest
from botocore.session import get_session
from botocore.validate import ParamValidator

from builders import api_origin, behavior, distribution, raw_behavior, raw_config, raw_origin, s3_origin
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
from edgemedic.model import LegacySettings
from edgemedic.plan import (
    PlanError,
    build_plan,
    config_hash,
    from_cloudtrail_config,
    plan_from_config,
    render_diff,
)
from edgemedic.validate import validate_config

DIST = "E2QWRUHAPOMQZL"
API_DOMAIN = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
CLOUDTRAIL = Path(__file__).resolve().parents[1] / "fixtures" / "cloudtrail"
ALL7 = ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE")


def base_config(*, aliases: tuple[str, ...] = (), api_orp: str | None = policies.ALL_VIEWER,
                default_headers: tuple[str, ...] = ("*",)) -> dict:
    return raw_config(
        origins=[raw_origin("api", API_DOMAIN), raw_origin("site", "site.s3.amazonaws.com", protocol=None)],
        behaviors=[
            raw_behavior("/api/*", "api", orp=api_orp),
            raw_behavior("/static/*", "site", cache=policies.CACHING_OPTIMIZED),
            raw_behavior("*", "api", legacy_headers=default_headers),
        ],
        aliases=aliases,
    )


def dist_for(config: dict):
    model = distribution(
        origins=[api_origin("api", "a1b2c3d4e5", "eu-west-1"), s3_origin("site")],
        behaviors=[behavior("/api/*", "api", orp=policies.ALL_VIEWER), behavior("/static/*", "site"),
                   behavior("*", "api", legacy=LegacySettings(headers=("*",)))],
        dist_id=DIST,
    )
    return dataclasses.replace(model, config=config, etag="E1RTLUR9YES76O")


def finding(rule: str, behavior_: str, *changes, fix_class: FixClass = FixClass.AUTO, origin: str = "api") -> Finding:
    return Finding(rule=rule, severity=Severity.HIGH, distribution=DIST, behavior=behavior_, origin=origin,
                   message=f"{rule} on {behavior_}", symptom="requests fail",
                   fix=Fix(fix_class, f"fix {rule}", tuple(changes)))


def host_forwarded(pattern: str = "/api/*") -> Finding:
    return finding("apigw-host-forwarded", pattern,
                   SetBehaviorPolicies(pattern, origin_request_policy_id=policies.ALL_VIEWER_EXCEPT_HOST_HEADER))


# --------------------------------------------------------------------------------------------- single changes


def test_host_fix_changes_only_the_origin_request_policy_of_the_behavior():
    config = base_config()
    plan = build_plan(dist_for(config), [host_forwarded()])

    expected = copy.deepcopy(config)
    expected["CacheBehaviors"]["Items"][0]["OriginRequestPolicyId"] = policies.ALL_VIEWER_EXCEPT_HOST_HEADER
    assert plan.new_config == expected
    assert plan.summary == ("/api/* origin request policy: AllViewer -> AllViewerExceptHostHeader",)
    assert plan.changes == (SetBehaviorPolicies("/api/*", None, policies.ALL_VIEWER_EXCEPT_HOST_HEADER),)
    assert plan.base_config == config and config == base_config()  # the input is not mutated
    assert plan.config_hash == config_hash(config)
    assert (plan.distribution_id, plan.etag, plan.fix_class) == (DIST, "E1RTLUR9YES76O", FixClass.AUTO)
    assert validate_config(plan.new_config, original=config) == []


def test_diff_is_a_unified_diff_with_policy_names_shown_but_never_sent():
    plan = build_plan(dist_for(base_config()), [host_forwarded()])
    lines = plan.diff.splitlines()
    assert lines[:2] == [f"--- a/{DIST}/DistributionConfig", f"+++ b/{DIST}/DistributionConfig"]
    changed = [line for line in lines[2:] if line[:1] in "+-"]
    assert changed == [
        f'-        "OriginRequestPolicyId": "{policies.ALL_VIEWER}  (AllViewer)",',
        f'+        "OriginRequestPolicyId": "{policies.ALL_VIEWER_EXCEPT_HOST_HEADER}  (AllViewerExceptHostHeader)",',
    ]
    assert "(AllViewer" not in json.dumps(plan.new_config)


def test_diff_hides_origin_custom_header_values_but_the_config_keeps_them():
    config = base_config()
    config["Origins"]["Items"][0]["CustomHeaders"] = {
        "Quantity": 1, "Items": [{"HeaderName": "X-Origin-Verify", "HeaderValue": "s3cr3t-shared-value"}]}
    after = copy.deepcopy(config)
    after["Origins"]["Items"][0]["CustomHeaders"]["Items"][0]["HeaderName"] = "X-Verify"  # value is in the context
    diff = render_diff(DIST, config, after)
    assert '"HeaderValue": "(hidden)"' in diff and "s3cr3t" not in diff
    assert after["Origins"]["Items"][0]["CustomHeaders"]["Items"][0]["HeaderValue"] == "s3cr3t-shared-value"


def test_unknown_fields_survive_byte_for_byte():
    config = base_config()
    config["FutureTopLevel"] = {"Quantity": 1, "Items": [{"Deep": True}]}
    config["CacheBehaviors"]["Items"][0]["FutureBehaviorField"] = {"Enabled": True}
    config["Origins"]["Items"][0]["FutureOriginField"] = "x"
    plan = build_plan(dist_for(config), [host_forwarded()])
    assert plan.new_config["FutureTopLevel"] == {"Quantity": 1, "Items": [{"Deep": True}]}
    assert plan.new_config["CacheBehaviors"]["Items"][0]["FutureBehaviorField"] == {"Enabled": True}
    assert plan.new_config["Origins"]["Items"][0]["FutureOriginField"] == "x"


def test_legacy_behavior_is_migrated_to_policies():
    config = base_config()
    plan = build_plan(dist_for(config), [host_forwarded("*")])
    default = plan.new_config["DefaultCacheBehavior"]
    before = config["DefaultCacheBehavior"]
    assert not {"ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"} & set(default)
    assert default["CachePolicyId"] == policies.CACHING_DISABLED
    assert default["OriginRequestPolicyId"] == policies.ALL_VIEWER_EXCEPT_HOST_HEADER
    untouched = {k: v for k, v in before.items() if k not in {"ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"}}
    assert {k: v for k, v in default.items() if k not in {"CachePolicyId", "OriginRequestPolicyId"}} == untouched
    assert plan.summary == (
        "default behavior (*) cache settings: legacy ForwardedValues and TTLs -> cache policy CachingDisabled",
        "default behavior (*) origin request policy: (none) -> AllViewerExceptHostHeader",
    )
    assert validate_config(plan.new_config, original=config) == []


@pytest.mark.parametrize("headers, expected", [
    (("Host", "Accept"), policies.ALL_VIEWER),
    (("*",), policies.ALL_VIEWER),
    (("Accept",), policies.ALL_VIEWER_EXCEPT_HOST_HEADER),
    ((), policies.ALL_VIEWER_EXCEPT_HOST_HEADER),
])
def test_legacy_migration_without_a_named_orp_keeps_what_reached_the_origin(headers, expected):
    config = base_config(default_headers=headers)
    cached = finding("apigw-response-cached", "*", SetBehaviorPolicies("*", cache_policy_id=policies.CACHING_DISABLED))
    plan = build_plan(dist_for(config), [cached])
    assert plan.new_config["DefaultCacheBehavior"]["OriginRequestPolicyId"] == expected


def test_allowed_methods_write_items_quantity_and_cached_methods():
    config = base_config()
    plan = build_plan(dist_for(config), [finding("apigw-methods-blocked", "/api/*", SetAllowedMethods("/api/*", ALL7))])
    assert plan.new_config["CacheBehaviors"]["Items"][0]["AllowedMethods"] == {
        "Quantity": 7, "Items": list(ALL7), "CachedMethods": {"Quantity": 2, "Items": ["HEAD", "GET"]},
    }
    assert plan.summary == ("/api/* allowed methods: GET,HEAD -> GET,HEAD,OPTIONS,PUT,PATCH,POST,DELETE",)


def test_allowed_methods_already_in_place_in_another_order_is_nothing_to_do():
    config = base_config()
    config["CacheBehaviors"]["Items"][0]["AllowedMethods"]["Items"] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH",
                                                                       "POST", "PUT"]
    config["CacheBehaviors"]["Items"][0]["AllowedMethods"]["Quantity"] = 7
    blocked = finding("apigw-methods-blocked", "/api/*", SetAllowedMethods("/api/*", ALL7))
    assert build_plan(dist_for(config), [blocked]) is None


def test_cached_methods_change_alone():
    config = base_config()
    config["CacheBehaviors"]["Items"][0]["AllowedMethods"] = {
        "Quantity": 3, "Items": ["GET", "HEAD", "OPTIONS"],
        "CachedMethods": {"Quantity": 3, "Items": ["GET", "HEAD", "OPTIONS"]}}
    change = SetAllowedMethods("/api/*", ("GET", "HEAD", "OPTIONS"), ("GET", "HEAD"))
    plan = build_plan(dist_for(config), [finding("apigw-auth-header-dropped", "/api/*", change)])
    assert plan.new_config["CacheBehaviors"]["Items"][0]["AllowedMethods"] == {
        "Quantity": 3, "Items": ["GET", "HEAD", "OPTIONS"], "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}
    assert plan.summary == ("/api/* cached methods: GET,HEAD,OPTIONS -> GET,HEAD",)


def test_origin_protocol_sets_policy_and_ssl_protocols():
    config = base_config()
    custom = config["Origins"]["Items"][0]["CustomOriginConfig"]
    custom["OriginProtocolPolicy"] = "match-viewer"
    custom["OriginSslProtocols"] = {"Quantity": 2, "Items": ["TLSv1", "TLSv1.1"]}
    change = SetOriginProtocol("api", "https-only", ("TLSv1.2",))
    plan = build_plan(dist_for(config), [finding("apigw-origin-protocol", "", change)])
    new_custom = plan.new_config["Origins"]["Items"][0]["CustomOriginConfig"]
    assert new_custom == {**custom, "OriginProtocolPolicy": "https-only",
                          "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]}}
    assert plan.summary == ("origin api: OriginProtocolPolicy match-viewer -> https-only",
                            "origin api: OriginSslProtocols TLSv1,TLSv1.1 -> TLSv1.2")


def test_origin_protocol_on_an_s3_origin_is_refused():
    change = SetOriginProtocol("site", "https-only", ("TLSv1.2",))
    with pytest.raises(PlanError, match="origin site is not a custom origin"):
        build_plan(dist_for(base_config()), [finding("apigw-origin-protocol", "", change, origin="site")])


def test_origin_path_is_approve_and_summarised():
    unroutable = finding("apigw-path-unroutable", "/api/*", SetOriginPath("api", "/prod"), fix_class=FixClass.APPROVE)
    assert build_plan(dist_for(base_config()), [unroutable]) is None  # approve is not in the default classes
    plan = build_plan(dist_for(base_config()), [unroutable], classes={FixClass.AUTO, FixClass.APPROVE})
    assert plan.summary == ('origin api: OriginPath "" -> "/prod"',)
    assert plan.new_config["Origins"]["Items"][0]["OriginPath"] == "/prod"
    assert plan.fix_class is FixClass.APPROVE


def test_viewer_protocol():
    change = SetViewerProtocol("/api/*", "redirect-to-https")
    config = base_config()
    config["CacheBehaviors"]["Items"][0]["ViewerProtocolPolicy"] = "allow-all"
    plan = build_plan(dist_for(config), [finding("apigw-viewer-http-allowed", "/api/*", change,
                                                 fix_class=FixClass.APPROVE)], classes={FixClass.APPROVE})
    assert plan.summary == ("/api/* viewer protocol policy: allow-all -> redirect-to-https",)


def test_move_behavior_reorders_only_the_moved_one():
    config = raw_config(
        origins=[raw_origin("api", API_DOMAIN), raw_origin("site", "site.s3.amazonaws.com", protocol=None)],
        behaviors=[raw_behavior("/a/*", "site"), raw_behavior("/*", "site"), raw_behavior("/c/*", "site"),
                   raw_behavior("/api/*", "api"), raw_behavior("*", "site")],
    )
    shadowed = finding("behavior-shadowed", "/api/*", MoveBehavior("/api/*", "/*"), fix_class=FixClass.APPROVE)
    plan = build_plan(dist_for(config), [shadowed], classes={FixClass.APPROVE})
    order = [b["PathPattern"] for b in plan.new_config["CacheBehaviors"]["Items"]]
    assert order == ["/a/*", "/api/*", "/*", "/c/*"]
    assert plan.summary == ("/api/* moved before /* (first match wins)",)
    assert plan.new_config["CacheBehaviors"]["Quantity"] == 4
    # Re-planning on the fixed config finds nothing to do.
    assert build_plan(dist_for(plan.new_config), [shadowed], classes={FixClass.APPROVE}) is None


def test_two_moves_are_order_independent():
    config = raw_config(
        origins=[raw_origin("site", "site.s3.amazonaws.com", protocol=None)],
        behaviors=[raw_behavior(p, "site") for p in ("/*", "/b/*", "/c/*", "/d/*")] + [raw_behavior("*", "site")],
    )
    moves = [finding("behavior-shadowed", "/d/*", MoveBehavior("/d/*", "/*"), fix_class=FixClass.APPROVE),
             finding("behavior-shadowed", "/c/*", MoveBehavior("/c/*", "/*"), fix_class=FixClass.APPROVE)]
    orders = {
        tuple(b["PathPattern"] for b in build_plan(dist_for(config), list(p), classes={FixClass.APPROVE})
              .new_config["CacheBehaviors"]["Items"])
        for p in itertools.permutations(moves)
    }
    assert orders == {("/c/*", "/d/*", "/*", "/b/*")}


# --------------------------------------------------------------------------------------------- combining


def test_same_request_from_two_findings_is_one_change():
    cached = finding("apigw-response-cached", "/static/*",
                     SetBehaviorPolicies("/static/*", cache_policy_id=policies.CACHING_DISABLED), origin="site")
    host = finding("apigw-host-forwarded", "/static/*",
                   SetBehaviorPolicies("/static/*", cache_policy_id=policies.CACHING_DISABLED), origin="site")
    plan = build_plan(dist_for(base_config()), [cached, host])
    assert plan.summary == ("/static/* cache policy: CachingOptimized -> CachingDisabled",)
    assert plan.changes == (SetBehaviorPolicies("/static/*", policies.CACHING_DISABLED, None),)
    assert len(plan.findings) == 2


def test_combining_is_order_independent_and_idempotent():
    findings = [
        host_forwarded(),
        finding("apigw-methods-blocked", "/api/*", SetAllowedMethods("/api/*", ALL7)),
        finding("apigw-methods-blocked", "/api/*", SetAllowedMethods("/api/*", ("GET", "HEAD", "OPTIONS"))),
        finding("apigw-response-cached", "*", SetBehaviorPolicies("*", cache_policy_id=policies.CACHING_DISABLED)),
        finding("apigw-origin-protocol", "", SetOriginProtocol("api", "https-only", ("TLSv1.2",))),
        finding("apigw-host-forwarded", "*",
                SetBehaviorPolicies("*", origin_request_policy_id=policies.ALL_VIEWER_EXCEPT_HOST_HEADER)),
    ]
    plans = [build_plan(dist_for(base_config()), list(p)) for p in itertools.permutations(findings)]
    first = plans[0]
    for plan in plans[1:]:
        assert (plan.new_config, plan.summary, plan.diff, plan.changes, plan.findings) == \
               (first.new_config, first.summary, first.diff, first.changes, first.findings)
    assert first.summary == (
        "/api/* origin request policy: AllViewer -> AllViewerExceptHostHeader",
        "default behavior (*) cache settings: legacy ForwardedValues and TTLs -> cache policy CachingDisabled",
        "default behavior (*) origin request policy: (none) -> AllViewerExceptHostHeader",
        "/api/* allowed methods: GET,HEAD -> GET,HEAD,OPTIONS,PUT,PATCH,POST,DELETE",
    )
    # Twice the same findings: the same plan; on the fixed config: nothing to do.
    assert build_plan(dist_for(base_config()), findings + findings).new_config == first.new_config
    assert build_plan(dist_for(first.new_config), findings) is None


def test_orp_disagreement_all_viewer_except_host_wins_without_host_intent():
    auth = finding("apigw-auth-header-dropped", "/api/*",
                   SetBehaviorPolicies("/api/*", origin_request_policy_id=policies.ALL_VIEWER))
    query = finding("apigw-query-dropped", "/api/*",
                    SetBehaviorPolicies("/api/*", origin_request_policy_id=policies.ALL_VIEWER_EXCEPT_HOST_HEADER))
    config = base_config(api_orp=None)
    for order in ([auth, query], [query, auth]):
        # No alias: there cannot be Host intent.
        plan = build_plan(dist_for(config), order)
        assert plan.new_config["CacheBehaviors"]["Items"][0]["OriginRequestPolicyId"] == \
            policies.ALL_VIEWER_EXCEPT_HOST_HEADER


def test_orp_disagreement_host_intent_keeps_all_viewer():
    auth = finding("apigw-auth-header-dropped", "/api/*",
                   SetBehaviorPolicies("/api/*", origin_request_policy_id=policies.ALL_VIEWER))
    query = finding("apigw-query-dropped", "/api/*",
                    SetBehaviorPolicies("/api/*", origin_request_policy_id=policies.ALL_VIEWER_EXCEPT_HOST_HEADER))
    config = base_config(api_orp=None, aliases=("api.example.com",))
    for order in ([auth, query], [query, auth]):
        plan = build_plan(dist_for(config), order)
        assert plan.new_config["CacheBehaviors"]["Items"][0]["OriginRequestPolicyId"] == policies.ALL_VIEWER
        assert plan.summary == ("/api/* origin request policy: (none) -> AllViewer",)


def test_orp_disagreement_host_forwarded_finding_disproves_host_intent():
    auth = finding("apigw-auth-header-dropped", "/api/*",
                   SetBehaviorPolicies("/api/*", origin_request_policy_id=policies.ALL_VIEWER))
    config = base_config(api_orp=None, aliases=("www.example.com",))
    plan = build_plan(dist_for(config), [auth, host_forwarded()])
    assert plan.new_config["CacheBehaviors"]["Items"][0]["OriginRequestPolicyId"] == \
        policies.ALL_VIEWER_EXCEPT_HOST_HEADER


def test_conflicting_origin_paths_are_refused():
    a = finding("apigw-path-unroutable", "/api/*", SetOriginPath("api", "/prod"), fix_class=FixClass.APPROVE)
    b = finding("apigw-path-unroutable", "/v2/*", SetOriginPath("api", "/v2"), fix_class=FixClass.APPROVE)
    with pytest.raises(PlanError, match='different OriginPath values on origin api: \'/prod\' vs \'/v2\''):
        build_plan(dist_for(base_config()), [a, b], classes={FixClass.APPROVE})


def test_conflicting_custom_cache_policies_are_refused():
    a = finding("r1", "/api/*", SetBehaviorPolicies("/api/*", cache_policy_id="custom-1"))
    b = finding("r2", "/api/*", SetBehaviorPolicies("/api/*", cache_policy_id="custom-2"))
    with pytest.raises(PlanError, match="different cache policies on /api/\\*"):
        build_plan(dist_for(base_config()), [a, b])


def test_missing_behavior_is_refused():
    with pytest.raises(PlanError, match="behavior /gone/\\* is not in the distribution any more"):
        build_plan(dist_for(base_config()), [host_forwarded("/gone/*")])


def test_manual_findings_and_other_distributions_are_ignored():
    manual = Finding("apigw-edge-endpoint", Severity.MEDIUM, DIST, "/api/*", "api", "edge", "slow",
                     Fix(FixClass.MANUAL, "switch to REGIONAL", ticket="..."))
    other = dataclasses.replace(host_forwarded(), distribution="EOTHER")
    assert build_plan(dist_for(base_config()), [manual, other], classes=set(FixClass)) is None


def test_leading_slash_is_optional_when_naming_a_behavior():
    plan = build_plan(dist_for(base_config()), [host_forwarded("api/*")])
    assert plan.summary == ("/api/* origin request policy: AllViewer -> AllViewerExceptHostHeader",)


def test_custom_policy_names_come_from_the_model():
    from edgemedic.model import OriginRequestPolicy
    config = base_config(api_orp="custom-orp-1")
    dist = dist_for(config)
    custom = OriginRequestPolicy("custom-orp-1", "api-forward-all", False, "allViewer")
    api_behavior = dataclasses.replace(dist.behaviors[0], origin_request_policy_id="custom-orp-1",
                                       origin_request_policy=custom)
    dist = dataclasses.replace(dist, behaviors=(api_behavior, *dist.behaviors[1:]))
    plan = build_plan(dist, [host_forwarded()])
    assert plan.summary == ("/api/* origin request policy: api-forward-all -> AllViewerExceptHostHeader",)
    assert '"custom-orp-1  (api-forward-all)"' in plan.diff


def test_config_hash_is_canonical():
    config = base_config()
    reordered = dict(reversed(list(config.items())))
    assert config_hash(reordered) == config_hash(config)
    changed = copy.deepcopy(config)
    changed["Comment"] = "other"
    assert config_hash(changed) != config_hash(config)
    assert len(config_hash(config)) == 64


def test_plan_from_config_matches_build_plan():
    config = base_config()
    assert plan_from_config(DIST, config, "E1RTLUR9YES76O", [host_forwarded()]) == \
        build_plan(dist_for(config), [host_forwarded()])


# --------------------------------------------------------------------------------------------- CloudTrail


def _event(name: str) -> dict:
    event = json.loads((CLOUDTRAIL / name).read_text())
    return event.get("detail", event)


def test_from_cloudtrail_config_converts_aws_acronyms():
    config = from_cloudtrail_config(_event("cloudfront-UpdateDistribution-custom-origin.json")
                                    ["requestParameters"]["distributionConfig"])
    assert config["ViewerCertificate"] == {
        "MinimumProtocolVersion": "TLSv1.2_2021", "CloudFrontDefaultCertificate": False,
        "ACMCertificateArn": "arn:aws:acm:us-east-1:210987654321:certificate/5e6f7a8b-0000-4c1d-9e2f-FIXTURE00001",
        "SSLSupportMethod": "sni-only",
    }
    assert config["WebACLId"].startswith("arn:aws:wafv2:")
    assert config["IsIPV6Enabled"] is True
    origin = config["Origins"]["Items"][0]
    assert origin["CustomOriginConfig"] == {
        "OriginReadTimeout": 30, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only", "OriginKeepaliveTimeout": 5,
        "HTTPPort": 80, "OriginSslProtocols": {"Quantity": 3, "Items": ["TLSv1", "TLSv1.1", "TLSv1.2"]},
    }
    assert config["DefaultCacheBehavior"]["ForwardedValues"]["Headers"] == {"Quantity": 1, "Items": ["*"]}
    assert config["DefaultCacheBehavior"]["AllowedMethods"]["CachedMethods"] == {"Quantity": 2,
                                                                                 "Items": ["GET", "HEAD"]}
    # Every key is a member botocore knows: the converted config is a valid UpdateDistribution parameter.
    model = get_session().get_service_model("cloudfront").operation_model("UpdateDistribution").input_shape
    report = ParamValidator().validate({"Id": "EDFDVBD6EXAMPLE", "IfMatch": "E1", "DistributionConfig": config}, model)
    assert not report.has_errors(), report.generate_report()


def test_from_cloudtrail_config_old_acronyms_and_unknown_fields():
    converted = from_cloudtrail_config({
        "viewerCertificate": {"iAMCertificateId": "A1B2C3D4E5F6G7EXAMPLE", "sSLSupportMethod": "sni-only"},
        "origins": {"quantity": 1, "items": [{"id": "o", "oacSigningBehavior": "never",
                                               "s3OriginConfig": {"originAccessIdentity": ""}}]},
        "defaultCacheBehavior": {"lambdaFunctionAssociations": {"quantity": 1, "items": [
            {"lambdaFunctionARN": "arn:aws:lambda:us-east-1:1:function:f:1", "eventType": "viewer-request"}]}},
        "customErrorResponses": {"quantity": 1, "items": [{"responseCode": "200", "errorCode": 404}]},
    })
    assert converted == {
        "ViewerCertificate": {"IAMCertificateId": "A1B2C3D4E5F6G7EXAMPLE", "SSLSupportMethod": "sni-only"},
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "OacSigningBehavior": "never",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"LambdaFunctionAssociations": {"Quantity": 1, "Items": [
            {"LambdaFunctionARN": "arn:aws:lambda:us-east-1:1:function:f:1", "EventType": "viewer-request"}]}},
        "CustomErrorResponses": {"Quantity": 1, "Items": [{"ResponseCode": "200", "ErrorCode": 404}]},
    }


def moto_shaped(config: dict) -> dict:
    """The config as moto (in-process or a server behind AWS_ENDPOINT_URL) answers GetDistributionConfig: legacy
    ForwardedValues and zero TTLs beside every CachePolicyId, and CachePolicyId "" on legacy behaviors."""
    shaped = copy.deepcopy(config)
    for b in [*shaped["CacheBehaviors"]["Items"], shaped["DefaultCacheBehavior"]]:
        if b.get("CachePolicyId"):
            b.update(ForwardedValues={"QueryString": False, "Cookies": {"Forward": "none"}}, MinTTL=0, DefaultTTL=0,
                     MaxTTL=0)
        else:
            b.update(CachePolicyId="", OriginRequestPolicyId="")
    return shaped


def test_a_moto_shaped_config_plans_to_what_cloudfront_accepts_and_diffs_only_the_change():
    """Regression: against a moto server, `fix` refused every plan, because behaviors it did not touch kept moto's
    ForwardedValues beside their CachePolicyId. Plans start from the config in AWS's shape (edgemedic.shape)."""
    config = moto_shaped(base_config())
    plan = build_plan(dist_for(config), [host_forwarded()])

    assert validate_config(plan.new_config, original=config) == []
    expected = base_config()
    expected["CacheBehaviors"]["Items"][0]["OriginRequestPolicyId"] = policies.ALL_VIEWER_EXCEPT_HOST_HEADER
    assert plan.new_config == expected
    assert [line for line in plan.diff.splitlines()[2:] if line[:1] in "+-"] == [
        f'-        "OriginRequestPolicyId": "{policies.ALL_VIEWER}  (AllViewer)",',
        f'+        "OriginRequestPolicyId": "{policies.ALL_VIEWER_EXCEPT_HOST_HEADER}  (AllViewerExceptHostHeader)",',
    ]
    # The same distribution read from moto or from AWS is the same config: approvals compare hashes.
    assert config_hash(config) == config_hash(base_config())
