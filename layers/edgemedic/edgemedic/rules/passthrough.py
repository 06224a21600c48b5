"""What reaches an origin, for the rules of catalog v2 that need one header or the Host at a function URL.
Pure functions of the model.

- ``reaches_origin_unmodified(behavior)``: the one predicate that says whether edgemedic can tell what reaches the
  origin. A CloudFront Function (viewer-request) or Lambda@Edge function (viewer-request, origin-request) can
  rewrite the Host, headers and path; edgemedic does not guess what it does, so the rules whose verdict depends on
  what reaches the origin do not fire on such a behavior (pitfalls.md, "Edge function").
- ``header_at_origin``: whether a viewer header reaches the origin, and from where (pitfalls.md, "Forwarded").
- ``lambda_url_behaviors``: behaviors whose target is a Lambda function URL origin.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ..forwarding import forwarding_of
from ..model import Behavior, Distribution, Origin, OriginKind
from .routing import may_rewrite_path


def reaches_origin_unmodified(behavior: Behavior) -> bool:
    """False when code at the edge runs before the origin request and may rewrite it."""
    return not may_rewrite_path(behavior)


@dataclass(frozen=True, slots=True)
class HeaderAtOrigin:
    """``reaches`` is None when it cannot be told (a policy could not be read); ``source`` says why it reaches."""

    reaches: bool | None
    source: str = ""


def header_at_origin(behavior: Behavior, origin: Origin, header: str) -> HeaderAtOrigin:
    """Whether the viewer's ``header`` (not Authorization or Host, which have their own rules) reaches ``origin``.

    The origin's custom header of that name is sent by CloudFront itself. Under legacy settings, CloudFront's header
    table forwards "other-defined headers" to custom origins (RequestAndResponseBehaviorCustomOrigin.html), so a
    header such as x-api-key reaches the origin; under policies only the cache key and the origin request policy
    forward viewer headers (OriginRequestPolicyHeadersConfig).
    """
    lowered = header.lower()
    for name in origin.custom_header_names:
        if name.lower() == lowered:
            return HeaderAtOrigin(True, f"origin {origin.id} sets {name} as a custom header")
    forwarding = forwarding_of(behavior)
    source = forwarding.source_of(lowered)
    if source:
        return HeaderAtOrigin(True, source)
    if behavior.legacy is not None:
        return HeaderAtOrigin(True, f"legacy ForwardedValues of behavior {behavior.path_pattern}: CloudFront forwards "
                                    "other-defined headers to custom origins")
    if forwarding.unknown:
        return HeaderAtOrigin(None, forwarding.unknown)
    return HeaderAtOrigin(False)


@dataclass(frozen=True, slots=True)
class LambdaUrlBehavior:
    behavior: Behavior
    origin: Origin


def lambda_url_behaviors(dist: Distribution) -> Iterator[LambdaUrlBehavior]:
    """Behaviors whose target is a Lambda function URL origin, in distribution order."""
    for behavior in dist.behaviors:
        origin = dist.origin(behavior.target_origin_id)
        if origin is not None and origin.kind is OriginKind.LAMBDA_URL and origin.lambda_url is not None:
            yield LambdaUrlBehavior(behavior, origin)
