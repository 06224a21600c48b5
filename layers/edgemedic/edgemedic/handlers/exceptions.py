"""Errors of the Lambda handlers. Each says what failed and what to do."""
from __future__ import annotations

from ..errors import EdgemedicError


class MalformedEventError(EdgemedicError):
    """The event is not an "AWS API Call via CloudTrail" event edgemedic can read; it is logged and dropped."""


class SettingsError(EdgemedicError):
    """An environment variable of the function has a value edgemedic cannot use (fix the stack parameter)."""


class ReadFailedError(EdgemedicError):
    """AWS did not answer a read edgemedic needs (a 5xx, throttling, AccessDenied): nothing stored was changed and
    the invocation fails, so the event or apply request is retried and, after the retries, lands in its DLQ."""


class StoreWriteError(EdgemedicError):
    """DynamoDB did not take every write after backing off: the invocation fails so that it is retried."""
