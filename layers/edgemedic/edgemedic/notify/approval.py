"""Approval of ``approve`` plans from Slack: verify, decide, then apply at most once.

The Slack-facing half (the approve function) must answer within three seconds (``verify`` → ``parse_click`` →
``decide``) and hands an approved plan to the FIFO apply queue; the CloudFront half runs in the apply function,
the only writer (``Applier.run``):

    if not verify(secret, body, headers): return 401
    click = parse_click(body)
    decision = decide(click, store, approvers, now=time.time())      # one conditional write
    if decision.apply: queue.send_approved(decision.record)           # group = distribution, one dedup id per send
    ...
    Applier(store, notifier, cloudfront, verify=..., repropose=...).run(plan_id, now=time.time())

Applying re-reads the distribution: when its ETag or config hash differs from the plan's, nothing is applied; the
plan is marked superseded, the message says why and a fresh proposal is posted. Otherwise the plan is rebuilt from
its stored findings on the config just read (it must give the reviewed diff, byte for byte) and applied with
If-Match by ``edgemedic.act.apply.apply_fixes`` (verify, roll back).
"""
from __future__ import annotations

import json
import logging
import re
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence

from slack_sdk.signature import Clock, SignatureVerifier

from ..findings import Finding, FixClass
from .alert import Alert, DistributionInfo, Status, Trigger
from .exceptions import DeliveryError, PlanInFlightError, TransitionError
from .slack import APPROVE_ACTION_ID, REJECT_ACTION_ID, MessageRef, SlackNotifier, build_message
from .store import (
    APPLIED,
    APPLYING,
    APPROVED,
    EXPIRED,
    FAILED,
    PENDING,
    REJECTED,
    ROLLED_BACK,
    SUPERSEDED,
    PlanRecord,
    PlanStore,
)

logger = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 24 * 3600
# A run holding a plan in "applying" longer than this has ended without recording the outcome: Lambda stops every
# invocation within 900 s (its longest timeout), and the apply queue redelivers a message after 1800 s.
STALLED_AFTER = 900
RESUMED = "A first run stopped while applying this plan, before recording its outcome; this run took it over. "
RESUMED_CHANGED = (" If that first run's update is the change, the fix is in place: check the distribution; "
                   "anything left is proposed again.")
_DONE = {APPROVED, APPLYING, APPLIED, FAILED, ROLLED_BACK, SUPERSEDED}


# --------------------------------------------------------------------------------------------- the request


class _FixedClock(Clock):
    def __init__(self, at: float):
        self.at = at

    def now(self) -> float:
        return self.at


def verify(signing_secret: str, body: str, headers: Mapping[str, str], *, now: float | None = None) -> bool:
    """Slack's v0 signature over ``v0:{timestamp}:{body}`` and a timestamp within five minutes (slack_sdk)."""
    clock = _FixedClock(now) if now is not None else Clock()
    try:
        return SignatureVerifier(signing_secret, clock=clock).is_valid_request(body, dict(headers))
    except (ValueError, TypeError, OverflowError, UnicodeError):
        # slack_sdk parses the timestamp with int() and compares str digests: "abc", "1.7e9", a non-ASCII
        # signature raise instead of answering False. Unauthenticated junk is a refusal, never a 5xx.
        return False


@dataclass(frozen=True, slots=True)
class Click:
    """One press of Approve or Reject (a ``block_actions`` interactivity payload)."""

    action: str  # approve | reject
    plan_id: str
    user_id: str
    user_name: str
    team_id: str
    channel: str
    message_ts: str
    response_url: str


_PLAN_ID = re.compile(r"^[A-Za-z0-9]{1,64}-[A-Za-z0-9-]{1,100}$")  # what plan_id_for makes, within key limits


def parse_click(body: str) -> Click | None:
    """The click in a form-encoded ``payload=...`` body; None for anything that is not one of our buttons (a plan
    id edgemedic could not have made included)."""
    try:
        return _parse_click(body)
    except (AttributeError, TypeError, ValueError):  # a payload of the wrong shape is not one of our buttons
        return None


def _parse_click(body: str) -> Click | None:
    raw = urllib.parse.parse_qs(body).get("payload")
    if not raw:
        return None
    payload = json.loads(raw[0])
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return None
    actions = {APPROVE_ACTION_ID: "approve", REJECT_ACTION_ID: "reject"}
    for action in payload.get("actions") or ():
        kind = actions.get(action.get("action_id"))
        if kind and isinstance(action.get("value"), str) and _PLAN_ID.match(action["value"]):
            user = payload.get("user") or {}
            container = payload.get("container") or {}
            return Click(kind, action["value"], user.get("id", ""), user.get("username") or user.get("name", ""),
                         (payload.get("team") or {}).get("id", ""),
                         container.get("channel_id") or (payload.get("channel") or {}).get("id", ""),
                         container.get("message_ts") or (payload.get("message") or {}).get("ts", ""),
                         payload.get("response_url", ""))
    return None


# --------------------------------------------------------------------------------------------- deciding


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: str  # approved | rejected | unknown-user | unknown-plan | expired | already-decided
    reply: str  # what the clicking user is told (ephemeral); "" when the message update says it all
    apply: bool = False  # start the asynchronous apply
    refresh: bool = False  # re-render the message (reject, expiry)
    record: PlanRecord | None = None


def decide(click: Click, store: PlanStore, approvers: frozenset[str], *, now: float) -> Decision:
    """Record the decision with one conditional write; a second click, a replay or a late click changes nothing."""
    if click.user_id not in approvers:
        return Decision("unknown-user", "You are not on edgemedic's approver list, so nothing was done. "
                                        "Ask an admin to add your Slack user id to the approvers parameter.")
    record = store.get(click.plan_id)
    if record is None:
        return Decision("unknown-plan", "This plan is no longer stored (it expired long ago); nothing was done.")
    where = {"channel": click.channel, "ts": click.message_ts, "response_url": click.response_url}
    if record.status == PENDING and record.expired(now):
        try:
            record = store.transition(click.plan_id, expected=PENDING, to=EXPIRED, now=now, **where)
        except TransitionError as lost:
            record = lost.current or record
        return Decision("expired", "This plan expired before anyone decided; nothing was changed.", refresh=True,
                        record=record)
    to = APPROVED if click.action == "approve" else REJECTED
    try:
        record = store.transition(click.plan_id, expected=PENDING, to=to, now=now, require_unexpired=True,
                                  decided_by=click.user_id, decided_at=int(now), **where)
    except TransitionError as lost:
        current = lost.current or record
        if current.status == EXPIRED or (current.status == PENDING and current.expired(now)):
            return Decision("expired", "This plan expired before anyone decided; nothing was changed.",
                            record=current)
        who = f"<@{current.decided_by}>" if current.decided_by else "someone"
        return Decision("already-decided", f"Already {current.status} by {who}; nothing more was done.",
                        record=current)
    if to == APPROVED:
        return Decision("approved", "", apply=True, record=record)
    return Decision("rejected", "", refresh=True, record=record)


# --------------------------------------------------------------------------------------------- messages


_STATUS = {PENDING: Status.PROPOSED, APPROVED: Status.APPROVED, APPLYING: Status.APPROVED, APPLIED: Status.APPLIED,
           REJECTED: Status.REJECTED, EXPIRED: Status.EXPIRED, SUPERSEDED: Status.SUPERSEDED, FAILED: Status.FAILED,
           ROLLED_BACK: Status.ROLLED_BACK}


def alert_for(record: PlanRecord) -> Alert:
    """The message of a stored plan, as it stands."""
    dist = DistributionInfo.from_json(record.distribution_json) if record.distribution_json else \
        DistributionInfo(record.distribution_id)
    return Alert(dist, record.findings, FixClass(record.fix_class), _STATUS[record.status], record.summary,
                 record.diff, record.plan_id,
                 Trigger.from_json(record.trigger_json) if record.trigger_json else None,
                 record.ticket_url or None, datetime.fromtimestamp(record.expires_at, timezone.utc),
                 actor=record.decided_by or None, note=record.outcome)


def ref_for(record: PlanRecord) -> MessageRef:
    return MessageRef(record.channel or None, record.ts or None, record.response_url or None)


def propose(plan: Any, store: PlanStore, notifier: SlackNotifier | None, *, now: float,
            ttl_seconds: int = DEFAULT_TTL_SECONDS, trigger: Trigger | None = None, ticket_url: str = "",
            dist: DistributionInfo | None = None, note: str = "") -> PlanRecord | None:
    """Store an ``approve`` plan and post it with Approve / Reject; None when the same plan is already stored.

    ``DeliveryError`` propagates after the plan is stored, so the caller records it and the sweep posts later.
    """
    dist = dist or DistributionInfo.from_config(plan.distribution_id, plan.base_config)
    record = PlanRecord.from_plan(plan, now=now, ttl_seconds=ttl_seconds, distribution_json=dist.to_json(),
                                  trigger_json=trigger.to_json() if trigger else "", ticket_url=ticket_url)
    if not store.put(record):
        return None
    if notifier is not None:
        record = post_proposal(record, store, notifier, now=now, note=note)
    return record


def post_proposal(record: PlanRecord, store: PlanStore, notifier: SlackNotifier, *, now: float,
                  note: str = "") -> PlanRecord:
    """Post a stored pending plan with its buttons; remember where the message is so its outcome replaces it.

    A webhook's message cannot be edited (no ts): the click's ``response_url`` is used for that instead.
    Raises ``DeliveryError`` when Slack still refuses after the retries.
    """
    ref = notifier.post(build_message(alert_for(record).with_status(Status.PROPOSED, note=note)))
    if not ref.ts:
        return record
    try:
        return store.transition(record.plan_id, expected=PENDING, to=PENDING, now=now, channel=ref.channel or "",
                                ts=ref.ts)
    except TransitionError as lost:  # decided in the moment between the post and this write: the click says where
        return lost.current or record  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------- applying


ApplyFn = Callable[..., Any]  # edgemedic.act.apply.apply_fixes


@dataclass
class Applier:
    """Applies approved plans; ``run`` does nothing for a plan that another run already took."""

    store: PlanStore
    notifier: SlackNotifier | None
    cloudfront: Any
    verify: Callable[[dict, str], Sequence[Finding]] | None = None
    repropose: Callable[[str], Any] | None = None  # distribution id -> a fresh approve Plan (or None)
    apply: ApplyFn | None = None
    audit: Callable[..., Any] | None = None  # audit(event, record) -> None
    ttl_seconds: int = DEFAULT_TTL_SECONDS
    undelivered: Callable[[PlanRecord, DeliveryError], None] | None = None  # a fresh proposal Slack refused

    def run(self, plan_id: str, *, now: float) -> PlanRecord | None:
        resumed = ""
        try:
            record = self.store.transition(plan_id, expected=APPROVED, to=APPLYING, now=now,
                                           applying_since=int(now))
        except TransitionError as lost:
            record = self._take_over(lost.current, now)
            if record is None:
                logger.info("plan %s not applied by this run: %s", plan_id, lost)
                return None
            resumed = RESUMED
        self._show(record)
        changed: list[str] = []
        plan_for = self._plan_for(record, changed)
        apply = self.apply or _apply_fixes()
        try:
            result = apply(self.cloudfront, record.distribution_id, plan_for, verify=self.verify)
        except Exception as exc:  # noqa: BLE001 - the message must say it failed, whatever failed
            record = self.store.mark_applied(plan_id, status=FAILED, outcome=f"{resumed}{type(exc).__name__}: {exc}",
                                             now=now)
            self._finish(record)
            raise
        if changed:
            why = changed[-1] + (RESUMED_CHANGED if resumed else "")
            record = self.store.mark_applied(plan_id, status=SUPERSEDED, outcome=resumed + why, now=now)
            self._finish(record)
            self._repropose(record, now)
            return record
        status = {"applied": APPLIED, "rolled-back": ROLLED_BACK}.get(result.status, FAILED)
        outcome = resumed.strip() if status == APPLIED else f"{resumed}{result.status}: {result.message}"
        record = self.store.mark_applied(plan_id, status=status, outcome=outcome, now=now)
        self._finish(record)
        return record

    def _take_over(self, current: Any, now: float) -> PlanRecord | None:
        """A plan left ``applying`` by a run that ended without recording an outcome (the function timed out or
        its process died): after :data:`STALLED_AFTER` this run takes it over, once (a conditional write on when
        it was taken). Earlier, the other run may still be going: :class:`PlanInFlightError`, so the message is
        retried later rather than dropped. None: nothing to take over (the plan ended, or was never approved)."""
        if not isinstance(current, PlanRecord) or current.status != APPLYING:
            return None
        if now - current.applying_since < STALLED_AFTER:
            raise PlanInFlightError(f"plan {current.plan_id} is being applied by another run since "
                                    f"{int(now - current.applying_since)} s; try again later")
        try:
            record = self.store.transition(current.plan_id, expected=APPLYING, to=APPLYING, now=now,
                                           if_applying_since=current.applying_since, applying_since=int(now))
        except TransitionError:
            return None  # another run took it over first
        logger.warning("plan %s: taken over from a run that stopped while applying it", current.plan_id)
        return record

    def refresh(self, plan_id: str) -> None:
        """Re-render a plan's message from its stored state (after Reject or expiry)."""
        record = self.store.get(plan_id)
        if record is not None:
            self._show(record)

    def _plan_for(self, record: PlanRecord, changed: list[str]) -> Callable[[dict, str], Any]:
        from ..plan import config_hash, plan_from_config

        def plan_for(config: dict, etag: str) -> Any:
            if etag != record.etag or config_hash(config) != record.config_hash:
                what = f"ETag {record.etag} → {etag}" if etag != record.etag else "its config differs"
                changed.append(f"The distribution changed since the plan was made ({what}).")
                return None
            plan = plan_from_config(record.distribution_id, config, etag, record.findings,
                                    classes=frozenset({FixClass.AUTO, FixClass.APPROVE}))
            if plan is None or plan.diff != record.diff:
                changed.append("Rebuilding the plan on the current config no longer gives the approved diff.")
                return None
            return plan

        return plan_for

    def _repropose(self, old: PlanRecord, now: float) -> None:
        if self.repropose is None:
            return
        fresh = self.repropose(old.distribution_id)
        if fresh is None:
            logger.info("distribution %s: nothing left to propose after the change", old.distribution_id)
            return
        trigger = Trigger.from_json(old.trigger_json) if old.trigger_json else None
        dist = DistributionInfo.from_json(old.distribution_json) if old.distribution_json else None
        note = f"Fresh proposal: {old.outcome}"
        record = propose(fresh, self.store, None, now=now, ttl_seconds=self.ttl_seconds, trigger=trigger,
                         ticket_url=old.ticket_url, dist=dist, note=note)
        if record is None or self.notifier is None:
            return
        try:
            post_proposal(record, self.store, self.notifier, now=now, note=note)
        except DeliveryError as exc:
            if self.undelivered is None:
                raise
            self.undelivered(record, exc)

    def _show(self, record: PlanRecord) -> None:
        if self.notifier is None or not (record.ts or record.response_url):
            return
        try:
            self.notifier.update(ref_for(record), build_message(alert_for(record)))
        except DeliveryError as exc:  # the plan's state is the truth; the message catches up on the next update
            logger.warning("plan %s: message update failed: %s", record.plan_id, exc)

    def _finish(self, record: PlanRecord) -> None:
        self._show(record)
        if self.audit is not None:
            self.audit(record.status, record)


def _apply_fixes() -> ApplyFn:
    from ..act.apply import apply_fixes  # late: the plan helper's module

    return apply_fixes
