"""What kind of origin a CloudFront origin domain is, and which API Gateway endpoint it reaches. Pure.

Domain forms (AWS endpoint naming, see ../shared/reference/aws-facts.md and the service endpoint pages):
- S3: ``bucket.s3.amazonaws.com``, ``bucket.s3.{region}.amazonaws.com``, ``bucket.s3-{region}.amazonaws.com``,
  website endpoints ``bucket.s3-website-{region}.amazonaws.com`` / ``bucket.s3-website.{region}.amazonaws.com``,
  or any origin with an ``S3OriginConfig``.
- API Gateway: ``{api-id}.execute-api.{region}.amazonaws.com``; ``d-xxxx.execute-api.{region}.amazonaws.com`` (the
  regional target of a custom domain name); a custom domain name itself, or its edge target ``dxxxx.cloudfront.net``;
  a private API's ``{api-id}-{vpce-id}.execute-api.{region}.vpce.amazonaws.com``.
- Lambda function URLs: ``{url-id}.lambda-url.{region}.on.aws`` (Lambda Developer Guide, urls-configuration.html;
  the id is 32 lower-case alphanumerics). A function URL has no custom domains, so the domain is all there is.
- Load balancers: ``*.elb.amazonaws.com``: ALB/classic ``name-123.{region}.elb.amazonaws.com``, NLB
  ``name-123.elb.{region}.amazonaws.com``.
"""
from __future__ import annotations

import re
from typing import Mapping

from ..model import ApiTarget, CustomDomain, LambdaUrlTarget, OriginKind, has_tenant_parameter

_REGION = r"(?P<region>[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d)"
# API ids are 10 lower-case alphanumerics on AWS; moto issues shorter ones, so any length is accepted.
# The China partition's endpoints end in amazonaws.com.cn (cn-north-1, cn-northwest-1).
_SUFFIX = r"\.amazonaws\.com(?:\.cn)?"
_EXECUTE_API = re.compile(rf"^(?P<api>[a-z0-9]+)\.execute-api\.{_REGION}{_SUFFIX}$")
_CUSTOM_DOMAIN_TARGET = re.compile(rf"^(?P<target>d-[a-z0-9]+)\.execute-api\.{_REGION}{_SUFFIX}$")
_PRIVATE_API = re.compile(rf"^(?P<api>[a-z0-9]+)-vpce-[a-z0-9]+\.execute-api\.{_REGION}\.vpce{_SUFFIX}$")
_S3 = re.compile(r"^(?:.+\.)?s3(?:[.-](?:website[.-])?(?:dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$")
# A website endpoint serves HTTP only and is a custom origin to CloudFront (it cannot take an S3OriginConfig).
_S3_WEBSITE = re.compile(r"^.+\.s3-website[.-][a-z0-9-]+\.amazonaws\.com(?:\.cn)?$")
_ELB_REGIONAL = re.compile(rf"^(?:dualstack\.)?.+\.{_REGION}\.elb{_SUFFIX}$")
_ELB_NLB = re.compile(rf"^.+\.elb\.{_REGION}{_SUFFIX}$")
_ELB_LEGACY = re.compile(r"^.+\.elb\.amazonaws\.com$")
_LAMBDA_URL = re.compile(rf"^(?P<url>[a-z0-9]+)\.lambda-url\.{_REGION}\.on\.aws$")


def lambda_url_target(domain: str) -> LambdaUrlTarget | None:
    """The function URL a ``{url-id}.lambda-url.{region}.on.aws`` origin domain names, else None.

    >>> lambda_url_target("abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws")
    LambdaUrlTarget(url_id='abcdefghijklmnopqrstuvwxyz012345', region='eu-west-1')
    """
    match = _LAMBDA_URL.match(domain.lower().rstrip("."))
    return LambdaUrlTarget(match["url"], match["region"]) if match else None


def execute_api_region(domain: str) -> str | None:
    """The region of any ``*.execute-api.{region}.amazonaws.com`` name (API or custom-domain target)."""
    domain = domain.lower().rstrip(".")
    for pattern in (_EXECUTE_API, _CUSTOM_DOMAIN_TARGET, _PRIVATE_API):
        match = pattern.match(domain)
        if match:
            return match["region"]
    return None


def execute_api_id(domain: str) -> tuple[str, str] | None:
    """(api id, region) of an API's own ``{api-id}.execute-api.{region}.amazonaws.com[.cn]`` name, else None
    (custom-domain ``d-...`` targets and private-API VPC endpoint names are not an API's own name)."""
    match = _EXECUTE_API.match(domain.lower().rstrip("."))
    return (match["api"], match["region"]) if match else None


def load_balancer_region(domain: str) -> str | None:
    """The region in a load balancer's DNS name (``us-east-1`` for the legacy region-less form)."""
    domain = domain.lower().rstrip(".")
    for pattern in (_ELB_REGIONAL, _ELB_NLB):
        match = pattern.match(domain)
        if match:
            return match["region"]
    return "us-east-1" if _ELB_LEGACY.match(domain) else None


def domain_for_target(domain: str, custom_domains: Mapping[str, CustomDomain]) -> CustomDomain | None:
    """The custom domain whose name, regional target or edge target is ``domain``."""
    domain = domain.lower().rstrip(".")
    if domain in custom_domains:
        return custom_domains[domain]
    for candidate in custom_domains.values():
        if domain in {name.lower() for name in candidate.target_names}:
            return candidate
    return None


def classify_origin(domain: str, custom_domains: Mapping[str, CustomDomain], *,
                    s3_origin_config: bool = False) -> tuple[OriginKind, ApiTarget | None]:
    """The kind of an origin domain and, for API Gateway, how it reaches it.

    >>> classify_origin("abc123def4.execute-api.eu-west-1.amazonaws.com", {})
    (<OriginKind.API_GATEWAY: 'api-gateway'>, ApiTarget(via='execute-api', region='eu-west-1', api_id='abc123def4', domain_name=None))
    """
    name = domain.lower().rstrip(".")
    if has_tenant_parameter(name):
        # Resolved per tenant at request time ({{name}}): what it reaches is not known, so nothing is claimed.
        return OriginKind.CUSTOM, None
    if s3_origin_config or (_S3.match(name) and not _S3_WEBSITE.match(name)):
        return OriginKind.S3, None
    known = domain_for_target(name, custom_domains)
    if known is not None:
        return OriginKind.API_GATEWAY, ApiTarget("custom-domain", known.region, domain_name=known.name)
    for pattern in (_EXECUTE_API, _PRIVATE_API):
        match = pattern.match(name)
        if match:
            return OriginKind.API_GATEWAY, ApiTarget("execute-api", match["region"], api_id=match["api"])
    match = _CUSTOM_DOMAIN_TARGET.match(name)
    if match:
        # A custom domain's target whose domain was not (or could not be) listed: still an API origin.
        return OriginKind.API_GATEWAY, ApiTarget("custom-domain", match["region"])
    if load_balancer_region(name):
        return OriginKind.LOAD_BALANCER, None
    if _LAMBDA_URL.match(name):
        return OriginKind.LAMBDA_URL, None
    return OriginKind.CUSTOM, None
