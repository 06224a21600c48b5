"""The Lambda side of edgemedic: what ``functions/*/app.py`` call. Parsing, settings, the table, the act step.

    from edgemedic.handlers import evaluate, runtime
    result = evaluate.handle(event, runtime.runtime(), runtime.Telemetry(metrics))

Each function declares the IAM actions its code calls in ``IAM_ACTIONS`` next to its handler (see
``functions/*/app.py``); ``tests/functional/test_template.py`` checks the template grants exactly those.
"""
from __future__ import annotations

from .exceptions import MalformedEventError, SettingsError
from .settings import Mode, Settings

__all__ = ["MalformedEventError", "Mode", "Settings", "SettingsError"]
