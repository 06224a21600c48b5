"""The emulator's gap-fillers behave as AWS documents (moto alone accepts any IfMatch, never changes ETags, has no
cache / origin request policy APIs, returns ForwardedValues beside a CachePolicyId and drops function associations).
"""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from edgemedic import policies

HOST_POLICY = {
    "Name": "api-with-host",
    "Comment": "",
    "MinTTL": 0, "DefaultTTL": 0, "MaxTTL": 1,
    "ParametersInCacheKeyAndForwardedToOrigin": {
        "EnableAcceptEncodingGzip": False,
        "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": {"Quantity": 1, "Items": ["Host"]}},
        "CookiesConfig": {"CookieBehavior": "none"},
        "QueryStringsConfig": {"QueryStringBehavior": "all"},
    },
}


@pytest.fixture
def dist(emu, cf):
    config = cf.distribution_config(
        "emu-1",
        [cf.custom_origin("api", "abc123def4.execute-api.us-east-1.amazonaws.com", path="/prod")],
        cf.policy_behavior("api", orp=policies.ALL_VIEWER_EXCEPT_HOST_HEADER),
        [cf.legacy_behavior("api", "/legacy/*", headers=("Authorization",))],
    )
    config["DefaultCacheBehavior"]["FunctionAssociations"] = {"Quantity": 1, "Items": [
        {"FunctionARN": "arn:aws:cloudfront::123456789012:function/strip", "EventType": "viewer-request"}]}
    return cf.create_distribution(emu.clients().cloudfront(), config)


def test_update_with_stale_etag_fails_412_and_etag_changes_on_update(emu, dist):
    cloudfront = emu.clients().cloudfront()
    first = cloudfront.get_distribution_config(Id=dist)
    config = first["DistributionConfig"]
    config["Comment"] = "first edit"
    updated = cloudfront.update_distribution(Id=dist, IfMatch=first["ETag"], DistributionConfig=config)

    assert updated["ETag"] != first["ETag"]
    assert cloudfront.get_distribution_config(Id=dist)["ETag"] == updated["ETag"]
    with pytest.raises(ClientError) as stale:
        cloudfront.update_distribution(Id=dist, IfMatch=first["ETag"], DistributionConfig=config)
    assert stale.value.response["Error"]["Code"] == "PreconditionFailed"
    assert stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert stale.value.response["Error"]["Message"] == (
        "The request failed because it didn't meet the preconditions in one or more request-header fields.")
    assert isinstance(stale.value, cloudfront.exceptions.PreconditionFailed)
    assert cloudfront.get_distribution_config(Id=dist)["DistributionConfig"]["Comment"] == "first edit"


def test_update_without_if_match_is_invalid_if_match_version(emu, dist):
    cloudfront = emu.clients().cloudfront()
    config = cloudfront.get_distribution_config(Id=dist)["DistributionConfig"]
    with pytest.raises(ClientError) as missing:
        cloudfront.update_distribution(Id=dist, IfMatch="", DistributionConfig=config)
    assert missing.value.response["Error"]["Code"] == "InvalidIfMatchVersion"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_human_edit_is_a_concurrent_update_that_makes_our_etag_stale(emu, dist):
    cloudfront = emu.clients().cloudfront()
    ours = cloudfront.get_distribution_config(Id=dist)
    new_etag = emu.human_edit(dist, lambda config: config.update(Comment="edited by a person"))

    assert new_etag != ours["ETag"]
    assert emu.etag(dist) == new_etag
    with pytest.raises(cloudfront.exceptions.PreconditionFailed):
        cloudfront.update_distribution(Id=dist, IfMatch=ours["ETag"], DistributionConfig=ours["DistributionConfig"])
    reread = cloudfront.get_distribution_config(Id=dist)
    assert reread["ETag"] == new_etag
    assert reread["DistributionConfig"]["Comment"] == "edited by a person"
    # The person's edit is not one of "our" calls.
    assert emu.calls[("cloudfront", "UpdateDistribution")] == 1


def test_answers_have_aws_shape_policy_xor_forwarded_values(emu, dist):
    config = emu.clients().cloudfront().get_distribution_config(Id=dist)["DistributionConfig"]
    default = config["DefaultCacheBehavior"]
    legacy = config["CacheBehaviors"]["Items"][0]

    assert default["CachePolicyId"] == policies.CACHING_DISABLED
    assert default["OriginRequestPolicyId"] == policies.ALL_VIEWER_EXCEPT_HOST_HEADER
    assert not {"ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"} & set(default)
    assert default["FunctionAssociations"] == {"Quantity": 1, "Items": [
        {"FunctionARN": "arn:aws:cloudfront::123456789012:function/strip", "EventType": "viewer-request"}]}
    assert "CachePolicyId" not in legacy and "OriginRequestPolicyId" not in legacy
    assert legacy["ForwardedValues"]["Headers"] == {"Quantity": 1, "Items": ["Authorization"]}
    # Left out of the request: AWS's documented defaults, not moto's 0.
    assert (legacy["MinTTL"], legacy["DefaultTTL"], legacy["MaxTTL"]) == (0, 86400, 31536000)


def test_managed_and_custom_policies(emu):
    cloudfront = emu.clients().cloudfront()
    custom_id = emu.create_cache_policy(HOST_POLICY)
    orp_id = emu.create_origin_request_policy({
        "Name": "forward-x", "Comment": "",
        "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": {"Quantity": 1, "Items": ["X-Api-Version"]}},
        "CookiesConfig": {"CookieBehavior": "none"}, "QueryStringsConfig": {"QueryStringBehavior": "all"}})

    custom = cloudfront.get_cache_policy(Id=custom_id)
    assert custom["CachePolicy"]["CachePolicyConfig"] == HOST_POLICY
    assert custom["ETag"]
    managed = cloudfront.get_cache_policy(Id=policies.CACHING_OPTIMIZED)["CachePolicy"]["CachePolicyConfig"]
    assert (managed["Name"], managed["MinTTL"], managed["DefaultTTL"], managed["MaxTTL"]) == (
        "Managed-CachingOptimized", 1, 86400, 31536000)
    all_viewer = cloudfront.get_origin_request_policy(Id=policies.ALL_VIEWER)["OriginRequestPolicy"]
    assert all_viewer["OriginRequestPolicyConfig"]["HeadersConfig"] == {"HeaderBehavior": "allViewer"}
    assert cloudfront.get_origin_request_policy(Id=orp_id)["OriginRequestPolicy"]["OriginRequestPolicyConfig"][
        "Name"] == "forward-x"

    listed = cloudfront.list_cache_policies(Type="custom")["CachePolicyList"]
    assert [item["CachePolicy"]["Id"] for item in listed["Items"]] == [custom_id]
    managed_ids = {i["CachePolicy"]["Id"] for i in cloudfront.list_cache_policies(Type="managed")["CachePolicyList"]["Items"]}
    assert managed_ids == set(policies.MANAGED_CACHE_POLICIES)

    with pytest.raises(ClientError) as unknown:
        cloudfront.get_cache_policy(Id="00000000-0000-0000-0000-000000000000")
    assert unknown.value.response["Error"]["Code"] == "NoSuchCachePolicy"
    assert unknown.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(cloudfront.exceptions.NoSuchOriginRequestPolicy):
        cloudfront.get_origin_request_policy(Id="00000000-0000-0000-0000-000000000000")


def test_distribution_naming_an_unknown_policy_is_refused(emu, cf):
    config = cf.distribution_config(
        "emu-2", [cf.custom_origin("api", "abc123def4.execute-api.us-east-1.amazonaws.com")],
        cf.policy_behavior("api", cache="11111111-2222-3333-4444-555555555555"))
    with pytest.raises(ClientError) as refused:
        emu.clients().cloudfront().create_distribution(DistributionConfig=config)
    assert refused.value.response["Error"]["Code"] == "NoSuchCachePolicy"


def test_throttling_is_retried_by_botocore_then_succeeds(emu, dist):
    cloudfront = emu.clients(max_attempts=3).cloudfront()
    current = cloudfront.get_distribution_config(Id=dist)
    emu.throttle("UpdateDistribution", 2)

    answer = cloudfront.update_distribution(Id=dist, IfMatch=current["ETag"],
                                            DistributionConfig=current["DistributionConfig"])
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert emu.http_attempts[("cloudfront", "UpdateDistribution")] == 3
    assert emu.calls[("cloudfront", "UpdateDistribution")] == 1
    # The throttled attempts had no effect: exactly one update happened.
    assert answer["ETag"] == emu.etag(dist) != current["ETag"]


def test_throttling_surfaces_once_retries_are_spent(emu, dist):
    # botocore's retries "max_attempts" counts retries: 1 retry, so 2 HTTP attempts, both throttled.
    cloudfront = emu.clients(max_attempts=1).cloudfront()
    emu.throttle("GetDistributionConfig", 2)
    with pytest.raises(ClientError) as throttled:
        cloudfront.get_distribution_config(Id=dist)
    assert throttled.value.response["Error"]["Code"] == "Throttling"
    assert throttled.value.response["Error"]["Message"] == "Rate exceeded"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert throttled.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert emu.http_attempts[("cloudfront", "GetDistributionConfig")] == 2
    # The next call is not throttled any more.
    assert cloudfront.get_distribution_config(Id=dist)["ETag"] == emu.etag(dist)


def test_calls_are_counted_per_service_and_operation(emu, dist):
    clients = emu.clients()
    clients.cloudfront().get_distribution_config(Id=dist)
    clients.cloudfront().get_cache_policy(Id=policies.CACHING_DISABLED)
    clients.apigateway("eu-west-1").get_rest_apis()
    assert emu.calls[("cloudfront", "GetDistributionConfig")] == 1
    assert emu.calls[("cloudfront", "GetCachePolicy")] == 1
    assert emu.calls[("apigateway", "GetRestApis")] == 1
