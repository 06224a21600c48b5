"""The template / plan side of ``edgemedic scan``: same formats, ``--fail-on`` and exit codes as the live scan,
and each finding's file, line and resource."""
from __future__ import annotations

import argparse
import json

from .. import jsontext, report
from ..errors import EdgemedicError
from ..findings import Severity
from .scan import SourceResult, parse_parameters, scan_sources


def scan_files(args: argparse.Namespace) -> int:
    from ..cli import FAIL_ON_NEVER, UsageError, _output

    if args.probe:
        raise UsageError("--probe opens connections to live origins; it does not apply to --template or "
                         "--terraform-plan")
    if args.regions:
        raise UsageError("--region applies to live scans; a template's region is --parameter AWS::Region=REGION "
                         "(a Terraform plan's is its provider's)")
    try:
        parameters = parse_parameters(args.parameters)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.parameters and not args.templates:
        raise UsageError("--parameter applies to --template (a Terraform plan already holds its values)")
    try:
        result = scan_sources(args.templates, args.plans, parameters=parameters, distribution_ids=args.distributions)
    except EdgemedicError:
        raise
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the input: {exc}") from exc
    with _output(args.output) as out:
        if args.format == "json":
            out.write(render_json(result))
        elif args.format in ("sarif", "gitlab", "junit"):
            from .. import formats

            out.write(formats.render(args.format, result.findings, result.warnings,
                                     distributions=result.distributions, locations=result.locations))
        else:
            render_table(report.make_console(out, plain=args.output is not None), result)
    if args.fail_on == FAIL_ON_NEVER:
        return 0
    threshold = Severity(args.fail_on)
    return 1 if any(f.severity.at_least(threshold) for f in result.findings) else 0


def render_json(result: SourceResult) -> str:
    """The live scan's JSON document, each finding with its ``location`` (no diffs: a fix is made in the source)."""
    document = json.loads(report.render_json(result.findings, result.warnings))
    for record, finding in zip(document["findings"], result.findings):
        location = result.locations.get(finding.key)
        record["location"] = location.as_dict() if location is not None else None
    document["sources"] = list(result.files)
    return jsontext.dumps(document) + "\n"


def render_table(console, result: SourceResult) -> None:  # noqa: ANN001 - rich Console, imported lazily
    from rich.text import Text

    by_dist: dict[str, list] = {}
    for finding in result.findings:
        by_dist.setdefault(finding.distribution, []).append(finding)
    for dist_id in result.distributions:
        own = by_dist.get(dist_id, [])
        where = next((result.locations[f.key] for f in own if f.key in result.locations), None)
        heading = Text(f"Distribution {dist_id}", style="bold")
        if where is not None:
            heading.append(f"  {where.file}", style="dim")
        heading.append(f"  {report.counts_line(own)}", style="bold red" if own else "green")
        console.print(heading)
        if own:
            for finding in own:
                location = result.locations.get(finding.key)
                if location is not None and location.line:
                    console.print(Text(f"  {location.file}:{location.line}  {finding.rule}", style="dim"))
            console.print(report.FindingsGrid(own))  # the live scan's renderer: the same bytes, laid out once
        else:
            console.print()
    count = len(result.distributions)
    console.print(Text(f"{count} distribution{'s' if count != 1 else ''} in {len(result.files)} "
                       f"file{'s' if len(result.files) != 1 else ''} scanned, {report.counts_line(result.findings)}.",
                       style="bold"))
    if result.warnings:
        console.print(Text(f"\n{len(result.warnings)} warning{'s' if len(result.warnings) != 1 else ''} "
                           "(not resolved; the rules that needed it stayed silent):", style="yellow bold"))
        for warning in result.warnings:
            console.print(Text(f"  - {warning}", style="yellow"))


__all__ = ["scan_files", "render_json", "render_table"]
