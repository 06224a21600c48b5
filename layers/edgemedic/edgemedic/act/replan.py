"""The fix loop's view of a distribution: rebuilt from the config ``apply_fixes`` just read, and evaluated.

``plan_for`` and ``verify`` callbacks (CLI ``fix``, the apply function, approved plans) all need it: a person's
concurrent edit may have fixed or added something, so every decision is made on the config as it is now.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from ..findings import Finding
from ..model import Distribution, Inventory


def evaluate_read(previous: Distribution, config: Mapping[str, Any], etag: str, inv: Inventory,
                  resolver: Any) -> tuple[Distribution, list[Finding]]:
    """``previous`` as ``config`` (read with ``etag``) now says it is, and its findings; ``inv`` supplies the APIs,
    domains and certificates, ``resolver`` (``collect.PolicyResolver``) the policies."""
    from .. import engine
    from ..collect import distribution_from_config

    summary = {"Id": previous.id, "ARN": previous.arn, "DomainName": previous.domain_name,
               "Status": previous.status}
    fresh = distribution_from_config(summary, config, etag, resolver, inv.custom_domains)
    others = tuple(d for d in inv.distributions if d.id != previous.id)
    return fresh, engine.evaluate(fresh, dataclasses.replace(inv, distributions=(*others, fresh)))
