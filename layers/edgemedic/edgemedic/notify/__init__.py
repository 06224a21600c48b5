"""Telling people: Slack messages (Block Kit), tickets (GitHub Issues, Jira Cloud), approvals from Slack."""
from .alert import Alert, DistributionInfo, Status, Trigger
from .approval import Applier, Click, Decision, decide, parse_click, propose, verify
from .exceptions import DeliveryError, TicketError, TransitionError
from .slack import APPROVE_ACTION_ID, REJECT_ACTION_ID, MessageRef, SlackMessage, SlackNotifier, build_message
from .store import DynamoPlanStore, MemoryPlanStore, PlanRecord, PlanStore, plan_id_for
from .tickets import GitHubIssues, JiraCloud, SecretValue, Ticket, TicketBackend, TicketContent, TicketKey

__all__ = [
    "APPROVE_ACTION_ID", "REJECT_ACTION_ID", "Alert", "Applier", "Click", "Decision", "DeliveryError",
    "DistributionInfo", "DynamoPlanStore", "GitHubIssues", "JiraCloud", "MemoryPlanStore", "MessageRef",
    "PlanRecord", "PlanStore", "SecretValue", "SlackMessage", "SlackNotifier", "Status",
    "Ticket", "TicketBackend", "TicketContent", "TicketError", "TicketKey", "TransitionError", "Trigger",
    "build_message", "decide", "parse_click", "plan_id_for", "propose", "verify",
]
