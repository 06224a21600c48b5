"""The sweep function: a scheduled full scan that catches what an event missed, refreshes the API ->
distribution index and applies the same act step as the evaluate function. It also expires pending plans (their
message says so) and posts the Slack messages earlier posts could not deliver.

Organization hub: the scheduled run sweeps the hub's own account as above, then fans out one message per member
account (SWEEP_ACCOUNTS, or the organization's ACTIVE accounts) on the sweep queue; each message is one invocation
that sweeps that account through its read role (the queue's event source bounds how many run at once, and a failed
account is retried alone, then kept in the queue's DLQ). So a sweep of 500 accounts is parallel and no invocation
holds more than one account."""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from datetime import datetime, timezone
from typing import Any

from ..act.scope import Scope
from .act import Trigger, act_on, index_keys
from .exceptions import ReadFailedError
from .reads import WHOLE, confirm_gone, describe, read_failures, skipped_distributions
from .runtime import Runtime, Telemetry
from .settings import Mode

logger = logging.getLogger(__name__)

ACCOUNT_SWEEP = "account-sweep"


def handle(raw: Any, rt: Runtime, telemetry: Telemetry) -> dict[str, Any]:
    if isinstance(raw, dict) and "Records" in raw:  # the sweep queue: member accounts, one per message
        return handle_accounts(raw["Records"], rt, telemetry)
    from .. import engine
    from ..collect import collect

    started = datetime.now(timezone.utc)
    telemetry.count("Sweeps")
    run_id = (raw or {}).get("id") if isinstance(raw, dict) else None
    trigger = Trigger(f"sweep-{run_id or started.strftime('%Y%m%dT%H%M%SZ')}", "ScheduledSweep", "edgemedic-sweep",
                      "sweep")
    # Older undelivered messages first (and not a message this run fails to post, a moment later).
    redelivered = rt.notifier.redeliver(time.time())
    if redelivered.get("failed"):
        telemetry.count("Errors", value=redelivered["failed"], kind="slack-undelivered")
    inv = collect(rt.clients, regions=rt.settings.api_regions)
    stopped = rt.emergency_stop()
    errors = engine.RuleErrors()
    actions: dict[str, list[str]] = {}
    failed: list[str] = []
    findings_total = 0
    for dist in inv.distributions:
        failures = read_failures(dist, inv)
        try:
            scope = rt.scope(dist.id, dist.arn, stopped=stopped)
        except ReadFailedError as exc:
            failures.setdefault(WHOLE, str(exc))
            scope = None
        if failures:  # what was read is told; nothing is changed; findings it could not re-check stay open
            failed.append(f"{dist.id}: {describe(failures)}")
            scope = Scope(Mode.NOTIFY, f"part of what it depends on could not be read: {describe(failures)}")
        rt.store.index_distribution(dist.id, index_keys(dist, inv))
        findings = engine.evaluate(dist, inv, errors=errors)
        findings_total += len(findings)
        outcome = act_on(dist, findings, settings=rt.settings, store=rt.store, plans=rt.plans, queue=rt.queue,
                         notifier=rt.notifier, trigger=trigger, telemetry=telemetry, inv=inv, scope=scope,
                         unverified=failures, security_hub=rt.security_hub("", rt.clients, telemetry))
        expired = expire_plans(dist.id, rt, now=time.time())
        actions[dist.id] = outcome.actions + (["plans-expired"] if expired else [])
    current = {dist.id for dist in inv.distributions}
    kept: set[str] = set()
    # Indexed before and not read now, or listed now and not read: only NoSuchDistribution forgets them.
    for missing in sorted((rt.store.indexed_distributions() | skipped_distributions(inv)) - current):
        try:
            gone = confirm_gone(rt.clients, missing)
        except ReadFailedError as exc:
            gone, reason = False, str(exc)
        else:
            reason = "" if gone else f"distribution {missing} is listed but its config could not be read"
        if gone:
            rt.store.forget_distribution(missing)
            rt.store.audit(event_id=trigger.event_id, distribution_id=missing, event_name=trigger.event_name,
                           actor=trigger.actor, action="none", result="distribution-gone",
                           detail="CloudFront answered NoSuchDistribution")
            continue
        kept.add(missing)
        failed.append(reason)
        rt.store.audit(event_id=trigger.event_id, distribution_id=missing, event_name=trigger.event_name,
                       actor=trigger.actor, action="none", result="read-failed", detail=reason)
    rt.store.mark_index_refreshed(sorted(current | kept))
    for message in errors.messages:
        telemetry.count("Errors", kind="rule")
        logger.error("rule failed", extra={"error": message})
    record = rt.store.record_sweep({
        "run": trigger.event_id, "distributions": len(current), "findings": findings_total,
        "actions": actions, "redelivered": redelivered, "warnings": [*inv.warnings, *engine.warnings(inv)][:50],
        "rule_errors": errors.messages[:50], "read_failures": failed[:50],
        "seconds": round((datetime.now(timezone.utc) - started).total_seconds(), 3),
    })
    # The members are queued whatever happened here: a read failure in the hub's account is not theirs.
    queued = fan_out(trigger.event_id, rt, telemetry) if rt.settings.organization else None
    if failed:  # the run is retried (then dead-lettered) and the sweep alarm fires: someone must look
        telemetry.count("ReadFailures", value=len(failed))
        raise ReadFailedError(f"sweep {trigger.event_id}: {len(failed)} distribution(s) could not be read in full; "
                              f"their stored findings, index entries and tickets were kept: {' | '.join(failed)}")
    answer = {"status": "swept", "run": trigger.event_id, "distributions": len(current),
              "findings": findings_total, "redelivered": redelivered, "at": record["at"]}
    if queued is not None:
        answer["accounts_queued"] = queued
    return answer


# --------------------------------------------------------------------------------------------- organization


def fan_out(run: str, rt: Runtime, telemetry: Telemetry) -> int:
    """One sweep-queue message per member account (not the hub's own, swept above). Returns how many."""
    from ..accounts import organization_accounts

    if not rt.settings.sweep_queue_url:
        logger.error("organization sweep without SWEEP_QUEUE_URL: members not swept")
        telemetry.count("Errors", kind="sweep-fan-out")
        return 0
    members = list(rt.settings.sweep_accounts) or [a.id for a in organization_accounts(rt.clients)]
    members = [m for m in dict.fromkeys(members) if m != rt.settings.hub_account]
    sqs = rt.clients.client("sqs")
    for start in range(0, len(members), 10):  # SendMessageBatch: at most 10 entries
        entries = [{"Id": str(n), "MessageBody": json.dumps({"kind": ACCOUNT_SWEEP, "account": account, "run": run})}
                   for n, account in enumerate(members[start:start + 10])]
        answer = sqs.send_message_batch(QueueUrl=rt.settings.sweep_queue_url, Entries=entries)
        for failed in answer.get("Failed", []):
            logger.error("account sweep not queued", extra={"account": members[start + int(failed["Id"])],
                                                            "error": failed.get("Code")})
            telemetry.count("Errors", kind="sweep-fan-out")
    telemetry.count("AccountSweepsQueued", value=len(members))
    return len(members)


def handle_accounts(records: Any, rt: Runtime, telemetry: Telemetry) -> dict[str, Any]:
    """SQS batch of account sweeps; a failed account is reported alone (ReportBatchItemFailures) and retried."""
    failures = []
    for record in records:
        try:
            body = json.loads(record["body"])
            sweep_account(body["account"], rt, telemetry, run=body.get("run", ""))
        except Exception:  # noqa: BLE001 - this account is retried by SQS, the others go on
            logger.exception("account sweep failed", extra={"message_id": record.get("messageId")})
            telemetry.count("Errors", kind="account-sweep")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def sweep_account(account: str, rt: Runtime, telemetry: Telemetry, *, run: str = "") -> dict[str, Any]:
    """Sweep one member account through its read role: evaluate every distribution and act as the evaluate
    function does (its auto fixes go to the apply queue with the account). A role that cannot be assumed, or a
    distribution that could not be read in full, raises: the message is retried, then kept in the sweep DLQ
    (what could be read was told, nothing was changed on the rest)."""
    from .. import engine
    from ..collect import collect

    started = datetime.now(timezone.utc)
    reader = rt.reader(account)
    trigger = Trigger(f"{run or 'sweep'}#{account}", "ScheduledSweep", "edgemedic-sweep", "sweep")
    inv = collect(reader, regions=rt.settings.api_regions)
    stopped = rt.emergency_stop()
    errors = engine.RuleErrors()
    member = account if rt.settings.is_member(account) else ""
    failed: list[str] = []
    findings_total = 0
    for dist in inv.distributions:
        failures = read_failures(dist, inv)
        try:
            scope = rt.scope(dist.id, dist.arn, stopped=stopped, clients=reader)
        except ReadFailedError as exc:
            failures.setdefault(WHOLE, str(exc))
            scope = None
        if failures:
            failed.append(f"{dist.id}: {describe(failures)}")
            scope = Scope(Mode.NOTIFY, f"part of what it depends on could not be read: {describe(failures)}")
        findings = engine.evaluate(dist, inv, errors=errors)
        if member:
            findings = [dataclasses.replace(f, account=member) for f in findings]
        findings_total += len(findings)
        act_on(dist, findings, settings=rt.settings, store=rt.store, plans=rt.plans, queue=rt.queue,
               notifier=rt.notifier, trigger=trigger, telemetry=telemetry, inv=inv, scope=scope,
               unverified=failures, account=member, security_hub=rt.security_hub(member, reader, telemetry))
        expire_plans(dist.id, rt, now=time.time())
    rt.store.record_sweep({"run": trigger.event_id, "distributions": len(inv.distributions),
                           "findings": findings_total, "warnings": list(inv.warnings)[:50],
                           "rule_errors": errors.messages[:50], "read_failures": failed[:50],
                           "seconds": round((datetime.now(timezone.utc) - started).total_seconds(), 3)},
                          account=account)
    telemetry.count("AccountsSwept")
    if failed:
        telemetry.count("ReadFailures", value=len(failed))
        raise ReadFailedError(f"account {account}: {len(failed)} distribution(s) could not be read in full; their "
                              f"stored findings and tickets were kept: {' | '.join(failed)}")
    return {"status": "swept", "account": account, "distributions": len(inv.distributions),
            "findings": findings_total}


def expire_plans(distribution_id: str, rt: Runtime, *, now: float) -> list[str]:
    """Pending plans past their expiry: marked expired (a later click changes nothing) and their message says so."""
    from ..notify.exceptions import TransitionError
    from ..notify.store import EXPIRED, PENDING

    expired = []
    for record in rt.plans.plans_of(distribution_id):
        if record.status != PENDING or not record.expired(now):
            continue
        try:
            record = rt.plans.transition(record.plan_id, expected=PENDING, to=EXPIRED, now=now)
        except TransitionError:  # decided in the meantime
            continue
        rt.notifier.show(record)
        rt.store.audit(event_id=f"expiry#{record.plan_id}", distribution_id=distribution_id,
                       event_name="ScheduledSweep", actor="edgemedic-sweep", action="decision-expire",
                       result="expired", detail="nobody decided before the plan expired", plan_id=record.plan_id,
                       config_hash_before=record.config_hash)
        expired.append(record.plan_id)
    return expired
