"""What one Slack message or ticket is about: a distribution, its findings, the plan (if any) and where it stands.

    alert = Alert.for_plan(plan, plan_id="E1A2B3-5f2c", trigger=Trigger.from_cloudtrail(event["detail"]))
    message = build_message(alert)                       # edgemedic.notify.slack

Pure data: nothing here talks to Slack or AWS.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..findings import Finding, FixClass

if TYPE_CHECKING:  # the plan helper's module; only its attributes are read here
    from ..plan import Plan

CONSOLE_URL = "https://us-east-1.console.aws.amazon.com/cloudfront/v4/home#/distributions/{id}"


class Status(StrEnum):
    """Where a message's plan stands; a message is re-rendered (chat.update) whenever this changes."""

    PROPOSED = "proposed"  # approve plan waiting for a person
    APPROVED = "approved"  # approved, being applied
    APPLIED = "applied"  # applied (automatically, or after approval when ``actor`` is set)
    NEEDS_PERSON = "needs-person"  # manual fix: a ticket, never applied
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # the distribution changed after the plan was made; a fresh proposal follows
    FAILED = "failed"
    ROLLED_BACK = "rolled-back"

    @property
    def final(self) -> bool:
        return self not in (Status.PROPOSED, Status.APPROVED)


@dataclass(frozen=True, slots=True)
class DistributionInfo:
    id: str
    aliases: tuple[str, ...] = ()
    domain_name: str = ""  # dxxxx.cloudfront.net, when known
    origins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # origin id -> domain

    @property
    def console_url(self) -> str:
        return CONSOLE_URL.format(id=self.id)

    @classmethod
    def from_config(cls, distribution_id: str, config: Mapping[str, Any], domain_name: str = "") -> "DistributionInfo":
        """From a DistributionConfig in boto3 shape (a plan's ``base_config``)."""
        aliases = tuple((config.get("Aliases") or {}).get("Items") or ())
        origins = {o["Id"]: o.get("DomainName", "") for o in (config.get("Origins") or {}).get("Items") or ()}
        return cls(distribution_id, aliases, domain_name, MappingProxyType(origins))

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "aliases": list(self.aliases), "domain_name": self.domain_name,
                           "origins": dict(self.origins)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "DistributionInfo":
        d = json.loads(text)
        return cls(d["id"], tuple(d["aliases"]), d["domain_name"], MappingProxyType(d["origins"]))

    @classmethod
    def from_model(cls, dist: Any) -> "DistributionInfo":
        """From an ``edgemedic.model.Distribution``."""
        origins = {o.id: o.domain_name for o in dist.origins}
        return cls(dist.id, tuple(dist.aliases), dist.domain_name, MappingProxyType(origins))


_SESSION = re.compile(r":assumed-role/([^/]+)/(.+)$")


@dataclass(frozen=True, slots=True)
class Trigger:
    """Who made the change that set this off, and when (from the CloudTrail record)."""

    actor: str  # "Admin/role-session-name", "dev", "root"
    event: str  # UpdateDistribution, UpdateRoute, ...
    at: datetime  # aware, UTC
    via: str = ""  # invokedBy, e.g. cloudformation.amazonaws.com
    arn: str = ""

    def to_json(self) -> str:
        return json.dumps({"actor": self.actor, "event": self.event, "at": self.at.isoformat(), "via": self.via,
                           "arn": self.arn}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Trigger":
        d = json.loads(text)
        return cls(d["actor"], d["event"], datetime.fromisoformat(d["at"]), d["via"], d["arn"])

    @classmethod
    def from_cloudtrail(cls, detail: Mapping[str, Any]) -> "Trigger | None":
        """From an EventBridge "AWS API Call via CloudTrail" ``detail`` (or a bare CloudTrail record)."""
        identity = detail.get("userIdentity") or {}
        when = detail.get("eventTime")
        if not when:
            return None
        arn = identity.get("arn", "")
        kind = identity.get("type", "")
        session = _SESSION.search(arn)
        if session:
            actor = f"{session.group(1)}/{session.group(2)}"
        elif kind == "Root":
            actor = "root"
        else:
            actor = identity.get("userName") or arn or identity.get("principalId") or "unknown"
        at = datetime.fromisoformat(when.replace("Z", "+00:00")).astimezone(timezone.utc)
        event = re.sub(r"\d{4}_\d{2}_\d{2}$", "", detail.get("eventName", ""))  # UpdateDistribution2020_05_31
        return cls(actor, event, at, identity.get("invokedBy", ""), arn)


@dataclass(frozen=True, slots=True)
class Alert:
    distribution: DistributionInfo
    findings: tuple[Finding, ...]
    fix_class: FixClass
    status: Status
    summary: tuple[str, ...] = ()  # the plan's change, in plain words
    diff: str = ""  # the plan's unified diff
    plan_id: str | None = None
    trigger: Trigger | None = None
    ticket_url: str | None = None
    expires_at: datetime | None = None
    actor: str | None = None  # Slack user id of the person who approved or rejected
    note: str = ""  # why: the superseding change, the failure

    @property
    def account(self) -> str:
        """The AWS account of the distribution when it is an organization member's (its findings carry it)."""
        return next((f.account for f in self.findings if f.account), "")

    @classmethod
    def for_plan(cls, plan: "Plan", *, plan_id: str | None = None, trigger: Trigger | None = None,
                 ticket_url: str | None = None, expires_at: datetime | None = None,
                 domain_name: str = "") -> "Alert":
        """An ``auto`` plan is reported as applied; an ``approve`` plan as waiting for a person."""
        status = Status.PROPOSED if FixClass(plan.fix_class) is FixClass.APPROVE else Status.APPLIED
        return cls(DistributionInfo.from_config(plan.distribution_id, plan.base_config, domain_name),
                   tuple(plan.findings), FixClass(plan.fix_class), status, tuple(plan.summary), plan.diff, plan_id,
                   trigger, ticket_url, expires_at)

    @classmethod
    def for_manual(cls, distribution: DistributionInfo, findings: Sequence[Finding], *,
                   trigger: Trigger | None = None, ticket_url: str | None = None) -> "Alert":
        return cls(distribution, tuple(findings), FixClass.MANUAL, Status.NEEDS_PERSON, trigger=trigger,
                   ticket_url=ticket_url)

    @property
    def has_plan(self) -> bool:
        return bool(self.summary or self.diff)

    def with_status(self, status: Status, *, actor: str | None = None, note: str = "") -> "Alert":
        return replace(self, status=status, actor=actor or self.actor, note=note)

    def with_traces(self, traces: Mapping[tuple[str, str, str, str], str]) -> "Alert":
        """Each finding with its one-line before/after trace (``edgemedic.trace.traces_for``, keyed by
        ``Finding.key``) as its last evidence line, so Slack messages and tickets show it."""
        from ..trace import with_trace_evidence  # late: trace pulls in the engine, not needed for other alerts

        return replace(self, findings=tuple(with_trace_evidence(self.findings, traces)))
