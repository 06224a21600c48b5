"""Evaluate distributions against the catalog: model in, findings out (no AWS calls here).

    findings = scan(inventory)                 # every distribution
    findings = evaluate(distribution, inventory)
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .findings import Finding, Rule
from .model import Distribution, Inventory

logger = logging.getLogger(__name__)


@dataclass
class RuleErrors:
    """Collects rules that crashed, so one faulty rule cannot hide every other finding."""

    messages: list[str] = field(default_factory=list)


def _all_rules() -> Sequence[Rule]:
    from .rules import RULES  # late: keeps `import edgemedic.engine` cheap for tools that only need types

    return RULES


def _order(dist: Distribution) -> dict[str, int]:
    return {b.path_pattern: i for i, b in enumerate(dist.behaviors)}


def evaluate(
    dist: Distribution,
    inv: Inventory,
    rules: Iterable[Rule] | None = None,
    *,
    errors: RuleErrors | None = None,
) -> list[Finding]:
    """Findings of one distribution, most severe first, then in behavior order.

    A rule that raises is a bug in edgemedic: with ``errors`` given it is recorded there and the other rules
    still run; without it the exception propagates (tests want that).
    """
    findings: list[Finding] = []
    for rule in rules if rules is not None else _all_rules():
        try:
            findings.extend(rule.check(dist, inv))
        except Exception as exc:  # noqa: BLE001 - see docstring
            if errors is None:
                raise
            logger.exception("rule %s failed on distribution %s", rule.id, dist.id)
            errors.messages.append(f"rule {rule.id} failed on distribution {dist.id}: {exc}")
    order = _order(dist)
    findings.sort(key=lambda f: (-f.severity.rank, order.get(f.behavior, len(order)), f.rule, f.origin))
    return findings


def warnings(inv: Inventory) -> list[str]:
    """What the rules could not check, per distribution (e.g. behaviors whose edge function decides what reaches
    the origin), for the scan's output beside its findings."""
    return [w for dist in inv.distributions for w in distribution_warnings(dist, inv)]


def distribution_warnings(dist: Distribution, inv: Inventory) -> list[str]:
    """:func:`warnings` for one distribution."""
    from .rules.common import edge_function_warnings
    from .rules.passthrough import lambda_url_edge_warnings

    return [*edge_function_warnings(dist, inv), *lambda_url_edge_warnings(dist)]


def scan(inv: Inventory, rules: Iterable[Rule] | None = None, *, errors: RuleErrors | None = None) -> list[Finding]:
    """Findings of every distribution in the inventory, distribution by distribution."""
    selected = tuple(rules) if rules is not None else _all_rules()
    findings: list[Finding] = []
    for dist in inv.distributions:
        findings.extend(evaluate(dist, inv, selected, errors=errors))
    return findings
