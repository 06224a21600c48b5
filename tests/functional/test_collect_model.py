"""distribution_from_config on raw configs as moto and AWS return them (pure apart from the policy resolver)."""
from __future__ import annotations

from edgemedic import policies
from edgemedic.collect import PolicyResolver, distribution_from_config
from edgemedic.model import LegacySettings, Unreadable

SUMMARY = {"Id": "E1", "ARN": "arn:aws:cloudfront::123456789012:distribution/E1", "DomainName": "d1.cloudfront.net",
           "Status": "Deployed"}
ORIGIN = {"Id": "api", "DomainName": "abc123def4.execute-api.us-east-1.amazonaws.com", "OriginPath": "/prod",
          "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only",
                                 "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]}}}
MOTO_FORWARDED = {"QueryString": False, "Cookies": {"Forward": "none"}}


def _config(default: dict, behaviors: list[dict] = ()) -> dict:
    return {"Origins": {"Quantity": 1, "Items": [ORIGIN]}, "DefaultCacheBehavior": default, "Enabled": True,
            "CacheBehaviors": {"Quantity": len(behaviors), "Items": list(behaviors)}}


def _behavior(**fields) -> dict:
    return {"TargetOriginId": "api", "ViewerProtocolPolicy": "https-only",
            "AllowedMethods": {"Quantity": 2, "Items": ["HEAD", "GET"]}, **fields}


def test_moto_shape_cache_policy_wins_over_forwarded_values_and_empty_ids_are_absent():
    config = _config(
        _behavior(CachePolicyId=policies.CACHING_DISABLED, ForwardedValues=MOTO_FORWARDED,
                  MinTTL=0, DefaultTTL=0, MaxTTL=0),
        [_behavior(PathPattern="/old/*", CachePolicyId="", OriginRequestPolicyId="", ResponseHeadersPolicyId="",
                   ForwardedValues={**MOTO_FORWARDED, "Headers": {"Quantity": 2, "Items": ["Host", "X-Key"]},
                                    "QueryStringCacheKeys": {"Quantity": 1, "Items": ["q"]}},
                   MinTTL=5)],
    )
    dist = distribution_from_config(SUMMARY, config, "ETAG", PolicyResolver(None), {})
    old, default = dist.behaviors
    assert (default.cache_policy_id, default.cache_policy, default.legacy) == (
        policies.CACHING_DISABLED, policies.MANAGED_CACHE_POLICIES[policies.CACHING_DISABLED], None)
    assert (old.cache_policy_id, old.origin_request_policy_id, old.response_headers_policy_id) == (None, None, None)
    # DefaultTTL / MaxTTL absent: the API's documented defaults.
    assert old.legacy == LegacySettings(("host", "x-key"), False, ("q",), "none", 5, 86400, 31536000)
    assert dist.unreadable == ()


def test_custom_policy_without_a_client_is_unreadable_not_guessed():
    custom = "11111111-2222-3333-4444-555555555555"
    dist = distribution_from_config(SUMMARY, _config(_behavior(CachePolicyId=custom)), "ETAG",
                                    PolicyResolver(None), {})
    assert dist.default_behavior.cache_policy_id == custom
    assert dist.default_behavior.cache_policy is None
    assert dist.default_behavior.legacy is None
    assert dist.unreadable == (Unreadable(f"cache policy {custom}", "not read (no CloudFront client given)"),)


def test_lambda_and_function_event_types_in_order():
    default = _behavior(CachePolicyId=policies.CACHING_DISABLED,
                        FunctionAssociations={"Quantity": 1, "Items": [
                            {"FunctionARN": "arn:f", "EventType": "viewer-response"}]},
                        LambdaFunctionAssociations={"Quantity": 2, "Items": [
                            {"LambdaFunctionARN": "arn:l:1", "EventType": "origin-request"},
                            {"LambdaFunctionARN": "arn:l:2", "EventType": "origin-response"}]})
    dist = distribution_from_config(SUMMARY, _config(default), "ETAG", PolicyResolver(None), {})
    assert dist.default_behavior.function_events == ("viewer-response",)
    assert dist.default_behavior.lambda_events == ("origin-request", "origin-response")


def test_origin_classification():
    from edgemedic.collect.origins import classify_origin
    from edgemedic.model import ApiTarget, CustomDomain, EndpointType, OriginKind

    domain = CustomDomain("api.example.com", "eu-west-1", EndpointType.REGIONAL,
                          "d-abc123xyz9.execute-api.eu-west-1.amazonaws.com")
    edge = CustomDomain("edge.example.com", "us-east-1", EndpointType.EDGE,
                        distribution_domain_name="d2abcdefgh.cloudfront.net")
    known = {"api.example.com": domain, "edge.example.com": edge}
    cases = {
        "site.s3.amazonaws.com": (OriginKind.S3, None),
        "site.s3.eu-west-1.amazonaws.com": (OriginKind.S3, None),
        # A website endpoint is a custom origin (HTTP only, CustomOriginConfig), not an S3 REST origin.
        "site.s3-website-us-east-1.amazonaws.com": (OriginKind.CUSTOM, None),
        "abc123def4.execute-api.eu-west-1.amazonaws.com":
            (OriginKind.API_GATEWAY, ApiTarget("execute-api", "eu-west-1", api_id="abc123def4")),
        "API.example.com": (OriginKind.API_GATEWAY, ApiTarget("custom-domain", "eu-west-1",
                                                              domain_name="api.example.com")),
        "d-abc123xyz9.execute-api.eu-west-1.amazonaws.com":
            (OriginKind.API_GATEWAY, ApiTarget("custom-domain", "eu-west-1", domain_name="api.example.com")),
        "d2abcdefgh.cloudfront.net":
            (OriginKind.API_GATEWAY, ApiTarget("custom-domain", "us-east-1", domain_name="edge.example.com")),
        "d-unknown123.execute-api.us-west-2.amazonaws.com":
            (OriginKind.API_GATEWAY, ApiTarget("custom-domain", "us-west-2")),
        "app-123.eu-west-1.elb.amazonaws.com": (OriginKind.LOAD_BALANCER, None),
        "internal-app-1.us-east-2.elb.amazonaws.com": (OriginKind.LOAD_BALANCER, None),
        "nlb-1a2b.elb.ap-southeast-2.amazonaws.com": (OriginKind.LOAD_BALANCER, None),
        "origin.example.com": (OriginKind.CUSTOM, None),
    }
    assert {d: classify_origin(d, known) for d in cases} == cases


def test_origin_classification_china_partition_and_website_endpoints():
    """China's endpoints end in amazonaws.com.cn; S3 website endpoints are custom origins (real config shape)."""
    from edgemedic.collect.origins import classify_origin, execute_api_region
    from edgemedic.model import ApiTarget, OriginKind

    cases = {
        "abc123def4.execute-api.cn-north-1.amazonaws.com.cn":
            (OriginKind.API_GATEWAY, ApiTarget("execute-api", "cn-north-1", api_id="abc123def4")),
        "ABC123DEF4.execute-api.cn-northwest-1.amazonaws.com.cn.":
            (OriginKind.API_GATEWAY, ApiTarget("execute-api", "cn-northwest-1", api_id="abc123def4")),
        "d-abc123xyz9.execute-api.cn-north-1.amazonaws.com.cn":
            (OriginKind.API_GATEWAY, ApiTarget("custom-domain", "cn-north-1")),
        "app-123.cn-north-1.elb.amazonaws.com.cn": (OriginKind.LOAD_BALANCER, None),
        "site.s3.cn-north-1.amazonaws.com.cn": (OriginKind.S3, None),
        "site.s3-website.eu-central-1.amazonaws.com": (OriginKind.CUSTOM, None),
        "site.s3-website.cn-north-1.amazonaws.com.cn": (OriginKind.CUSTOM, None),
        "abc123def4.execute-api.eu-west-1.amazonaws.com.example.org": (OriginKind.CUSTOM, None),
    }
    assert {d: classify_origin(d, {}) for d in cases} == cases
    assert execute_api_region("abc123def4.execute-api.cn-north-1.amazonaws.com.cn") == "cn-north-1"

    website = {"Id": "site", "DomainName": "site.s3-website-us-east-1.amazonaws.com", "OriginPath": "",
               "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only",
                                      "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]}}}
    china = dict(ORIGIN, Id="cn", DomainName="abc123def4.execute-api.cn-north-1.amazonaws.com.cn")
    config = {"Origins": {"Quantity": 2, "Items": [website, china]}, "Enabled": True,
              "DefaultCacheBehavior": _behavior(CachePolicyId=policies.CACHING_DISABLED)}
    dist = distribution_from_config(SUMMARY, config, "E1", PolicyResolver(None), {})
    assert [(o.id, o.kind, o.api) for o in dist.origins] == [
        ("site", OriginKind.CUSTOM, None),
        ("cn", OriginKind.API_GATEWAY, ApiTarget("execute-api", "cn-north-1", api_id="abc123def4")),
    ]
