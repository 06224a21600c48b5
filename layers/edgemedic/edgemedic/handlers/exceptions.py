"""Errors of the Lambda handlers. Each says what failed and what to do."""
from __future__ import annotations

from ..errors import EdgemedicError


class MalformedEventError(EdgemedicError):
    """The event is not an "AWS API Call via CloudTrail" event edgemedic can read; it is logged and dropped."""


class SettingsError(EdgemedicError):
    """An environment variable of the function has a value edgemedic cannot use (fix the stack parameter)."""
