"""The stack's one DynamoDB table: audit log, open findings, plans, undelivered Slack messages, the API ->
distribution index, sweep runs, and (through Powertools) idempotency records. Single-table design on ``pk`` / ``sk``:

| item | pk | sk |
|---|---|---|
| audit record | ``AUDIT#{distribution or -}`` | ``{time}#{event id}`` |
| open finding (``ticket``: its ticket's URL) | ``FINDINGS#{distribution}`` | ``{rule}#{behavior}#{origin}`` |
| plan (pending, decided, applied) | ``PLAN#{distribution}`` | ``{plan id}``: ``edgemedic.notify.store`` |
| Slack message not delivered yet | ``OUTBOX`` | ``{time}#{id}`` (the sweep posts it again) |
| index entry | ``INDEX#API#{region}#{api id}`` or ``INDEX#DOMAIN#{name}`` | ``{distribution}`` |
| index keys of a distribution | ``INDEXED#{distribution}`` | ``KEYS`` |
| index freshness | ``INDEX`` | ``META`` |
| sweep run | ``SWEEP`` | ``{time}`` |
| idempotency | ``idempotency#{function}`` | Powertools' key |

``expiration`` (epoch seconds) is the table's TTL attribute, shared with Powertools' idempotency records.
"""
from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

from ..findings import Finding

from .exceptions import StoreWriteError

BATCH_ATTEMPTS = 8  # BatchWriteItem tries before the invocation fails (exponential back-off with full jitter)
BATCH_BASE_WAIT, BATCH_MAX_WAIT = 0.05, 2.0  # seconds

TTL_ATTRIBUTE = "expiration"

# What each function's code calls on the table (the IAM check reads these through the handlers).
DYNAMODB_ACTIONS_READ = ("dynamodb:GetItem", "dynamodb:Query")
# Plans live in the same table through edgemedic.notify.store (the one implementation of plan storage).
DYNAMODB_ACTIONS_WRITE = ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")


class _Codec:
    """boto3's DynamoDB (de)serializers, imported on first use: boto3.dynamodb costs ~100 ms of cold start."""

    def __init__(self) -> None:
        self._pair: tuple[Any, Any] | None = None

    def _load(self) -> tuple[Any, Any]:
        if self._pair is None:
            from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

            self._pair = (TypeSerializer(), TypeDeserializer())
        return self._pair

    def serialize(self, value: Any) -> dict:
        return self._load()[0].serialize(value)

    def deserialize(self, value: dict) -> Any:
        return self._load()[1].deserialize(value)


_SER = _DES = _Codec()


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def api_index_key(region: str, api_id: str) -> str:
    return f"INDEX#API#{region}#{api_id}"


def domain_index_key(name: str) -> str:
    return f"INDEX#DOMAIN#{name.lower()}"


def finding_key(record: Mapping[str, Any]) -> str:
    return f"{record['rule']}#{record['behavior']}#{record['origin']}"


@dataclass
class FindingsDelta:
    new: set[str]  # keys of findings not open before
    gone: list[dict[str, Any]]  # records of findings open before and not found now
    current: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> record as stored now


def finding_record(finding: Finding, mode: str | None = None) -> dict[str, Any]:
    record = {
        "rule": finding.rule, "severity": finding.severity.value, "distribution": finding.distribution,
        "behavior": finding.behavior, "origin": finding.origin, "message": finding.message,
        "fix_class": finding.fix.fix_class.value, "fix": finding.fix.summary,
    }
    if mode is not None:
        record["mode"] = mode
    if finding.account:
        record["account"] = finding.account
    return record


def unverified_reason(record: Mapping[str, Any], unverified: Mapping[str, str]) -> str:
    """Why a stored finding could not be re-checked ("" when it could)."""
    return unverified.get(record.get("origin") or "") or unverified.get("*", "")


def _plain(value: Any) -> Any:
    """DynamoDB has no floats and no empty sets: keep records to str/int/bool/list/map."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return str(value)
    return value


@dataclass
class Store:
    client: Any  # a boto3 DynamoDB client
    table: str
    audit_ttl_days: int = 400
    outbox_ttl_days: int = 7

    # ----------------------------------------------------------------------------------------- low level

    def _put(self, item: Mapping[str, Any]) -> None:
        self.client.put_item(TableName=self.table, Item={k: _SER.serialize(v) for k, v in _plain(item).items()})

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        got = self.client.get_item(TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
        item = got.get("Item")
        return {k: _DES.deserialize(v) for k, v in item.items()} if item else None

    def _query(self, pk: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk",
                                  "ExpressionAttributeValues": {":pk": {"S": pk}}, "ConsistentRead": True}
        while True:
            page = self.client.query(**kwargs)
            items.extend({k: _DES.deserialize(v) for k, v in item.items()} for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _write_batch(self, puts: Iterable[Mapping[str, Any]] = (), deletes: Iterable[tuple[str, str]] = ()) -> None:
        """BatchWriteItem in chunks of 25; what DynamoDB leaves unprocessed is sent again after an exponential
        back-off with full jitter (AWS's advice for UnprocessedItems). Whatever is still unprocessed after
        ``BATCH_ATTEMPTS`` tries raises StoreWriteError: the invocation fails and is retried, never reported done."""
        requests = [{"PutRequest": {"Item": {k: _SER.serialize(v) for k, v in _plain(p).items()}}} for p in puts]
        requests += [{"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in deletes]
        for start in range(0, len(requests), 25):
            pending = {self.table: requests[start:start + 25]}
            for attempt in range(BATCH_ATTEMPTS):
                if attempt:
                    time.sleep(random.uniform(0, min(BATCH_MAX_WAIT, BATCH_BASE_WAIT * 2 ** attempt)))
                pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
            else:
                left = sum(len(items) for items in pending.values())
                raise StoreWriteError(
                    f"DynamoDB left {left} of {len(requests[start:start + 25])} write(s) to table {self.table} "
                    f"unprocessed after {BATCH_ATTEMPTS} tries (throttled): failing so the invocation is retried")

    def _expires(self, days: int) -> int:
        return int(time.time()) + days * 86400

    # ----------------------------------------------------------------------------------------- audit log

    def audit(self, *, event_id: str, distribution_id: str | None, action: str, result: str, actor: str = "",
              event_name: str = "", findings: Sequence[Mapping[str, Any]] = (), plan: Mapping[str, Any] | None = None,
              detail: str = "", plan_id: str = "", config_hash_before: str = "",
              config_hash_after: str = "", account: str = "") -> dict[str, Any]:
        """One decision or outcome: which event, who, what edgemedic found, planned, did, and how it went.
        ``account``: the member account it happened in (organization hub); absent for the hub's own.

        Append-only: the key ends in a random suffix and the put is conditional on the key being new, so two
        records never overwrite each other (the same event deciding twice in one microsecond included)."""
        at = now_iso()
        record = {
            "pk": f"AUDIT#{distribution_id or '-'}", "sk": f"{at}#{event_id}#{uuid.uuid4().hex[:12]}", "at": at,
            "event_id": event_id, "event_name": event_name, "actor": actor, "distribution": distribution_id or "",
            "action": action, "result": result, "findings": list(findings), "plan": dict(plan) if plan else None,
            "detail": detail, "plan_id": plan_id or (plan or {}).get("plan_id", ""),
            "config_hash_before": config_hash_before or (plan or {}).get("config_hash", ""),
            "config_hash_after": config_hash_after,
            TTL_ATTRIBUTE: self._expires(self.audit_ttl_days),
        }
        if account:
            record["account"] = account
        self.client.put_item(TableName=self.table,
                             Item={k: _SER.serialize(v) for k, v in _plain(record).items()},
                             ConditionExpression="attribute_not_exists(pk)")
        return record

    def audit_log(self, distribution_id: str | None) -> list[dict[str, Any]]:
        return self._query(f"AUDIT#{distribution_id or '-'}")

    # ----------------------------------------------------------------------------------------- open findings

    def open_findings(self, distribution_id: str) -> dict[str, dict[str, Any]]:
        return {item["sk"]: item for item in self._query(f"FINDINGS#{distribution_id}")}

    def write_findings(self, distribution_id: str, records: Mapping[str, Mapping[str, Any]],
                       before: Mapping[str, Any]) -> None:
        """Store the distribution's current findings (key -> record) and drop those of ``before`` now gone."""
        pk = f"FINDINGS#{distribution_id}"
        self._write_batch(
            puts=[{"pk": pk, "sk": key, "seen": now_iso(), **record} for key, record in records.items()],
            deletes=[(pk, key) for key in before if key not in records],
        )

    def replace_findings(self, distribution_id: str, records: Sequence[Mapping[str, Any]],
                         before: Mapping[str, Mapping[str, Any]] | None = None,
                         unverified: Mapping[str, str] | None = None) -> "FindingsDelta":
        """Store the distribution's current findings; returns what is new and what is gone since last time.

        A finding seen again keeps the ticket it has. ``before``: ``open_findings`` when the caller read it already.
        ``unverified``: origin id (``"*"``: every origin) -> why its evidence could not be read this time. A finding
        open before, not found now, on such an origin is kept, marked ``unverified`` with the reason: not gone.
        """
        before = self.open_findings(distribution_id) if before is None else before
        now = {finding_key(r): dict(r) for r in records}
        for key, record in before.items():
            why = unverified_reason(record, unverified or {})
            if key not in now and why:
                now[key] = {k: v for k, v in record.items() if k not in {"pk", "sk", "seen", TTL_ATTRIBUTE}}
                now[key].update(unverified=True, unverified_reason=why)
        for key, record in now.items():
            if before.get(key, {}).get("ticket") and "ticket" not in record:
                record["ticket"] = before[key]["ticket"]
        self.write_findings(distribution_id, now, before)
        return FindingsDelta(set(now) - set(before), [before[k] for k in before if k not in now], now)

    # ----------------------------------------------------------------------------------------- outbox

    def put_undelivered(self, *, distribution_id: str, error: str, message: Mapping[str, Any] | None = None,
                        plan_id: str = "", attempts: int = 1, sk: str | None = None) -> dict[str, Any]:
        """A Slack message that could not be delivered: a stored plan to post (``plan_id``) or a rendered message."""
        record = {"pk": "OUTBOX", "sk": sk or f"{now_iso()}#{uuid.uuid4().hex[:8]}", "distribution": distribution_id,
                  "plan_id": plan_id, "message": json.dumps(message) if message else "", "error": error,
                  "attempts": attempts, TTL_ATTRIBUTE: self._expires(self.outbox_ttl_days)}
        self._put(record)
        return record

    def undelivered(self) -> list[dict[str, Any]]:
        return self._query("OUTBOX")

    def delivered(self, sk: str) -> None:
        self._write_batch(deletes=[("OUTBOX", sk)])

    # ------------------------------------------------------------------------------------ API -> distribution index

    def index_ready(self) -> bool:
        return self._get("INDEX", "META") is not None

    def distributions_behind(self, keys: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for key in keys:
            found.update(item["sk"] for item in self._query(key))
        return found

    def index_distribution(self, distribution_id: str, keys: Iterable[str]) -> None:
        """Point each index key (API, custom domain) at the distribution; drop the keys it no longer has."""
        wanted = sorted(set(keys))
        previous = self._get(f"INDEXED#{distribution_id}", "KEYS")
        stale = [k for k in (previous or {}).get("keys", []) if k not in wanted]
        self._write_batch(
            puts=[{"pk": key, "sk": distribution_id} for key in wanted]
            + [{"pk": f"INDEXED#{distribution_id}", "sk": "KEYS", "keys": wanted}],
            deletes=[(key, distribution_id) for key in stale],
        )

    def forget_distribution(self, distribution_id: str) -> None:
        self.index_distribution(distribution_id, ())
        self._write_batch(deletes=[(f"INDEXED#{distribution_id}", "KEYS")]
                          + [(f"FINDINGS#{distribution_id}", key) for key in self.open_findings(distribution_id)])

    def indexed_distributions(self) -> set[str]:
        """Distributions the index knows (from the META record the sweep writes)."""
        meta = self._get("INDEX", "META")
        return set(meta.get("distributions", [])) if meta else set()

    def mark_index_refreshed(self, distribution_ids: Sequence[str]) -> None:
        self._put({"pk": "INDEX", "sk": "META", "refreshed": now_iso(), "distributions": sorted(distribution_ids)})

    # ----------------------------------------------------------------------------------------- sweep runs

    def record_sweep(self, summary: Mapping[str, Any], account: str = "") -> dict[str, Any]:
        """One sweep run; a member account's (organization hub) under its own key, ``SWEEP#<account>``."""
        at = now_iso()
        record = {"pk": f"SWEEP#{account}" if account else "SWEEP", "sk": at, "at": at, **summary,
                  TTL_ATTRIBUTE: self._expires(self.audit_ttl_days)}
        self._put(record)
        return record
