"""The apply function: the only code with ``cloudfront:UpdateDistribution``. It consumes the FIFO apply queue (one
message group per distribution: updates of a distribution never race each other). Three kinds of message:

- ``auto-fix`` (from evaluate/sweep): re-read, re-evaluate, apply the ``auto`` fixes with ETag / If-Match through
  ``act.apply.apply_fixes`` (412 -> re-read and re-plan; verify; roll back and alert when verification fails),
  then say "applied automatically, here is the diff" and close the tickets of findings now gone.
- ``approved-plan`` (from the approve function, deduplicated on the plan id): ``notify.approval.Applier`` applies
  it at most once; when the distribution's ETag or config hash changed since the plan, nothing is applied and a
  fresh proposal is posted; the Slack message (chat.update) and the audit log name who approved.
- ``slack`` (from the approve function): re-render a plan's message after Reject / expiry, or reply to the
  clicking user; done here so the approve function answers Slack within three seconds.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time
from typing import Any, Mapping

from ..findings import Finding, FixClass
from .act import APPROVED_PLAN, AUTO_FIX, SLACK_TASK, ApplyRequest, close_tickets
from .runtime import Runtime, Telemetry
from .settings import Mode
from .store import finding_record

logger = logging.getLogger(__name__)

ALERT_STATUSES = frozenset({"rolled-back", "failed"})


def handle_record(record: Mapping[str, Any], rt: Runtime, telemetry: Telemetry, context: Any = None) -> dict:
    """One SQS record: an auto fix (at most once per event and distribution), an approved plan (at most once per
    plan, by the plan's conditional writes) or a Slack follow-up."""
    body = json.loads(record["body"])
    kind = body.get("kind", AUTO_FIX)
    telemetry.count("ApplyMessagesReceived")
    if kind == APPROVED_PLAN:
        return apply_approved(body["plan_id"], rt, telemetry)
    if kind == SLACK_TASK:
        return slack_task(body, rt)
    if kind != AUTO_FIX:
        logger.error("apply message of unknown kind dropped", extra={"kind": kind})
        telemetry.count("Errors", kind="apply-message")
        return {"status": "unknown-kind", "kind": kind}
    request = ApplyRequest.from_body(record["body"])
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(event_key_jmespath="[event_id, distribution_id]", expires_after_seconds=24 * 3600)
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)

    @idempotent_function(data_keyword_argument="request", persistence_store=rt.idempotency("apply"), config=config)
    def once(request: dict[str, Any]) -> dict[str, Any]:
        return apply_request(ApplyRequest.from_body(record["body"]), rt, telemetry)

    return once(request=dataclasses.asdict(request))


def apply_request(request: ApplyRequest, rt: Runtime, telemetry: Telemetry) -> dict[str, Any]:
    from ..act.apply import apply_fixes
    from ..act.replan import evaluate_read
    from ..collect import PolicyResolver, collect
    from ..plan import build_plan

    from ..accounts import AccountError

    dist_id = request.distribution_id
    try:
        clients = rt.writer(request.account)
    except AccountError as exc:
        # Nothing read, nothing applied; a retry of this message would meet the same role (the DLQ keeps it).
        telemetry.count("Errors", kind="account-unreachable")
        rt.store.audit(event_id=request.event_id, distribution_id=dist_id, event_name=request.event_name,
                       actor=request.actor, action="auto-fix", result="account-unreachable", detail=str(exc),
                       account=request.account)
        return {"status": "account-unreachable", "distribution": dist_id, "account": request.account}
    inv = collect(clients, regions=rt.settings.api_regions, distribution_ids=[dist_id])
    current = next((d for d in inv.distributions if d.id == dist_id), None)
    if current is None:
        rt.store.audit(event_id=request.event_id, distribution_id=dist_id, event_name=request.event_name,
                       actor=request.actor, action="auto-fix", result="distribution-gone", account=request.account)
        return {"status": "distribution-gone", "distribution": dist_id}

    resolver = PolicyResolver(clients.cloudfront())
    targeted: dict[tuple[str, str, str, str], Finding] = {}
    latest: list[Finding] = []

    def evaluate(config: dict, etag: str) -> tuple[Any, list[Finding]]:
        dist, findings = evaluate_read(current, config, etag, inv, resolver)
        if request.account:
            findings = [dataclasses.replace(f, account=request.account) for f in findings]
        latest[:] = findings
        return dist, findings

    def plan_for(config: dict, etag: str) -> Any:
        # Re-decided on the config as it is now: a person's concurrent edit may have fixed or added something.
        dist, findings = evaluate(config, etag)
        auto = [f for f in findings if rt.settings.mode_for(f) is Mode.AUTO]
        targeted.clear()
        targeted.update({f.key: f for f in auto})
        return build_plan(dist, auto, classes=frozenset({FixClass.AUTO})) if auto else None

    def verify(config: dict, etag: str) -> list[Finding]:
        _, findings = evaluate(config, etag)
        return [f for f in findings if f.key in targeted]

    result = apply_fixes(clients.cloudfront(), dist_id, plan_for, verify=verify, dry_run=rt.settings.dry_run)
    plan = result.plan
    plan_record = ({"config_hash": plan.config_hash, "etag": plan.etag, "summary": list(plan.summary),
                    "diff": plan.diff} if plan is not None else None)
    fixed = [finding_record(f, "auto") for f in targeted.values()]
    if result.status == "applied":
        telemetry.count("FixesApplied", value=max(1, len(targeted)))
        settle(dist_id, latest, rt, why=f"fixed automatically by edgemedic: {'; '.join(plan.summary)}",
               account=request.account, clients=clients, telemetry=telemetry)
        rt.notifier.applied(plan, request.trigger)
    elif result.status in ALERT_STATUSES:
        telemetry.count("Errors", kind=f"apply-{result.status}")
        rt.notifier.alert(dist_id, result.message, {"status": result.status, "event_id": request.event_id},
                          plan=plan)
    rt.store.audit(event_id=request.event_id, distribution_id=dist_id, event_name=request.event_name,
                   actor=request.actor, action="auto-fix" + ("-dry-run" if rt.settings.dry_run else ""),
                   result=result.status, findings=fixed, plan=plan_record,
                   detail=f"{result.message} (attempts: {result.attempts}, etag: {result.etag})",
                   account=request.account)
    answer = {"status": result.status, "distribution": dist_id, "attempts": result.attempts,
              "rules": sorted({f.rule for f in targeted.values()})}
    if request.account:
        answer["account"] = request.account
    return answer


def settle(distribution_id: str, findings: list[Finding], rt: Runtime, *, why: str, account: str = "",
           clients: Any = None, telemetry: Telemetry | None = None) -> list[str]:
    """Store the findings of the config as it is now; close the tickets of those gone (and, with the Security Hub
    export, resolve them there, in ``account`` through ``clients``)."""
    delta = rt.store.replace_findings(distribution_id,
                                      [finding_record(f, rt.settings.mode_for(f).value) for f in findings])
    if telemetry is not None:
        send = rt.security_hub(account, clients or rt.clients, telemetry)
        if send is not None:
            send(findings, delta.gone)
    return close_tickets(distribution_id, delta.gone, delta.current.values(), rt.notifier, why)


# --------------------------------------------------------------------------------------------- approved plans


def apply_approved(plan_id: str, rt: Runtime, telemetry: Telemetry) -> dict[str, Any]:
    """Apply a plan a person approved in Slack (``notify.approval.Applier``): at most once, only on the config the
    plan was made on, with If-Match, verified, rolled back on failure; the message and the audit log say who."""
    from .. import engine
    from ..act.apply import apply_fixes
    from ..act.replan import evaluate_read
    from ..collect import PolicyResolver, collect
    from ..notify.approval import Applier
    from ..notify.store import APPLIED, SUPERSEDED
    from ..plan import build_plan

    record = rt.plans.get(plan_id)
    if record is None:
        logger.warning("approved plan not stored (expired long ago?)", extra={"plan_id": plan_id})
        return {"status": "unknown-plan", "plan_id": plan_id}
    from ..accounts import AccountError

    dist_id = record.distribution_id
    account = next((f.account for f in record.findings if f.account), "")
    try:
        clients = rt.writer(account)
    except AccountError as exc:
        logger.error("approved plan's account not reachable", extra={"plan_id": plan_id, "account": account})
        telemetry.count("Errors", kind="account-unreachable")
        return {"status": "account-unreachable", "plan_id": plan_id, "account": account, "reason": str(exc)}
    inv = collect(clients, regions=rt.settings.api_regions, distribution_ids=[dist_id])
    current = next((d for d in inv.distributions if d.id == dist_id), None)
    resolver = PolicyResolver(clients.cloudfront())
    targeted = {f.key for f in record.findings}
    latest: list[Finding] = []

    def verify(config: dict, etag: str) -> list[Finding]:
        if current is None:
            return []
        _, found = evaluate_read(current, config, etag, inv, resolver)
        latest[:] = [dataclasses.replace(f, account=account) for f in found] if account else found
        return [f for f in latest if f.key in targeted]  # other findings are not this plan's business

    def repropose(distribution_id: str) -> Any:
        fresh = collect(clients, regions=rt.settings.api_regions, distribution_ids=[distribution_id])
        for dist in fresh.distributions:
            if dist.id == distribution_id:
                wanted = [dataclasses.replace(f, account=account) for f in engine.evaluate(dist, fresh)
                          if rt.settings.mode_for(f) is Mode.APPROVE]
                return build_plan(dist, wanted, classes=frozenset({FixClass.AUTO, FixClass.APPROVE}))
        return None

    def audit(status: str, done: Any) -> None:
        rt.store.audit(event_id=f"approval#{done.plan_id}", distribution_id=done.distribution_id,
                       event_name="SlackApproval", actor=f"slack:{done.decided_by}", action="approved-fix",
                       result=status, findings=[finding_record(f, Mode.APPROVE.value) for f in done.findings],
                       plan={"plan_id": done.plan_id, "config_hash": done.config_hash, "etag": done.etag,
                             "summary": list(done.summary), "diff": done.diff, "approved_by": done.decided_by},
                       detail=done.outcome, account=account)

    try:
        slack = rt.slack()
    except Exception as exc:  # noqa: BLE001 - applied anyway; the message catches up on the next update
        logger.error("Slack secret unreadable; applying without message updates", extra={"error": type(exc).__name__})
        slack = None
    applier = Applier(rt.plans, slack, clients.cloudfront(), verify=verify, repropose=repropose,
                      apply=functools.partial(apply_fixes, dry_run=rt.settings.dry_run), audit=audit,
                      ttl_seconds=rt.settings.approval_ttl_seconds,
                      undelivered=getattr(rt.notifier, "undelivered_plan", None))
    try:
        done = applier.run(plan_id, now=time.time())
    except Exception as exc:  # noqa: BLE001 - marked failed and shown; a retry of this message would do nothing
        logger.exception("approved plan failed", extra={"plan_id": plan_id})
        telemetry.count("Errors", kind="approved-plan")
        return {"status": "failed", "plan_id": plan_id, "error": type(exc).__name__}
    if done is None:
        return {"status": "not-this-run", "plan_id": plan_id}
    if done.status == APPLIED:
        telemetry.count("FixesApplied", value=len(targeted) or 1)
        settle(dist_id, latest, rt, why=f"fixed by edgemedic, approved by Slack user {done.decided_by}",
               account=account, clients=clients, telemetry=telemetry)
    elif done.status == SUPERSEDED:
        telemetry.count("ApprovalsRequested")
    else:
        telemetry.count("Errors", kind=f"approved-plan-{done.status}")
    return {"status": done.status, "plan_id": plan_id, "distribution": dist_id, "approved_by": done.decided_by}


def slack_task(task: Mapping[str, Any], rt: Runtime) -> dict[str, Any]:
    """Re-render a plan's message (after Reject or expiry), or reply to the clicking user only."""
    from ..notify.exceptions import DeliveryError

    if task.get("task") == "refresh":
        record = rt.plans.get(task["plan_id"])
        if record is not None:
            rt.notifier.show(record)
        return {"status": "refreshed", "plan_id": task["plan_id"]}
    if task.get("task") == "reply":
        try:
            slack = rt.slack()
            if slack is not None:
                slack.ephemeral(task["response_url"], task["text"])
        except DeliveryError as exc:  # a courtesy note: the plan's message shows the state anyway
            logger.warning("reply to the clicking user failed", extra={"error": str(exc)})
        return {"status": "replied"}
    logger.error("unknown Slack task dropped", extra={"task": task.get("task")})
    return {"status": "unknown-task"}
