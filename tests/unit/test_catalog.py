"""The rule contract, carried by the project itself.

The ids, severities and fix classes below are a public contract (users put ids in `modes`; JSON, SARIF, Slack and
tickets carry them): changing one is a decision, made here and in the rule's metadata together. The rule
reference (docs/rules.md) and the README table are generated from the metadata, and kept equal to it here. New
rules are appended to CONTRACT in catalog order.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from edgemedic import report
from edgemedic.findings import Rule, Severity
from edgemedic.rules import RULES
from edgemedic.rules.terms import CATALOG_VERSION, EDGE_FUNCTION_RULES

ROOT = Path(__file__).resolve().parents[2]

# (id, severity, fix class) in catalog order; catalog version 2.
CONTRACT: tuple[tuple[str, str, str], ...] = (
    ("apigw-host-forwarded", "high", "auto"),
    ("apigw-path-unroutable", "high", "approve/manual"),
    ("apigw-auth-header-dropped", "high", "auto"),
    ("apigw-query-dropped", "medium", "auto"),
    ("apigw-methods-blocked", "high", "auto/approve/manual"),
    ("apigw-response-cached", "high", "auto"),
    ("apigw-origin-protocol", "high", "auto"),
    ("apigw-edge-endpoint", "medium", "manual"),
    ("apigw-private-endpoint", "critical", "manual"),
    ("apigw-default-endpoint-disabled", "critical", "approve/manual"),
    ("apigw-iam-host-mismatch", "high", "manual"),
    ("apigw-viewer-http-allowed", "medium", "approve"),
    ("websocket-redirect-to-https", "high", "manual"),
    ("websocket-handshake-dropped", "high", "auto"),
    ("origin-tls-name-mismatch", "high", "approve/manual"),
    ("origin-tls-cert-invalid", "high", "manual"),
    ("origin-tls-protocols", "medium", "approve"),
    ("behavior-shadowed", "medium", "approve"),
    ("lambda-url-host-forwarded", "high", "auto"),
    ("apigw-identity-header-dropped", "high", "auto"),
    ("apigw-cors-preflight-cached", "medium", "auto"),
    ("origin-timeout-short", "medium", "auto/manual"),
    ("custom-error-masks-api", "medium", "manual"),
)
CLASS_WORDS = ("auto", "approve", "manual")


def test_registered_rules_are_the_contract_in_catalog_order() -> None:
    assert CATALOG_VERSION == 2
    assert [(r.id, Severity(r.severity).value, r.fix_class) for r in RULES] == list(CONTRACT)


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_rule_has_docs(rule: Rule) -> None:
    assert isinstance(rule, Rule) and callable(rule.check)
    for field in ("title", "symptom", "remediation"):
        value = getattr(rule, field)
        assert isinstance(value, str) and value.strip(), f"{rule.id}.{field} is empty"
        assert "\n\n" not in value, f"{rule.id}.{field} should be one paragraph (it becomes a table cell)"
    url = urlparse(rule.url)
    assert url.scheme == "https" and url.netloc in {"docs.aws.amazon.com", "repost.aws"}, rule.url
    # The remediation names the fix classes in parentheses, in the order of the fix class: one statement.
    named = [w for group in re.findall(r"\(([^()]*)\)", rule.remediation)
             for w in re.findall(r"\b(auto|approve|manual)\b", group)]
    assert "/".join(dict.fromkeys(named)) == rule.fix_class, (rule.id, rule.remediation)


def test_edge_function_rules_name_registered_or_announced_rules() -> None:
    known = {r.id for r in RULES} | {"lambda-url-host-forwarded", "apigw-identity-header-dropped"}
    assert set(EDGE_FUNCTION_RULES) <= known


def test_docs_rules_md_is_generated_from_the_metadata() -> None:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert text == report.rules_reference(RULES), \
        "docs/rules.md is out of date: run python -m edgemedic.report --update-readme"
    assert text.count("\n### `") == len(RULES)
    assert "Catalog version 2." in text


def test_update_readme_writes_readme_table_and_docs(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"x\n{report.README_START}\nold\n{report.README_END}\n", encoding="utf-8")
    assert report.main(["--check-readme", str(readme)]) == 1
    assert report.main(["--update-readme", str(readme)]) == 0
    assert (tmp_path / "docs" / "rules.md").read_text(encoding="utf-8") == report.rules_reference(RULES)
    assert report.main(["--check-readme", str(readme)]) == 0
    (tmp_path / "docs" / "rules.md").write_text("edited by hand\n", encoding="utf-8")
    assert report.main(["--check-readme", str(readme)]) == 1


# Reads of a path outside the repository: "../shared", Path(...).parents[N] / "shared", ROOT.parent / "shared".
_OUTSIDE = re.compile(r"""(["'`]\.\./+shared|/\s*["']shared["']|\.parent\s*/\s*["']shared|\.\./\.\./shared/)""")


def _project_files() -> list[Path]:
    """The project's own files: git's list when it is a checkout, else every file outside hidden and build dirs."""
    import subprocess

    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.splitlines()
        return [ROOT / name for name in listed]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in ROOT.rglob("*") if not any(part.startswith(".") or part in {"build", "node_modules"}
                                                      for part in p.relative_to(ROOT).parts)]


def test_nothing_in_the_project_reads_outside_it() -> None:
    """A clone of the project alone builds and passes its tests: no test, script or build step reads ../shared."""
    offenders = []
    for path in _project_files():
        if not path.is_file() or path.suffix not in {".py", ".toml", ".yaml", ".yml", ".cfg", ".sh", ""}:
            continue
        if path == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        offenders += [f"{path.relative_to(ROOT)}:{n}" for n, line in enumerate(text.splitlines(), 1)
                      if _OUTSIDE.search(line)]
    assert offenders == []
