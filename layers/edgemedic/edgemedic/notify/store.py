"""Plans waiting for a person, and the conditional writes that make each one applied at most once.

The one implementation of pending-plan storage: the evaluate and sweep functions store plans here (``propose``),
the approve function records decisions, the apply function applies. Key schema (one item per plan, in the stack's
table, which has ``pk``/``sk`` string keys and TTL on ``expiration``; see ``edgemedic.handlers.store``):

| attribute | value |
|---|---|
| ``pk`` / ``sk`` | ``PLAN#<distribution>`` / ``<plan_id>`` (plan ids start with the distribution id) |
| ``status`` | pending → approved → applying → applied / failed / rolled-back / superseded; pending → rejected / expired |
| ``distribution``, ``etag``, ``config_hash``, ``diff``, ``summary``, ``fix_class`` | the plan as shown to the person |
| ``findings`` | JSON of the plan's findings (with their change intents): the plan is rebuilt from them at apply time |
| ``expires_at`` | epoch seconds; a click after it changes nothing |
| ``decided_by``, ``decided_at`` | Slack user id and time of Approve / Reject |
| ``channel``, ``ts``, ``response_url`` | where the message is, to update it |
| ``trigger``, ``ticket_url``, ``outcome`` | shown on the message |
| ``applying_since`` | when a run took the plan to apply it (a later run takes over one left ``applying``) |
| ``audited_at`` | epoch seconds the outcome's audit record was written (a redelivery writes a missing one) |
| ``expiration`` | DynamoDB TTL: ``expires_at`` + 30 days, so the decision stays readable for the audit |

Each transition is an UpdateItem whose ConditionExpression names the state it leaves: two clicks, a retried Slack
delivery or a retried Lambda invocation can only ever move a plan once.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Iterable, Protocol

from ..findings import (
    Finding,
    Fix,
    FixClass,
    MoveBehavior,
    SetAllowedMethods,
    SetBehaviorPolicies,
    SetOriginDomain,
    SetOriginPath,
    SetOriginProtocol,
    SetOriginReadTimeout,
    SetViewerProtocol,
    Severity,
)
from .exceptions import TransitionError

PENDING, APPROVED, APPLYING, APPLIED = "pending", "approved", "applying", "applied"
REJECTED, EXPIRED, SUPERSEDED, FAILED, ROLLED_BACK = "rejected", "expired", "superseded", "failed", "rolled-back"
KEEP_AFTER_EXPIRY = 30 * 86400
# What each use of the store calls (the functions' IAM_ACTIONS are built from these).
DECIDE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")  # get + transition (the approve function)
PROPOSE_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem")  # put + remember where the message is
LIST_ACTIONS = ("dynamodb:Query",)  # plans_of (the sweep expires plans)
DYNAMODB_ACTIONS = tuple(sorted({*DECIDE_ACTIONS, *PROPOSE_ACTIONS, *LIST_ACTIONS}))

_CHANGE_TYPES = {cls.__name__: cls for cls in (SetBehaviorPolicies, SetAllowedMethods, SetViewerProtocol,
                                               SetOriginProtocol, SetOriginPath, SetOriginDomain, MoveBehavior,
                                               SetOriginReadTimeout)}


# --------------------------------------------------------------------------------------------- findings as JSON


def findings_to_json(findings: Iterable[Finding]) -> str:
    def change(c: Any) -> dict:
        return {"type": type(c).__name__, **asdict(c)}

    return json.dumps([{
        **{k: getattr(f, k) for k in ("rule", "distribution", "behavior", "origin", "message", "symptom")},
        "severity": f.severity.value, "evidence": list(f.evidence), "notes": list(f.notes),
        "fix": {"fix_class": f.fix.fix_class.value, "summary": f.fix.summary, "ticket": f.fix.ticket,
                "changes": [change(c) for c in f.fix.changes]},
        **({"account": f.account} if f.account else {}),
    } for f in findings], sort_keys=True)


def findings_from_json(text: str) -> tuple[Finding, ...]:
    def change(d: dict) -> Any:
        cls = _CHANGE_TYPES[d.pop("type")]
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    out = []
    for d in json.loads(text):
        fix = d["fix"]
        out.append(Finding(
            rule=d["rule"], severity=Severity(d["severity"]), distribution=d["distribution"],
            behavior=d["behavior"], origin=d["origin"], message=d["message"], symptom=d["symptom"],
            fix=Fix(FixClass(fix["fix_class"]), fix["summary"], tuple(change(c) for c in fix["changes"]),
                    fix["ticket"]),
            evidence=tuple(d["evidence"]), notes=tuple(d["notes"]), account=d.get("account", "")))
    return tuple(out)


def distribution_of(plan_id: str) -> str:
    """``E2QWRUHAPOMQZL-5f2c...`` -> ``E2QWRUHAPOMQZL`` (CloudFront ids have no dash)."""
    return plan_id.split("-", 1)[0]


def plan_id_for(plan: Any) -> str:
    """Same plan on the same config, same id: a retried evaluation stores and posts it once."""
    digest = hashlib.sha256(f"{plan.config_hash}|{plan.etag}|{plan.diff}".encode()).hexdigest()[:16]
    return f"{plan.distribution_id}-{digest}"


# --------------------------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class PlanRecord:
    plan_id: str
    distribution_id: str
    etag: str
    config_hash: str
    diff: str
    summary: tuple[str, ...]
    fix_class: str
    findings_json: str
    created_at: int
    expires_at: int
    status: str = PENDING
    decided_by: str = ""
    decided_at: int = 0
    channel: str = ""
    ts: str = ""
    response_url: str = ""
    distribution_json: str = ""  # DistributionInfo as JSON (aliases, origins), for the message
    trigger_json: str = ""  # Trigger as JSON (actor, event, at, via)
    ticket_url: str = ""
    outcome: str = ""  # why it ended as it did
    audited_at: int = 0  # when the apply function wrote the audit record of the outcome (0: not yet)
    applying_since: int = 0  # when a run took the plan to apply it (approved -> applying); 0: never

    @property
    def findings(self) -> tuple[Finding, ...]:
        return findings_from_json(self.findings_json)

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    @classmethod
    def from_plan(cls, plan: Any, *, now: float, ttl_seconds: int = 86400, plan_id: str | None = None,
                  distribution_json: str = "", trigger_json: str = "", ticket_url: str = "") -> "PlanRecord":
        return cls(plan_id or plan_id_for(plan), plan.distribution_id, plan.etag, plan.config_hash, plan.diff,
                   tuple(plan.summary), str(plan.fix_class), findings_to_json(plan.findings), int(now),
                   int(now) + ttl_seconds, distribution_json=distribution_json, trigger_json=trigger_json,
                   ticket_url=ticket_url)


class PlanStore(Protocol):
    def put(self, record: PlanRecord) -> bool:
        """Store a new plan; False (and nothing written) when the id is already stored."""
        ...

    def get(self, plan_id: str) -> PlanRecord | None: ...

    def transition(self, plan_id: str, *, expected: str, to: str, now: float, require_unexpired: bool = False,
                   if_applying_since: int | None = None, **attributes: Any) -> PlanRecord:
        """Move the plan from ``expected`` to ``to`` (setting ``attributes``) in one conditional write, or raise
        ``TransitionError`` with the record as it is. ``require_unexpired`` adds ``expires_at > now``;
        ``if_applying_since`` adds that ``applying_since`` is still that value (one run takes over a stalled
        plan, not two)."""
        ...

    def mark_applied(self, plan_id: str, *, status: str, outcome: str, now: float) -> PlanRecord:
        """applying -> applied / failed / rolled-back / superseded."""
        ...

    def plans_of(self, distribution_id: str) -> list[PlanRecord]:
        """Every stored plan of a distribution (the sweep expires the pending ones)."""
        ...


_FIELDS = {f.name: f for f in fields(PlanRecord)}


def _to_attr(value: Any) -> dict:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, (tuple, list)):
        return {"L": [{"S": str(v)} for v in value]}
    return {"S": str(value)}


def _from_attr(attr: dict) -> Any:
    if "N" in attr:
        return int(attr["N"])
    if "L" in attr:
        return tuple(a["S"] for a in attr["L"])
    if "BOOL" in attr:
        return attr["BOOL"]
    return attr["S"]


@dataclass
class DynamoPlanStore:
    """``PlanStore`` on a DynamoDB table (boto3 client; key schema above)."""

    client: Any
    table: str

    @staticmethod
    def key(plan_id: str) -> dict:
        return {"pk": {"S": f"PLAN#{distribution_of(plan_id)}"}, "sk": {"S": plan_id}}

    def _record(self, item: dict) -> PlanRecord:
        return PlanRecord(**{k: _from_attr(v) for k, v in item.items() if k in _FIELDS})

    def put(self, record: PlanRecord) -> bool:
        item = {**self.key(record.plan_id), **{k: _to_attr(v) for k, v in asdict(record).items() if v != ""},
                "expiration": {"N": str(record.expires_at + KEEP_AFTER_EXPIRY)}}
        try:
            self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get(self, plan_id: str) -> PlanRecord | None:
        item = self.client.get_item(TableName=self.table, Key=self.key(plan_id), ConsistentRead=True).get("Item")
        return self._record(item) if item else None

    def transition(self, plan_id: str, *, expected: str, to: str, now: float, require_unexpired: bool = False,
                   if_applying_since: int | None = None, **attributes: Any) -> PlanRecord:
        names = {"#status": "status", "#pk": "pk"}
        values = {":expected": {"S": expected}, ":to": {"S": to}}
        sets = ["#status = :to"]
        for i, (name, value) in enumerate(sorted(attributes.items())):
            if name not in _FIELDS:
                raise ValueError(f"unknown plan attribute {name}")
            names[f"#a{i}"], values[f":a{i}"] = name, _to_attr(value)
            sets.append(f"#a{i} = :a{i}")
        condition = "attribute_exists(#pk) AND #status = :expected"
        if require_unexpired:
            condition += " AND expires_at > :now"
            values[":now"] = {"N": str(int(now))}
        if if_applying_since is not None:
            names["#since"], values[":since"] = "applying_since", {"N": str(int(if_applying_since))}
            condition += (" AND (#since = :since OR attribute_not_exists(#since))" if not if_applying_since
                          else " AND #since = :since")  # records written before the field existed lack it
        try:
            got = self.client.update_item(
                TableName=self.table, Key=self.key(plan_id), UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition, ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW")
        except self.client.exceptions.ConditionalCheckFailedException:
            raise TransitionError(plan_id, expected, self.get(plan_id)) from None
        return self._record(got["Attributes"])

    def mark_applied(self, plan_id: str, *, status: str, outcome: str, now: float) -> PlanRecord:
        return self.transition(plan_id, expected=APPLYING, to=status, now=now, outcome=outcome)

    def plans_of(self, distribution_id: str) -> list[PlanRecord]:
        kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk",
                                  "ExpressionAttributeValues": {":pk": {"S": f"PLAN#{distribution_id}"}},
                                  "ConsistentRead": True}
        records: list[PlanRecord] = []
        while True:
            page = self.client.query(**kwargs)
            records.extend(self._record(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return records
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass
class MemoryPlanStore:
    """``PlanStore`` in memory (the demo, unit tests). Same conditions as the DynamoDB one."""

    records: dict[str, PlanRecord] = field(default_factory=dict)

    def put(self, record: PlanRecord) -> bool:
        if record.plan_id in self.records:
            return False
        self.records[record.plan_id] = record
        return True

    def get(self, plan_id: str) -> PlanRecord | None:
        return self.records.get(plan_id)

    def transition(self, plan_id: str, *, expected: str, to: str, now: float, require_unexpired: bool = False,
                   if_applying_since: int | None = None, **attributes: Any) -> PlanRecord:
        record = self.records.get(plan_id)
        if record is None or record.status != expected or (require_unexpired and record.expired(now)) or (
                if_applying_since is not None and record.applying_since != if_applying_since):
            raise TransitionError(plan_id, expected, record)
        record = replace(record, status=to, **attributes)
        self.records[plan_id] = record
        return record

    def mark_applied(self, plan_id: str, *, status: str, outcome: str, now: float) -> PlanRecord:
        return self.transition(plan_id, expected=APPLYING, to=status, now=now, outcome=outcome)

    def plans_of(self, distribution_id: str) -> list[PlanRecord]:
        return [r for r in self.records.values() if r.distribution_id == distribution_id]
