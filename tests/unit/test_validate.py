"""validate.py: one documented-invalid config per CloudFront constraint, and real valid configs.

That moto accepts every one of these invalid configs (so edgemedic's check is the only guard in tests) is
asserted in tests/functional/test_apply.py::test_moto_accepts_what_validate_rejects, which reuses ``INVALID``.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Callable

import pytest

from builders import raw_behavior, raw_config, raw_origin
from edgemedic import policies
from edgemedic.plan import from_cloudtrail_config
from edgemedic.validate import validate_config

API_DOMAIN = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
CLOUDTRAIL = Path(__file__).resolve().parents[1] / "fixtures" / "cloudtrail"


def valid_config() -> dict:
    return raw_config(
        origins=[raw_origin("api", API_DOMAIN), raw_origin("site", "site.s3.amazonaws.com", protocol=None)],
        behaviors=[
            raw_behavior("/api/*", "api", orp=policies.ALL_VIEWER_EXCEPT_HOST_HEADER,
                         methods=("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE")),
            raw_behavior("/legacy/*", "api", legacy_headers=("Authorization", "Accept"), ttls=(0, 0, 0)),
            raw_behavior("*", "site", cache=policies.CACHING_OPTIMIZED),
        ],
    )


def api(config: dict) -> dict:
    return config["CacheBehaviors"]["Items"][0]


def legacy(config: dict) -> dict:
    return config["CacheBehaviors"]["Items"][1]


def api_origin(config: dict) -> dict:
    return config["Origins"]["Items"][0]


def _set(target: Callable[[dict], dict], **values) -> Callable[[dict], None]:
    return lambda config: target(config).update(values)


def _methods(items, cached=("GET", "HEAD"), quantity=None, cached_quantity=None):
    return {"Quantity": len(items) if quantity is None else quantity, "Items": list(items),
            "CachedMethods": {"Quantity": len(cached) if cached_quantity is None else cached_quantity,
                              "Items": list(cached)}}


def _add_behaviors(n: int) -> Callable[[dict], None]:
    def mutate(config: dict) -> None:
        items = config["CacheBehaviors"]["Items"]
        items.extend(raw_behavior(f"/extra{i}/*", "api") for i in range(n))
        config["CacheBehaviors"]["Quantity"] = len(items)
    return mutate


def _add_origins(n: int) -> Callable[[dict], None]:
    def mutate(config: dict) -> None:
        items = config["Origins"]["Items"]
        items.extend(raw_origin(f"o{i}", f"o{i}.example.com") for i in range(n))
        config["Origins"]["Quantity"] = len(items)
    return mutate


def _duplicate_origin(config: dict) -> None:
    config["Origins"]["Items"].append(raw_origin("api", "other.example.com"))
    config["Origins"]["Quantity"] = 3


def _duplicate_pattern(config: dict) -> None:
    config["CacheBehaviors"]["Items"].append(raw_behavior("/api/*", "site"))
    config["CacheBehaviors"]["Quantity"] = 3


def _both_origin_kinds(config: dict) -> None:
    api_origin(config)["S3OriginConfig"] = {"OriginAccessIdentity": ""}


def _legacy_with_policy(config: dict) -> None:
    legacy(config)["CachePolicyId"] = policies.CACHING_DISABLED
    del legacy(config)["MinTTL"], legacy(config)["DefaultTTL"], legacy(config)["MaxTTL"]


def _neither(config: dict) -> None:
    del api(config)["CachePolicyId"]
    del api(config)["OriginRequestPolicyId"]


def _headers(items) -> Callable[[dict], None]:
    def mutate(config: dict) -> None:
        legacy(config)["ForwardedValues"]["Headers"] = {"Quantity": len(items), "Items": list(items)}
    return mutate


def _aliases_without_items(config: dict) -> None:
    config["Aliases"] = {"Quantity": 1}


def _ssl(items) -> Callable[[dict], None]:
    return lambda config: api_origin(config)["CustomOriginConfig"].update(
        OriginSslProtocols={"Quantity": len(items), "Items": list(items)})


# (case id, mutation of valid_config(), the exact problem validate_config must report)
INVALID: list[tuple[str, Callable[[dict], None], str]] = [
    ("allowed-methods-not-a-set", _set(api, AllowedMethods=_methods(("GET", "HEAD", "POST"))),
     "behavior /api/*: AllowedMethods GET,HEAD,POST is not one of the three sets CloudFront accepts "
     "(GET,HEAD; GET,HEAD,OPTIONS; or all seven)."),
    ("cached-methods-not-a-set", _set(api, AllowedMethods=_methods(("GET", "HEAD"), cached=("GET",))),
     "behavior /api/*: CachedMethods GET is not GET,HEAD or GET,HEAD,OPTIONS."),
    ("cached-not-in-allowed",
     _set(api, AllowedMethods=_methods(("GET", "HEAD"), cached=("GET", "HEAD", "OPTIONS"))),
     "behavior /api/*: CachedMethods GET,HEAD,OPTIONS are not all in AllowedMethods."),
    ("inconsistent-quantity-nested",
     _set(api, AllowedMethods=_methods(("GET", "HEAD"), cached_quantity=3)),
     "behavior /api/* AllowedMethods CachedMethods: Quantity is 3 but there are 2 Items "
     "(CloudFront answers InconsistentQuantities)."),
    ("inconsistent-quantity-top", _aliases_without_items,
     "Aliases: Quantity is 1 but there are 0 Items (CloudFront answers InconsistentQuantities)."),
    ("cache-policy-and-forwarded-values", _set(api, ForwardedValues={"QueryString": False,
                                                                      "Cookies": {"Forward": "none"}}),
     "behavior /api/*: has both CachePolicyId and ForwardedValues; CloudFront takes exactly one."),
    ("neither-cache-policy-nor-forwarded-values", _neither,
     "behavior /api/*: has neither CachePolicyId nor ForwardedValues; CloudFront needs exactly one."),
    ("ttls-beside-cache-policy", _set(api, MinTTL=0, DefaultTTL=0, MaxTTL=0),
     "behavior /api/*: MinTTL, DefaultTTL, MaxTTL cannot stand beside a CachePolicyId "
     "(the TTLs belong to the cache policy)."),
    ("orp-without-cache-policy", _set(legacy, OriginRequestPolicyId=policies.ALL_VIEWER_EXCEPT_HOST_HEADER),
     "behavior /legacy/*: an OriginRequestPolicyId needs a CachePolicyId on the same behavior."),
    ("legacy-ttl-order", _set(legacy, MinTTL=100, DefaultTTL=50, MaxTTL=200),
     "behavior /legacy/*: TTLs must satisfy MinTTL <= DefaultTTL <= MaxTTL, got 100, 50, 200 "
     "(CloudFront answers InvalidTTLOrder)."),
    ("legacy-ttl-order-default-max", _set(legacy, MinTTL=0, DefaultTTL=86400, MaxTTL=60),
     "behavior /legacy/*: TTLs must satisfy MinTTL <= DefaultTTL <= MaxTTL, got 0, 86400, 60 "
     "(CloudFront answers InvalidTTLOrder)."),
    ("min-ttl-with-all-headers", lambda c: (_headers(("*",))(c), legacy(c).update(MinTTL=5, DefaultTTL=5, MaxTTL=60)),
     "behavior /legacy/*: MinTTL must be 0 when legacy Headers is '*' (all headers), got 5."),
    ("star-not-alone", _headers(("*", "Host")),
     "behavior /legacy/*: legacy Headers '*' forwards every header and must be the only item."),
    ("too-many-legacy-headers", _headers(tuple(f"X-H{i}" for i in range(11))),
     "behavior /legacy/*: 11 legacy forwarded headers, more than CloudFront's 10 per behavior."),
    ("target-origin-missing", _set(api, TargetOriginId="gone"),
     "behavior /api/*: TargetOriginId 'gone' names no origin or origin group of the distribution."),
    ("duplicate-origin-id", _duplicate_origin,
     "origin id 'api' is used more than once; origin and origin group ids must be unique."),
    ("duplicate-path-pattern", _duplicate_pattern,
     "behavior /api/*: the path pattern is used by more than one behavior."),
    ("origin-path-trailing-slash", _set(api_origin, OriginPath="/prod/"),
     "origin api: OriginPath '/prod/' must be empty or start with / and not end with /."),
    ("origin-path-no-leading-slash", _set(api_origin, OriginPath="prod"),
     "origin api: OriginPath 'prod' must be empty or start with / and not end with /."),
    ("viewer-protocol-enum", _set(api, ViewerProtocolPolicy="https"),
     "behavior /api/*: ViewerProtocolPolicy 'https' is not allow-all, https-only or redirect-to-https."),
    ("origin-protocol-enum", lambda c: api_origin(c)["CustomOriginConfig"].update(OriginProtocolPolicy="https"),
     "origin api: OriginProtocolPolicy 'https' is not http-only, match-viewer or https-only."),
    ("ssl-protocol-enum", _ssl(("TLSv1.3",)),
     "origin api: OriginSslProtocols TLSv1.3 not one of SSLv3, TLSv1, TLSv1.1, TLSv1.2."),
    ("ssl-protocols-empty", _ssl(()),
     "origin api: OriginSslProtocols is empty; name at least one (TLSv1.2)."),
    ("origin-two-kinds", _both_origin_kinds,
     "origin api: has S3OriginConfig and CustomOriginConfig; an origin is of exactly one kind."),
    ("too-many-behaviors", _add_behaviors(24),
     "26 cache behaviors, more than the default quota of 25 (CloudFront answers TooManyCacheBehaviors)."),
    ("too-many-origins", _add_origins(24), "26 origins, more than the default quota of 25 (TooManyOrigins)."),
    ("path-pattern-too-long", _set(api, PathPattern="/" + "a" * 255),
     "behavior /" + "a" * 255 + ": PathPattern is 256 characters, more than 255."),
    ("path-pattern-characters", _set(api, PathPattern="/api/{id}"),
     "behavior /api/{id}: PathPattern has characters CloudFront does not allow: { }."),
    ("caller-reference-changed", lambda c: c.update(CallerReference="changed"),
     "CallerReference changed from 'edgemedic-test-1' to 'changed'; CloudFront does not allow changing it."),
]


def invalid_config(mutate: Callable[[dict], None]) -> dict:
    config = valid_config()
    mutate(config)
    return config


def test_valid_config_has_no_problems():
    assert validate_config(valid_config(), original=valid_config()) == []


@pytest.mark.parametrize("case, mutate, expected", INVALID, ids=[c[0] for c in INVALID])
def test_each_documented_constraint(case, mutate, expected):
    assert validate_config(invalid_config(mutate), original=valid_config()) == [expected]


def test_quotas_are_not_enforced_on_a_distribution_that_already_has_more():
    bigger = invalid_config(_add_behaviors(24))
    assert validate_config(bigger, original=bigger) == []


def test_legacy_ttl_defaults_apply_when_fields_are_absent():
    config = valid_config()
    del legacy(config)["DefaultTTL"], legacy(config)["MaxTTL"]
    legacy(config)["MinTTL"] = 100000  # DefaultTTL then defaults to MinTTL, MaxTTL to 31536000
    assert validate_config(config) == []


def test_required_top_level_fields():
    config = valid_config()
    del config["Comment"], config["Enabled"]
    assert validate_config(config) == [
        "the config has no Comment, which CloudFront requires.",
        "the config has no Enabled, which CloudFront requires.",
    ]


def _api_behind_failover_group(*members: str) -> dict:
    """The valid config with behavior /api/* targeting origin group "failover" of ``members``."""
    config = valid_config()
    config["OriginGroups"] = {"Quantity": 1, "Items": [{
        "Id": "failover", "FailoverCriteria": {"StatusCodes": {"Quantity": 1, "Items": [502]}},
        "Members": {"Quantity": len(members), "Items": [{"OriginId": m} for m in members]}}]}
    api(config)["TargetOriginId"] = "failover"
    return config


def test_origin_group_is_a_valid_target_and_its_members_must_exist():
    config = _api_behind_failover_group("api", "missing")
    api(config)["AllowedMethods"] = {"Quantity": 3, "Items": ["GET", "HEAD", "OPTIONS"],
                                     "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}
    assert validate_config(config) == ["origin group failover: member 'missing' names no origin."]


def test_write_methods_on_an_origin_group_behavior_are_refused():
    """CloudFront refuses POST, PUT, PATCH and DELETE on a behavior whose target is an origin group; moto does not."""
    config = _api_behind_failover_group("api", "site")
    assert validate_config(config) == [
        "behavior /api/*: AllowedMethods cannot include PUT, PATCH, POST, DELETE on a behavior whose target is "
        "origin group failover."]


def test_empty_string_ids_mean_absent():
    config = valid_config()
    legacy(config)["CachePolicyId"] = ""
    legacy(config)["OriginRequestPolicyId"] = ""
    assert validate_config(config) == []


@pytest.mark.parametrize("name", [
    "cloudfront-UpdateDistribution-custom-origin.json",
    "cloudfront-UpdateDistribution-eventbridge-cloudformation.json",
])
def test_real_configs_from_cloudtrail_are_valid(name):
    event = json.loads((CLOUDTRAIL / name).read_text())
    camel = event.get("detail", event)["requestParameters"]["distributionConfig"]
    config = from_cloudtrail_config(camel)
    assert validate_config(config, original=copy.deepcopy(config)) == []
    # And breaking it is noticed: with legacy headers '*' (all headers), MinTTL must stay 0.
    config["DefaultCacheBehavior"]["MinTTL"] = 1
    config["DefaultCacheBehavior"]["ForwardedValues"]["Headers"] = {"Quantity": 1, "Items": ["*"]}
    assert validate_config(config) == [
        "default behavior (*): MinTTL must be 0 when legacy Headers is '*' (all headers), got 1."
    ]
