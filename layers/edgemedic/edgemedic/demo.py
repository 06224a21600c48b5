"""``edgemedic demo``: the seed stories on the embedded emulator, told as a story.

Builds five broken setups and a healthy one with real boto3 calls (``edgemedic.scenarios``), scans them, shows
what edgemedic found and the diffs of the safe fixes, applies them through the same code as ``edgemedic fix
--yes``, scans again and says what is left for a person. In-process, no network, a few seconds.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, Sequence

from rich.console import Group
from rich.rule import Rule as Heading
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from . import report, scenarios
from .findings import Finding, FixClass

if TYPE_CHECKING:
    from rich.console import Console

    from .cli import ScanResult

INTRO = (
    "edgemedic reads each CloudFront distribution, follows every cache behavior to its origin and the API "
    "Gateway API behind it, and checks them against a catalog of the ways that setup breaks. Safe fixes "
    "(auto) it applies itself; patches a person should confirm (approve) and changes outside the distribution "
    "(manual) it proposes.\n\n"
    "This demo runs on an AWS emulator inside this process (moto, with CloudFront's ETags, If-Match and "
    "managed policies added). It builds the five setups of the stories below, plus one that is done right, "
    "with the same API calls you would make, then lets edgemedic loose on them."
)


def _findings_grid(findings: Sequence[Finding], *, ticket: bool = False,
                   label: Callable[[Finding], str] | None = None) -> Table:
    """One finding per row: severity on the left, the rest wrapped in its own column (indented, readable)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=8, no_wrap=True)
    grid.add_column(ratio=1)
    for finding in findings:
        where = [f"behavior {report.behavior_label(finding.behavior)}"] if finding.behavior else []
        if finding.origin:
            where.append(f"origin {finding.origin}")
        head = Text.assemble((finding.rule, "bold"), "  ", (" -> ".join(where), "dim"))
        if label is not None:
            head.append(f"  ({label(finding)})", style="dim")
        lines: list[Text] = [head]
        if not ticket:
            lines.append(Text(finding.message))
            lines.append(Text.assemble(("why it hurts: ", "italic"), finding.symptom))
        lines.append(Text.assemble((f"fix ({finding.fix.fix_class.value}): ", "green"), finding.fix.summary))
        if ticket and finding.fix.ticket:
            lines.append(Text.assemble(("ticket: ", "cyan"), " ".join(finding.fix.ticket.split())))
        grid.add_row(Text(finding.severity.value.upper(), style=report.SEVERITY_STYLE[finding.severity]),
                     Group(*lines))
        grid.add_row("", "")
    return grid


def _story(console: "Console", story: scenarios.Story, dist_id: str, result: "ScanResult") -> None:
    from . import plan

    console.print()
    console.print(Heading(Text(story.title, style="bold"), align="left"))
    console.print(Text(story.tale, style="italic"))
    dist = result.distribution(dist_id)
    own = [f for f in result.findings if f.distribution == dist_id]
    where = f"distribution {dist_id}" + (f" ({dist.domain_name})" if dist else "")
    if not own:
        console.print(Text(f"edgemedic on {where}: no findings.", style="green"))
        return
    console.print(Text(f"edgemedic on {where}: {report.counts_line(own)}", style="bold"))
    console.print(_findings_grid(own))
    auto = [f for f in own if f.fix.fix_class is FixClass.AUTO and f.fix.changes]
    if dist is not None and auto:
        built = plan.build_plan(dist, auto, classes=frozenset({FixClass.AUTO}))
        if built is not None:
            console.print(Text("The auto fix, as the change edgemedic will send:", style="bold"))
            for line in built.summary:
                console.print(Text(f"  - {line}"))
            console.print(Syntax(built.diff.rstrip("\n"), "diff", theme="ansi_dark", background_color="default"))


def _counts_table(before: Sequence[Finding], after: Sequence[Finding]) -> Table:
    table = Table(title="Findings by severity", title_justify="left")
    table.add_column("Severity")
    table.add_column("Before", justify="right")
    table.add_column("After", justify="right")
    first, second = report.severity_counts(before), report.severity_counts(after)
    for severity in report.SEVERITIES:
        table.add_row(Text(severity.value, style=report.SEVERITY_STYLE[severity]), str(first[severity]),
                      str(second[severity]))
    table.add_row(Text("total", style="bold"), str(len(before)), str(len(after)))
    return table


def _left_for_a_person(console: "Console", after: Sequence[Finding], story_of: dict[str, scenarios.Story]) -> None:
    console.print()
    console.print(Heading(Text("What is left for a person", style="bold"), align="left"))
    if not after:
        console.print("Nothing: every finding was fixed.")
        return
    for fix_class, intro in (
        (FixClass.APPROVE, "Patches ready for your yes (`edgemedic fix --class approve`):"),
        (FixClass.MANUAL, "Changes outside CloudFront; edgemedic files these as tickets:"),
        (FixClass.AUTO, "Auto fixes that did not apply (see above):"),
    ):
        chosen = [f for f in after if f.fix.fix_class is fix_class]
        if not chosen:
            continue
        console.print(Text(intro, style="bold"))

        def label(finding: Finding) -> str:
            story = story_of.get(finding.distribution)
            name = story.title.split(":")[0] if story else "distribution"
            return f"{name}, {finding.distribution}"

        console.print(_findings_grid(chosen, ticket=True, label=label))


def run(console: "Console") -> int:
    """Tell the whole story on ``console``; returns the exit code (1 when an auto fix failed)."""
    from . import cli
    from .emulator import Emulator

    started = time.monotonic()
    console.print(Heading(Text("edgemedic demo", style="bold")))
    console.print(INTRO)
    with Emulator() as emu:
        clients = emu.clients()
        ids = scenarios.build(clients)
        story_of = {dist_id: scenarios.STORY_BY_NAME[name] for name, dist_id in ids.items()}
        before = cli.run_scan(clients)
        for story in scenarios.STORIES:
            _story(console, story, ids[story.name], before)

        console.print()
        console.print(Heading(Text("Applying the auto fixes (what `edgemedic fix --yes` does)", style="bold"),
                              align="left"))
        console.print("For each distribution: read the config and its ETag, plan on it, check the plan against "
                      "CloudFront's constraints, send UpdateDistribution with If-Match, read back, and make sure "
                      "the findings are gone (else restore the old config).")
        results = cli.run_fixes(clients, before, frozenset({FixClass.AUTO}), dry_run=False, confirm=None,
                                console=console, show_plans=False)
        after = cli.run_scan(clients)

    console.print()
    console.print(Heading(Text("Before and after", style="bold"), align="left"))
    console.print(_counts_table(before.findings, after.findings))
    console.print(Text(f"Findings before: {report.counts_line(before.findings)}. "
                       f"After the auto fixes: {report.counts_line(after.findings)}.", style="bold"))
    _left_for_a_person(console, after.findings, story_of)
    failed = [r for r in results if r.status in {"failed", "rolled-back"}]
    elapsed = time.monotonic() - started
    console.print()
    console.print(Text(f"Done in {elapsed:.1f} s on the embedded emulator, without network."
                       + (f" {len(failed)} distribution(s) could not be fixed." if failed else ""), style="dim"))
    console.print("On your account: `edgemedic scan` (read-only), then `edgemedic fix --dry-run`.")
    warnings = [*before.warnings, *after.warnings]
    if warnings:
        console.print(Text("Warnings: " + "; ".join(dict.fromkeys(warnings)), style="yellow"))
    return 1 if failed else 0

