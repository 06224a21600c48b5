"""Errors of edgemedic's notify package (Slack, tickets, approvals). None of them ever carries a token."""
from __future__ import annotations

from ..errors import EdgemedicError


class DeliveryError(EdgemedicError):
    """A Slack message could not be delivered after the retries. ``retryable`` says whether the sweep should try
    again later (rate limit, 5xx, network) or a person must fix the set-up (bad token, unknown channel)."""

    def __init__(self, what: str, reason: str, *, retryable: bool):
        self.retryable = retryable
        self.reason = reason
        hint = "the sweep retries it" if retryable else "check the Slack app's token, scopes and channel"
        super().__init__(f"Slack {what} failed: {reason}; {hint}")


class TicketError(EdgemedicError):
    """A ticket backend refused or kept failing a request."""

    def __init__(self, backend: str, what: str, status: int | None, detail: str = ""):
        self.status = status
        hint = {
            401: "check the token secret",
            403: "the token lacks permission on the project or repository",
            404: "check the repository / project key",
        }.get(status or 0, "try again later")
        super().__init__(f"{backend}: {what} failed (HTTP {status}) {detail[:200]}; {hint}".replace("  ", " "))


class TransitionError(EdgemedicError):
    """A conditional write lost: the plan was not in the state the caller expected (double click, retry,
    expiry). ``current`` is the record as it is now, when it could be read."""

    def __init__(self, plan_id: str, expected: str, current: object | None):
        self.plan_id = plan_id
        self.current = current
        status = getattr(current, "status", "missing")
        super().__init__(f"plan {plan_id} is {status}, not {expected}: nothing done")


class PlanInFlightError(EdgemedicError):
    """An approved plan is being applied by another run that may still be running: try again later (the apply
    queue's message is retried; never dropped, never applied twice at once)."""
