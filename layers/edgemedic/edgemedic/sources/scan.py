"""``edgemedic scan --template PATH ... | --terraform-plan PATH``: load, evaluate, report with file and line.

    result = scan_sources([Path("template.yaml")], [], parameters={"Stage": "prod"})
    result.findings, result.locations[finding.key]      # Location(file, line, resource)

Each source is evaluated on its own model (a stack or a plan is one account's worth of resources; nothing leaks
from one file into another). No AWS call is made.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from .. import engine
from ..findings import Finding
from .build import Location


@dataclass
class SourceResult:
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    distributions: list[str] = field(default_factory=list)  # logical ids / addresses, in file order
    locations: dict[tuple[str, str, str, str], Location] = field(default_factory=dict)  # Finding.key -> where
    files: list[str] = field(default_factory=list)


def parse_parameters(values: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs (``--parameter``); ValueError names the first malformed one."""
    found: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--parameter {value!r}: expected KEY=VALUE")
        found[key.strip()] = rest
    return found


def scan_sources(templates: Sequence[Path], plans: Sequence[Path], *, parameters: Mapping[str, str] | None = None,
                 distribution_ids: Sequence[str] = (), relative_to: Path | None = None) -> SourceResult:
    scans = []
    if templates:
        from .template import load_templates

        scans += load_templates(list(templates), parameters=parameters, relative_to=relative_to)
    if plans:
        from .terraform import load_plans

        scans += load_plans(list(plans), relative_to=relative_to)
    result = SourceResult()
    wanted = set(distribution_ids)
    for scan in scans:
        result.files.append(scan.file)
        result.warnings += [f"{scan.file}: {w}" if not w.startswith(scan.file) else w
                            for w in scan.inventory.warnings]
        errors = engine.RuleErrors()
        for dist in scan.inventory.distributions:
            if wanted and dist.id not in wanted:
                continue
            # What the rules could not check (edge functions in front of an API origin), as the live scan says.
            result.warnings += [f"{scan.file}: {w}" for w in engine.distribution_warnings(dist, scan.inventory)]
            name = dist.id if dist.id not in result.distributions else f"{scan.file}:{dist.id}"
            result.distributions.append(name)
            lines = scan.lines.get(dist.id)
            for finding in engine.evaluate(dist, scan.inventory, errors=errors):
                if name != dist.id:
                    finding = dataclasses.replace(finding, distribution=name)
                result.findings.append(finding)
                if lines is not None:
                    result.locations[finding.key] = lines.locate(finding.behavior, finding.origin)
        result.warnings += errors.messages
    missing = [d for d in distribution_ids if d not in result.distributions]
    if missing:
        from ..errors import NotFoundError

        raise NotFoundError(f"distribution {missing[0]} is in none of the files scanned "
                            f"({', '.join(result.files) or 'none'})")
    return result
