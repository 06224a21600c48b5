"""The act step shared by the evaluate and sweep functions: findings -> what to do, per mode.

- ``auto``: an apply request goes to the FIFO apply queue (one message group per distribution, so updates of one
  distribution never race); only the apply function may call ``cloudfront:UpdateDistribution``.
- ``approve``: the plan (config hash, ETag, diff) is stored as pending and handed to the notifier.
- ``notify``: new findings are told, once.
- ``off``: recorded in the audit log only.
Every decision lands in the audit log.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Protocol, Sequence

from ..apis import apis_behind
from ..findings import Finding, FixClass
from ..model import Distribution, Inventory
from .settings import Mode, Settings
from .store import Store, api_index_key, domain_index_key, finding_record

logger = logging.getLogger(__name__)

SQS_ACTIONS = ("sqs:SendMessage",)


@dataclass(frozen=True, slots=True)
class Trigger:
    """What started an evaluation: a CloudTrail event (who changed what) or a sweep run."""

    event_id: str
    event_name: str = ""
    actor: str = ""
    source: str = "event"  # event | sweep


class Notifier(Protocol):
    """Where people hear from edgemedic. Slack and tickets implement it in edgemedic.notify."""

    def request_approval(self, pending: Mapping[str, Any]) -> None: ...

    def notify(self, distribution_id: str, findings: Sequence[Finding], trigger: Trigger) -> None: ...

    def alert(self, distribution_id: str, message: str, detail: Mapping[str, Any]) -> None: ...


class LoggingNotifier:
    """Tells through the function's log (JSON lines in CloudWatch): the notifier until Slack is configured."""

    def __init__(self, log: Any = None):
        self.log = log or logger
        self.sent: list[tuple[str, Any]] = []

    def request_approval(self, pending: Mapping[str, Any]) -> None:
        self.sent.append(("approval", pending))
        self.log.info("approval requested", extra={"distribution": pending.get("distribution"),
                                                   "config_hash": pending.get("config_hash"),
                                                   "summary": list(pending.get("summary", ()))})

    def notify(self, distribution_id: str, findings: Sequence[Finding], trigger: Trigger) -> None:
        self.sent.append(("notify", (distribution_id, tuple(f.rule for f in findings))))
        self.log.info("findings to tell", extra={"distribution": distribution_id, "event_id": trigger.event_id,
                                                 "rules": [f.rule for f in findings]})

    def alert(self, distribution_id: str, message: str, detail: Mapping[str, Any]) -> None:
        self.sent.append(("alert", (distribution_id, message)))
        self.log.error("edgemedic alert", extra={"distribution": distribution_id, "alert": message, **detail})


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    """The message the apply function consumes. It carries ids only: the config is always read fresh."""

    distribution_id: str
    event_id: str
    event_name: str = ""
    actor: str = ""
    rules: tuple[str, ...] = ()

    def body(self) -> str:
        return json.dumps({**asdict(self), "rules": list(self.rules)}, sort_keys=True)

    @classmethod
    def from_body(cls, body: str) -> "ApplyRequest":
        data = json.loads(body)
        return cls(data["distribution_id"], data["event_id"], data.get("event_name", ""), data.get("actor", ""),
                   tuple(data.get("rules", ())))


@dataclass
class ApplyQueue:
    client: Any  # boto3 SQS client
    url: str

    def send(self, request: ApplyRequest) -> None:
        dedup = hashlib.sha256(f"{request.event_id}|{request.distribution_id}".encode()).hexdigest()
        self.client.send_message(QueueUrl=self.url, MessageBody=request.body(),
                                 MessageGroupId=request.distribution_id, MessageDeduplicationId=dedup)


@dataclass
class Outcome:
    distribution_id: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    plan: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"distribution": self.distribution_id, "actions": self.actions,
                "findings": [f"{f['rule']}@{f['behavior']}" for f in self.findings]}


def index_keys(dist: Distribution, inv: Inventory) -> set[str]:
    """The index keys (APIs, custom domains) through which an API Gateway change reaches ``dist``."""
    keys: set[str] = set()
    for origin in dist.origins:
        target = origin.api
        if target is None:
            continue
        if target.via == "execute-api" and target.api_id:
            keys.add(api_index_key(target.region, target.api_id))
        if target.domain_name:
            keys.add(domain_index_key(target.domain_name))
        for entry in apis_behind(origin, inv).entries:
            keys.add(api_index_key(entry.api.region, entry.api.id))
            if entry.domain is not None:
                keys.add(domain_index_key(entry.domain.name))
    return keys


def act_on(dist: Distribution, findings: Sequence[Finding], *, settings: Settings, store: Store,
           queue: ApplyQueue | None, notifier: Notifier, trigger: Trigger, telemetry: Any) -> Outcome:
    """Decide and do, per mode; write the audit record. Returns what was done."""
    modes = [(f, settings.mode_for(f)) for f in findings]
    records = [finding_record(f, mode.value) for f, mode in modes]
    new_keys = store.replace_findings(dist.id, records)
    outcome = Outcome(dist.id, records)
    for finding in findings:
        telemetry.count("Findings", rule=finding.rule)
    by_mode: dict[Mode, list[Finding]] = {mode: [] for mode in Mode}
    for finding, mode in modes:
        by_mode[mode].append(finding)

    if by_mode[Mode.AUTO]:
        if queue is None:
            outcome.actions.append("auto-fix-not-queued: no apply queue configured")
        else:
            queue.send(ApplyRequest(dist.id, trigger.event_id, trigger.event_name, trigger.actor,
                                    tuple(sorted({f.rule for f in by_mode[Mode.AUTO]}))))
            outcome.actions.append("auto-fix-queued")
            telemetry.count("FixesQueued")

    if by_mode[Mode.APPROVE]:
        from ..plan import build_plan  # late: the plan module is only needed when something is to approve

        plan = build_plan(dist, by_mode[Mode.APPROVE], classes=frozenset({FixClass.AUTO, FixClass.APPROVE}))
        if plan is None:
            outcome.actions.append("approval-not-needed: no change left to make")
        else:
            outcome.plan = {"config_hash": plan.config_hash, "etag": plan.etag, "summary": list(plan.summary),
                            "diff": plan.diff}
            if store.pending_plan(dist.id, plan.config_hash):
                outcome.actions.append("approval-already-pending")
            else:
                pending = store.put_pending_plan(
                    distribution_id=dist.id, config_hash=plan.config_hash, etag=plan.etag, diff=plan.diff,
                    summary=plan.summary, findings=[finding_record(f) for f in plan.findings],
                    event_id=trigger.event_id, actor=trigger.actor)
                notifier.request_approval(pending)
                outcome.actions.append("approval-requested")
                telemetry.count("ApprovalsRequested")

    to_tell = [f for f in by_mode[Mode.NOTIFY] if f"{f.rule}#{f.behavior}#{f.origin}" in new_keys]
    if to_tell:
        notifier.notify(dist.id, to_tell, trigger)
        outcome.actions.append("notified")
    elif by_mode[Mode.NOTIFY]:
        outcome.actions.append("already-notified")
    if by_mode[Mode.OFF]:
        outcome.actions.append("off")

    store.audit(event_id=trigger.event_id, distribution_id=dist.id, event_name=trigger.event_name,
                actor=trigger.actor, action=",".join(outcome.actions) or "none",
                result="clean" if not findings else "decided", findings=records, plan=outcome.plan)
    return outcome
