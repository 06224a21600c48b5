"""What reaches an origin, for the rules of catalog v2 that need one header or the Host at a function URL.
Pure functions of the model.

- ``reaches_origin_unmodified(behavior)``: the one predicate that says whether edgemedic can tell what reaches the
  origin. A CloudFront Function (viewer-request) or Lambda@Edge function (viewer-request, origin-request) can
  rewrite the Host, headers and path; edgemedic does not guess what it does, so the rules whose verdict depends on
  what reaches the origin do not fire on such a behavior (pitfalls.md, "Edge function").
- ``header_at_origin``: whether a viewer header reaches the origin, and from where (pitfalls.md, "Forwarded").
- ``lambda_url_behaviors``: behaviors whose target (or origin group member) is a Lambda function URL origin.
- ``lambda_url_edge_warnings``: the scan's warning where an edge function silences lambda-url-host-forwarded
  (``rules.common.edge_function_warnings`` says it for API behaviors).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ..forwarding import forwarding_of
from ..model import Behavior, Distribution, Origin, OriginGroup, OriginKind
from .common import targets


def reaches_origin_unmodified(behavior: Behavior) -> bool:
    """False when code at the edge runs before the origin request and may rewrite it (``Behavior.request_functions``,
    the same test ``rules.common.api_behaviors`` applies to the catalog's edge-function rules)."""
    return not behavior.request_functions


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
    group: OriginGroup | None = None  # set when the origin is a member of the behavior's origin group


def lambda_url_behaviors(dist: Distribution) -> Iterator[LambdaUrlBehavior]:
    """Behaviors whose target is a Lambda function URL origin (or an origin group with one), in distribution order."""
    for behavior in dist.behaviors:
        for origin, group in targets(dist, behavior):
            if origin.kind is OriginKind.LAMBDA_URL and origin.lambda_url is not None:
                yield LambdaUrlBehavior(behavior, origin, group)


def lambda_url_edge_warnings(dist: Distribution) -> list[str]:
    """One warning per behavior to a function URL whose edge function decides what reaches it."""
    warnings: list[str] = []
    for lb in lambda_url_behaviors(dist):
        functions = lb.behavior.request_functions
        if functions:
            names = "; ".join(f"{f.kind} {f.name or '(unnamed)'} ({f.event})" for f in functions)
            warnings.append(
                f"distribution {dist.id}, behavior {lb.behavior.path_pattern} (Lambda function URL origin "
                f"{lb.origin.id}) runs {names} before the origin: it may set the Host the function URL receives, so "
                "that could not be checked (lambda-url-host-forwarded not evaluated on this behavior)")
    return list(dict.fromkeys(warnings))
