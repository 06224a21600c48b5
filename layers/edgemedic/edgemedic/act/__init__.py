"""Acting on plans: ``apply`` sends them to CloudFront (ETag, retries, verify, roll back)."""
from __future__ import annotations

from .apply import ApplyResult, apply_fixes

__all__ = ["ApplyResult", "apply_fixes"]
