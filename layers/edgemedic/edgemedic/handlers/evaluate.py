"""The evaluate function: one CloudTrail change -> the distributions it touches -> findings -> act.

The event only says what changed and who changed it: the configuration evaluated is always read from the API
(the event's copy may be stale, and CloudTrail redacts fields such as the comment and custom header values).
"""
from __future__ import annotations

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
        dropped = drop_reason(detail, change.get("account"), rt.settings.own_accounts)
        targets = None if dropped else targets_of(detail)
    except MalformedEventError as exc:
        logger.warning("event rejected: %s", exc)
        telemetry.count("MalformedEvents")
        return {"status": "rejected", "reason": str(exc)}
    if is_own_change(detail, rt.settings.own_role_arns):
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
        return evaluate_change(detail, rt, telemetry, targets)

    return once(change={"event_id": detail.eventID, "event_name": detail.eventName})


def evaluate_change(detail: CloudTrailDetail, rt: Runtime, telemetry: Telemetry,
                    targets: Targets | None = None) -> dict[str, Any]:
    trigger = Trigger(detail.eventID, detail.operation, detail.actor, "event", detail.eventTime or "",
                      detail.session_arn)
    targets = targets_of(detail) if targets is None else targets
    if targets.empty:
        rt.store.audit(event_id=detail.eventID, distribution_id=None, event_name=detail.operation,
                       actor=detail.actor, action="none", result="no-target", detail=targets.reason)
        return {"status": "no-target", "event_id": detail.eventID, "reason": targets.reason}

    regions = tuple(dict.fromkeys((*rt.settings.api_regions, *(r for r, _ in targets.apis))))
    dist_ids, inv = _distributions_for(targets, rt, regions)
    if not dist_ids:
        rt.store.audit(event_id=detail.eventID, distribution_id=None, event_name=detail.operation,
                       actor=detail.actor, action="none", result="no-distribution",
                       detail="no distribution reaches what changed")
        return {"status": "no-distribution", "event_id": detail.eventID}

    from .. import engine
    from ..collect import collect

    if inv is None:
        inv = collect(rt.clients, regions=regions, distribution_ids=sorted(dist_ids))
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
            scope = None if failures else rt.scope(dist.id, dist.arn, stopped=stopped)
        except ReadFailedError as exc:
            failures = {"*": str(exc)}
        if failures:  # never act on what could not be read: everything stays as it was, the event is retried
            why = describe(failures)
            rt.store.audit(event_id=detail.eventID, distribution_id=dist.id, event_name=detail.operation,
                           actor=detail.actor, action="none", result="read-failed", detail=why)
            failed.append(f"{dist.id}: {why}")
            continue
        rt.store.index_distribution(dist.id, index_keys(dist, inv))
        findings = engine.evaluate(dist, inv, errors=engine.RuleErrors())
        outcome = act_on(dist, findings, settings=rt.settings, store=rt.store, plans=rt.plans,
                         queue=rt.queue, notifier=rt.notifier, trigger=trigger,
                         telemetry=telemetry, inv=inv, scope=scope).as_dict()
        unchecked = engine.distribution_warnings(dist, inv)  # what the rules could not check, as the CLI says
        if unchecked:
            outcome["warnings"] = unchecked
            for warning in unchecked:
                logger.warning("not checked: %s", warning, extra={"event_id": detail.eventID})
        outcomes.append(outcome)
    for missing in sorted(dist_ids - seen):
        try:
            gone = confirm_gone(rt.clients, missing)
        except ReadFailedError as exc:
            rt.store.audit(event_id=detail.eventID, distribution_id=missing, event_name=detail.operation,
                           actor=detail.actor, action="none", result="read-failed", detail=str(exc))
            failed.append(str(exc))
            continue
        if not gone:  # there after all (a read that failed a moment ago): evaluate it on the retry
            failed.append(f"distribution {missing} was not in the first read")
            continue
        rt.store.forget_distribution(missing)
        rt.store.audit(event_id=detail.eventID, distribution_id=missing, event_name=detail.operation,
                       actor=detail.actor, action="none", result="distribution-gone",
                       detail="CloudFront answered NoSuchDistribution")
    if failed:
        telemetry.count("ReadFailures", value=len(failed))
        raise ReadFailedError(f"event {detail.eventID}: could not read what it touches, nothing changed for "
                              f"those; retrying: {' | '.join(failed)}")
    return {"status": "evaluated", "event_id": detail.eventID, "distributions": outcomes}


def _distributions_for(targets: Targets, rt: Runtime,
                       regions: tuple[str, ...]) -> tuple[set[str], Inventory | None]:
    """Distribution ids to evaluate, and the inventory when a full read was needed to find them."""
    ids = set(targets.distribution_ids)
    keys = [api_index_key(region, api_id) for region, api_id in targets.apis]
    keys += [domain_index_key(name) for name in targets.domains]
    if keys and rt.store.index_ready():
        ids |= rt.store.distributions_behind(keys)
        keys = []
    if not keys and not targets.policies:
        return ids, None
    # The index is empty (the sweep has not run yet) or a policy changed: read every distribution once.
    from ..collect import collect

    inv = collect(rt.clients, regions=regions)
    ids |= skipped_distributions(inv)  # may be behind what changed: evaluate_change retries unless it is gone
    for dist in inv.distributions:
        if (keys and index_keys(dist, inv) & set(keys)) or uses_policy(dist, targets.policies):
            ids.add(dist.id)
    return ids, inv


def uses_policy(dist: Distribution, policy_ids: Iterable[str]) -> bool:
    wanted = set(policy_ids)
    return any({b.cache_policy_id, b.origin_request_policy_id, b.response_headers_policy_id} & wanted
               for b in dist.behaviors)
