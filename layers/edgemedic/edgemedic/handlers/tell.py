"""What the functions tell people, and where: Slack and tickets when their secrets are set, else the log.

    notifier = runtime().notifier        # a Teller when SLACK_SECRET_ARN or a ticket backend is set,
                                         # else a LoggingNotifier (JSON log lines in CloudWatch, nothing else)

- ``request_approval``: post a stored pending plan with Approve / Reject.
- ``applied``: an auto fix was applied: "applied automatically, here is the diff".
- ``notify``: findings a person must handle: open (or comment on) one ticket per distribution and rule, and post
  "needs a person" with the ticket link.
- ``resolved``: findings gone (after a fix, or found gone by the sweep): comment on and close their tickets.
- ``alert``: an apply failed or was rolled back.

A Slack post that fails after slack_sdk's retries is stored in the table's outbox and posted again by the next
sweep (``redeliver``); it is never dropped silently. Secrets are read at call time through Powertools (cached) and
never logged.
"""
from __future__ import annotations

import itertools
import json
import logging
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

from ..findings import Finding

if TYPE_CHECKING:
    from ..model import Distribution
    from ..notify.slack import SlackMessage, SlackNotifier
    from ..notify.store import PlanRecord, PlanStore
    from ..notify.tickets import TicketBackend
    from ..plan import Plan
    from .store import Store

logger = logging.getLogger(__name__)

# Slack and ticket secrets, read at call time (granted in the template only when their ARN parameter is set).
SECRET_ACTIONS = ("secretsmanager:GetSecretValue",)


class TriggerLike(Protocol):
    event_id: str

    def for_message(self) -> Any: ...


class Notifier(Protocol):
    """Where people hear from edgemedic (see the module docstring)."""

    def request_approval(self, record: "PlanRecord") -> None: ...

    def applied(self, plan: "Plan", trigger: TriggerLike) -> None: ...

    def notify(self, dist: "Distribution", findings: Sequence[Finding], trigger: TriggerLike) -> dict[str, str]:
        """Returns rule -> ticket URL for the tickets opened or commented on."""
        ...

    def resolved(self, distribution_id: str, rules: Sequence[str], why: str) -> None: ...

    def alert(self, distribution_id: str, message: str, detail: Mapping[str, Any],
              plan: "Plan | None" = None) -> None: ...

    def show(self, record: "PlanRecord") -> None:
        """Re-render a plan's message from its stored state (expiry found by the sweep)."""
        ...

    def redeliver(self, now: float) -> dict[str, int]: ...

    def account_alias(self, account: str) -> str:
        """A member account's alias for messages and tickets ("" when none, unreadable, or not needed)."""
        ...


class LoggingNotifier:
    """Tells through the function's log only: what runs when no Slack secret and no ticket backend is configured."""

    def __init__(self, log: Any = None):
        self.log = log or logger
        self.sent: list[tuple[str, Any]] = []

    def request_approval(self, record: "PlanRecord") -> None:
        self.sent.append(("approval", record.plan_id))
        self.log.info("approval requested (no Slack configured: approve with the plan id)",
                      extra={"distribution": record.distribution_id, "plan_id": record.plan_id,
                             "summary": list(record.summary)})

    def applied(self, plan: "Plan", trigger: TriggerLike) -> None:
        self.sent.append(("applied", (plan.distribution_id, tuple(plan.summary))))
        self.log.info("fix applied automatically", extra={"distribution": plan.distribution_id,
                                                          "summary": list(plan.summary), "diff": plan.diff})

    def notify(self, dist: "Distribution", findings: Sequence[Finding], trigger: TriggerLike) -> dict[str, str]:
        self.sent.append(("notify", (dist.id, tuple(f.rule for f in findings))))
        self.log.info("findings to tell", extra={"distribution": dist.id, "event_id": trigger.event_id,
                                                 "rules": [f.rule for f in findings]})
        return {}

    def resolved(self, distribution_id: str, rules: Sequence[str], why: str) -> None:
        self.sent.append(("resolved", (distribution_id, tuple(rules))))
        self.log.info("findings gone", extra={"distribution": distribution_id, "rules": list(rules), "why": why})

    def alert(self, distribution_id: str, message: str, detail: Mapping[str, Any],
              plan: "Plan | None" = None) -> None:
        self.sent.append(("alert", (distribution_id, message)))
        self.log.error("edgemedic alert", extra={"distribution": distribution_id, "alert": message, **detail})

    def show(self, record: "PlanRecord") -> None:
        self.sent.append(("show", (record.plan_id, record.status)))

    def redeliver(self, now: float) -> dict[str, int]:
        return {}

    def account_alias(self, account: str) -> str:
        return ""  # the log names the account by its id


def _by_rule(findings: Sequence[Finding]) -> list[tuple[str, list[Finding]]]:
    ordered = sorted(findings, key=lambda f: f.rule)
    return [(rule, list(group)) for rule, group in itertools.groupby(ordered, key=lambda f: f.rule)]


@dataclass
class Teller:
    """Slack (``slack()`` is None when no Slack secret is set: messages go to the log) and tickets (``tickets()``
    is None when TicketBackend is ``none``). Both are factories, so secrets are read at call time."""

    store: "Store"
    plans: "PlanStore"
    slack: Callable[[], "SlackNotifier | None"]
    tickets: Callable[[], "TicketBackend | None"] = lambda: None
    log: Any = field(default=logger)
    alias: Callable[[str], str] = lambda account: ""  # Runtime.account_alias: read through the member's read role

    def account_alias(self, account: str) -> str:
        return self.alias(account) if account else ""

    def _named(self, alert: Any) -> Any:
        """``alert`` with its member account's alias, so Slack and the ticket say "111122223333 (prod-alias)"."""
        return alert.with_account_alias(self.account_alias(alert.account))

    # ----------------------------------------------------------------------------------------- Slack

    def _slack(self) -> "SlackNotifier | None":
        from ..notify.exceptions import DeliveryError

        try:
            return self.slack()
        except DeliveryError:
            raise
        except Exception as exc:  # noqa: BLE001 - the secret's value never appears in what is said
            raise DeliveryError("set-up", f"the Slack secret could not be read ({type(exc).__name__})",
                                retryable=True) from None

    def _post(self, distribution_id: str, message: "SlackMessage") -> None:
        from ..notify.exceptions import DeliveryError

        try:
            slack = self._slack()
            if slack is None:
                self.log.info("slack message (no Slack secret configured)",
                              extra={"distribution": distribution_id, "text": message.text})
                return
            slack.post(message)
        except DeliveryError as exc:
            self.log.warning("Slack post failed; stored for the sweep to post again",
                             extra={"distribution": distribution_id, "error": str(exc)})
            self.store.put_undelivered(distribution_id=distribution_id, message=message.to_dict(), error=str(exc))

    def request_approval(self, record: "PlanRecord") -> None:
        from ..notify.approval import post_proposal
        from ..notify.exceptions import DeliveryError

        try:
            slack = self._slack()
            if slack is None:
                LoggingNotifier(self.log).request_approval(record)
                return
            post_proposal(record, self.plans, slack, now=time.time())
        except DeliveryError as exc:
            self.undelivered_plan(record, exc)

    def undelivered_plan(self, record: "PlanRecord", exc: Exception) -> None:
        self.log.warning("Slack post of a plan failed; stored for the sweep to post again",
                         extra={"plan_id": record.plan_id, "error": str(exc)})
        self.store.put_undelivered(distribution_id=record.distribution_id, plan_id=record.plan_id, error=str(exc))

    def applied(self, plan: "Plan", trigger: TriggerLike) -> None:
        from ..notify.alert import Alert
        from ..notify.slack import build_message

        alert = self._named(Alert.for_plan(plan, trigger=trigger.for_message()))
        self._post(plan.distribution_id, build_message(alert))

    def alert(self, distribution_id: str, message: str, detail: Mapping[str, Any],
              plan: "Plan | None" = None) -> None:
        from ..notify.alert import Alert, Status
        from ..notify.slack import build_message

        self.log.error("edgemedic alert", extra={"distribution": distribution_id, "alert": message, **detail})
        if plan is not None:
            status = Status.ROLLED_BACK if detail.get("status") == "rolled-back" else Status.FAILED
            alert = self._named(Alert.for_plan(plan)).with_status(status, note=message)
            self._post(distribution_id, build_message(alert))
            return
        # No plan (an apply that failed before planning, findings kept unverified): one plain warning.
        from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

        from ..notify.slack import SlackMessage, escape

        text = f":warning: edgemedic, CloudFront {distribution_id}: {message}"[:2900]
        self._post(distribution_id, SlackMessage(text, (SectionBlock(text=MarkdownTextObject(text=escape(text))),)))

    def show(self, record: "PlanRecord") -> None:
        from ..notify.approval import alert_for, ref_for
        from ..notify.exceptions import DeliveryError
        from ..notify.slack import build_message

        if not (record.ts or record.response_url):
            return
        try:
            slack = self._slack()
            if slack is not None:
                slack.update(ref_for(record), build_message(alert_for(record)))
        except DeliveryError as exc:  # the stored state is the truth; a click shows it again
            self.log.warning("message update failed", extra={"plan_id": record.plan_id, "error": str(exc)})

    def redeliver(self, now: float) -> dict[str, int]:
        """Post what earlier posts could not deliver (the sweep). A plan decided or expired since is dropped."""
        from ..notify.approval import post_proposal
        from ..notify.exceptions import DeliveryError
        from ..notify.slack import SlackMessage
        from ..notify.store import PENDING

        counts = {"posted": 0, "failed": 0, "dropped": 0}
        items = self.store.undelivered()
        if not items:
            return counts
        try:
            slack = self._slack()
        except DeliveryError as exc:
            self.log.warning("undelivered messages wait: %s", exc)
            counts["failed"] = len(items)
            return counts
        if slack is None:
            return counts
        for item in items:
            try:
                if item.get("plan_id"):
                    record = self.plans.get(item["plan_id"])
                    if record is None or record.status != PENDING or record.expired(now):
                        self.store.delivered(item["sk"])
                        counts["dropped"] += 1
                        continue
                    post_proposal(record, self.plans, slack, now=now)
                else:
                    slack.post(SlackMessage.from_dict(json.loads(item["message"])))
            except DeliveryError as exc:
                self.store.put_undelivered(
                    distribution_id=item.get("distribution", ""), plan_id=item.get("plan_id", ""),
                    message=json.loads(item["message"]) if item.get("message") else None, error=str(exc),
                    attempts=int(item.get("attempts", 1)) + 1, sk=item["sk"])
                counts["failed"] += 1
                continue
            self.store.delivered(item["sk"])
            counts["posted"] += 1
        return counts

    # ----------------------------------------------------------------------------------------- tickets

    def _tickets(self) -> "TicketBackend | None":
        return self.tickets()

    def notify(self, dist: "Distribution", findings: Sequence[Finding], trigger: TriggerLike) -> dict[str, str]:
        from ..notify.alert import Alert, DistributionInfo
        from ..notify.exceptions import TicketError
        from ..notify.slack import build_message
        from ..notify.tickets import TicketKey, ticket_content

        info = DistributionInfo.from_model(dist)
        urls: dict[str, str] = {}
        backend = self._tickets()
        for rule, group in _by_rule(findings):
            alert = self._named(Alert.for_manual(info, group, trigger=trigger.for_message()))
            if backend is not None:
                try:
                    ticket = backend.open_or_comment(TicketKey(dist.id, rule), ticket_content(alert))
                except TicketError as exc:  # told in Slack without a link; the next evaluation tries again
                    self.log.error("ticket not opened", extra={"distribution": dist.id, "rule": rule,
                                                               "error": str(exc)})
                else:
                    urls[rule] = ticket.url
                    alert = replace(alert, ticket_url=ticket.url)
            self._post(dist.id, build_message(alert))
        return urls

    def resolved(self, distribution_id: str, rules: Sequence[str], why: str) -> None:
        from ..notify.exceptions import TicketError
        from ..notify.tickets import TicketKey

        backend = self._tickets()
        if backend is None:
            return
        for rule in rules:
            try:
                backend.resolve(TicketKey(distribution_id, rule),
                                f"edgemedic no longer finds {rule} on CloudFront {distribution_id}: {why}. Closing.")
            except TicketError as exc:
                self.log.error("ticket not closed", extra={"distribution": distribution_id, "rule": rule,
                                                           "error": str(exc)})
