"""The act step shared by the evaluate and sweep functions: findings -> what to do, per mode.

- ``auto``: an apply request goes to the FIFO apply queue (one message group per distribution, so updates of one
  distribution never race); only the apply function may call ``cloudfront:UpdateDistribution``, and it says
  "applied automatically, here is the diff" once it has.
- ``approve``: the plan (config hash, ETag, diff) is stored as pending through ``edgemedic.notify.approval.propose``
  and posted with Approve / Reject; a click sends it to the same apply queue.
- ``notify``: new findings (and, after a person's change, findings still there) are told: a ticket per distribution
  and rule (opened once, then commented on) and a "needs a person" message with its link.
- ``off``: recorded in the audit log only.
Findings gone since the last evaluation close their tickets. Every decision lands in the audit log.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

from ..apis import apis_behind
from ..findings import Finding, FixClass
from ..model import Distribution, Inventory
from .settings import Mode, Settings
from .store import Store, api_index_key, domain_index_key, finding_key, finding_record
from .tell import LoggingNotifier, Notifier

__all__ = ["ApplyQueue", "ApplyRequest", "LoggingNotifier", "Notifier", "Outcome", "Trigger", "act_on",
           "close_tickets", "index_keys"]

logger = logging.getLogger(__name__)

SQS_ACTIONS = ("sqs:SendMessage",)
AUTO_FIX, APPROVED_PLAN, SLACK_TASK = "auto-fix", "approved-plan", "slack"


@dataclass(frozen=True, slots=True)
class Trigger:
    """What started an evaluation: a CloudTrail event (who changed what, when) or a sweep run."""

    event_id: str
    event_name: str = ""
    actor: str = ""  # the role behind the session, or the identity's ARN
    source: str = "event"  # event | sweep
    at: str = ""  # CloudTrail eventTime
    session: str = ""  # the session ARN (assumed-role/Admin/alice): names the person on messages

    def for_message(self) -> Any:
        """``edgemedic.notify.alert.Trigger`` for Slack and tickets; None for a sweep (nobody changed anything)."""
        if self.source != "event" or not self.at:
            return None
        from ..notify.alert import Trigger as MessageTrigger

        return MessageTrigger.from_cloudtrail({"userIdentity": {"arn": self.session or self.actor},
                                               "eventTime": self.at, "eventName": self.event_name})

    def why_gone(self) -> str:
        if self.source == "sweep":
            return "the scheduled sweep found it gone"
        return f"gone after {self.event_name or 'a change'} by {self.actor or 'someone'} (event {self.event_id})"


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    """An ``auto`` fix for the apply function. It carries ids only: the config is always read fresh."""

    distribution_id: str
    event_id: str
    event_name: str = ""
    actor: str = ""
    rules: tuple[str, ...] = ()
    event_time: str = ""
    session: str = ""
    account: str = ""  # a member account (organization hub): applied through its apply role

    def body(self) -> str:
        data = {"kind": AUTO_FIX, **asdict(self), "rules": list(self.rules)}
        if not self.account:
            del data["account"]  # the hub's own account: the message stays as it always was
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_body(cls, body: str) -> "ApplyRequest":
        data = json.loads(body)
        return cls(data["distribution_id"], data["event_id"], data.get("event_name", ""), data.get("actor", ""),
                   tuple(data.get("rules", ())), data.get("event_time", ""), data.get("session", ""),
                   data.get("account", ""))

    @property
    def trigger(self) -> Trigger:
        return Trigger(self.event_id, self.event_name, self.actor, "event", self.event_time, self.session)


@dataclass
class ApplyQueue:
    """The FIFO apply queue: auto fixes, approved plans and Slack follow-ups, one message group per distribution."""

    client: Any  # boto3 SQS client
    url: str

    def send(self, request: ApplyRequest) -> None:
        dedup = hashlib.sha256(f"{request.event_id}|{request.distribution_id}".encode()).hexdigest()
        self.client.send_message(QueueUrl=self.url, MessageBody=request.body(),
                                 MessageGroupId=request.distribution_id, MessageDeduplicationId=dedup)

    def send_approved(self, plan_id: str, distribution_id: str, approver: str) -> None:
        """An approved plan. A retried click sends nothing more (the plan moves to approved once); the deduplication
        id is one per send, so botocore's retries of this call are sent once, while a plan approved again after a
        send whose answer was lost (``handlers.approve``) is not dropped as a duplicate for five minutes."""
        body = {"kind": APPROVED_PLAN, "plan_id": plan_id, "distribution_id": distribution_id, "approver": approver}
        dedup = hashlib.sha256(f"{plan_id}|{uuid.uuid4().hex}".encode()).hexdigest()
        self.client.send_message(QueueUrl=self.url, MessageBody=json.dumps(body, sort_keys=True),
                                 MessageGroupId=distribution_id, MessageDeduplicationId=dedup)

    def send_slack_task(self, task: Mapping[str, Any], group: str) -> None:
        """A Slack follow-up the approve function must not wait for: re-render a plan's message, or reply to the
        clicking user (``response_url``)."""
        body = json.dumps({"kind": SLACK_TASK, **task}, sort_keys=True)
        self.client.send_message(QueueUrl=self.url, MessageBody=body, MessageGroupId=group,
                                 MessageDeduplicationId=hashlib.sha256(body.encode()).hexdigest())


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


def _with_traces(dist: Distribution, inv: Inventory | None, findings: Sequence[Finding]) -> Sequence[Finding]:
    """Findings a person will read, each with its one-line before/after request trace (issue: Slack messages and
    tickets show the failing request). Tracing only decorates: if it fails, the findings go out without it."""
    if inv is None or not findings:
        return findings
    from ..trace import annotate

    try:
        return annotate(dist, inv, findings)
    except Exception:  # noqa: BLE001 - see docstring; logged with the traceback
        logger.exception("could not trace the findings of %s; telling without traces", dist.id)
        return findings


def act_on(dist: Distribution, findings: Sequence[Finding], *, settings: Settings, store: Store, plans: Any,
           queue: ApplyQueue | None, notifier: Notifier, trigger: Trigger, telemetry: Any,
           inv: Inventory | None = None, scope: Any = None, unverified: Mapping[str, str] | None = None,
           account: str = "", security_hub: Any = None) -> Outcome:
    """Decide and do, per mode; write the audit record. Returns what was done. ``plans`` is the PlanStore; ``inv``
    (the inventory the findings came from) lets messages and tickets carry a before/after request trace.

    ``scope`` (``edgemedic.act.scope.Scope``) caps every mode: the distribution's ``edgemedic:mode`` tag, the allow
    list, the emergency stop. ``unverified`` (origin id -> why): stored findings whose evidence could not be read
    this time are kept, marked unverified, and their tickets stay open. ``account`` is the member account of the
    distribution (organization hub), empty for the hub's own; ``security_hub`` (``Runtime.security_hub``) imports
    the findings and resolves the gone ones there."""
    from ..act.scope import Scope

    scope = scope or Scope()
    told = {f.key for f in findings if settings.mode_for(f, scope.cap) in (Mode.APPROVE, Mode.NOTIFY)}
    traced = {f.key: f for f in _with_traces(dist, inv, [f for f in findings if f.key in told])}
    findings = [traced.get(f.key, f) for f in findings]
    modes = [(f, settings.mode_for(f, scope.cap)) for f in findings]
    records = {finding_key(r): r for r in (finding_record(f, mode.value) for f, mode in modes)}
    before = store.open_findings(dist.id)
    outcome = Outcome(dist.id, list(records.values()))
    if scope.reason and any(settings.mode_for(f) is not mode for f, mode in modes):
        outcome.actions.append(f"capped: {scope.reason}")
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
                                    tuple(sorted({f.rule for f in by_mode[Mode.AUTO]})), trigger.at,
                                    trigger.session, account))
            outcome.actions.append("auto-fix-queued")
            telemetry.count("FixesQueued")

    if by_mode[Mode.APPROVE]:
        _propose(dist, by_mode[Mode.APPROVE], settings, plans, notifier, trigger, telemetry, outcome)

    urls: dict[str, str] = {}
    ticketed = {key for key, record in before.items() if record.get("ticket")}
    to_tell = [f for f in by_mode[Mode.NOTIFY]
               if _key(f) not in before  # new
               or trigger.source == "event"  # a person changed something and it is still there
               or (settings.tickets_enabled and _key(f) not in ticketed)]  # the ticket failed last time
    if to_tell:
        urls = notifier.notify(dist, to_tell, trigger)
        outcome.actions.append("notified")
    elif by_mode[Mode.NOTIFY]:
        outcome.actions.append("already-notified")
    if by_mode[Mode.OFF]:
        outcome.actions.append("off")

    for record in records.values():
        url = urls.get(record["rule"]) if record.get("mode") == Mode.NOTIFY.value else None
        if url:
            record["ticket"] = url
    delta = store.replace_findings(dist.id, list(records.values()), before, unverified)
    for key, stored in delta.current.items():  # the audit record names the ticket a finding keeps
        if key in records and stored.get("ticket"):
            records[key]["ticket"] = stored["ticket"]
    if close_tickets(dist.id, delta.gone, delta.current.values(), notifier, trigger.why_gone()):
        outcome.actions.append("tickets-closed")
    if security_hub is not None:
        security_hub(findings, delta.gone)
    kept = tell_unverified(dist.id, before, delta.current, notifier)
    if kept:
        outcome.actions.append("kept-unverified")

    result = "unverified" if kept else "clean" if not findings else "decided"
    store.audit(event_id=trigger.event_id, distribution_id=dist.id, event_name=trigger.event_name,
                actor=trigger.actor, action=",".join(outcome.actions) or "none",
                result=result, findings=outcome.findings, plan=outcome.plan,
                detail="; ".join(sorted({r["unverified_reason"] for r in kept})), account=account)
    return outcome


def tell_unverified(distribution_id: str, before: Mapping[str, Mapping[str, Any]],
                    current: Mapping[str, Mapping[str, Any]], notifier: Notifier) -> list[Mapping[str, Any]]:
    """The findings kept unverified this time; an alert (Slack, the log) when some just became unverified."""
    kept = [r for r in current.values() if r.get("unverified")]
    newly = [r for r in kept if not before.get(finding_key(r), {}).get("unverified")]
    if newly:
        rules = ", ".join(sorted({r["rule"] for r in newly}))
        reasons = "; ".join(sorted({r["unverified_reason"] for r in newly}))
        notifier.alert(distribution_id, f"{len(newly)} finding(s) on {distribution_id} could not be re-checked and "
                                        f"stay open, unverified: {rules} ({reasons})",
                       {"status": "unverified"})
    return kept


def _key(finding: Finding) -> str:
    return f"{finding.rule}#{finding.behavior}#{finding.origin}"


def _propose(dist: Distribution, findings: Sequence[Finding], settings: Settings, plans: Any, notifier: Notifier,
             trigger: Trigger, telemetry: Any, outcome: Outcome) -> None:
    # late: the plan and Slack modules are only needed when something is to approve
    from ..notify.alert import DistributionInfo
    from ..notify.approval import propose
    from ..notify.store import plan_id_for
    from ..plan import build_plan

    plan = build_plan(dist, findings, classes=frozenset({FixClass.AUTO, FixClass.APPROVE}))
    if plan is None:
        outcome.actions.append("approval-not-needed: no change left to make")
        return
    outcome.plan = {"plan_id": plan_id_for(plan), "config_hash": plan.config_hash, "etag": plan.etag,
                    "summary": list(plan.summary), "diff": plan.diff}
    record = propose(plan, plans, None, now=time.time(), ttl_seconds=settings.approval_ttl_seconds,
                     trigger=trigger.for_message(), dist=DistributionInfo.from_model(dist))
    if record is None:  # the same plan on the same config was asked before: its state says what came of it
        stored = plans.get(outcome.plan["plan_id"])
        outcome.actions.append(f"approval-already-{stored.status if stored else 'asked'}")
        return
    notifier.request_approval(record)
    outcome.actions.append("approval-requested")
    telemetry.count("ApprovalsRequested")


def close_tickets(distribution_id: str, gone: Sequence[Mapping[str, Any]], current: Any, notifier: Notifier,
                  why: str) -> list[str]:
    """Close the tickets of rules whose findings are all gone; returns those rules."""
    still = {record["rule"] for record in current}
    rules = sorted({record["rule"] for record in gone if record.get("ticket")} - still)
    if rules:
        notifier.resolved(distribution_id, rules, why)
    return rules
