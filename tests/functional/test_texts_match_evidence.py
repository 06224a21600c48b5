"""Every ticket and Slack message edgemedic writes for the seed stories, checked against the findings' evidence
(``textcheck``): the names it gives exist, the resource it proposes is the one the API needs, and each line of a
plan's summary is what its diff adds. The stories run on the emulator (moto plus CloudFront's policy APIs)."""
from __future__ import annotations

import json
from typing import Iterator

import pytest
from textcheck import plan_problems, problems

from edgemedic import cli, plan, scenarios
from edgemedic.emulator import Emulator
from edgemedic.findings import FixClass
from edgemedic.notify.alert import Alert, DistributionInfo
from edgemedic.notify.slack import build_message
from edgemedic.notify.tickets import ticket_content


def _slack_text(alert: Alert) -> str:
    """Every text a person reads in the message (the blocks' mrkdwn and plain text), unescaped."""
    texts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(build_message(alert).to_dict())
    return "\n".join(texts).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("`", "")


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
            info = DistributionInfo.from_model(dist)
            alert = Alert.for_manual(info, [finding])
            texts = [finding.fix.summary, finding.fix.ticket, ticket_content(alert).text, _slack_text(alert)]
            if finding.fix.changes:
                built = plan.build_plan(dist, [finding], classes=frozenset(FixClass))
                assert built is not None, finding.key
                assert plan_problems(built.summary, built.diff) == [], finding.key
                plan_alert = Alert.for_plan(built)
                texts += [*built.summary, ticket_content(plan_alert).text, _slack_text(plan_alert)]
            assert problems(finding, texts, dist) == [], (finding.rule, finding.distribution)
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
