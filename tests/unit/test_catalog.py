"""The registered rules match the public catalog (../shared/pitfalls.md) exactly: ids, severities, fix classes.

The catalog's markdown table is parsed here, so a change on either side without the other fails.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from edgemedic.findings import Rule, Severity
from edgemedic.rules import RULES

PITFALLS = Path(__file__).resolve().parents[3] / "shared" / "pitfalls.md"
CLASS_WORDS = ("auto", "approve", "manual")


def _catalog() -> list[dict[str, str]]:
    """Rows of the catalog table: id, severity, fix_class (e.g. ``approve/manual``), in document order."""
    rows = []
    for line in PITFALLS.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `([a-z0-9-]+)` \|", line)
        if not match:
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 5, f"catalog row does not have 5 cells: {line}"
        # The fix class is named in parentheses in the last cell: "(auto)", "(approve)... (manual)",
        # "(approve where exactly one ..., else manual)".
        words: list[str] = []
        for group in re.findall(r"\(([^()]*)\)", cells[4]):
            for word in re.findall(r"\b(auto|approve|manual)\b", group):
                if word not in words:
                    words.append(word)
        assert words, f"no fix class in catalog row {cells[0]}"
        rows.append({"id": match.group(1), "severity": cells[1], "fix_class": "/".join(words)})
    return rows


CATALOG = _catalog()
BY_ID = {rule.id: rule for rule in RULES}


def test_catalog_parses_to_its_eighteen_rules() -> None:
    assert len(CATALOG) == 18
    assert [row["id"] for row in CATALOG][:3] == ["apigw-host-forwarded", "apigw-path-unroutable",
                                                   "apigw-auth-header-dropped"]
    by_id = {row["id"]: row for row in CATALOG}
    # Spot checks of the parser on the rows whose fix class is worded differently.
    assert by_id["apigw-path-unroutable"]["fix_class"] == "approve/manual"
    assert by_id["apigw-default-endpoint-disabled"]["fix_class"] == "approve/manual"
    assert by_id["origin-tls-name-mismatch"]["fix_class"] == "approve/manual"
    assert by_id["apigw-auth-header-dropped"]["fix_class"] == "auto"
    assert by_id["apigw-private-endpoint"]["severity"] == "critical"


def test_every_catalog_rule_is_registered_once_in_catalog_order() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids)), "duplicate rule ids"
    assert ids == [row["id"] for row in CATALOG]


@pytest.mark.parametrize("row", CATALOG, ids=[row["id"] for row in CATALOG])
def test_rule_metadata_matches_catalog(row: dict[str, str]) -> None:
    rule = BY_ID[row["id"]]
    assert isinstance(rule, Rule)
    assert Severity(rule.severity).value == row["severity"]
    assert rule.fix_class == row["fix_class"]


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_rule_has_docs(rule: Rule) -> None:
    for field in ("title", "symptom", "remediation"):
        value = getattr(rule, field)
        assert isinstance(value, str) and value.strip(), f"{rule.id}.{field} is empty"
        assert "\n\n" not in value, f"{rule.id}.{field} should be one paragraph (it becomes a table cell)"
    url = urlparse(rule.url)
    assert url.scheme == "https" and url.netloc, f"{rule.id} url is not an https URL: {rule.url!r}"
    assert callable(rule.check)
