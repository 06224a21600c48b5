"""Every ticket and Slack message edgemedic writes for the seed stories, checked against the findings' evidence
(``textcheck``): the names it gives exist, the resource it proposes is the one the API needs, and each line of a
plan's summary is what its diff adds. The stories run on the emulator (moto plus CloudFront's policy APIs)."""
from __future__ import annotations

from typing import Iterator

import pytest
from textcheck import all_problems, plan_problems, problems

from edgemedic import cli, scenarios
from edgemedic.emulator import Emulator


@pytest.fixture(scope="module")
def scanned() -> Iterator[cli.ScanResult]:
    with Emulator() as emu:
        clients = emu.clients()
        scenarios.build(clients)
        yield cli.run_scan(clients)


def test_every_ticket_and_slack_message_of_the_stories_matches_its_evidence(scanned: cli.ScanResult) -> None:
    checked: set[str] = set()
    for dist in scanned.inventory.distributions:
        own = [f for f in scanned.findings if f.distribution == dist.id]
        for finding in own:
            assert all_problems(finding, dist) == [], (finding.rule, finding.distribution)
            checked.add(finding.rule)
    assert checked == {"apigw-host-forwarded", "apigw-path-unroutable", "apigw-auth-header-dropped",
                       "apigw-iam-host-mismatch", "apigw-edge-endpoint", "apigw-methods-blocked",
                       "apigw-response-cached", "behavior-shadowed", "websocket-handshake-dropped",
                       "websocket-redirect-to-https", "origin-tls-name-mismatch", "apigw-identity-header-dropped",
                       "custom-error-masks-api"}


def test_path_unroutable_ticket_proposes_the_resource_the_stage_needs(scanned: cli.ScanResult) -> None:
    """Story 1: OriginPath /prod, viewer /api/x. In stage prod the API needs /api/x, not /prod/api/x."""
    [finding] = [f for f in scanned.findings if f.rule == "apigw-path-unroutable" and f.behavior == "/api/*"]
    assert any("no resource /api/x in stage prod" in e for e in finding.evidence)
    assert "(3) resources in stage prod of the API for the path it routes after the stage or mapping prefix, e.g. " \
           "/api/x (CloudFront sends /prod/api/x)" in finding.fix.ticket


def test_checker_catches_the_old_ticket(scanned: cli.ScanResult) -> None:
    """The checker itself can fail: the wording the issue reported (resource /prod/api/x in stage prod)."""
    [finding] = [f for f in scanned.findings if f.rule == "apigw-path-unroutable" and f.behavior == "/api/*"]
    old = "resources (routes) in the API in stage prod under the path CloudFront sends, e.g. /prod/api/x"
    assert problems(finding, [old]) == [
        "proposes /prod/api/x in stage prod, but the evidence says the stage needs /api/x"]
    assert problems(finding, ["point origin users-api at zzzzzzzzzz.execute-api.us-east-1.amazonaws.com"]) == [
        "host zzzzzzzzzz.execute-api.us-east-1.amazonaws.com is in no evidence"]
    assert plan_problems(["/api/* cache policy: CachingOptimized -> CachingDisabled"],
                         "+ \"CachePolicyId\": \"658327ea  (CachingOptimized)\"") == [
        "summary line '/api/* cache policy: CachingOptimized -> CachingDisabled' names CachingDisabled, which the "
        "diff does not add"]
