"""Functional-test fixtures: an :class:`edgemedic.emulator.Emulator` (moto + CloudFront gap-fillers) and helpers
that create realistic AWS resources through its clients."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from edgemedic import policies
from edgemedic.emulator import Emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def custom_origin(origin_id: str, domain: str, *, path: str = "", protocol: str = "https-only",
                  ssl: tuple[str, ...] = ("TLSv1.2",)) -> dict:
    return {
        "Id": origin_id,
        "DomainName": domain,
        "OriginPath": path,
        "CustomOriginConfig": {
            "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": protocol,
            "OriginSslProtocols": {"Quantity": len(ssl), "Items": list(ssl)},
        },
    }


def s3_origin(origin_id: str, bucket: str) -> dict:
    return {"Id": origin_id, "DomainName": f"{bucket}.s3.amazonaws.com", "OriginPath": "",
            "S3OriginConfig": {"OriginAccessIdentity": ""}}


def methods(*names: str) -> dict:
    cached = ["GET", "HEAD"]
    return {"Quantity": len(names), "Items": list(names), "CachedMethods": {"Quantity": 2, "Items": cached}}


ALL_METHODS = ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE")


def policy_behavior(origin_id: str, pattern: str | None = None, *, cache: str = policies.CACHING_DISABLED,
                    orp: str | None = None, allowed: tuple[str, ...] = ALL_METHODS,
                    viewer: str = "redirect-to-https") -> dict:
    behavior: dict[str, Any] = {"TargetOriginId": origin_id, "ViewerProtocolPolicy": viewer,
                                "AllowedMethods": methods(*allowed), "CachePolicyId": cache}
    if orp:
        behavior["OriginRequestPolicyId"] = orp
    if pattern is not None:
        behavior["PathPattern"] = pattern
    return behavior


def legacy_behavior(origin_id: str, pattern: str | None = None, *, headers: tuple[str, ...] = (),
                    query_string: bool = False, ttls: dict | None = None,
                    allowed: tuple[str, ...] = ("GET", "HEAD")) -> dict:
    forwarded: dict[str, Any] = {"QueryString": query_string, "Cookies": {"Forward": "none"}}
    if headers:
        forwarded["Headers"] = {"Quantity": len(headers), "Items": list(headers)}
    behavior: dict[str, Any] = {"TargetOriginId": origin_id, "ViewerProtocolPolicy": "https-only",
                                "AllowedMethods": methods(*allowed), "ForwardedValues": forwarded, **(ttls or {})}
    if pattern is not None:
        behavior["PathPattern"] = pattern
    return behavior


def distribution_config(reference: str, origins: list[dict], default: dict, behaviors: list[dict] = (),
                        aliases: tuple[str, ...] = ()) -> dict:
    config: dict[str, Any] = {
        "CallerReference": reference,
        "Comment": reference,
        "Enabled": True,
        "Origins": {"Quantity": len(origins), "Items": origins},
        "DefaultCacheBehavior": default,
        "CacheBehaviors": {"Quantity": len(behaviors), "Items": list(behaviors)},
    }
    if aliases:
        config["Aliases"] = {"Quantity": len(aliases), "Items": list(aliases)}
    return config


def create_distribution(cloudfront: Any, config: dict) -> str:
    return cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]


class _Builders:
    """The helpers above, handed to tests as the ``cf`` fixture (test modules cannot import a conftest)."""

    custom_origin = staticmethod(custom_origin)
    s3_origin = staticmethod(s3_origin)
    methods = staticmethod(methods)
    policy_behavior = staticmethod(policy_behavior)
    legacy_behavior = staticmethod(legacy_behavior)
    distribution_config = staticmethod(distribution_config)
    create_distribution = staticmethod(create_distribution)
    ALL_METHODS = ALL_METHODS


@pytest.fixture
def cf() -> type[_Builders]:
    return _Builders
