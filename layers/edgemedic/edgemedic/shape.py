"""A DistributionConfig in the shape AWS returns it, whatever endpoint answered.

CloudFront returns a cache behavior with either a ``CachePolicyId`` or the legacy ``ForwardedValues`` + TTL fields,
never both, and leaves out ids that are not set (CloudFront API reference, ``CacheBehavior``; reference section 5).
moto (in-process or as a server behind ``AWS_ENDPOINT_URL``) returns both, with ``""`` for unset ids. Sending such
a config back would be rejected by CloudFront, so everything that plans, hashes or compares configs first puts them
in AWS's shape here. On a config read from AWS this changes nothing.
"""
from __future__ import annotations

import pickle
from typing import Any, Iterator, Mapping

# Left out by AWS when not set. (FieldLevelEncryptionId and RealtimeLogConfigArn are returned as "" by AWS itself,
# see ../shared/fixtures/cloudtrail/cloudfront-UpdateDistribution-awsdocs-2024.json, and are kept as they are.)
_OPTIONAL_IDS = ("CachePolicyId", "OriginRequestPolicyId", "ResponseHeadersPolicyId")
_LEGACY_FIELDS = ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL")


def clone(config: Any) -> Any:
    """A deep copy of a config as boto3 returns it (dicts, lists, strings, numbers, datetimes).

    pickle copies such data in C, about ten times faster than ``copy.deepcopy``, with the same result: shared
    sub-objects stay shared, nothing else is."""
    return pickle.loads(pickle.dumps(config, pickle.HIGHEST_PROTOCOL))


def behaviors(config: Mapping[str, Any] | None) -> Iterator[dict]:
    """The behaviors of a DistributionConfig (or distribution summary), the default one last."""
    if not config:
        return
    yield from (config.get("CacheBehaviors") or {}).get("Items") or []
    if config.get("DefaultCacheBehavior"):
        yield config["DefaultCacheBehavior"]


def normalise_behavior(behavior: dict) -> None:
    """In place: a cache policy xor ForwardedValues + TTLs, and no empty policy ids."""
    for key in _OPTIONAL_IDS:
        if key in behavior and not behavior[key]:
            del behavior[key]
    if behavior.get("CachePolicyId"):
        for key in _LEGACY_FIELDS:
            behavior.pop(key, None)


def aws_shape(config: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``config`` with every behavior in AWS's shape."""
    shaped = clone(dict(config))
    for behavior in behaviors(shaped):
        normalise_behavior(behavior)
    return shaped
