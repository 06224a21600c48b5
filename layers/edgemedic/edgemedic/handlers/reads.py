"""Never act on what could not be read: which reads failed, and what only AWS may say is gone.

    read_failures(dist, inv)                 # {"api-origin": "REST API abc in eu-west-1: AccessDeniedException: ..."}
    confirm_gone(rt.clients, "E2QWRUHAPOMQZL")   # True only on NoSuchDistribution; else ReadFailedError

A collector records what it could not read as ``Unreadable``; ``gone`` marks AWS's own "does not exist". Only that
is a fact a finding may be built on (or closed on). Anything else (a 5xx after botocore's retries, throttling,
AccessDenied) leaves every stored finding, index entry, plan and ticket as it was, and the invocation fails so that
the event or apply request is retried and, after the retries, lands in its dead-letter queue with the reason.
"""
from __future__ import annotations

import re
from typing import Any

from ..model import (
    Distribution,
    Inventory,
    OriginKind,
    api_key,
    certificate_key,
    custom_domain_key,
    domains_key,
    load_balancer_key,
)
from .exceptions import ReadFailedError

WHOLE = "*"  # key of a failure that concerns every origin (a policy of the distribution, say)


def read_failures(dist: Distribution, inv: Inventory) -> dict[str, str]:
    """Origin id (``WHOLE``: the distribution) -> why something it depends on could not be read (not gone)."""
    failures: dict[str, str] = {}
    for missing in dist.unreadable:
        if not missing.gone:
            failures.setdefault(WHOLE, f"{missing.what}: {missing.reason}")
    from ..rules.tls import load_balancer_of  # late: the rules package is not needed to read failures otherwise

    for origin in dist.origins:
        keys = []
        target = origin.api
        if target is not None:
            if target.via == "execute-api" and target.api_id:
                keys.append(api_key(target.region, target.api_id))
            name = (target.domain_name or origin.domain_name).lower()
            keys += [custom_domain_key(name), domains_key(target.region)]
            domain = inv.custom_domain(name)
            for mapping in domain.mappings if domain is not None else ():
                keys.append(api_key(domain.region, mapping.api_id))
        if origin.kind is OriginKind.LOAD_BALANCER:
            keys.append(load_balancer_key(origin.domain_name))
            # Only this load balancer's certificates: an inventory of a whole account (the CLI's) holds others'.
            balancer = load_balancer_of(origin, inv)
            keys += [certificate_key(arn) for arn in (balancer.https_certificate_arns if balancer else ())]
        for key in keys:
            missing = inv.why_unreadable(key)
            if missing is not None and not missing.gone:
                failures.setdefault(origin.id, f"{missing.what}: {missing.reason}")
    return failures


_SKIPPED = re.compile(r"^distribution ([A-Z0-9]{1,64}) skipped: ")


def skipped_distributions(inv: Inventory) -> set[str]:
    """Distributions CloudFront listed whose config could not be read (``edgemedic.collect`` skips them with a
    warning): not in ``inv.distributions``, and not gone either."""
    return {found.group(1) for found in map(_SKIPPED.match, inv.warnings) if found}


def describe(failures: dict[str, str]) -> str:
    return "; ".join(dict.fromkeys(failures.values()))


def confirm_gone(clients: Any, distribution_id: str) -> bool:
    """Ask CloudFront whether a distribution the inventory lacks is gone. True only when CloudFront answers
    NoSuchDistribution; any other failure raises ReadFailedError; an answer means it is there (read it again)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        clients.cloudfront().get_distribution(Id=distribution_id)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code == "NoSuchDistribution":
            return True
        raise ReadFailedError(f"distribution {distribution_id} could not be read ({code}: "
                              f"{exc.response.get('Error', {}).get('Message', '')}): kept as it was, retrying") from exc
    except BotoCoreError as exc:
        raise ReadFailedError(f"distribution {distribution_id} could not be read ({type(exc).__name__}): "
                              "kept as it was, retrying") from exc
    return False
