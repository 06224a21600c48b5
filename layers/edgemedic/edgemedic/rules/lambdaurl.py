"""A Lambda function URL origin receiving the viewer's Host.

Source: CloudFront Developer Guide, using-managed-origin-request-policies.html: AllViewerExceptHostHeader exists
because "API Gateway and Lambda function URL origins expect the Host header to contain the origin domain name".
A function URL has no custom domains, so there is never Host intent.
"""
from __future__ import annotations

from typing import Iterator

from ..findings import Finding, FixClass, Rule, Severity
from ..forwarding import forwarding_of
from ..model import Distribution, Inventory
from .common import auto, describe_policies, finding, pass_through_change, sources_of
from .passthrough import lambda_url_behaviors, reaches_origin_unmodified


def check_lambda_url_host(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """A behavior to a Lambda URL origin forwards the viewer Host."""
    for lb in lambda_url_behaviors(dist):
        behavior, origin = lb.behavior, lb.origin
        if not reaches_origin_unmodified(behavior):
            continue  # an edge function may set Host itself: not guessed
        forwarding = forwarding_of(behavior)
        sources = sources_of(forwarding, "host")
        if not sources:
            continue
        change = pass_through_change(behavior, intent=False)
        summary = f"Use {describe_policies(change)} on behavior {behavior.path_pattern}"
        if behavior.legacy is not None:
            summary += " (migrates its legacy ForwardedValues and TTLs to policies)"
        function = inv.function_url(origin.lambda_url.region, origin.lambda_url.url_id)
        evidence = [f"{source} forwards Host" for source in sources]
        evidence.append(f"origin {origin.id} is the Lambda function URL {origin.domain_name}"
                        + (f" of function {function.function_name}" if function else ""))
        evidence.append("a function URL has no custom domains: it answers only to its own host name")
        yield finding(
            LAMBDA_URL_HOST_FORWARDED, dist, behavior=behavior.path_pattern, origin=origin.id,
            message=(f"Behavior {behavior.path_pattern} forwards the viewer's Host header to Lambda function URL "
                     f"origin {origin.id}, which answers only to {origin.domain_name}"),
            symptom=(f"The function URL receives Host {', '.join(dist.hostnames)} instead of {origin.domain_name}: "
                     "403 or 502, and the function never runs"),
            fix=auto(summary, change),
            evidence=evidence,
            notes=[forwarding.unknown] if forwarding.unknown else [],
        )


LAMBDA_URL_HOST_FORWARDED = Rule(
    id="lambda-url-host-forwarded",
    severity=Severity.HIGH,
    fix_class=FixClass.AUTO.value,
    title=("A behavior to a Lambda URL origin forwards the viewer Host (same sources as apigw-host-forwarded). "
          "A function URL has no custom domains, so there is no Host intent."),
    symptom="403 or 502 from the function URL; the function never runs.",
    remediation=("AllViewerExceptHostHeader, and a cache policy without Host (CachingDisabled) where the key carried "
                 "it (auto)."),
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html",
    check=check_lambda_url_host,
)

RULES: tuple[Rule, ...] = (LAMBDA_URL_HOST_FORWARDED,)

__all__ = ["RULES", "LAMBDA_URL_HOST_FORWARDED"]
