"""SARIF physical locations, GitLab and JUnit rendering, on findings built in the test (no AWS)."""
from __future__ import annotations

from xml.etree import ElementTree

from edgemedic import formats
from edgemedic.findings import Finding, Fix, FixClass, Severity
from edgemedic.rules import RULES
from edgemedic.sources.build import Location

HOST = Finding("apigw-host-forwarded", Severity.HIGH, "E2LIVE", "/api/*", "users-api", "Host forwarded", "403",
               Fix(FixClass.AUTO, "Use AllViewerExceptHostHeader"))
SHADOW = Finding("behavior-shadowed", Severity.MEDIUM, "E2LIVE", "/assets/uploads/*", "uploads", "shadowed", "404",
                 Fix(FixClass.APPROVE, "Move it first"))


def physical(document: dict) -> list[dict]:
    return [r["locations"][0]["physicalLocation"] for r in document["runs"][0]["results"]]


def test_live_results_point_at_a_stable_uri_per_distribution() -> None:
    document = formats.sarif([HOST, SHADOW], RULES)
    assert physical(document) == [{"artifactLocation": {"uri": "cloudfront/distributions/E2LIVE"},
                                   "region": {"startLine": 1}}] * 2
    first = [r["partialFingerprints"] for r in document["runs"][0]["results"]]
    assert first == [r["partialFingerprints"] for r in formats.sarif([HOST, SHADOW], RULES)["runs"][0]["results"]]
    assert len({f["edgemedicLocation/v1"] for f in first}) == 2


def test_template_results_point_at_file_and_line_with_the_uri_encoded() -> None:
    located = {HOST.key: Location("my stacks/shop#1.yaml", 42, "Shop")}
    document = formats.sarif([HOST, SHADOW], RULES, locations=located)
    assert physical(document)[0] == {"artifactLocation": {"uri": "my%20stacks/shop%231.yaml"},
                                     "region": {"startLine": 42}}
    assert document["runs"][0]["results"][0]["properties"]["location"] == {
        "file": "my stacks/shop#1.yaml", "line": 42, "resource": "Shop"}
    # The fingerprint names the file, never the line: editing above a finding does not make it new.
    moved = formats.sarif([HOST], RULES, locations={HOST.key: Location("my stacks/shop#1.yaml", 90, "Shop")})
    assert moved["runs"][0]["results"][0]["partialFingerprints"] == \
        document["runs"][0]["results"][0]["partialFingerprints"]


def test_gitlab_issue_shape() -> None:
    (issue,) = formats.gitlab([HOST], locations={HOST.key: Location("template.yaml", 7, "Shop")})
    assert issue == {"type": "issue", "description": "Host forwarded. Fix (auto): Use AllViewerExceptHostHeader",
                     "check_name": "apigw-host-forwarded", "fingerprint": formats.fingerprint(
                         HOST, {HOST.key: Location("template.yaml", 7, "Shop")}),
                     "severity": "critical", "categories": ["Bug Risk"],
                     "location": {"path": "template.yaml", "lines": {"begin": 7}}}


def test_junit_counts_a_case_per_rule_and_distribution() -> None:
    root = ElementTree.fromstring(formats.junit([HOST, SHADOW], RULES, ["E2LIVE", "E3CLEAN"]).split("\n", 1)[1])
    assert root.get("tests") == str(2 * len(RULES)) and root.get("failures") == "2"
    clean = root.findall("testsuite")[1]
    assert clean.get("name") == "distribution E3CLEAN" and clean.get("failures") == "0"
    assert len(clean.findall("testcase")) == len(RULES)
    failure = root.find("testsuite/testcase[@name='apigw-host-forwarded']/failure")
    assert failure.get("type") == "high" and "cloudfront/distributions/E2LIVE:1" in failure.text
