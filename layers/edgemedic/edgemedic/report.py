"""Findings and the rule catalog, told to people (rich tables) and to machines (JSON, SARIF 2.1.0, markdown).

Pure rendering: nothing here reads AWS. The README's rule table is generated from the rules' own metadata::

    python -m edgemedic.report --update-readme          # rewrite the table between the markers, and docs/rules.md
    python -m edgemedic.report --check-readme           # exit 1 when either is out of date (CI)
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TextIO

from rich import box
from rich.console import Console, ConsoleOptions, Group
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

from . import jsontext
from .findings import Finding, Rule, Severity
from .model import DEFAULT_PATTERN, Distribution

README_START = "<!-- rules:start -->"
README_END = "<!-- rules:end -->"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/edgemedic/edgemedic"

SEVERITIES: tuple[Severity, ...] = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)
SEVERITY_STYLE = {Severity.CRITICAL: "bold white on red", Severity.HIGH: "bold red", Severity.MEDIUM: "yellow",
                  Severity.LOW: "cyan"}
# SARIF has three levels; critical and high both break requests, so both are errors.
SARIF_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note"}
# GitHub code scanning ranks results by this property (CVSS-like scale, >= 9.0 critical, >= 7.0 high).
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0"}

FindingKey = tuple[str, str, str, str]


def version() -> str:
    from importlib import metadata  # late: ~20 ms, and only SARIF and --version ask

    try:
        return metadata.version("edgemedic")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0"


def behavior_label(pattern: str) -> str:
    if not pattern:
        return "(whole distribution)"
    return "default (*)" if pattern == DEFAULT_PATTERN else pattern


def logical_location(finding: Finding) -> str:
    """``distribution/E123/behavior/<pattern>`` (under ``account/111122223333/`` when the account is known): where
    the finding lives, for SARIF and ticket titles."""
    name = f"distribution/{finding.distribution}"
    if finding.account:
        name = f"account/{finding.account}/{name}"
    return f"{name}/behavior/{finding.behavior}" if finding.behavior else name


def severity_counts(findings: Iterable[Finding]) -> dict[Severity, int]:
    counts = Counter(f.severity for f in findings)
    return {severity: counts.get(severity, 0) for severity in SEVERITIES}


def counts_line(findings: Sequence[Finding]) -> str:
    """``3 findings: 2 high, 1 medium`` (``no findings``)."""
    if not findings:
        return "no findings"
    parts = [f"{n} {s.value}" for s, n in severity_counts(findings).items() if n]
    noun = "finding" if len(findings) == 1 else "findings"
    return f"{len(findings)} {noun}: " + ", ".join(parts)


# --------------------------------------------------------------------------------------------- JSON


def finding_record(finding: Finding, diff: str | None = None) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        **({"account": finding.account} if finding.account else {}),  # a scan of several accounts
        "distribution": finding.distribution,
        "behavior": finding.behavior,
        "origin": finding.origin,
        "message": finding.message,
        "symptom": finding.symptom,
        "evidence": list(finding.evidence),
        "notes": list(finding.notes),
        "fix": {
            "class": finding.fix.fix_class.value,
            "summary": finding.fix.summary,
            "diff": diff,
            "ticket": finding.fix.ticket or None,
        },
    }


def scan_metadata(distributions: Sequence[Distribution], regions: Iterable[str], *,
                  at: "datetime | None" = None) -> dict[str, Any]:
    """What a JSON report says about the scan itself: which edgemedic and catalog, when, which accounts (from the
    distributions' ARNs), which regions and which distributions were read."""
    from datetime import datetime, timezone

    from .rules.terms import CATALOG_VERSION

    at = at or datetime.now(timezone.utc)
    accounts = sorted({d.arn.split(":")[4] for d in distributions if d.arn.count(":") >= 5 and d.arn.split(":")[4]})
    return {
        "edgemedic": version(),
        "catalog_version": CATALOG_VERSION,
        "generated_at": at.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "accounts": accounts,
        "regions": sorted(set(regions)),
        "distributions": [d.id for d in distributions],
    }


def render_json(findings: Sequence[Finding], warnings: Sequence[str],
                diffs: Mapping[FindingKey, str | None] | None = None,
                metadata: Mapping[str, Any] | None = None, *,
                accounts: Sequence[Mapping[str, Any]] | None = None) -> str:
    """The machine-readable scan: ``{"findings": [...], "warnings": [...], "metadata": {...}}``, plus
    ``"accounts"`` (each account's id, name, whether it was scanned and why not) for a scan of several accounts.

    ``metadata`` (``scan_metadata``) is a key added beside the original two, so readers of those keep working."""
    diffs = diffs or {}
    document: dict[str, Any] = {
        "findings": [finding_record(f, diffs.get(f.key)) for f in findings],
        "warnings": list(warnings),
    }
    if metadata is not None:
        document["metadata"] = dict(metadata)
    if accounts is not None:
        document["accounts"] = [dict(a) for a in accounts]
    return jsontext.dumps(document) + "\n"


# --------------------------------------------------------------------------------------------- SARIF


def _rule_name(rule_id: str) -> str:
    return "".join(part.capitalize() for part in rule_id.replace("_", "-").split("-"))


def sarif_rule(rule: Rule) -> dict[str, Any]:
    severity = Severity(rule.severity)
    return {
        "id": rule.id,
        "name": _rule_name(rule.id),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"{rule.title} What the user sees: {rule.symptom}"},
        "help": {"text": f"{rule.remediation} ({rule.fix_class})", "markdown": f"{rule.remediation} "
                 f"(fix class `{rule.fix_class}`). See [AWS documentation]({rule.url})."},
        "helpUri": rule.url,
        "defaultConfiguration": {"level": SARIF_LEVEL[severity]},
        "properties": {"tags": ["cloudfront", "api-gateway", "misconfiguration"], "precision": "high",
                       "security-severity": SECURITY_SEVERITY[severity], "fix-class": rule.fix_class},
    }


def sarif_result(finding: Finding, rule_index: int | None) -> dict[str, Any]:
    text = f"{finding.message} What the user sees: {finding.symptom} Fix ({finding.fix.fix_class.value}): " \
           f"{finding.fix.summary}"
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "level": SARIF_LEVEL[finding.severity],
        "message": {"text": text},
        "locations": [{
            "logicalLocations": [{
                "fullyQualifiedName": logical_location(finding),
                "name": finding.behavior or finding.distribution,
                "kind": "resource",
            }],
        }],
        "partialFingerprints": {"edgemedicFinding/v1": "|".join(finding.key)},
        "properties": {
            "severity": finding.severity.value,
            **({"account": finding.account} if finding.account else {}),
            "distribution": finding.distribution,
            "behavior": finding.behavior,
            "origin": finding.origin,
            "evidence": list(finding.evidence),
            "notes": list(finding.notes),
            "fixClass": finding.fix.fix_class.value,
            "fixSummary": finding.fix.summary,
        },
    }
    if rule_index is not None:
        result["ruleIndex"] = rule_index
    return result


def render_sarif(findings: Sequence[Finding], rules: Sequence[Rule], *, warnings: Sequence[str] = ()) -> dict:
    """A SARIF 2.1.0 log with one run: the catalog as ``tool.driver.rules``, one result per finding."""
    index = {rule.id: i for i, rule in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "edgemedic",
            "version": version(),
            "informationUri": INFORMATION_URI,
            "rules": [sarif_rule(rule) for rule in rules],
        }},
        "results": [sarif_result(f, index.get(f.rule)) for f in findings],
        "invocations": [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [
                {"level": "warning", "message": {"text": warning}} for warning in warnings
            ],
        }],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


# --------------------------------------------------------------------------------------------- tables for people


def make_console(file: TextIO | None = None, *, plain: bool = False) -> Console:
    """A console on ``file``; rich itself turns colors off for NO_COLOR and for anything that is not a terminal.

    Output that is not a terminal gets 120 columns (rich's 80 wraps every message) unless COLUMNS says otherwise.
    """
    file = file or sys.stdout
    is_tty = bool(getattr(file, "isatty", lambda: False)())
    columns = os.environ.get("COLUMNS", "")
    width = None if is_tty else (int(columns) if columns.isdigit() and int(columns) > 0 else 120)
    return Console(file=file, highlight=False, soft_wrap=False, width=width,
                   no_color=True if plain else None, force_terminal=False if plain else None)


def _finding_lines(finding: Finding) -> list[tuple[str, str, str]]:
    """The text of a finding below its head, line by line: (label, the label's style, text)."""
    return [("", "", finding.message), ("Symptom: ", "bold", finding.symptom),
            (f"Fix ({finding.fix.fix_class.value}): ", "bold green", finding.fix.summary),
            *(("Evidence: ", "dim", item) for item in finding.evidence),
            *(("Note: ", "dim italic", note) for note in finding.notes)]


def _finding_cell(finding: Finding) -> Text:
    # One Text of lines rather than a Group of Texts: rich lays out and renders it as one cell part instead of one
    # per line (~17% of the table's time), and writes the same characters and styles.
    return Text("\n").join(Text.assemble((label, style), text) if label else Text(text)
                           for label, style, text in _finding_lines(finding))


def _where_parts(finding: Finding) -> list[tuple[str, str]]:
    parts = [("behavior ", behavior_label(finding.behavior))] if finding.behavior else []
    if finding.origin:
        parts.append(("origin ", finding.origin))
    return parts


def where_text(finding: Finding) -> Text:
    """``behavior /api/* → origin users-api`` (``whole distribution``)."""
    parts = _where_parts(finding)
    if not parts:
        return Text("whole distribution", style="dim")
    return Text(" → ").join(Text.assemble((label, "dim"), value) for label, value in parts)


def _where_plain(finding: Finding) -> str:
    """The characters of :func:`where_text`."""
    return " → ".join(label + value for label, value in _where_parts(finding)) or "whole distribution"


def _finding_text(finding: Finding) -> Group:
    """The text column of a finding: its rule and where, then :func:`_finding_cell`."""
    return Group(Text.assemble((finding.rule, "bold"), "  ", where_text(finding)), _finding_cell(finding))


SEVERITY_WIDTH = 9  # "CRITICAL" and a space


def findings_table(findings: Sequence[Finding]) -> Table:
    """One finding per block: the severity in a narrow left column, everything else wrapped beside it.

    Laid out for 80 columns first: the text gets all but 10 of them, so host names (up to 60 characters or so)
    stay whole; a longer word folds onto the next line rather than being cut with an ellipsis.
    """
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(width=SEVERITY_WIDTH - 1, no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    for f in findings:
        table.add_row(Text(f.severity.value.upper(), style=SEVERITY_STYLE[f.severity]), _finding_text(f))
        table.add_row("", "")
    return table


class FindingsGrid:
    """:func:`findings_table`, laid out exactly as rich's ``Table`` lays that grid out (the same segments, so the same
    bytes with or without colors), for less: the text column's width is the console's less the severity column
    whatever the text (rich measures every cell of a ratio column, then sets its width from the ratio alone), and the
    severity cells and the blank row between findings, the same on every row, are rendered once per table. Only the
    text of each finding is laid out per finding. Narrower than 11 columns rich shrinks the columns by their
    measurements: there the table itself is printed.
    """

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = findings

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        width = options.max_width
        if width < SEVERITY_WIDTH + 2:
            yield findings_table(self.findings)  # type: ignore[misc]  # a renderable: rich renders it in place
            return
        widths = (SEVERITY_WIDTH, width - SEVERITY_WIDTH)  # the first column's 8 and its right padding
        table_options = options.update(width=width, highlight=False, height=None)
        left = table_options.update(width=widths[0], justify="left", no_wrap=True, overflow="ellipsis", height=None,
                                    highlight=False)
        right = table_options.update(width=widths[1], justify="left", no_wrap=False, overflow="fold", height=None,
                                     highlight=False)
        style = console.get_style("") + Style.null()  # the cells' style plus the (empty) row style

        def cell(renderable: Any, column: int) -> list[list[Segment]]:
            if column == 1:  # no padding: Table.grid collapses the gap into the first column's right side
                return console.render_lines(renderable, right, style=style)
            return console.render_lines(Padding(renderable, (0, 1, 0, 0)), left, style=style)

        def row(cells: tuple[list[list[Segment]], list[list[Segment]]]) -> Iterator[Segment]:
            height = max(1, *(len(lines) for lines in cells))
            shaped = [Segment.set_shape(Segment.align_top(lines, w, max(len(c) for c in cells), style), w, height)
                      for w, lines in zip(widths, cells)]
            new_line = Segment.line()
            for line_no in range(height):
                for lines in shaped:
                    yield from lines[line_no]
                yield new_line

        if console.color_system is None:  # no styles reach the output: lay out the text alone
            yield from self._plain(width, lambda f: cell(_finding_text(f), 1))
            return
        severities: dict[Severity, list[list[Segment]]] = {}
        blank: list[Segment] | None = None
        for f in self.findings:
            if f.severity not in severities:
                severities[f.severity] = cell(Text(f.severity.value.upper(), style=SEVERITY_STYLE[f.severity]), 0)
            yield from row((severities[f.severity], cell(_finding_text(f), 1)))
            if blank is None:
                blank = list(row((cell("", 0), cell("", 1))))
            yield from blank

    def _plain(self, width: int, rich_cell: "Callable[[Finding], list[list[Segment]]]") -> Iterator[Segment]:
        """The grid as rich writes it without a color system (a file, a pipe, NO_COLOR on no terminal): one plain
        line per row, each exactly ``width`` long. A finding whose texts hold only characters one cell wide and no
        control codes is wrapped here by rich's own rules (:func:`_wrap_plain`); any other is laid out by rich."""
        text_width = width - SEVERITY_WIDTH
        gutter = " " * SEVERITY_WIDTH
        new_line = Segment.line()
        for f in self.findings:
            logical = _plain_lines(f)
            if logical is not None:
                lines = [piece for line in logical for piece in _wrap_plain(line, text_width)]
            else:
                lines = ["".join(segment.text for segment in line) for line in rich_cell(f)]
            severity = f.severity.value.upper()[:SEVERITY_WIDTH - 1].ljust(SEVERITY_WIDTH)
            for number, line in enumerate(lines):
                yield Segment((severity if number == 0 else gutter) + line)
                yield new_line
            yield Segment(" " * width)
            yield new_line


# Characters outside ASCII that edgemedic's own texts use, each one cell wide in every terminal rich knows.
_ONE_CELL = frozenset("→—–…‘’“”×")
_DROP_ONE_CELL = str.maketrans(dict.fromkeys(_ONE_CELL))


def _simple(text: str) -> bool:
    """Whether rich lays ``text`` out as one cell per character with nothing stripped (no control codes, tabs or
    new lines; no wide, zero-width or combining characters)."""
    return text.isprintable() and (text.isascii() or text.translate(_DROP_ONE_CELL).isascii())


def _plain_lines(finding: Finding) -> list[str] | None:
    """The text column of a finding as its logical lines (what :func:`_finding_cell` and the head hold), or None
    when one of them is not :func:`_simple`."""
    lines = [f"{finding.rule}  {_where_plain(finding)}",
             *(label + text for label, _, text in _finding_lines(finding))]
    return lines if all(_simple(line) for line in lines) else None


_WORD = re.compile(r"\s*\S+\s*")


def _wrap_plain(text: str, width: int) -> list[str]:
    """``Text(text).wrap(width, justify="left", overflow="fold")`` for a :func:`_simple` text, each line padded to
    ``width`` as rich pads a cell: rich's word division (a word and the space after it stay together; a word longer
    than the line is folded), then each line cropped and padded (rich first trims the spaces beyond the width from
    the line's end: the crop does the same). Tests compare it with rich's own layout."""
    if len(text) <= width:
        return [text.ljust(width)]
    breaks = _breaks(text, width) if text[0] != " " else _word_breaks(text, width)
    bounds = [0, *breaks, len(text)]
    return [text[begin:end][:width].ljust(width) for begin, end in zip(bounds, bounds[1:])]


def _breaks(text: str, width: int) -> list[int]:
    """:func:`_word_breaks` found line by line instead of word by word, for a text that does not start with a space
    (the only white space a :func:`_simple` text has).

    Rich places word after word; a word fits when its last character is within ``width`` of the line's start
    ``line`` (the words before it and their spaces fill the line up to where it starts). So the first word that
    does not fit is the one holding the character at ``line + width``, or, when that is a space, the next one. It
    goes to a new line, or is folded from a new line into pieces of ``width`` (its spaces included) when it is
    longer than a line; the next line starts there, or at its last piece."""
    breaks: list[int] = []
    n = len(text)
    last = len(text.rstrip(" "))  # the end of the last word (spaces after it never wrap a line)
    line = 0
    while last - line > width:
        edge = line + width
        if text[edge] != " ":
            start = text.rfind(" ", line, edge) + 1 or line
        else:
            start = edge + 1
            while text[start] == " ":
                start += 1
        end = text.find(" ", start)
        end = n if end < 0 else end
        if end - start > width:  # longer than a line: folded, the spaces after it in its pieces
            after = end
            while after < n and text[after] == " ":
                after += 1
            pieces = -(-(after - start) // width)
            if start:
                breaks.append(start)
            breaks.extend(start + width * k for k in range(1, pieces))
            line = start + width * (pieces - 1)
        else:
            breaks.append(start)
            line = start
    return breaks


def _word_breaks(text: str, width: int) -> list[int]:
    """Where rich's ``divide_line`` breaks ``text`` (one cell per character): word by word."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:
            chunks = [word[i:i + width] for i in range(0, len(word), width)]
            for chunk in chunks[:-1]:
                if start:
                    breaks.append(start)
                start += len(chunk)
            if start:
                breaks.append(start)
            offset = len(chunks[-1])
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    return breaks


def distribution_heading(dist: Distribution | None, distribution_id: str) -> Text:
    heading = Text(f"Distribution {distribution_id}", style="bold")
    if dist is not None:
        names = ", ".join(dist.aliases) if dist.aliases else "no aliases"
        heading.append(f"  {dist.domain_name} ({names})", style="dim")
    return heading


def render_table(console: Console, findings: Sequence[Finding], warnings: Sequence[str],
                 distributions: Sequence[Distribution] = ()) -> None:
    """Findings grouped by distribution (every scanned one, clean ones in a line), then the warnings."""
    by_dist: dict[str, list[Finding]] = {}
    for finding in findings:
        by_dist.setdefault(finding.distribution, []).append(finding)
    known = {d.id: d for d in distributions}
    order = [d.id for d in distributions] + [i for i in by_dist if i not in known]
    for dist_id in order:
        own = by_dist.get(dist_id, [])
        heading = Text.assemble((f"Distribution {dist_id}", "bold"), "  ",
                                (counts_line(own), "bold red" if own else "green"))
        console.print(heading)
        dist = known.get(dist_id)
        if dist is not None:
            names = ", ".join(dist.aliases) if dist.aliases else "no aliases"
            console.print(Text(f"{dist.domain_name} ({names})", style="dim", overflow="fold"))
        console.print()
        if own:
            console.print(FindingsGrid(own))
    total = Text(f"{len(order)} distribution{'s' if len(order) != 1 else ''} scanned, {counts_line(findings)}.",
                 style="bold")
    console.print(total)
    if warnings:
        console.print(Text(f"\n{len(warnings)} warning{'s' if len(warnings) != 1 else ''} "
                           "(could not read; rules that needed it stayed silent):", style="yellow bold"))
        for warning in warnings:
            console.print(Text(f"  - {warning}", style="yellow"))


@dataclass(frozen=True)
class AccountSection:
    """One account of a scan of several: its findings, warnings and distributions, or why it was not scanned."""

    label: str  # "111122223333 (prod)"
    findings: Sequence[Finding] = ()
    warnings: Sequence[str] = ()
    distributions: Sequence[Distribution] = ()
    error: str | None = None


def render_accounts_table(console: Console, sections: Sequence[AccountSection]) -> None:
    """Findings grouped by account, then by distribution; accounts that could not be scanned say why."""
    for section in sections:
        console.print(Text(f"Account {section.label}", style="bold underline"))
        if section.error is not None:
            console.print(Text(f"  not scanned: {section.error}", style="yellow"))
            console.print()
            continue
        render_table(console, section.findings, section.warnings, section.distributions)
        console.print()
    scanned = [s for s in sections if s.error is None]
    findings = [f for s in scanned for f in s.findings]
    distributions = sum(len(s.distributions) for s in scanned)
    line = Text(f"{len(scanned)} of {len(sections)} account{'s' if len(sections) != 1 else ''} scanned, "
                f"{distributions} distribution{'s' if distributions != 1 else ''}, {counts_line(findings)}.",
                style="bold")
    console.print(line)
    missed = [s for s in sections if s.error is not None]
    if missed:
        console.print(Text(f"{len(missed)} account{'s' if len(missed) != 1 else ''} not scanned: "
                           + ", ".join(s.label for s in missed), style="yellow bold"))


# --------------------------------------------------------------------------------------------- the catalog


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def rules_markdown(rules: Sequence[Rule]) -> str:
    """The README's rule table (GitHub markdown), one row per rule in catalog order."""
    lines = [
        "| id | severity | fix | when it fires | what you see | remediation |",
        "|---|---|---|---|---|---|",
    ]
    for rule in rules:
        lines.append(
            f"| [`{rule.id}`]({rule.url}) | {Severity(rule.severity).value} | {rule.fix_class} | "
            f"{_cell(rule.title)} | {_cell(rule.symptom)} | {_cell(rule.remediation)} |"
        )
    return "\n".join(lines) + "\n"


def rules_reference(rules: Sequence[Rule]) -> str:
    """docs/rules.md: the catalog's words and one section per rule, generated from the rules' own metadata."""
    from .rules.terms import CATALOG_VERSION, TERMS

    lines = [
        "# Rule reference",
        "",
        f"Catalog version {CATALOG_VERSION}. Generated from the rules' own metadata by "
        "`python -m edgemedic.report --update-readme`; do not edit by hand (a test keeps it equal to the code).",
        "The ids are a public contract: they appear in JSON, SARIF, Slack messages, tickets and `modes` settings.",
        "",
        "## Words used below",
        "",
    ]
    lines += [f"- **{term}**: {text}" for term, text in TERMS]
    lines += ["", "## Rules", "", rules_markdown(rules).rstrip("\n")]
    for rule in rules:
        lines += [
            "", f"### `{rule.id}`", "",
            f"- Severity: {Severity(rule.severity).value}",
            f"- Fix class: {rule.fix_class}",
            f"- When it fires: {' '.join(rule.title.split())}",
            f"- What the user sees: {' '.join(rule.symptom.split())}",
            f"- Fix: {' '.join(rule.remediation.split())}",
            f"- Source: {rule.url}",
        ]
    return "\n".join(lines) + "\n"


def rules_json(rules: Sequence[Rule]) -> str:
    return json.dumps({"rules": [
        {"id": r.id, "severity": Severity(r.severity).value, "fix_class": r.fix_class, "title": r.title,
         "symptom": r.symptom, "remediation": r.remediation, "url": r.url}
        for r in rules
    ]}, indent=2) + "\n"


def render_rules_table(console: Console, rules: Sequence[Rule]) -> None:
    """One block per rule, laid out for 80 columns: id, severity and fix class; when it fires; what you see; the
    remediation; the documentation URL whole on its own line (never wrapped by us, so it can be clicked or
    copied; a terminal hyperlink where the terminal supports them)."""
    for rule in rules:
        severity = Severity(rule.severity)
        console.print(Text.assemble((rule.id, "bold"), "  ", (severity.value, SEVERITY_STYLE[severity]), "  ",
                                    (f"fix: {rule.fix_class}", "dim")))
        body = Table.grid(padding=(0, 0))
        body.add_column(width=2)
        body.add_column(ratio=1)
        for label, text in (("", rule.title), ("What you see: ", rule.symptom), ("Remediation: ", rule.remediation)):
            body.add_row("", Text.assemble((label, "bold"), text))
        console.print(body)
        console.print(Text.assemble("  ", ("Docs: ", "dim"), (rule.url, f"link {rule.url}")), soft_wrap=True)
        console.print()


def readme_with_rules(readme: str, rules: Sequence[Rule]) -> str:
    """``readme`` with the generated table between the markers; ValueError when the markers are missing."""
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README has no {README_START} ... {README_END} markers")
    head = readme[: start + len(README_START)]
    return f"{head}\n{rules_markdown(rules)}{readme[end:]}"


def readme_table(readme: str) -> str:
    """What the README holds between the markers now."""
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README has no {README_START} ... {README_END} markers")
    return readme[start + len(README_START): end].strip("\n") + "\n"


def default_readme() -> Path:
    # layers/edgemedic/edgemedic/report.py -> the repository root
    return Path(__file__).resolve().parents[3] / "README.md"


def docs_path(readme: Path) -> Path:
    """The generated rule reference beside a README: ``docs/rules.md``."""
    return readme.parent / "docs" / "rules.md"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgemedic.report",
                                     description="Regenerate or check the README's rule table and docs/rules.md.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--update-readme", action="store_true",
                        help="rewrite the table between the markers and docs/rules.md")
    action.add_argument("--check-readme", action="store_true", help="exit 1 when either is out of date")
    parser.add_argument("readme", nargs="?", type=Path, default=None, help="README path (default: the repo's)")
    args = parser.parse_args(argv)
    from .rules import RULES

    path = args.readme or default_readme()
    docs = docs_path(path)
    current = path.read_text(encoding="utf-8")
    wanted = {path: (current, readme_with_rules(current, RULES)),
              docs: (docs.read_text(encoding="utf-8") if docs.exists() else "", rules_reference(RULES))}
    stale = [p for p, (now, new) in wanted.items() if now != new]
    if args.check_readme:
        for p in stale:
            print(f"{p}: rule reference is out of date; run python -m edgemedic.report --update-readme",
                  file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(wanted[p][1], encoding="utf-8")
        print(f"{p}: rule reference updated ({len(RULES)} rules)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
