"""The approve function: Slack's interactivity endpoint (a Lambda Function URL with AuthType NONE: the Slack
signature is the authentication). It must answer within Slack's three seconds, so it only

1. verifies the v0 signature and the timestamp (older than five minutes or a bad signature: 401, and nothing
   from the body is logged),
2. checks that the clicking user is on the approver list,
3. records the decision with one conditional write (``notify.approval.decide``: a double click, a replay or a
   click after expiry changes nothing),
4. hands an approved plan to the FIFO apply queue (message group = distribution id), and the message re-render /
   the reply to the user to the same queue; when the queue does not take a decision, the plan is pending again
   and the answer is 503 (click again).

It never calls CloudFront: the apply function is the only writer.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Mapping

from .runtime import Runtime, Telemetry

logger = logging.getLogger(__name__)

REPLY_GROUP = "slack-replies"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: str = ""


def request_body(raw: Any, is_base64: bool) -> str | None:
    """The Function URL request's body as text; None when it is not valid base64 or UTF-8 (answer 400)."""
    import base64
    import binascii

    if raw is None:
        return ""
    if not isinstance(raw, str):
        return None
    if not is_base64:
        return raw
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def handle_click(body: str, headers: Mapping[str, str], rt: Runtime, telemetry: Telemetry, *,
                 now: float | None = None) -> Answer:
    """One Slack interactivity request -> the HTTP answer. Never raises on what the request holds."""
    from ..notify import approval

    now = time.time() if now is None else now
    telemetry.count("SlackRequests")  # every request, verified or not: the invocation always has a metric
    try:
        signing_secret = rt.slack_secret().get("signing_secret", "")
    except Exception as exc:  # noqa: BLE001 - only the error's type is said: never the secret
        logger.error("Slack secret unreadable", extra={"error": type(exc).__name__})
        telemetry.count("Errors", kind="slack-secret")
        return Answer(503, "edgemedic cannot read its Slack secret")
    if not signing_secret or not approval.verify(signing_secret, body, headers, now=now):
        logger.warning("refused a request: bad or stale Slack signature")  # nothing from the body, ever
        telemetry.count("RefusedRequests")
        return Answer(401, "invalid signature")
    click = approval.parse_click(body)
    if click is None:
        return Answer(200)
    decision = approval.decide(click, rt.plans, frozenset(rt.settings.slack_approvers), now=now)
    logger.info("slack decision", extra={"plan_id": click.plan_id, "slack_user": click.user_id,
                                         "action": click.action, "outcome": decision.outcome})
    telemetry.count("Decisions", outcome=decision.outcome)
    queue = rt.queue
    if queue is None:
        logger.error("APPLY_QUEUE_URL is not set: the decision is recorded but nothing will act on it")
        return Answer(200)
    record = decision.record
    # Every decision and refusal gets an append-only audit record, written by the apply function from these messages
    # (this role reaches PLAN# keys only): the approved plan and the re-render carry the plan's decided_by / status,
    # the reply to a refused click carries its outcome.
    try:
        if decision.apply and record is not None:
            queue.send_approved(record.plan_id, record.distribution_id, click.user_id)
        elif decision.refresh and record is not None:
            queue.send_slack_task({"task": "refresh", "plan_id": record.plan_id, "status": record.status},
                                  record.distribution_id)
    except Exception as exc:  # noqa: BLE001 - the decision must not outlive the message that carries it
        return _undo(decision, rt, telemetry, exc, now)
    if decision.reply and click.response_url:
        group = record.distribution_id if record is not None else REPLY_GROUP
        queue.send_slack_task({"task": "reply", "response_url": click.response_url, "text": decision.reply,
                               "plan_id": click.plan_id, "user": click.user_id, "outcome": decision.outcome}, group)
    elif decision.reply:  # no response_url to answer on: the refusal is still audited
        queue.send_slack_task({"task": "decision", "plan_id": click.plan_id, "user": click.user_id,
                               "outcome": decision.outcome, "at": int(now)},
                              record.distribution_id if record is not None else REPLY_GROUP)
    return Answer(200)


def _undo(decision: Any, rt: Runtime, telemetry: Telemetry, exc: Exception, now: float) -> Answer:
    """The apply queue did not take the decision's message: an approved plan would stay approved with nothing ever
    applying it (and a rejection unaudited), so the plan goes back to pending and the person is asked to click
    again."""
    from ..notify.exceptions import TransitionError
    from ..notify.store import PENDING

    record = decision.record
    logger.error("the apply queue refused the decision's message: the plan is pending again",
                 extra={"plan_id": record.plan_id, "error": type(exc).__name__})
    telemetry.count("Errors", kind="apply-queue")
    if decision.outcome in ("approved", "rejected"):
        try:
            rt.plans.transition(record.plan_id, expected=record.status, to=PENDING, now=now, decided_by="",
                                decided_at=0)
        except TransitionError:  # moved on in the meantime: its state says what happened
            pass
    return Answer(503, "edgemedic could not queue this decision; nothing was done. Click again in a minute.")
