"""The issue's example of the routing rule's ticket (issue 13, item 9). Every rule's texts on each of its firing cases
(UNROUTABLE's rows among them) are checked by ``textcheck`` in test_texts_every_rule.py; the seed stories' in
tests/functional/test_texts_match_evidence.py."""
from __future__ import annotations

from test_rules_routing import REST, _api_b, _dist
from textcheck import problems

from builders import api_origin, inventory, rest_api
from edgemedic.rules.routing import check_path_unroutable


def test_the_issue_example_proposes_the_resource_inside_the_stage() -> None:
    """OriginPath /prod, viewer /api/x, the API has /test: stage prod needs /api/x."""
    dist = _dist(api_origin("api", REST, path="/prod"), _api_b("/api/*"))
    inv = inventory(dist, apis=[rest_api(REST, resources={"/test": ["GET"]})])
    [found] = check_path_unroutable(dist, inv)
    assert "(3) resources in stage prod of the API for the path it routes after the stage or mapping prefix, e.g. " \
           "/api/x (CloudFront sends /prod/api/x);" in found.fix.ticket
    assert problems(found, [found.fix.ticket], dist) == []
