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
import re
import time
from typing import Any, Mapping

from ..findings import Finding, FixClass
from .act import APPROVED_PLAN, AUTO_FIX, SLACK_TASK, ApplyRequest, close_tickets
from .exceptions import ReadFailedError
from .reads import confirm_gone, describe, read_failures
from .runtime import Runtime, Telemetry
from .settings import Mode
from .store import finding_record

logger = logging.getLogger(__name__)

ALERT_STATUSES = frozenset({"rolled-back", "failed"})
_OUTCOMES = frozenset({"applied", "failed", "rolled-back", "superseded"})  # how an approved plan's run ends


def handle_record(record: Mapping[str, Any], rt: Runtime, telemetry: Telemetry, context: Any = None) -> dict:
    """One SQS record: an auto fix (at most once per event and distribution), an approved plan (at most once per
    plan, by the plan's conditional writes) or a Slack follow-up."""
    telemetry.count("ApplyMessagesReceived")
    try:
        body, request = _message(record)
    except MalformedMessageError as exc:  # a retry would not make it readable: dropped, logged, counted
        logger.error("apply message dropped: %s", exc)
        telemetry.count("Errors", kind="apply-message")
        return {"status": "malformed", "reason": str(exc)}
    kind = body.get("kind", AUTO_FIX)
    if kind == APPROVED_PLAN:
        return apply_approved(body["plan_id"], rt, telemetry)
    if kind == SLACK_TASK:
        return slack_task(body, rt)
    assert request is not None
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(event_key_jmespath="[event_id, distribution_id]", expires_after_seconds=24 * 3600)
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)

    @idempotent_function(data_keyword_argument="request", persistence_store=rt.idempotency("apply"), config=config)
    def once(request: dict[str, Any]) -> dict[str, Any]:
        return apply_request(ApplyRequest.from_body(record["body"]), rt, telemetry)

    return once(request=dataclasses.asdict(request))


def _current(dist_id: str, rt: Runtime, clients: Any = None) -> tuple[Any, Any]:
    """(inventory, the distribution as read now); (inv, None) only when CloudFront says it is gone. A read that
    failed raises ReadFailedError: the message stays on the queue and is retried, then dead-lettered. ``clients``:
    the member account's (organization hub), else the function's own."""
    from ..collect import collect

    clients = clients or rt.clients
    inv = collect(clients, regions=rt.settings.api_regions, distribution_ids=[dist_id])
    current = next((d for d in inv.distributions if d.id == dist_id), None)
    if current is None:
        if not confirm_gone(clients, dist_id):
            raise ReadFailedError(f"distribution {dist_id} could not be read a moment ago: retrying")
        return inv, None
    failures = read_failures(current, inv)
    if failures:
        raise ReadFailedError(f"distribution {dist_id}: {describe(failures)}: nothing applied, retrying")
    return inv, current


_DISTRIBUTION_ID = re.compile(r"^[A-Z0-9]{1,64}$")
_PLAN_ID = re.compile(r"^[A-Za-z0-9]{1,64}-[A-Za-z0-9-]{1,100}$")
_ACCOUNT = re.compile(r"^([0-9]{12})?$")


class MalformedMessageError(ValueError):
    """An apply queue message edgemedic did not write (or no longer understands)."""


def _message(record: Mapping[str, Any]) -> tuple[dict[str, Any], ApplyRequest | None]:
    """The message's body and, for an auto fix, its request; MalformedMessageError for anything else."""
    try:
        body = json.loads(record.get("body") or "")
    except (TypeError, ValueError):
        raise MalformedMessageError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedMessageError("the body is not a JSON object")
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedMessageError("the body holds text that is not valid Unicode") from None
    kind = body.get("kind", AUTO_FIX)
    if kind == APPROVED_PLAN:
        if not (isinstance(body.get("plan_id"), str) and _PLAN_ID.match(body["plan_id"])):
            raise MalformedMessageError("an approved-plan message without a plan id edgemedic makes")
        return body, None
    if kind == SLACK_TASK:
        if not all(isinstance(body.get(k, ""), str) for k in ("task", "plan_id", "response_url", "text", "user",
                                                              "outcome")):
            raise MalformedMessageError("a Slack task with fields of the wrong type")
        if (body.get("plan_id") or body.get("task") == "refresh") and not _PLAN_ID.match(body.get("plan_id", "")):
            raise MalformedMessageError("a Slack task without a plan id edgemedic makes")
        if len(body.get("user", "")) > 64 or len(body.get("outcome", "")) > 64:
            raise MalformedMessageError("a Slack task with fields too long for the audit log")
        return body, None
    if kind != AUTO_FIX:
        raise MalformedMessageError(f"unknown kind {str(kind)[:40]!r}")
    fields = ("distribution_id", "event_id", "event_name", "actor", "event_time", "session")
    if not all(isinstance(body.get(k, ""), str) and len(body.get(k, "")) <= 1024 for k in fields):
        raise MalformedMessageError("an auto-fix request with fields of the wrong type or size")
    if not _DISTRIBUTION_ID.match(body.get("distribution_id", "")) or not body.get("event_id"):
        raise MalformedMessageError("an auto-fix request without a distribution id and an event id")
    if not (isinstance(body.get("account", ""), str) and _ACCOUNT.match(body.get("account", ""))):
        raise MalformedMessageError("an auto-fix request whose account is not an AWS account id")
    rules = body.get("rules", [])
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise MalformedMessageError("an auto-fix request whose rules are not a list of strings")
    return body, ApplyRequest.from_body(record["body"])


def apply_request(request: ApplyRequest, rt: Runtime, telemetry: Telemetry) -> dict[str, Any]:
    from ..act.apply import apply_fixes
    from ..act.replan import evaluate_read
    from ..collect import PolicyResolver
    from ..plan import build_plan

    from ..accounts import AccountError

    dist_id = request.distribution_id

    def audit(result: str, detail: str = "", **fields: Any) -> None:
        rt.store.audit(event_id=request.event_id, distribution_id=dist_id, event_name=request.event_name,
                       actor=request.actor, action="auto-fix" + ("-dry-run" if rt.settings.dry_run else ""),
                       result=result, detail=detail, account=request.account, **fields)

    try:
        clients = rt.writer(request.account)  # a member's distribution: through its apply role
    except AccountError as exc:
        audit("account-unreachable", str(exc))
        telemetry.count("Errors", kind="account-unreachable")
        raise ReadFailedError(f"{exc}: nothing read, nothing applied; retrying") from exc
    try:
        inv, current = _current(dist_id, rt, clients)
        scope = rt.scope(dist_id, current.arn, clients=clients) if current is not None else None
    except ReadFailedError as exc:
        audit("read-failed", str(exc))
        telemetry.count("ReadFailures")
        raise
    if current is None:
        audit("distribution-gone", "CloudFront answered NoSuchDistribution")
        return {"status": "distribution-gone", "distribution": dist_id}
    if not scope.allows(Mode.AUTO):
        audit("capped", f"not applied: {scope.reason}")
        return {"status": "capped", "distribution": dist_id, "reason": scope.reason}

    resolver = PolicyResolver(clients.cloudfront())
    targeted: dict[tuple[str, str, str, str], Finding] = {}
    latest: list[Finding] = []
    built: list[Any] = []  # the last plan made, for the audit record of a failure
    unread: dict[str, str] = {}  # what the last evaluation could not read (a policy, say): origin id -> why

    def evaluate(config: dict, etag: str) -> tuple[Any, list[Finding]]:
        dist, findings = evaluate_read(current, config, etag, inv, resolver)
        if request.account:
            findings = [dataclasses.replace(f, account=request.account) for f in findings]
        latest[:] = findings
        unread.clear()
        unread.update(read_failures(dist, inv))
        return dist, findings

    def plan_for(config: dict, etag: str) -> Any:
        # Re-decided on the config as it is now: a person's concurrent edit may have fixed or added something.
        dist, findings = evaluate(config, etag)
        if unread:  # never planned on half a read: nothing is sent, the message is retried
            raise ReadFailedError(f"distribution {dist_id}: {describe(unread)}: nothing applied, retrying")
        auto = [f for f in findings if rt.settings.mode_for(f, scope.cap) is Mode.AUTO]
        targeted.clear()
        targeted.update({f.key: f for f in auto})
        built[:] = [build_plan(dist, auto, classes=frozenset({FixClass.AUTO}))] if auto else []
        return built[0] if built else None

    def verify(config: dict, etag: str) -> list[Finding]:
        _, findings = evaluate(config, etag)
        return [f for f in findings if f.key in targeted]

    try:
        result = apply_fixes(clients.cloudfront(), dist_id, plan_for, verify=verify, dry_run=rt.settings.dry_run)
    except ReadFailedError as exc:
        audit("read-failed", str(exc))
        telemetry.count("ReadFailures")
        raise
    except Exception as exc:
        # Throttling, AccessDenied, a persistent concurrent editor, an invalid plan: audited, told, and the message
        # stays on the queue (retried, then the apply DLQ with this reason).
        message = f"{type(exc).__name__}: {exc}"
        audit("failed", message, findings=[finding_record(f, "auto") for f in targeted.values()],
              plan_id="", config_hash_before=built[0].config_hash if built and built[0] else "")
        telemetry.count("Errors", kind="apply-failed")
        rt.notifier.alert(dist_id, f"auto fix not applied: {message}",
                          {"status": "failed", "event_id": request.event_id})
        raise
    plan = result.plan
    plan_record = ({"config_hash": plan.config_hash, "etag": plan.etag, "summary": list(plan.summary),
                    "diff": plan.diff} if plan is not None else None)
    fixed = [finding_record(f, "auto") for f in targeted.values()]
    # Audited before anything else can fail: CloudFront has the change now, and a retry of this message finds
    # nothing to do, so a record written after the findings or the message would be lost with them.
    partly = f"; verified only in part: {describe(unread)}" if unread else ""
    audit(result.status, f"{result.message} (attempts: {result.attempts}, etag: {result.etag}){partly}",
          findings=fixed, plan=plan_record,
          config_hash_before=plan.config_hash if plan is not None else result.config_hash_after,
          config_hash_after=result.config_hash_after)
    if result.status == "applied":
        telemetry.count("FixesApplied", value=max(1, len(targeted)))
        settle(dist_id, latest, rt, why=f"fixed automatically by edgemedic: {'; '.join(plan.summary)}",
               unverified=unread, account=request.account, clients=clients, telemetry=telemetry)
        rt.notifier.applied(plan, request.trigger)
    elif result.status in ALERT_STATUSES:
        telemetry.count("Errors", kind=f"apply-{result.status}")
        rt.notifier.alert(dist_id, result.message, {"status": result.status, "event_id": request.event_id},
                          plan=plan)
    answer = {"status": result.status, "distribution": dist_id, "attempts": result.attempts,
              "rules": sorted({f.rule for f in targeted.values()})}
    if request.account:
        answer["account"] = request.account
    return answer


def settle(distribution_id: str, findings: list[Finding], rt: Runtime, *, why: str,
           unverified: Mapping[str, str] | None = None, account: str = "", clients: Any = None,
           telemetry: Telemetry | None = None) -> list[str]:
    """Store the findings of the config as it is now; close the tickets of those gone. ``unverified`` (origin id
    -> why): what the verification could not read; findings there are kept, marked unverified, never closed. With
    the Security Hub export, the findings are also imported (and the gone ones resolved) in ``account`` through
    ``clients``."""
    delta = rt.store.replace_findings(distribution_id,
                                      [finding_record(f, rt.settings.mode_for(f).value) for f in findings],
                                      unverified=unverified)
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
    from ..notify.store import APPLIED, APPROVED, SUPERSEDED
    from ..plan import build_plan

    record = rt.plans.get(plan_id)
    if record is None:
        logger.warning("approved plan not stored (expired long ago?)", extra={"plan_id": plan_id})
        return {"status": "unknown-plan", "plan_id": plan_id}
    from ..accounts import AccountError

    dist_id = record.distribution_id
    if record.status in _OUTCOMES and not record.audited_at:  # a run that ended without its record: write it now
        _audit_outcome(rt, record.status, record)
        return {"status": "audited", "plan_id": plan_id, "distribution": dist_id}
    account = next((f.account for f in record.findings if f.account), "")  # a member's plan (organization hub)
    try:
        try:
            clients = rt.writer(account)
        except AccountError as exc:
            raise ReadFailedError(f"{exc}: nothing read, nothing applied; retrying") from exc
        inv, current = _current(dist_id, rt, clients)  # read failures raise: the plan stays approved, retried
        scope = rt.scope(dist_id, current.arn, clients=clients) if current is not None else None  # gone: says so
    except ReadFailedError as exc:
        rt.store.audit(event_id=f"approval#{plan_id}", distribution_id=dist_id, event_name="SlackApproval",
                       actor=f"slack:{record.decided_by}", action="approved-fix", result="read-failed",
                       detail=str(exc), plan_id=plan_id, config_hash_before=record.config_hash, account=account)
        raise
    if record.status == APPROVED:  # the decision itself, once the apply function holds it
        audit_decision(rt, plan_id=plan_id, user=record.decided_by, outcome="approved", distribution_id=dist_id,
                       config_hash=record.config_hash, decided_at=record.decided_at)
    if scope is not None and not scope.allows(Mode.APPROVE):
        return _refuse_approved(record, scope.reason, rt)
    cap = scope.cap if scope is not None else Mode.APPROVE
    resolver = PolicyResolver(clients.cloudfront())
    targeted = {f.key for f in record.findings}
    latest: list[Finding] = []
    unread: dict[str, str] = {}

    def mine(findings: Any) -> list[Finding]:
        """Findings with the plan's account (a member's), so stored records and re-proposals keep it."""
        return [dataclasses.replace(f, account=account) for f in findings] if account else list(findings)

    def verify(config: dict, etag: str) -> list[Finding]:
        if current is None:
            return []
        dist, found = evaluate_read(current, config, etag, inv, resolver)
        latest[:] = mine(found)
        unread.clear()
        unread.update(read_failures(dist, inv))  # findings there are kept unverified by settle, not closed
        return [f for f in latest if f.key in targeted]  # other findings are not this plan's business

    def repropose(distribution_id: str) -> Any:
        fresh = collect(clients, regions=rt.settings.api_regions, distribution_ids=[distribution_id])
        for dist in fresh.distributions:
            if dist.id == distribution_id:
                wanted = [f for f in mine(engine.evaluate(dist, fresh))
                          if rt.settings.mode_for(f, cap) is Mode.APPROVE]
                return build_plan(dist, wanted, classes=frozenset({FixClass.AUTO, FixClass.APPROVE}))
        return None

    def audit(status: str, done: Any) -> None:
        _audit_outcome(rt, status, done, clients)

    try:
        slack = rt.slack()
    except Exception as exc:  # noqa: BLE001 - applied anyway; the message catches up on the next update
        logger.error("Slack secret unreadable; applying without message updates", extra={"error": type(exc).__name__})
        slack = None
    applier = Applier(rt.plans, slack, clients.cloudfront(), verify=verify, repropose=repropose,
                      apply=functools.partial(apply_fixes, dry_run=rt.settings.dry_run), audit=audit,
                      ttl_seconds=rt.settings.approval_ttl_seconds,
                      undelivered=getattr(rt.notifier, "undelivered_plan", None))
    from ..notify.exceptions import PlanInFlightError

    try:
        done = applier.run(plan_id, now=time.time())
    except PlanInFlightError:
        raise  # another run may still be applying it: this message is retried later, never dropped
    except Exception as exc:  # noqa: BLE001 - marked failed and shown; a retry of this message would do nothing
        logger.exception("approved plan failed", extra={"plan_id": plan_id})
        telemetry.count("Errors", kind="approved-plan")
        after = rt.plans.get(plan_id)
        if after is not None and after.status in _OUTCOMES and not after.audited_at:
            raise  # its outcome is not on record: the retry of this message writes it
        return {"status": "failed", "plan_id": plan_id, "error": type(exc).__name__}
    if done is None:
        return {"status": "not-this-run", "plan_id": plan_id}
    if done.status == APPLIED:
        telemetry.count("FixesApplied", value=len(targeted) or 1)
        settle(dist_id, latest, rt, why=f"fixed by edgemedic, approved by Slack user {done.decided_by}",
               unverified=unread, account=account, clients=clients, telemetry=telemetry)
    elif done.status == SUPERSEDED:
        telemetry.count("ApprovalsRequested")
    else:
        telemetry.count("Errors", kind=f"approved-plan-{done.status}")
    return {"status": done.status, "plan_id": plan_id, "distribution": dist_id, "approved_by": done.decided_by}


def _refuse_approved(record: Any, reason: str, rt: Runtime) -> dict[str, Any]:
    """An approved plan the distribution's scope does not allow (now): marked failed with the reason, shown."""
    from ..notify.exceptions import TransitionError
    from ..notify.store import APPROVED, FAILED

    now = time.time()
    try:
        done = rt.plans.transition(record.plan_id, expected=APPROVED, to=FAILED, now=now,
                                   outcome=f"not applied: {reason}")
    except TransitionError:
        return {"status": "not-this-run", "plan_id": record.plan_id}
    rt.notifier.show(done)
    rt.store.audit(event_id=f"approval#{record.plan_id}", distribution_id=record.distribution_id,
                   event_name="SlackApproval", actor=f"slack:{record.decided_by}", action="approved-fix",
                   result="capped", detail=f"not applied: {reason}", plan_id=record.plan_id,
                   config_hash_before=record.config_hash)
    _mark_audited(rt, done)
    return {"status": "capped", "plan_id": record.plan_id, "reason": reason}


def _audit_outcome(rt: Runtime, status: str, done: Any, clients: Any = None) -> None:
    """The append-only record of an approved plan's outcome, then the plan marked as audited: a failure between
    the two leaves the plan unmarked, and the retried message writes the record (``apply_approved``). A member's
    plan (its findings carry the account) is read through ``clients``, the member's."""
    from ..plan import config_hash

    account = next((f.account for f in done.findings if f.account), "")
    try:  # the config as it stands now, for the record (a failed read leaves it empty: the status says why)
        after = config_hash((clients or rt.writer(account)).cloudfront().get_distribution_config(
            Id=done.distribution_id)["DistributionConfig"])
    except Exception:  # noqa: BLE001
        after = ""
    rt.store.audit(event_id=f"approval#{done.plan_id}", distribution_id=done.distribution_id,
                   event_name="SlackApproval", actor=f"slack:{done.decided_by}", action="approved-fix",
                   result=status, findings=[finding_record(f, Mode.APPROVE.value) for f in done.findings],
                   plan={"plan_id": done.plan_id, "config_hash": done.config_hash, "etag": done.etag,
                         "summary": list(done.summary), "diff": done.diff, "approved_by": done.decided_by},
                   detail=done.outcome, config_hash_after=after, account=account)
    _mark_audited(rt, done)


def _mark_audited(rt: Runtime, done: Any) -> None:
    from ..notify.exceptions import TransitionError

    now = time.time()
    try:
        rt.plans.transition(done.plan_id, expected=done.status, to=done.status, now=now, audited_at=int(now))
    except TransitionError:  # moved on (a fresh proposal has its own id): nothing to mark
        pass


def _iso(epoch: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def audit_decision(rt: Runtime, *, plan_id: str, user: str, outcome: str, distribution_id: str = "",
                   config_hash: str = "", detail: str = "", decided_at: int = 0) -> None:
    """The append-only audit record of a Slack decision (approve, reject, expiry, a refused click). Written here:
    the approve function may not write audit records (its role reaches PLAN# keys only)."""
    rt.store.audit(event_id=f"decision#{plan_id}", distribution_id=distribution_id or None,
                   event_name="SlackDecision", actor=f"slack:{user}" if user else "edgemedic",
                   action="decision", result=outcome, plan_id=plan_id,
                   detail=(f"decided at {_iso(decided_at)}; " if decided_at else "") + detail[:1000],
                   config_hash_before=config_hash)


def slack_task(task: Mapping[str, Any], rt: Runtime) -> dict[str, Any]:
    """Re-render a plan's message (after Reject or expiry), or reply to the clicking user only."""
    from ..notify.exceptions import DeliveryError

    if task.get("task") == "refresh":  # after Reject or a click on an expired plan: the plan says who and what
        record = rt.plans.get(task["plan_id"])
        if record is not None:
            audit_decision(rt, plan_id=record.plan_id, user=record.decided_by, outcome=record.status,
                           distribution_id=record.distribution_id, config_hash=record.config_hash,
                           decided_at=record.decided_at)
            rt.notifier.show(record)
        return {"status": "refreshed", "plan_id": task["plan_id"]}
    if task.get("task") in ("reply", "decision") and task.get("outcome"):  # a click refused or already decided
        record = rt.plans.get(task.get("plan_id", "")) if task.get("plan_id") else None
        audit_decision(rt, plan_id=task.get("plan_id", ""), user=task.get("user", ""), outcome=task["outcome"],
                       distribution_id=record.distribution_id if record else "",
                       config_hash=record.config_hash if record else "", detail=task.get("text", ""))
    if task.get("task") == "decision":
        return {"status": "audited"}
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
