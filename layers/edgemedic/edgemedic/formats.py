"""Scan results for code-scanning and CI systems: SARIF 2.1.0 with physical locations, GitLab code quality, JUnit.

    document = sarif(findings, RULES, warnings=w, locations=locations)    # locations: Finding.key -> Location

A template or plan finding points at its file and line; a live finding at a stable URI for its distribution
(``cloudfront/distributions/E123ABC``), so GitHub code scanning (which rejects results without a physical location)
and GitLab can file both. Pure rendering, like :mod:`edgemedic.report`, which renders the tables and JSON.
"""
from __future__ import annotations

import hashlib
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote
from xml.etree import ElementTree

from . import jsontext, report
from .findings import Finding, Rule, Severity

LIVE_URI = "cloudfront/distributions/{id}"
GITLAB_SEVERITY = {Severity.CRITICAL: "blocker", Severity.HIGH: "critical", Severity.MEDIUM: "major",
                   Severity.LOW: "minor"}


def _location(finding: Finding, locations: Mapping[Any, Any] | None) -> tuple[str, int, str | None]:
    """(uri, line, file or None) of a finding; a live finding has no file."""
    found = (locations or {}).get(finding.key)
    if found is not None:
        return found.file, found.line or 1, found.file
    return LIVE_URI.format(id=finding.distribution), 1, None


def fingerprint(finding: Finding, locations: Mapping[Any, Any] | None = None) -> str:
    """Stable across scans while the finding stands: rule, distribution, behavior, origin (and file for templates),
    never the line, so editing elsewhere in a file does not make an old finding look new."""
    uri, _, _ = _location(finding, locations)
    return hashlib.sha256("|".join((uri, *finding.key)).encode()).hexdigest()


# --------------------------------------------------------------------------------------------- SARIF


def sarif(findings: Sequence[Finding], rules: Sequence[Rule], *, warnings: Sequence[str] = (),
          locations: Mapping[Any, Any] | None = None) -> dict:
    """:func:`report.render_sarif`, each result with a physicalLocation and a location fingerprint."""
    document = report.render_sarif(findings, rules, warnings=warnings)
    for finding, result in zip(findings, document["runs"][0]["results"]):
        uri, line, file = _location(finding, locations)
        # A URI reference: a file name with spaces or '#' must be percent-encoded to mean the file.
        physical = {"artifactLocation": {"uri": quote(uri, safe="/")}, "region": {"startLine": line}}
        result["locations"][0]["physicalLocation"] = physical
        result["partialFingerprints"]["edgemedicLocation/v1"] = fingerprint(finding, locations)
        if file is not None:
            result["properties"]["location"] = locations[finding.key].as_dict()
    return document


# --------------------------------------------------------------------------------------------- GitLab


def gitlab(findings: Sequence[Finding], *, locations: Mapping[Any, Any] | None = None) -> list[dict]:
    """GitLab code quality report: one issue per finding (description, check_name, fingerprint, severity,
    location.path, location.lines.begin)."""
    issues = []
    for finding in findings:
        uri, line, _ = _location(finding, locations)
        issues.append({
            "type": "issue",
            "description": f"{finding.message}. Fix ({finding.fix.fix_class.value}): {finding.fix.summary}",
            "check_name": finding.rule,
            "fingerprint": fingerprint(finding, locations),
            "severity": GITLAB_SEVERITY[finding.severity],
            "categories": ["Bug Risk"],
            "location": {"path": uri, "lines": {"begin": line}},
        })
    return issues


# --------------------------------------------------------------------------------------------- JUnit


def junit(findings: Sequence[Finding], rules: Sequence[Rule], distributions: Iterable[str], *,
          locations: Mapping[Any, Any] | None = None) -> str:
    """JUnit XML: a test suite per distribution, a test case per catalog rule, a failure per finding of it."""
    by_dist: dict[str, list[Finding]] = {}
    for finding in findings:
        by_dist.setdefault(finding.distribution, []).append(finding)
    order = list(dict.fromkeys([*distributions, *by_dist]))
    root = ElementTree.Element("testsuites", name="edgemedic", tests=str(len(order) * len(rules)),
                               failures=str(sum(len({f.rule for f in by_dist.get(d, [])}) for d in order)))
    for dist_id in order:
        own = by_dist.get(dist_id, [])
        failing = {f.rule for f in own}
        suite = ElementTree.SubElement(root, "testsuite", name=f"distribution {dist_id}", tests=str(len(rules)),
                                       failures=str(len(failing)), errors="0", skipped="0")
        for rule in rules:
            case = ElementTree.SubElement(suite, "testcase", classname=f"edgemedic.{dist_id}", name=rule.id)
            for finding in (f for f in own if f.rule == rule.id):
                uri, line, _ = _location(finding, locations)
                failure = ElementTree.SubElement(case, "failure", type=finding.severity.value,
                                                 message=finding.message)
                failure.text = "\n".join([
                    f"{uri}:{line}", f"behavior: {report.behavior_label(finding.behavior)}",
                    f"origin: {finding.origin or '-'}", f"symptom: {finding.symptom}",
                    f"fix ({finding.fix.fix_class.value}): {finding.fix.summary}",
                    *(f"evidence: {e}" for e in finding.evidence), *(f"note: {n}" for n in finding.notes)])
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def render(fmt: str, findings: Sequence[Finding], warnings: Sequence[str], *, distributions: Iterable[str],
           locations: Mapping[Any, Any] | None = None) -> str:
    """The text of one of the machine formats (``sarif``, ``gitlab``, ``junit``)."""
    from .rules import RULES

    if fmt == "sarif":
        return jsontext.dumps(sarif(findings, RULES, warnings=warnings, locations=locations)) + "\n"
    if fmt == "gitlab":
        return jsontext.dumps(gitlab(findings, locations=locations)) + "\n"
    if fmt == "junit":
        return junit(findings, RULES, distributions, locations=locations)
    raise ValueError(f"unknown format {fmt}")


MACHINE_FORMATS = ("sarif", "gitlab", "junit")
