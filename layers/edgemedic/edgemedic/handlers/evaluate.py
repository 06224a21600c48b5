"""The evaluate function: one CloudTrail change -> the distributions it touches -> findings -> act.

The event only says what changed and who changed it: the configuration evaluated is always read from the API
(the event's copy may be stale, and CloudTrail redacts fields such as the comment and custom header values).
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Iterable

from ..model import Distribution, Inventory
from .act import Trigger, act_on, index_keys
from .events import CloudTrailDetail, Targets, drop_reason, is_own_change, parse_change, targets_of
from .exceptions import MalformedEventError, ReadFailedError, SettingsError
from .reads import confirm_gone, describe, read_failures, skipped_distributions
from .runtime import Runtime, Telemetry
from .store import api_index_key, domain_index_key

logger = logging.getLogger(__name__)


def handle(raw: Any, rt: Runtime, telemetry: Telemetry, context: Any = None) -> dict[str, Any]:
    """Entry point behind ``functions/evaluate/app.py``. A bad event is dropped with a logged reason (a retry would
    not help); a failed read raises ReadFailedError after recording it, so the event is retried, then dead-lettered.
    """
    # Counted for every delivery (duplicates answered by idempotency included), so events received can be compared
    # with events acted on, and an invocation always has a metric to publish.
    telemetry.count("EventsReceived")
    if not rt.settings.own_role_arns:
        telemetry.count("Errors", kind="settings")
        raise SettingsError("OWN_ROLE_ARNS is empty: without its own role edgemedic cannot tell its fixes from a "
                            "person's changes (the loop guard), so it refuses to act. Set it to the apply "
                            "function's role ARN (template.yaml does).")
    try:
        change = parse_change(raw)
        detail = change.detail
        account = str(change.get("account") or "")
        # Organization hub: a member's event is checked against its own account (envelope and recipient agree).
        watched = frozenset({account}) if rt.settings.is_member(account) else rt.settings.own_accounts
        dropped = drop_reason(detail, account, watched)
        targets = None if dropped else targets_of(detail)
    except MalformedEventError as exc:
        logger.warning("event rejected: %s", exc)
        telemetry.count("MalformedEvents")
        return {"status": "rejected", "reason": str(exc)}
    if is_own_change(detail, (*rt.settings.own_role_arns, *_member_apply_role(account, rt))):
        logger.info("own change ignored (loop guard)", extra={"event_id": detail.eventID, "actor": detail.actor})
        telemetry.count("OwnChangesIgnored")
        return {"status": "ignored", "reason": "made by edgemedic's own role", "event_id": detail.eventID}
    if dropped:
        logger.info("event dropped: %s", dropped, extra={"event_id": detail.eventID})
        telemetry.count("EventsDropped")
        return {"status": "ignored", "reason": dropped, "event_id": detail.eventID}

    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(event_key_jmespath="event_id", expires_after_seconds=24 * 3600)
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)

    @idempotent_function(data_keyword_argument="change", persistence_store=rt.idempotency("evaluate"),
                         config=config)
    def once(change: dict[str, Any]) -> dict[str, Any]:
        return evaluate_change(detail, rt, telemetry, targets, account=account)

    return once(change={"event_id": detail.eventID, "event_name": detail.eventName})


def _member_apply_role(account: str, rt: Runtime) -> tuple[str, ...]:
    """A member's apply role: the hub's fixes there are made through it (the member's rule drops them already)."""
    if not rt.settings.is_member(account):
        return ()
    from ..accounts import role_arn

    return (role_arn(rt.settings.partition, account, rt.settings.member_apply_role),)


def evaluate_change(detail: CloudTrailDetail, rt: Runtime, telemetry: Telemetry,
                    targets: Targets | None = None, account: str = "") -> dict[str, Any]:
    """``account``: the event's (EventBridge ``account``). A member account's event (organization hub) is read
    through the member's read role; its findings, audit records and apply requests carry the account."""
    from ..accounts import AccountError

    trigger = Trigger(detail.eventID, detail.operation, detail.actor, "event", detail.eventTime or "",
                      detail.session_arn)
    member = account if rt.settings.is_member(account) else ""
    try:
        reader = rt.reader(member)
    except AccountError as exc:
        # Never act on what could not be read: recorded, counted, and the event retried then dead-lettered.
        telemetry.count("Errors", kind="account-unreachable")
        rt.store.audit(event_id=detail.eventID, distribution_id=None, event_name=detail.operation,
                       actor=detail.actor, action="none", result="account-unreachable", detail=str(exc),
                       account=member)
        raise ReadFailedError(f"event {detail.eventID}: {exc}; nothing read, nothing changed; retrying") from exc
    targets = targets_of(detail) if targets is None else targets
    if targets.empty:
        rt.store.audit(event_id=detail.eventID, distribution_id=None, event_name=detail.operation,
                       actor=detail.actor, action="none", result="no-target", detail=targets.reason,
                       account=member)
        return {"status": "no-target", "event_id": detail.eventID, "reason": targets.reason}

    regions = tuple(dict.fromkeys((*rt.settings.api_regions, *(r for r, _ in targets.apis))))
    dist_ids, inv = _distributions_for(targets, rt, regions, reader, use_index=not member)
    if not dist_ids:
        rt.store.audit(event_id=detail.eventID, distribution_id=None, event_name=detail.operation,
                       actor=detail.actor, action="none", result="no-distribution",
                       detail="no distribution reaches what changed", account=member)
        return {"status": "no-distribution", "event_id": detail.eventID}

    from .. import engine
    from ..collect import collect

    if inv is None:
        inv = collect(reader, regions=regions, distribution_ids=sorted(dist_ids))
    stopped = rt.emergency_stop()
    outcomes = []
    failed: list[str] = []
    seen = set()
    for dist in inv.distributions:
        if dist.id not in dist_ids:
            continue
        seen.add(dist.id)
        failures = read_failures(dist, inv)
        try:
            scope = None if failures else rt.scope(dist.id, dist.arn, stopped=stopped, clients=reader)
        except ReadFailedError as exc:
            failures = {"*": str(exc)}
        if failures:  # never act on what could not be read: everything stays as it was, the event is retried
            why = describe(failures)
            rt.store.audit(event_id=detail.eventID, distribution_id=dist.id, event_name=detail.operation,
                           actor=detail.actor, action="none", result="read-failed", detail=why, account=member)
            failed.append(f"{dist.id}: {why}")
            continue
        if not member:  # the API -> distribution index covers the hub's own account (the sweep builds it)
            rt.store.index_distribution(dist.id, index_keys(dist, inv))
        findings = engine.evaluate(dist, inv, errors=engine.RuleErrors())
        if member:
            findings = [dataclasses.replace(f, account=member) for f in findings]
        outcome = act_on(dist, findings, settings=rt.settings, store=rt.store, plans=rt.plans,
                         queue=rt.queue, notifier=rt.notifier, trigger=trigger,
                         telemetry=telemetry, inv=inv, scope=scope, account=member,
                         security_hub=rt.security_hub(member, reader, telemetry)).as_dict()
        unchecked = engine.distribution_warnings(dist, inv)  # what the rules could not check, as the CLI says
        if unchecked:
            outcome["warnings"] = unchecked
            for warning in unchecked:
                logger.warning("not checked: %s", warning, extra={"event_id": detail.eventID})
        outcomes.append(outcome)
    for missing in sorted(dist_ids - seen):
        try:
            gone = confirm_gone(reader, missing)
        except ReadFailedError as exc:
            rt.store.audit(event_id=detail.eventID, distribution_id=missing, event_name=detail.operation,
                           actor=detail.actor, action="none", result="read-failed", detail=str(exc),
                           account=member)
            failed.append(str(exc))
            continue
        if not gone:  # there after all (a read that failed a moment ago): evaluate it on the retry
            failed.append(f"distribution {missing} was not in the first read")
            continue
        if not member:
            rt.store.forget_distribution(missing)
        rt.store.audit(event_id=detail.eventID, distribution_id=missing, event_name=detail.operation,
                       actor=detail.actor, action="none", result="distribution-gone",
                       detail="CloudFront answered NoSuchDistribution", account=member)
    if failed:
        telemetry.count("ReadFailures", value=len(failed))
        raise ReadFailedError(f"event {detail.eventID}: could not read what it touches, nothing changed for "
                              f"those; retrying: {' | '.join(failed)}")
    answer: dict[str, Any] = {"status": "evaluated", "event_id": detail.eventID, "distributions": outcomes}
    if member:
        answer["account"] = member
    return answer


def _distributions_for(targets: Targets, rt: Runtime, regions: tuple[str, ...], reader: Any = None,
                       use_index: bool = True) -> tuple[set[str], Inventory | None]:
    """Distribution ids to evaluate, and the inventory when a full read was needed to find them. A member
    account's API change reads that account's distributions (the index covers the hub's own account)."""
    reader = reader or rt.clients
    ids = set(targets.distribution_ids)
    keys = [api_index_key(region, api_id) for region, api_id in targets.apis]
    keys += [domain_index_key(name) for name in targets.domains]
    if keys and use_index and rt.store.index_ready():
        ids |= rt.store.distributions_behind(keys)
        keys = []
    if not keys and not targets.policies:
        return ids, None
    # The index is empty (the sweep has not run yet) or a policy changed: read every distribution once.
    from ..collect import collect

    inv = collect(reader, regions=regions)
    ids |= skipped_distributions(inv)  # may be behind what changed: evaluate_change retries unless it is gone
    for dist in inv.distributions:
        if (keys and index_keys(dist, inv) & set(keys)) or uses_policy(dist, targets.policies):
            ids.add(dist.id)
    return ids, inv


def uses_policy(dist: Distribution, policy_ids: Iterable[str]) -> bool:
    wanted = set(policy_ids)
    return any({b.cache_policy_id, b.origin_request_policy_id, b.response_headers_policy_id} & wanted
               for b in dist.behaviors)
