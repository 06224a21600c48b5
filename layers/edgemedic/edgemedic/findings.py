"""Findings, the fixes they propose (as data), and rule metadata.

A rule returns findings; a finding's fix carries *change intents* (small frozen records such as
``SetBehaviorPolicies``). ``edgemedic.plan`` turns the intents of one distribution into a new DistributionConfig
and a diff. Nothing here talks to AWS.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Callable, Iterable, Union

from .model import GET_HEAD, Distribution, Inventory


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return {"critical": 4, "high": 3, "medium": 2, "low": 1}[self.value]

    def at_least(self, other: "Severity") -> bool:
        return self.rank >= other.rank


class FixClass(StrEnum):
    AUTO = "auto"  # safe to apply without a person
    APPROVE = "approve"  # a concrete patch exists; a person says yes
    MANUAL = "manual"  # needs a change outside the distribution: a ticket, never applied


# --------------------------------------------------------------------------------------------- change intents
# Behaviors are named by path pattern ("*" for the default behavior), origins by id.


@dataclass(frozen=True, slots=True)
class SetBehaviorPolicies:
    """Attach policies to a behavior. ``None`` keeps the current one. A legacy behavior is migrated: its
    ForwardedValues and TTL fields are removed and, when no cache policy is named, CachingDisabled is used."""

    behavior: str
    cache_policy_id: str | None = None
    origin_request_policy_id: str | None = None


@dataclass(frozen=True, slots=True)
class SetAllowedMethods:
    behavior: str
    methods: tuple[str, ...]  # one of the three sets CloudFront accepts
    cached_methods: tuple[str, ...] = GET_HEAD


@dataclass(frozen=True, slots=True)
class SetViewerProtocol:
    behavior: str
    policy: str  # allow-all | https-only | redirect-to-https


@dataclass(frozen=True, slots=True)
class SetOriginProtocol:
    origin: str
    protocol_policy: str | None = None  # None keeps it
    ssl_protocols: tuple[str, ...] | None = None  # None keeps them


@dataclass(frozen=True, slots=True)
class SetOriginPath:
    origin: str
    path: str  # "" or "/x" (no trailing slash)


@dataclass(frozen=True, slots=True)
class SetOriginDomain:
    origin: str
    domain: str


@dataclass(frozen=True, slots=True)
class SetOriginReadTimeout:
    """Set a custom origin's OriginReadTimeout (the origin response timeout), in whole seconds."""

    origin: str
    seconds: int


@dataclass(frozen=True, slots=True)
class MoveBehavior:
    """Move behavior ``behavior`` to just before behavior ``before`` (both additional behaviors)."""

    behavior: str
    before: str


Change = Union[SetBehaviorPolicies, SetAllowedMethods, SetViewerProtocol, SetOriginProtocol, SetOriginPath,
               SetOriginDomain, MoveBehavior, SetOriginReadTimeout]


@dataclass(frozen=True, slots=True)
class Fix:
    fix_class: FixClass
    summary: str  # one line: what to change
    changes: tuple[Change, ...] = ()  # empty for manual fixes
    ticket: str = ""  # for manual fixes: the change a person must make, with the options


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    distribution: str
    behavior: str  # path pattern, "*" for the default; "" for a distribution-wide finding
    origin: str  # origin id, "" when none
    message: str  # one line, plain words
    symptom: str  # what the user sees
    fix: Fix
    evidence: tuple[str, ...] = ()  # which policy or field, which API methods
    notes: tuple[str, ...] = ()  # what could not be read, caveats
    account: str = ""  # the AWS account of the distribution, when known (organization scans, the hub)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity of a finding across scans (for de-duplication, tickets, idempotency)."""
        return (self.rule, self.distribution, self.behavior, self.origin)


# --------------------------------------------------------------------------------------------- rules

Check = Callable[[Distribution, Inventory], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A catalog rule: its metadata as data, and a pure check."""

    id: str
    severity: Severity
    fix_class: str  # as the catalog says it: "auto", "approve", "manual", or "approve/manual"
    title: str  # when it fires, one line
    symptom: str
    remediation: str
    url: str  # the AWS documentation behind it
    check: Check = field(compare=False, repr=False)
