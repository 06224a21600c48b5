"""The apply function: the only code with ``cloudfront:UpdateDistribution``. It consumes apply requests from the
FIFO queue (one message group per distribution: updates of a distribution never race each other), re-reads the
distribution, re-evaluates, and applies the ``auto`` fixes with ETag / If-Match through ``act.apply.apply_fixes``
(412 -> re-read and re-plan; verify after applying; roll back and alert when verification fails).
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Mapping

from ..findings import Finding, FixClass
from .act import ApplyRequest
from .runtime import Runtime, Telemetry
from .settings import Mode
from .store import finding_record

logger = logging.getLogger(__name__)

ALERT_STATUSES = frozenset({"rolled-back", "failed"})


def handle_record(record: Mapping[str, Any], rt: Runtime, telemetry: Telemetry, context: Any = None) -> dict:
    """One SQS record -> one apply, at most once per (event, distribution)."""
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
    from .. import engine
    from ..act.apply import apply_fixes
    from ..collect import PolicyResolver, collect, distribution_from_config
    from ..plan import build_plan

    dist_id = request.distribution_id
    inv = collect(rt.clients, regions=rt.settings.api_regions, distribution_ids=[dist_id])
    current = next((d for d in inv.distributions if d.id == dist_id), None)
    if current is None:
        rt.store.audit(event_id=request.event_id, distribution_id=dist_id, event_name=request.event_name,
                       actor=request.actor, action="auto-fix", result="distribution-gone")
        return {"status": "distribution-gone", "distribution": dist_id}

    resolver = PolicyResolver(rt.clients.cloudfront())
    summary = {"Id": current.id, "ARN": current.arn, "DomainName": current.domain_name, "Status": current.status}
    targeted: dict[tuple[str, str, str, str], Finding] = {}
    latest: list[Finding] = []

    def evaluate(config: dict, etag: str) -> tuple[Any, list[Finding]]:
        dist = distribution_from_config(summary, config, etag, resolver, inv.custom_domains)
        findings = engine.evaluate(dist, dataclasses.replace(inv, distributions=(dist,)))
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

    result = apply_fixes(rt.clients.cloudfront(), dist_id, plan_for, verify=verify, dry_run=rt.settings.dry_run)
    plan = result.plan
    plan_record = ({"config_hash": plan.config_hash, "etag": plan.etag, "summary": list(plan.summary),
                    "diff": plan.diff} if plan is not None else None)
    fixed = [finding_record(f, "auto") for f in targeted.values()]
    if result.status == "applied":
        telemetry.count("FixesApplied", value=max(1, len(targeted)))
        rt.store.replace_findings(dist_id, [finding_record(f, rt.settings.mode_for(f).value) for f in latest])
    elif result.status in ALERT_STATUSES:
        telemetry.count("Errors", kind=f"apply-{result.status}")
        rt.notifier.alert(dist_id, result.message, {"status": result.status, "event_id": request.event_id})
    rt.store.audit(event_id=request.event_id, distribution_id=dist_id, event_name=request.event_name,
                   actor=request.actor, action="auto-fix" + ("-dry-run" if rt.settings.dry_run else ""),
                   result=result.status, findings=fixed, plan=plan_record,
                   detail=f"{result.message} (attempts: {result.attempts}, etag: {result.etag})")
    return {"status": result.status, "distribution": dist_id, "attempts": result.attempts,
            "rules": sorted({f.rule for f in targeted.values()})}
