"""What a function needs, built once per execution environment on first use (never at import time).

    rt = runtime()                                  # settings from os.environ, clients from the Lambda role
    configure(clients=emu.clients(), environ=env)   # tests, the demo and the benchmark use moto's clients

The Powertools Logger, Tracer and Metrics objects live in each ``functions/<name>/app.py``; the services here take
a ``Telemetry`` so they can count without knowing which function they run in.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..aws import Clients
from .act import ApplyQueue, LoggingNotifier, Notifier
from .settings import Settings
from .store import Store


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
    notifier: Notifier = field(default_factory=LoggingNotifier)
    _store: Store | None = None
    _persistence: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.clients.client("dynamodb"), self.settings.table_name,
                                self.settings.audit_ttl_days, self.settings.pending_ttl_days)
        return self._store

    @property
    def queue(self) -> ApplyQueue | None:
        url = self.settings.apply_queue_url
        return ApplyQueue(self.clients.client("sqs"), url) if url else None

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
    """Use these clients (and settings from ``environ``, default os.environ) for the next invocations."""
    global _current
    _current = Runtime(Settings.from_environ(environ if environ is not None else os.environ), clients,
                       notifier or LoggingNotifier())
    return _current


def reset() -> None:
    global _current
    _current = None
