"""The routing rule's tickets on every API kind (REST, HTTP, WebSocket, custom domain), checked against their
evidence by ``textcheck`` (the seed stories' tickets and Slack messages: tests/functional/test_texts_match_evidence.py)."""
from __future__ import annotations

import pytest
from test_rules_routing import REST, UNROUTABLE, _api_b, _dist
from textcheck import problems

from builders import api_origin, custom_domain, inventory, rest_api
from edgemedic.notify.alert import Alert, DistributionInfo
from edgemedic.notify.tickets import ticket_content
from edgemedic.rules.routing import check_path_unroutable


@pytest.mark.parametrize(("origin", "behaviors", "apis", "expected"), UNROUTABLE.values(), ids=UNROUTABLE.keys())
def test_unroutable_tickets_match_their_evidence(origin, behaviors, apis, expected) -> None:
    dist = _dist(origin, *behaviors)
    inv = inventory(dist, apis=apis, domains=[custom_domain("api.example.com", [("", REST, "prod")])])
    for finding in check_path_unroutable(dist, inv):
        ticket = ticket_content(Alert.for_manual(DistributionInfo.from_model(dist), [finding])).text
        assert problems(finding, [finding.fix.summary, finding.fix.ticket, ticket], dist) == []


def test_the_issue_example_proposes_the_resource_inside_the_stage() -> None:
    """OriginPath /prod, viewer /api/x, the API has /test: stage prod needs /api/x."""
    dist = _dist(api_origin("api", REST, path="/prod"), _api_b("/api/*"))
    inv = inventory(dist, apis=[rest_api(REST, resources={"/test": ["GET"]})])
    [found] = check_path_unroutable(dist, inv)
    assert "(3) resources in stage prod of the API for the path it routes after the stage or mapping prefix, e.g. " \
           "/api/x (CloudFront sends /prod/api/x);" in found.fix.ticket
    assert problems(found, [found.fix.ticket], dist) == []
