"""Apply a plan to CloudFront safely: ETag / If-Match, re-plan on 412, validate first, verify, roll back.

    result = apply_fixes(clients.cloudfront(), "E2QWRUHAPOMQZL", plan_for, verify=verify, confirm=ask_person)

The flow follows CloudFront's documented update procedure (aws-facts.md section 9): GetDistributionConfig, keep
the ETag, change the config, UpdateDistribution with ``IfMatch``. UpdateDistribution replaces the whole config, so
a stale body must never be resent: on 412 PreconditionFailed the config is read again and the plan rebuilt on it
(a person's concurrent edit survives; if it already fixed the finding there is nothing to do).
Throttling is retried by botocore's ``standard`` retry mode (``edgemedic.aws``); what is left becomes a
``ThrottledError``.
"""
from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from botocore.exceptions import ClientError

from ..errors import (
    AccessError,
    ConcurrentEditError,
    EdgemedicError,
    InvalidConfigError,
    NotFoundError,
    ThrottledError,
)
from ..findings import Finding
from ..plan import Plan, config_hash
from ..shape import aws_shape
from ..validate import validate_config

logger = logging.getLogger(__name__)

APPLIED = "applied"
NOTHING_TO_DO = "nothing-to-do"
DRY_RUN = "dry-run"
DECLINED = "declined"
ROLLED_BACK = "rolled-back"
FAILED = "failed"

_THROTTLING = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"})
_ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException"})


@dataclass(frozen=True)
class ApplyResult:
    distribution_id: str
    status: str  # applied | nothing-to-do | dry-run | declined | rolled-back | failed
    plan: Plan | None
    attempts: int  # UpdateDistribution attempts (re-plans after 412 included)
    etag: str | None  # the distribution's ETag after the last call made
    message: str
    config_hash_after: str = ""  # hash of the config as it stands after this run (as read back, or as sent)
    # What the caller's verification could not read again, so could not check (empty: all checked); a message's
    # "verified" holds only for the rest.
    unverified: str = ""


# --------------------------------------------------------------------------------------------- AWS calls


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translate(exc: ClientError, distribution_id: str, operation: str) -> Exception:
    """A typed edgemedic error for the failures a person can act on; other errors are returned unchanged."""
    code = _code(exc)
    if code in _THROTTLING:
        return ThrottledError(
            f"CloudFront kept throttling {operation} for distribution {distribution_id} after botocore's retries "
            "(Rate exceeded). Wait a minute and run again, or fix fewer distributions at a time."
        )
    if code in _ACCESS_DENIED:
        return AccessError(
            f"not allowed to call cloudfront:{operation} on distribution {distribution_id}: grant "
            f"cloudfront:{operation} (and cloudfront:GetDistributionConfig) on its ARN to the role edgemedic runs as."
        )
    if code == "NoSuchDistribution":
        return NotFoundError(
            f"distribution {distribution_id} does not exist (any more): it was deleted or the id is wrong; "
            "scan again."
        )
    return exc


def _read(cloudfront: Any, distribution_id: str) -> tuple[dict, str]:
    try:
        answer = cloudfront.get_distribution_config(Id=distribution_id)
    except ClientError as exc:
        raise _translate(exc, distribution_id, "GetDistributionConfig") from exc
    return answer["DistributionConfig"], answer["ETag"]


def _update(cloudfront: Any, distribution_id: str, etag: str, config: Mapping[str, Any]) -> str:
    answer = cloudfront.update_distribution(Id=distribution_id, IfMatch=etag,
                                            DistributionConfig=copy.deepcopy(dict(config)))
    return answer["ETag"]


def _comparable(value: Any) -> Any:
    """A config with AWS's optional empty lists dropped, to tell "what we sent" from "what we read back".

    AWS answers string lists (AllowedMethods, CachedMethods, Aliases, ...) in its own order, not the order sent,
    so those compare as sets; lists of objects (behaviors: first match wins) keep their order."""
    if isinstance(value, Mapping):
        out = {k: _comparable(v) for k, v in value.items() if not (k == "Items" and v == [])}
        items = out.get("Items")
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            out["Items"] = sorted(items)
        return out
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    a, b = _comparable(aws_shape(a)), _comparable(aws_shape(b))
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _rules(findings: Sequence[Finding]) -> str:
    return ", ".join(sorted({f"{f.rule} on {f.behavior or f.origin or 'the distribution'}" for f in findings}))


# --------------------------------------------------------------------------------------------- apply


def apply_fixes(
    cloudfront: Any,
    distribution_id: str,
    plan_for: Callable[[dict, str], Plan | None],
    *,
    verify: Callable[[dict, str], Sequence[Finding]] | None = None,
    dry_run: bool = False,
    confirm: Callable[[Plan], bool] | None = None,
    max_attempts: int = 3,
) -> ApplyResult:
    """Read, plan, validate, (confirm,) update with If-Match; re-plan on 412; verify and roll back.

    ``plan_for(config, etag)`` builds the plan on the config just read (None: nothing to fix). ``verify(config,
    etag)`` returns the targeted findings still present after the update. Raises ``InvalidConfigError`` (nothing
    sent), ``ConcurrentEditError``, ``ThrottledError``, ``AccessError``, ``NotFoundError``.
    """
    attempts = 0
    while True:
        config, etag = _read(cloudfront, distribution_id)
        plan = plan_for(config, etag)
        if plan is None:
            logger.info("distribution %s: nothing to fix", distribution_id)
            message = "nothing to fix: the planned changes are already in place" if attempts else "nothing to fix"
            return ApplyResult(distribution_id, NOTHING_TO_DO, None, attempts, etag, message, config_hash(config))
        if plan.distribution_id != distribution_id or plan.config_hash != config_hash(config):
            raise EdgemedicError(
                f"the plan for {distribution_id} was not built on the config just read; refusing to send it "
                "(a bug in the caller's plan_for)"
            )
        problems = validate_config(plan.new_config, original=config)
        if problems:
            logger.error("distribution %s: planned config is invalid, not sent: %s", distribution_id, problems)
            raise InvalidConfigError(distribution_id, problems)
        if dry_run:
            return ApplyResult(distribution_id, DRY_RUN, plan, attempts, etag,
                               f"dry run: {len(plan.summary)} change(s) planned, nothing sent", plan.config_hash)
        if confirm is not None and not confirm(plan):
            logger.info("distribution %s: plan declined", distribution_id)
            return ApplyResult(distribution_id, DECLINED, plan, attempts, etag, "the plan was declined; nothing sent",
                               plan.config_hash)

        attempts += 1
        logger.info("distribution %s: applying %d change(s), attempt %d of %d: %s", distribution_id,
                    len(plan.summary), attempts, max_attempts, "; ".join(plan.summary))
        try:
            new_etag = _update(cloudfront, distribution_id, etag, plan.new_config)
            break
        except ClientError as exc:
            if _code(exc) != "PreconditionFailed":
                raise _translate(exc, distribution_id, "UpdateDistribution") from exc
            if attempts >= max_attempts:
                raise ConcurrentEditError(
                    f"distribution {distribution_id} changed under edgemedic on each of {attempts} attempts "
                    "(412 PreconditionFailed): someone or something keeps editing it. Nothing of edgemedic's was "
                    "applied; try again once the edits stop."
                ) from exc
            logger.warning("distribution %s changed since it was read (412 PreconditionFailed); reading it again "
                           "and re-planning", distribution_id)

    retried = f" after {attempts} attempts (the distribution changed in between)" if attempts > 1 else ""
    if verify is None:
        return ApplyResult(distribution_id, APPLIED, plan, attempts, new_etag,
                           f"applied {len(plan.summary)} change(s){retried}; CloudFront deploys them in a few minutes",
                           config_hash(plan.new_config))

    fresh, fresh_etag = _read(cloudfront, distribution_id)
    remaining = list(verify(fresh, fresh_etag))
    if not remaining:
        logger.info("distribution %s: fix applied and verified", distribution_id)
        return ApplyResult(distribution_id, APPLIED, plan, attempts, fresh_etag,
                           f"applied and verified {len(plan.summary)} change(s){retried}", config_hash(fresh))

    logger.warning("distribution %s: still finds %s after the update", distribution_id, _rules(remaining))
    if fresh_etag != new_etag or not _same(fresh, plan.new_config):
        return ApplyResult(
            distribution_id, FAILED, plan, attempts, fresh_etag,
            f"the fix was applied but {_rules(remaining)} remains, and the distribution was changed by someone else "
            "right after; edgemedic did not roll back over their change. Check it by hand.", config_hash(fresh),
        )
    try:
        restored_etag = _update(cloudfront, distribution_id, fresh_etag, plan.base_config)
    except ClientError as exc:
        if _code(exc) != "PreconditionFailed":
            raise _translate(exc, distribution_id, "UpdateDistribution") from exc
        return ApplyResult(
            distribution_id, FAILED, plan, attempts, fresh_etag,
            f"the fix did not remove {_rules(remaining)}, and the distribution was edited by someone else before "
            "edgemedic could restore the previous config; edgemedic did not overwrite their change. "
            "Check it by hand.", config_hash(fresh),
        )
    logger.warning("distribution %s: previous config restored", distribution_id)
    return ApplyResult(
        distribution_id, ROLLED_BACK, plan, attempts, restored_etag,
        f"the fix did not remove {_rules(remaining)}; the previous config was restored",
        config_hash(plan.base_config),
    )
