"""What a function needs, built once per execution environment on first use (never at import time).

    rt = runtime()                                  # settings from os.environ, clients from the Lambda role
    configure(clients=emu.clients(), environ=env)   # tests, the demo and the benchmark use moto's clients

The Powertools Logger, Tracer and Metrics objects live in each ``functions/<name>/app.py``; the services here take
a ``Telemetry`` so they can count without knowing which function they run in.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..aws import Clients
from .act import ApplyQueue
from .exceptions import SettingsError
from .settings import Settings
from .store import Store
from .tell import LoggingNotifier, Notifier

logger = logging.getLogger(__name__)

SECRET_MAX_AGE = 300  # seconds Powertools keeps a secret before reading it again
MEMBER_SESSION_REUSE = 50 * 60  # seconds an assumed member role's session is reused (it lasts 60 minutes)
STOP_ACTIONS = ("ssm:GetParameter",)  # the emergency stop parameter, read at each invocation


class Telemetry:
    """Counts into Powertools Metrics (EMF); ``count("Findings", rule="apigw-host-forwarded")`` adds a dimension."""

    def __init__(self, metrics: Any = None):
        self.metrics = metrics
        self.counts: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}

    def count(self, name: str, value: int = 1, **dimensions: str) -> None:
        key = (name, tuple(sorted(dimensions.items())))
        self.counts[key] = self.counts.get(key, 0) + value
        if self.metrics is None:
            return
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        if not dimensions:
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
            return
        with single_metric(name=name, unit=MetricUnit.Count, value=value,
                           namespace=self.metrics.namespace) as metric:
            for dim, dim_value in dimensions.items():
                metric.add_dimension(name=dim, value=dim_value)

    def total(self, name: str) -> int:
        return sum(v for (n, _), v in self.counts.items() if n == name)


@dataclass
class Runtime:
    settings: Settings
    clients: Clients
    notifier_override: Notifier | None = None
    _store: Store | None = None
    _plans: Any = None
    _notifier: Notifier | None = None
    _secrets: Any = None
    _persistence: dict[str, Any] = field(default_factory=dict)
    _members: dict[tuple[str, str], tuple[float, Clients]] = field(default_factory=dict)

    # ----------------------------------------------------------------------------------------- accounts

    def reader(self, account: str = "") -> Clients:
        """Clients that read ``account``: the function's own for the hub's account, else the member's read role."""
        return self._member(account, self.settings.member_read_role)

    def writer(self, account: str = "") -> Clients:
        """Clients that apply fixes in ``account``: the function's own, or the member's apply role."""
        return self._member(account, self.settings.member_apply_role)

    def security_hub(self, account: str, clients: Clients, telemetry: "Telemetry") -> Any:
        """With SECURITY_HUB_EXPORT: a callable ``(current findings, gone records)`` that imports them into Security
        Hub in ``account`` through ``clients`` (that account's). A refusal is logged and counted, not raised: the
        next evaluation or sweep sends the same findings again. None when the export is off."""
        if not self.settings.security_hub_export:
            return None
        from datetime import datetime, timezone

        from botocore.exceptions import BotoCoreError, ClientError

        from ..securityhub import SecurityHubError, export

        def send(current: Any, gone: Any) -> None:
            try:
                export(clients.client("securityhub", self.settings.region), current, gone,
                       account=account or self.settings.hub_account, partition=self.settings.partition,
                       region=self.settings.region, now=datetime.now(timezone.utc))
            except (SecurityHubError, ClientError, BotoCoreError) as exc:
                import logging

                logging.getLogger(__name__).error("Security Hub export failed", extra={
                    "account": account or self.settings.hub_account, "error": str(exc)})
                telemetry.count("Errors", kind="security-hub")

        return send

    def _member(self, account: str, role: str) -> Clients:
        """AssumeRole into ``role`` of ``account`` (with the external id), cached for 50 of the session's 60
        minutes. ``AccountError`` when it cannot be assumed, or when the stack is not an organization's hub."""
        if not account or account == self.settings.hub_account:
            return self.clients
        from .. import accounts

        if not self.settings.organization:
            raise accounts.AccountError(f"event of account {account}, but this stack watches its own account only "
                                        "(set OrganizationId to make it the organization's hub)")
        cached = self._members.get((account, role))
        now = time.monotonic()
        if cached is not None and now - cached[0] < MEMBER_SESSION_REUSE:
            return cached[1]
        target = accounts.Target(accounts.Account(account),
                                 accounts.role_arn(self.settings.partition, account, role))
        member = accounts.assume(self.clients, target, external_id=self.settings.external_id,
                                 session_name=f"edgemedic-{role}"[:64])
        self._members[(account, role)] = (now, member)
        return member

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.clients.client("dynamodb"), self.settings.table_name,
                                self.settings.audit_ttl_days)
        return self._store

    @property
    def plans(self) -> Any:
        """The PlanStore (edgemedic.notify.store) on the stack's table: the one home of pending plans."""
        if self._plans is None:
            from ..notify.store import DynamoPlanStore

            self._plans = DynamoPlanStore(self.clients.client("dynamodb"), self.settings.table_name)
        return self._plans

    @property
    def queue(self) -> ApplyQueue | None:
        url = self.settings.apply_queue_url
        return ApplyQueue(self.clients.client("sqs"), url) if url else None

    @property
    def notifier(self) -> Notifier:
        """Slack and tickets when their secrets are configured; else the log only (LoggingNotifier)."""
        if self.notifier_override is not None:
            return self.notifier_override
        if self._notifier is None:
            if self.settings.slack_secret_arn or self.settings.tickets_enabled:
                from .tell import Teller

                self._notifier = Teller(self.store, self.plans, self.slack, self.tickets)
            else:
                self._notifier = LoggingNotifier()
        return self._notifier

    # ----------------------------------------------------------------------------------------- safety

    def emergency_stop(self) -> bool:
        """The emergency stop, read from SSM at each call (never cached): "true" stops every write. A parameter
        that cannot be read counts as on: an operator who pulled the stop must never be second-guessed."""
        name = self.settings.emergency_stop_parameter
        if not name:
            return False
        try:
            value = self.clients.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        except Exception as exc:  # noqa: BLE001 - fail closed, and say why
            logger.error("emergency stop parameter unreadable: treated as ON", extra={
                "parameter": name, "error": type(exc).__name__})
            return True
        return value.strip().lower() in {"true", "on", "stop", "1", "yes"}

    def scope(self, distribution_id: str, arn: str = "", *, stopped: bool | None = None,
              clients: Clients | None = None, account: str = "") -> Any:
        """What edgemedic may do on this distribution (``edgemedic.act.scope``): tag, allow list, emergency stop.
        A member's distribution (organization hub): its tags are read through ``clients``, the member's; the
        emergency stop is the hub's own."""
        from ..act.scope import read_scope

        stopped = self.emergency_stop() if stopped is None else stopped
        arn = arn or f"arn:{self.partition}:cloudfront::{account or self.account}:distribution/{distribution_id}"
        return read_scope((clients or self.clients).cloudfront(), arn, allow_list=self.settings.apply_allow_list,
                          stopped=stopped)

    @property
    def account(self) -> str:
        accounts = sorted(self.settings.own_accounts)
        return accounts[0] if accounts else "*"

    @property
    def partition(self) -> str:
        from .events import _ROLE_ARN

        for arn in self.settings.own_role_arns:
            found = _ROLE_ARN.match(arn)
            if found:
                return found.group(1)
        return "aws"

    # ----------------------------------------------------------------------------------------- secrets

    def secret(self, arn: str) -> dict[str, Any]:
        """A JSON secret, read through Powertools' SecretsProvider (cached five minutes; rotation is picked up).

        Its value is never logged; errors name the secret's ARN only.
        """
        if self._secrets is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            self._secrets = SecretsProvider(boto3_client=self.clients.client("secretsmanager"))
        value = self._secrets.get(arn, max_age=SECRET_MAX_AGE, transform="json")
        if not isinstance(value, dict):
            raise SettingsError(f"secret {arn} is not a JSON object: see docs/deploy.md for its shape")
        return value

    def slack_secret(self) -> dict[str, Any]:
        return self.secret(self.settings.slack_secret_arn) if self.settings.slack_secret_arn else {}

    def slack(self) -> Any:
        """A SlackNotifier from the Slack secret (bot_token + channel, or webhook_url); None when none is set."""
        if not self.settings.slack_secret_arn:
            return None
        from ..notify.slack import SlackNotifier

        value = self.slack_secret()
        if value.get("bot_token") and value.get("channel"):
            return SlackNotifier(token=lambda: self.slack_secret()["bot_token"], channel=value["channel"],
                                 api_url=self.settings.slack_api_url)
        if value.get("webhook_url"):
            return SlackNotifier(webhook_url=lambda: self.slack_secret()["webhook_url"])
        raise SettingsError(f"secret {self.settings.slack_secret_arn} has neither bot_token + channel nor "
                            "webhook_url: see docs/deploy.md")

    def tickets(self) -> Any:
        """The ticket backend (GitHub Issues or Jira Cloud) chosen by TICKET_BACKEND; None for ``none``."""
        if not self.settings.tickets_enabled:
            return None
        from ..notify.tickets import backend_from_settings

        arn = self.settings.ticket_secret_arn
        return backend_from_settings(self.settings.ticket_backend, target=self.settings.ticket_target,
                                     token=lambda: self.secret(arn)["token"],
                                     email=lambda: self.secret(arn)["email"])

    def idempotency(self, function: str) -> Any:
        """Powertools' DynamoDB persistence layer on the stack's table (pk = idempotency#function, sk = key)."""
        if function not in self._persistence:
            from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

            self._persistence[function] = DynamoDBPersistenceLayer(
                table_name=self.settings.table_name, key_attr="pk", sort_key_attr="sk",
                static_pk_value=f"idempotency#{function}", boto3_client=self.clients.client("dynamodb"))
        return self._persistence[function]


_current: Runtime | None = None


def runtime() -> Runtime:
    global _current
    if _current is None:
        _current = Runtime(Settings.from_environ(os.environ), Clients.from_environment())
    return _current


def configure(*, clients: Clients, environ: Mapping[str, str] | None = None,
              notifier: Notifier | None = None) -> Runtime:
    """Use these clients (and settings from ``environ``, default os.environ) for the next invocations.
    ``notifier`` replaces what the settings would build (Slack/tickets or the log)."""
    global _current
    _current = Runtime(Settings.from_environ(environ if environ is not None else os.environ), clients, notifier)
    return _current


def reset() -> None:
    global _current
    _current = None
