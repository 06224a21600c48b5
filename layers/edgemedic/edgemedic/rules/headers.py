"""Header forwarding to API Gateway: the viewer Host, and the WebSocket handshake headers.

Sources: ../shared/reference/aws-facts.md sections 1.2 (AllViewerExceptHostHeader), 3 (Host) and 6.6 (WebSocket).
"""
from __future__ import annotations

from typing import Iterator

from ..findings import Finding, FixClass, Rule, Severity
from ..forwarding import forwarding_of
from ..model import Distribution, Inventory
from .common import (
    ApiBehavior,
    api_behaviors,
    authorization_needed,
    auto,
    approve,
    describe_policies,
    finding,
    host_intent_of,
    pass_through_change,
    policy_fix,
    sources_of,
)

WEBSOCKET_HEADERS = ("Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions")
_HANDSHAKE_REQUIRED = frozenset({"sec-websocket-key", "sec-websocket-version"})


def _viewer_hosts(dist: Distribution, inv: Inventory) -> str:
    return ", ".join((*inv.viewer_names(dist), dist.domain_name))


def check_host_forwarded(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """An API behavior forwards the viewer Host and no alias is a custom domain mapped to the API behind."""
    for ab in api_behaviors(dist, inv, rule="apigw-host-forwarded"):
        behavior, origin = ab.behavior, ab.origin
        forwarding = forwarding_of(behavior)
        sources = sources_of(forwarding, "host")
        if not sources:
            continue  # also when a policy could not be read: nothing is claimed without evidence
        intent = host_intent_of(dist, origin, inv)
        if intent.present:
            continue
        change = pass_through_change(behavior, intent=False, authorization=authorization_needed(dist, ab, inv))
        summary = f"Use {describe_policies(change)} on behavior {behavior.path_pattern}"
        if behavior.legacy is not None:
            summary += " (migrates its legacy ForwardedValues and TTLs to policies)"
        evidence = [f"{source} forwards Host" for source in sources]
        evidence.append(f"origin {origin.id} is API Gateway at {origin.domain_name}")
        notes = [forwarding.unknown] if forwarding.unknown else []
        if intent.certain:
            evidence.append("no alias of the distribution is an API Gateway custom domain mapped to the API "
                            f"(aliases: {', '.join(dist.aliases) or 'none'})")
            fix = auto(summary, change)
        else:
            # Unsure whether Host reaches API Gateway on purpose: removing it could break a working custom-domain
            # design, so a person confirms.
            notes.extend(intent.unknown)
            notes.append("Host intent could not be checked: if an alias is an API Gateway custom domain mapped to "
                         "this API, forwarding Host is intended and this finding does not apply")
            fix = approve(summary, change)
        yield finding(
            HOST_FORWARDED, dist, behavior=behavior.path_pattern, origin=origin.id,
            message=(f"Behavior {behavior.path_pattern} forwards the viewer's Host header to API Gateway origin "
                     f"{origin.id}, which does not know that host"),
            symptom=(f"API Gateway receives Host {_viewer_hosts(dist, inv)} instead of {origin.domain_name} and answers "
                     '403 {"message":"Forbidden"} (or CloudFront answers 403/502)'),
            fix=fix, evidence=evidence, notes=notes,
        )


def _missing_websocket_headers(ab: ApiBehavior) -> tuple[tuple[str, ...], str | None]:
    forwarding = forwarding_of(ab.behavior)
    missing = tuple(h for h in WEBSOCKET_HEADERS if not forwarding.forwards_header(h))
    return missing, forwarding.unknown


def check_websocket_handshake(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """A behavior to a WebSocket API does not forward the Sec-WebSocket-* handshake headers."""
    for ab in api_behaviors(dist, inv, rule="websocket-handshake-dropped"):
        if ab.websocket is not True:
            continue
        missing, unknown = _missing_websocket_headers(ab)
        # AWS's documented minimum is Key and Version; -Protocol and -Extensions matter only to clients that send
        # them (trace says so for such a request).
        if not _HANDSHAKE_REQUIRED & {h.lower() for h in missing} or unknown:
            continue
        behavior, origin = ab.behavior, ab.origin
        intent = host_intent_of(dist, origin, inv)
        change = pass_through_change(behavior, intent=intent.present,
                                     authorization=authorization_needed(dist, ab, inv))
        fix, fix_notes = policy_fix(dist, origin, behavior, inv,
                                    f"Use {describe_policies(change)} on behavior {behavior.path_pattern}", change)
        broken = "every handshake fails"
        yield finding(
            WEBSOCKET_HANDSHAKE, dist, behavior=behavior.path_pattern, origin=origin.id,
            message=(f"Behavior {behavior.path_pattern} to WebSocket API origin {origin.id} does not forward "
                     f"{', '.join(missing)}"),
            symptom=f"WebSocket clients cannot connect through {behavior.path_pattern}: {broken}",
            fix=fix,
            evidence=(f"not forwarded by behavior {behavior.path_pattern}: {', '.join(missing)}",
                      f"API behind origin {origin.id}: " + ", ".join(
                          f"{e.api.id} ({e.api.protocol})" for e in ab.apis.entries)),
            notes=((f"Host intent: alias {intent.domain.name} is a custom domain mapped to the API, so the fix keeps "
                    "forwarding Host (AllViewer)",) if intent.present else ()) + fix_notes,
        )


HOST_FORWARDED = Rule(
    id="apigw-host-forwarded",
    severity=Severity.HIGH,
    fix_class=FixClass.AUTO.value,
    title="An API behavior forwards the viewer Host (AllViewer, "
          "AllViewerAndCloudFrontHeaders-2022-06, HostHeaderOnly, a cache policy with Host in its key"
          " such as Amplify or UseOriginCacheControlHeaders*, a custom policy with Host, legacy "
          "headers Host or *) and there is no Host intent.",
    symptom='403 {"message":"Forbidden"}, a CloudFront 403/502, or requests landing on the wrong '
            "origin.",
    remediation="Origin request policy AllViewerExceptHostHeader, and a cache policy without Host "
                "(CachingDisabled) where the key carried it; a legacy behavior is migrated to "
                "policies (auto).",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html",
    check=check_host_forwarded,
)

WEBSOCKET_HANDSHAKE = Rule(
    id="websocket-handshake-dropped",
    severity=Severity.HIGH,
    fix_class=FixClass.AUTO.value,
    title="A behavior to a WebSocket API does not forward Sec-WebSocket-Key or Sec-WebSocket-Version "
          "(AWS's documented minimum; -Protocol and -Extensions matter only to clients that send "
          "them, and trace says so).",
    symptom="The WebSocket handshake fails.",
    remediation="Origin request policy AllViewerExceptHostHeader (AllViewer under Host intent) "
                "(auto).",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/distribution-working-with.websockets.html",
    check=check_websocket_handshake,
)

RULES: tuple[Rule, ...] = (HOST_FORWARDED, WEBSOCKET_HANDSHAKE)

__all__ = ["RULES", "HOST_FORWARDED", "WEBSOCKET_HANDSHAKE", "WEBSOCKET_HEADERS"]
