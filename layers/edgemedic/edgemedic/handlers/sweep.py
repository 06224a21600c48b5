"""The sweep function: a scheduled full scan that catches what an event missed, refreshes the API ->
distribution index and applies the same act step as the evaluate function. It also expires pending plans (their
message says so) and posts the Slack messages earlier posts could not deliver."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any

from .act import Trigger, act_on, index_keys
from .runtime import Runtime, Telemetry

logger = logging.getLogger(__name__)


def handle(raw: Any, rt: Runtime, telemetry: Telemetry) -> dict[str, Any]:
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
    errors = engine.RuleErrors()
    actions: dict[str, list[str]] = {}
    findings_total = 0
    for dist in inv.distributions:
        rt.store.index_distribution(dist.id, index_keys(dist, inv))
        findings = engine.evaluate(dist, inv, errors=errors)
        findings_total += len(findings)
        outcome = act_on(dist, findings, settings=rt.settings, store=rt.store, plans=rt.plans, queue=rt.queue,
                         notifier=rt.notifier, trigger=trigger, telemetry=telemetry, inv=inv,
                         security_hub=rt.security_hub("", rt.clients, telemetry))
        expired = expire_plans(dist.id, rt, now=time.time())
        actions[dist.id] = outcome.actions + (["plans-expired"] if expired else [])
    current = {dist.id for dist in inv.distributions}
    for gone in sorted(rt.store.indexed_distributions() - current):
        rt.store.forget_distribution(gone)
    rt.store.mark_index_refreshed(sorted(current))
    for message in errors.messages:
        telemetry.count("Errors", kind="rule")
        logger.error("rule failed", extra={"error": message})
    record = rt.store.record_sweep({
        "run": trigger.event_id, "distributions": len(current), "findings": findings_total,
        "actions": actions, "redelivered": redelivered, "warnings": list(inv.warnings)[:50],
        "rule_errors": errors.messages[:50],
        "seconds": round((datetime.now(timezone.utc) - started).total_seconds(), 3),
    })
    return {"status": "swept", "run": trigger.event_id, "distributions": len(current),
            "findings": findings_total, "redelivered": redelivered, "at": record["at"]}


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
        expired.append(record.plan_id)
    return expired
