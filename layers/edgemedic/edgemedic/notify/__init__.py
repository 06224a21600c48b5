"""Telling people: Slack messages (Block Kit), tickets (GitHub Issues, Jira Cloud), approvals from Slack.

Names are imported on first use (PEP 562): ``from edgemedic.notify import store`` must not pull slack_sdk into a
function's cold start.
"""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Alert": "alert", "DistributionInfo": "alert", "Status": "alert", "Trigger": "alert",
    "Applier": "approval", "Click": "approval", "Decision": "approval", "decide": "approval",
    "parse_click": "approval", "propose": "approval", "verify": "approval",
    "DeliveryError": "exceptions", "TicketError": "exceptions", "TransitionError": "exceptions",
    "APPROVE_ACTION_ID": "slack", "REJECT_ACTION_ID": "slack", "MessageRef": "slack", "SlackMessage": "slack",
    "SlackNotifier": "slack", "build_message": "slack",
    "DynamoPlanStore": "store", "MemoryPlanStore": "store", "PlanRecord": "store", "PlanStore": "store",
    "plan_id_for": "store",
    "GitHubIssues": "tickets", "JiraCloud": "tickets", "SecretValue": "tickets", "Ticket": "tickets",
    "TicketBackend": "tickets", "TicketContent": "tickets", "TicketKey": "tickets",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
