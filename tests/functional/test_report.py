"""Rendering of findings (table, JSON, SARIF 2.1.0) and of the catalog (markdown for the README)."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from builders import api_origin, behavior, distribution, s3_origin

from edgemedic import policies, report
from edgemedic.findings import Finding, Fix, FixClass, Rule, SetBehaviorPolicies, Severity
from edgemedic.rules import RULES

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[")

HOST = Finding(
    rule="apigw-host-forwarded",
    severity=Severity.HIGH,
    distribution="E2SHOP",
    behavior="/api/*",
    origin="users-api",
    message="Behavior /api/* forwards the viewer Host to users-api, which is no custom domain of the API.",
    symptom='403 {"message":"Forbidden"}',
    fix=Fix(FixClass.AUTO, "/api/* origin request policy: AllViewer -> AllViewerExceptHostHeader",
            (SetBehaviorPolicies("/api/*", origin_request_policy_id=policies.ALL_VIEWER_EXCEPT_HOST_HEADER),)),
    evidence=("origin request policy AllViewer forwards Host",),
    notes=("custom domains of eu-west-1 could not be listed",),
)
UNROUTABLE = Finding(
    rule="apigw-path-unroutable",
    severity=Severity.HIGH,
    distribution="E2SHOP",
    behavior="/api/*",
    origin="users-api",
    message="No path under /api/* reaches a method of REST API abc123: /api/users arrives as /prod/api/users.",
    symptom='403 {"message":"Missing Authentication Token"}',
    fix=Fix(FixClass.MANUAL, "Strip /api with a CloudFront Function, or add resources under /api",
            ticket="Options:\n- a CloudFront Function that strips /api\n- resources under /api | keep OriginPath"),
)
SHADOW = Finding(
    rule="behavior-shadowed", severity=Severity.MEDIUM, distribution="E3STORE", behavior="/assets/uploads/*",
    origin="uploads", message="Never chosen: /assets/* comes first and matches every path it matches.",
    symptom="Uploads answered by the site bucket with NoSuchKey.",
    fix=Fix(FixClass.APPROVE, "Move /assets/uploads/* before /assets/*"),
)


def _dist(dist_id: str):
    return distribution(dist_id=dist_id, origins=[s3_origin("site"), api_origin("users-api", "abc123", path="/prod")],
                        behaviors=[behavior("/api/*", "users-api", orp=policies.ALL_VIEWER)])


# --------------------------------------------------------------------------------------------- JSON


def test_json_document_has_the_documented_fields() -> None:
    document = json.loads(report.render_json([HOST, UNROUTABLE], ["REST API x in eu-west-1: AccessDenied"],
                                             {HOST.key: "--- a\n+++ b\n"}))
    assert document["warnings"] == ["REST API x in eu-west-1: AccessDenied"]
    assert document["findings"][0] == {
        "rule": "apigw-host-forwarded",
        "severity": "high",
        "distribution": "E2SHOP",
        "behavior": "/api/*",
        "origin": "users-api",
        "message": HOST.message,
        "symptom": '403 {"message":"Forbidden"}',
        "evidence": ["origin request policy AllViewer forwards Host"],
        "notes": ["custom domains of eu-west-1 could not be listed"],
        "fix": {"class": "auto", "summary": HOST.fix.summary, "diff": "--- a\n+++ b\n", "ticket": None},
    }
    manual = document["findings"][1]["fix"]
    assert manual == {"class": "manual", "summary": UNROUTABLE.fix.summary, "diff": None,
                      "ticket": UNROUTABLE.fix.ticket}


# --------------------------------------------------------------------------------------------- SARIF


def check_sarif(log: dict) -> None:
    """The required properties of SARIF 2.1.0 (sarif-schema-2.1.0.json), checked by hand: no network here."""
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    assert isinstance(log["runs"], list) and log["runs"]
    for run in log["runs"]:
        driver = run["tool"]["driver"]  # run.tool and tool.driver are required
        assert isinstance(driver["name"], str) and driver["name"]  # toolComponent.name is required
        rule_ids = []
        for descriptor in driver.get("rules", []):
            assert isinstance(descriptor["id"], str)  # reportingDescriptor.id is required
            for key in ("shortDescription", "fullDescription", "help"):
                if key in descriptor:
                    assert isinstance(descriptor[key]["text"], str)  # multiformatMessageString.text is required
            assert descriptor["defaultConfiguration"]["level"] in {"none", "note", "warning", "error"}
            rule_ids.append(descriptor["id"])
        for result in run.get("results", []):
            assert isinstance(result["message"]["text"], str)  # result.message is required; text or id
            assert result["level"] in {"none", "note", "warning", "error"}
            if "ruleIndex" in result:
                assert rule_ids[result["ruleIndex"]] == result["ruleId"]
            for location in result.get("locations", []):
                for logical in location.get("logicalLocations", []):
                    assert set(logical) <= {"name", "index", "fullyQualifiedName", "decoratedName", "parentIndex",
                                            "kind", "properties"}
        for invocation in run.get("invocations", []):
            assert isinstance(invocation["executionSuccessful"], bool)  # invocation's one required property
            for note in invocation.get("toolExecutionNotifications", []):
                assert isinstance(note["message"]["text"], str)


def test_sarif_log_is_valid_and_carries_rule_metadata() -> None:
    log = report.render_sarif([HOST, SHADOW], RULES, warnings=["could not read x"])
    check_sarif(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.id for rule in RULES]
    host_rule = rules[[r["id"] for r in rules].index("apigw-host-forwarded")]
    source = next(rule for rule in RULES if rule.id == "apigw-host-forwarded")
    assert host_rule["helpUri"] == source.url
    assert host_rule["shortDescription"]["text"] == source.title
    assert host_rule["defaultConfiguration"]["level"] == "error"
    assert host_rule["properties"]["security-severity"] == "8.0"

    first, second = run["results"]
    assert first["ruleId"] == "apigw-host-forwarded"
    assert first["level"] == "error"
    assert first["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "distribution/E2SHOP/behavior//api/*"
    assert HOST.message in first["message"]["text"]
    assert second["level"] == "warning"  # medium
    assert second["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == \
        "distribution/E3STORE/behavior//assets/uploads/*"
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"] == "could not read x"


def test_sarif_levels_follow_severity() -> None:
    assert report.SARIF_LEVEL == {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
                                  Severity.LOW: "note"}


def test_logical_location_of_default_and_distribution_wide_findings() -> None:
    from dataclasses import replace

    assert report.logical_location(replace(HOST, behavior="*")) == "distribution/E2SHOP/behavior/*"
    assert report.logical_location(replace(HOST, behavior="")) == "distribution/E2SHOP"


# --------------------------------------------------------------------------------------------- table


def test_table_groups_by_distribution_and_lists_warnings_last() -> None:
    out = io.StringIO()
    console = report.make_console(out)
    clean = _dist("E9CLEAN")
    report.render_table(console, [HOST, UNROUTABLE, SHADOW], ["REST API x in eu-west-1 could not be read"],
                        [_dist("E2SHOP"), clean, _dist("E3STORE")])
    text = out.getvalue()
    assert not ANSI.search(text), "no colors when the output is not a terminal"
    shop, clean_at, store = text.index("Distribution E2SHOP"), text.index("Distribution E9CLEAN"), \
        text.index("Distribution E3STORE")
    assert shop < text.index("apigw-host-forwarded") < text.index("apigw-path-unroutable") < clean_at < store
    assert "2 findings: 2 high" in text
    assert "Distribution E9CLEAN" in text and "no findings" in text[clean_at:store]
    for piece in ("HIGH", "MEDIUM", "behavior /api/*", "origin users-api", "Fix (auto):", "Fix (manual):",
                  "AllViewerExceptHostHeader", "Evidence: origin request policy AllViewer forwards Host",
                  'Symptom: 403 {"message":"Forbidden"}', "Note: custom domains of eu-west-1"):
        assert piece in text, piece
    assert "3 distributions scanned, 3 findings: 2 high, 1 medium." in text
    assert text.rstrip().endswith("- REST API x in eu-west-1 could not be read")


def test_table_keeps_square_brackets_literal() -> None:
    """Messages with [brackets] are data, not rich markup."""
    from dataclasses import replace

    out = io.StringIO()
    report.render_table(report.make_console(out), [replace(HOST, message="header [Host] forwarded [bold]x")], [])
    assert "header [Host] forwarded [bold]x" in out.getvalue()


# --------------------------------------------------------------------------------------------- the catalog


def test_rules_markdown_has_one_row_per_rule_and_escapes_pipes() -> None:
    rule = Rule("x-rule", Severity.LOW, "auto", "Fires | when", "sees\nthis", "do that", "https://docs.aws/x",
                lambda d, i: ())
    table = report.rules_markdown([rule])
    assert table == (
        "| id | severity | fix | when it fires | what you see | remediation |\n"
        "|---|---|---|---|---|---|\n"
        "| [`x-rule`](https://docs.aws/x) | low | auto | Fires \\| when | sees this | do that |\n"
    )
    full = report.rules_markdown(RULES).splitlines()
    assert len(full) == 2 + len(RULES)
    assert all(line.count(" | ") - line.count("\\|") >= 5 for line in full[2:])


def test_readme_holds_the_generated_rule_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert report.readme_table(readme) == report.rules_markdown(RULES), \
        "README rule table is out of date: run python -m edgemedic.report --update-readme"


def test_update_readme_rewrites_only_between_markers(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(f"# t\n\nbefore\n{report.README_START}\nold table\n{report.README_END}\nafter\n", encoding="utf-8")
    assert report.main(["--check-readme", str(path)]) == 1
    assert report.main(["--update-readme", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert text == (f"# t\n\nbefore\n{report.README_START}\n{report.rules_markdown(RULES)}{report.README_END}\n"
                    "after\n")
    assert report.main(["--check-readme", str(path)]) == 0


def test_readme_without_markers_is_an_error() -> None:
    with pytest.raises(ValueError, match="rules:start"):
        report.readme_with_rules("# no markers\n", RULES)
