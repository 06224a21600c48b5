"""approve: Slack's interactivity endpoint (a Lambda Function URL) and the asynchronous apply of approved plans.

A button click is answered within Slack's three seconds: verify the signature and timestamp (401 otherwise, and
nothing from the body is logged), check the approver list, record the decision with one conditional write, then
invoke this same function asynchronously (InvocationType=Event) with a task. The task applies the plan (at most
once), or re-renders the message, or tells the clicking user why nothing happened.

Settings (environment, read on first use): TABLE_NAME, SLACK_SECRET_ARN (JSON: signing_secret, and bot_token +
channel or webhook_url), SLACK_APPROVERS (Slack user ids), APPROVAL_TTL_HOURS (default 24).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any, Mapping

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response, content_types
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from edgemedic.aws import Clients
from edgemedic.handlers import iam
from edgemedic.notify import approval
from edgemedic.notify.exceptions import DeliveryError
from edgemedic.notify.slack import SlackNotifier
from edgemedic.notify.store import DYNAMODB_ACTIONS, DynamoPlanStore
from edgemedic.notify.tickets import SecretValue

# Every IAM action this function's code calls (compared with the template by the IAM test).
IAM_ACTIONS = sorted({*iam.READ_ACTIONS, *iam.UPDATE_DISTRIBUTION, *DYNAMODB_ACTIONS,
                      "secretsmanager:GetSecretValue", "lambda:InvokeFunction"})
TASK_KEY = "edgemedic_task"

logger = Logger()
tracer = Tracer()
app = LambdaFunctionUrlResolver()
copy_config_to_registered_loggers(source_logger=logger, include={"edgemedic"})


@dataclass(frozen=True)
class Settings:
    table: str
    slack_secret: str
    approvers: frozenset[str]
    ttl_seconds: int

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> "Settings":
        missing = [name for name in ("TABLE_NAME", "SLACK_SECRET_ARN") if not env.get(name, "").strip()]
        if missing:
            raise RuntimeError(f"approve: {', '.join(missing)} not set; deploy with the template's parameters")
        approvers = frozenset(p.strip() for p in env.get("SLACK_APPROVERS", "").split(",") if p.strip())
        return cls(env["TABLE_NAME"].strip(), env["SLACK_SECRET_ARN"].strip(), approvers,
                   int(float(env.get("APPROVAL_TTL_HOURS", "24")) * 3600))


@dataclass
class Runtime:
    settings: Settings
    clients: Clients

    def secret(self, field: str) -> str:
        try:
            return SecretValue(self.settings.slack_secret, field=field)()
        except KeyError:
            return ""

    def store(self) -> DynamoPlanStore:
        return DynamoPlanStore(self.clients.client("dynamodb"), self.settings.table)

    def notifier(self) -> SlackNotifier:
        channel = self.secret("channel")
        if self.secret("bot_token") and channel:
            return SlackNotifier(token=lambda: self.secret("bot_token"), channel=channel)
        return SlackNotifier(webhook_url=lambda: self.secret("webhook_url"))


_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime(Settings.from_environ(os.environ), Clients.from_environment())
    return _runtime


def configure(rt: Runtime | None) -> None:
    """Tests install a runtime on moto's clients (or reset with None)."""
    global _runtime
    _runtime = rt


# --------------------------------------------------------------------------------------------- Slack -> 200 in 3 s


@app.post("/slack/actions")
def slack_actions() -> Response:
    rt = runtime()
    event = app.current_event
    body = event.decoded_body or ""
    if not approval.verify(rt.secret("signing_secret"), body, event.headers, now=time.time()):
        logger.warning("refused a request: bad or stale Slack signature")  # nothing from the body, ever
        return Response(401, content_types.TEXT_PLAIN, "invalid signature")
    click = approval.parse_click(body)
    if click is None:
        return Response(200, content_types.TEXT_PLAIN, "")
    decision = approval.decide(click, rt.store(), rt.settings.approvers, now=time.time())
    logger.info("slack decision", extra={"plan_id": click.plan_id, "slack_user": click.user_id,
                                         "action": click.action, "outcome": decision.outcome})
    if decision.apply:
        _start({TASK_KEY: "apply", "plan_id": click.plan_id}, rt)
    elif decision.refresh:
        _start({TASK_KEY: "refresh", "plan_id": click.plan_id}, rt)
    if decision.reply and click.response_url:
        _start({TASK_KEY: "reply", "response_url": click.response_url, "text": decision.reply}, rt)
    return Response(200, content_types.TEXT_PLAIN, "")


def _start(task: dict, rt: Runtime) -> None:
    rt.clients.client("lambda").invoke(FunctionName=app.lambda_context.invoked_function_arn,
                                       InvocationType="Event", Payload=json.dumps(task).encode())


# --------------------------------------------------------------------------------------------- tasks


def _applier(rt: Runtime, plan: Any) -> approval.Applier:
    """Wires the engine: the verify step re-evaluates the config just applied; a changed distribution is
    re-evaluated from a fresh read for the new proposal."""
    from edgemedic import engine
    from edgemedic.collect import collect
    from edgemedic.collect.cloudfront import PolicyResolver, distribution_from_config
    from edgemedic.findings import FixClass
    from edgemedic.handlers.store import Store
    from edgemedic.plan import build_plan

    inv = collect(rt.clients, distribution_ids=[plan.distribution_id])
    current = next((d for d in inv.distributions if d.id == plan.distribution_id), None)
    targeted = {f.key for f in plan.findings}
    cloudfront = rt.clients.cloudfront()

    def verify(config: dict, etag: str) -> list:
        if current is None:
            return []
        summary = {"Id": current.id, "ARN": current.arn, "DomainName": current.domain_name, "Status": current.status}
        dist = distribution_from_config(summary, config, etag, PolicyResolver(cloudfront), inv.custom_domains)
        return [f for f in engine.evaluate(dist, inv) if f.key in targeted]  # others are not this plan's business

    def repropose(dist_id: str) -> Any:
        fresh = collect(rt.clients, distribution_ids=[dist_id])
        for dist in fresh.distributions:
            if dist.id == dist_id:
                return build_plan(dist, engine.evaluate(dist, fresh),
                                  classes=frozenset({FixClass.AUTO, FixClass.APPROVE}))
        return None

    audit_store = Store(rt.clients.client("dynamodb"), rt.settings.table)

    def audit(status: str, done: Any) -> None:
        audit_store.audit(event_id=done.plan_id, distribution_id=done.distribution_id, action="approved-fix",
                          result=status, actor=f"slack:{done.decided_by}", detail=done.outcome,
                          plan={"config_hash": done.config_hash, "etag": done.etag, "summary": list(done.summary)})

    return approval.Applier(rt.store(), rt.notifier(), cloudfront, verify=verify, repropose=repropose, audit=audit,
                            ttl_seconds=rt.settings.ttl_seconds)


def run_task(task: Mapping[str, Any], rt: Runtime) -> dict:
    kind = task[TASK_KEY]
    if kind == "reply":
        try:
            rt.notifier().ephemeral(task["response_url"], task["text"])
        except DeliveryError as exc:
            logger.warning("ephemeral reply failed", extra={"error": str(exc)})
        return {"task": kind}
    plan_id = task["plan_id"]
    record = rt.store().get(plan_id)
    if record is None:
        return {"task": kind, "plan_id": plan_id, "status": "unknown-plan"}
    if kind == "refresh":
        approval.Applier(rt.store(), rt.notifier(), None).refresh(plan_id)
        return {"task": kind, "plan_id": plan_id}
    done = _applier(rt, record).run(plan_id, now=time.time())
    return {"task": kind, "plan_id": plan_id, "status": done.status if done else "not-this-run"}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: Any) -> dict:
    if TASK_KEY in event:
        return run_task(event, runtime())
    return app.resolve(event, context)
