"""CloudFront giving up on an origin before the backend behind it would have answered.

Sources (../shared/reference/aws-facts.md section 11.9): the origin response timeout (OriginReadTimeout) is 30 s by
default, 1 to 60 s without a quota increase and up to 180 s with one (DownloadDistValuesOriginResponseTimeout); a
REST integration waits up to its ``timeoutInMillis`` (50 ms to 29 s by default, more for regional and private APIs
with a quota increase); a function URL runs up to the function's Timeout (at most 900 s). HTTP API integrations
(at most 30 s) are not read: an OriginReadTimeout under 30 s in front of one is not reported.
"""
from __future__ import annotations

import math
from typing import Iterator

from ..findings import Finding, Rule, SetOriginReadTimeout, Severity
from ..lazy import lazy_module
from ..model import ApiProtocol, Distribution, Inventory, Origin, OriginKind
from ..validate import ORIGIN_READ_TIMEOUT_MAX, ORIGIN_READ_TIMEOUT_RANGE
from .common import auto, finding, is_api_origin, manual, targets, used_by

router = lazy_module("edgemedic.router")  # loaded by the first check: `edgemedic rules` needs no router

AUTO_LIMIT = ORIGIN_READ_TIMEOUT_RANGE[1]  # 60 s: beyond it CloudFront needs a quota increase


def _rest_backend(dist: Distribution, origin: Origin, inv: Inventory) -> tuple[int, list[str], list[str]]:
    """The longest REST integration timeout (ms) of the methods reachable through the origin's behaviors, the
    methods that have it, and notes."""
    longest, methods, notes = 0, [], []
    for behavior in _reaching(dist, origin):
        reach = router.reachable(dist, behavior, inv, assume_host_fix=True)
        if not reach.known:
            continue
        for r in reach.reaches:
            if r.api.protocol is not ApiProtocol.REST:
                continue
            timeout = r.method.integration_timeout_ms
            if timeout is None:
                notes.append(f"the integration of {r.label()} could not be read")
                continue
            if timeout > longest:
                longest, methods = timeout, [r.label()]
            elif timeout == longest:
                methods.append(r.label())
    return longest, list(dict.fromkeys(methods)), notes


def _reaching(dist: Distribution, origin: Origin) -> list:
    """Behaviors whose requests can reach ``origin``: as their target, or as a member of their origin group."""
    return [b for b in dist.behaviors if any(o.id == origin.id for o, _ in targets(dist, b))]


def _ticket(dist: Distribution, origin: Origin, backend: str, needed: int) -> str:
    if needed > ORIGIN_READ_TIMEOUT_MAX:
        options = (f"CloudFront waits at most {ORIGIN_READ_TIMEOUT_MAX} s for an origin, even with a quota increase. "
                   f"Either lower the backend's timeout to at most {ORIGIN_READ_TIMEOUT_MAX} s (and request a quota "
                   f"increase for 'Response timeout per origin', then set OriginReadTimeout of origin {origin.id}), "
                   "or make the slow work asynchronous (answer at once, let the client poll for the result).")
    else:
        options = (f"Request a quota increase for CloudFront 'Response timeout per origin' to {needed} s (Service "
                   f"Quotas, CloudFront), then set OriginReadTimeout of origin {origin.id} to {needed} s; or lower "
                   f"the backend's timeout to {AUTO_LIMIT} s or less and set OriginReadTimeout to match.")
    return (f"Origin {origin.id} ({origin.domain_name}) of distribution {dist.id} has OriginReadTimeout "
            f"{origin.read_timeout} s, but {backend}. Requests that take longer get a 504 from CloudFront while the "
            f"backend is still working. {options}")


def check_origin_timeout_short(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """An origin's OriginReadTimeout is shorter than the backend behind it may take."""
    for origin in dist.origins:
        if not origin.is_custom or not _reaching(dist, origin):
            continue
        notes: list[str] = []
        if origin.kind is OriginKind.LAMBDA_URL and origin.lambda_url is not None:
            target = origin.lambda_url
            function = inv.function_url(target.region, target.url_id)
            if function is None:
                continue  # unreadable: recorded as a warning by the collector, never a guess
            backend_ms, what = function.timeout * 1000, (
                f"function {function.function_name} behind the function URL may run {function.timeout} s (Timeout)")
            evidence_backend = f"function {function.function_name}: Timeout {function.timeout} s"
        elif is_api_origin(origin):
            backend_ms, methods, notes = _rest_backend(dist, origin, inv)
            if not methods:
                continue
            shown = ", ".join(methods[:4]) + (f" and {len(methods) - 4} more" if len(methods) > 4 else "")
            what = f"REST integrations behind it wait up to {backend_ms / 1000:g} s ({shown})"
            evidence_backend = f"integration timeoutInMillis {backend_ms}: {shown}"
        else:
            continue
        if backend_ms <= origin.read_timeout * 1000:
            continue
        needed = math.ceil(backend_ms / 1000)
        evidence = (f"origin {origin.id}: OriginReadTimeout {origin.read_timeout} s", evidence_backend,
                    used_by(dist, origin.id))
        if needed <= AUTO_LIMIT:
            fix = auto(f"Set OriginReadTimeout of origin {origin.id} to {needed} s",
                       SetOriginReadTimeout(origin.id, needed))
        else:
            fix = manual(f"Raise the CloudFront origin response timeout quota for origin {origin.id}, or shorten the "
                         "backend's timeout", _ticket(dist, origin, what, needed))
        yield finding(
            ORIGIN_TIMEOUT_SHORT, dist, behavior="", origin=origin.id,
            message=(f"Origin {origin.id} gives up after {origin.read_timeout} s (OriginReadTimeout), but {what}"),
            symptom=(f"Requests that take more than {origin.read_timeout} s get 504 Gateway Timeout from CloudFront, "
                     "although the backend would have answered"),
            fix=fix, evidence=evidence, notes=notes,
        )


ORIGIN_TIMEOUT_SHORT = Rule(
    id="origin-timeout-short",
    severity=Severity.MEDIUM,
    fix_class="auto/manual",
    title=("An origin's OriginReadTimeout (default 30 s) is shorter than its backend may take: a REST integration "
          "timeoutInMillis above it, or, for a Lambda URL origin, the function's Timeout above it."),
    symptom="504 from CloudFront on slow requests that the backend would have answered.",
    remediation=("OriginReadTimeout = the backend's timeout in whole seconds (auto up to 60 s; above 60 s a quota "
                 "increase is needed: manual)."),
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/"
        "DownloadDistValuesOrigin.html#DownloadDistValuesOriginResponseTimeout",
    check=check_origin_timeout_short,
)

RULES: tuple[Rule, ...] = (ORIGIN_TIMEOUT_SHORT,)

__all__ = ["RULES", "ORIGIN_TIMEOUT_SHORT"]
