"""Slack messages and tickets of an organization member's distribution name its account (the findings carry it);
the hub's own distributions read as before."""
from __future__ import annotations

import dataclasses
import json

from test_slack import proposal
from test_tickets import ALERT, FINDING

from edgemedic.notify.alert import Alert
from edgemedic.notify.slack import build_message
from edgemedic.notify.store import findings_from_json, findings_to_json
from edgemedic.notify.tickets import ticket_content

MEMBER = "444455556666"


def in_member(alert: Alert) -> Alert:
    return dataclasses.replace(alert, findings=tuple(dataclasses.replace(f, account=MEMBER) for f in alert.findings))


def fields(alert: Alert) -> list[str]:
    blocks = [block.to_dict() for block in build_message(alert).blocks]
    return [f["text"] for f in blocks[1]["fields"]]


def test_slack_message_names_the_members_account() -> None:
    own = proposal()
    assert own.account == "" and not any(f.startswith("*Account*") for f in fields(own))
    member = in_member(own)
    assert member.account == MEMBER
    assert fields(member)[:2] == [fields(own)[0], f"*Account*\n{MEMBER}"]


def test_ticket_names_the_members_account() -> None:
    own = ticket_content(ALERT)
    member = ticket_content(in_member(ALERT))
    assert own.title == "edgemedic: apigw-edge-endpoint on CloudFront E2QWRUHAPOMQZL"
    assert member.title == f"edgemedic: apigw-edge-endpoint on CloudFront E2QWRUHAPOMQZL in account {MEMBER}"
    assert member.text.splitlines()[0].startswith(f"Distribution E2QWRUHAPOMQZL in account {MEMBER} (shop.example.com)")


def test_stored_plans_keep_the_account_of_their_findings() -> None:
    member = dataclasses.replace(FINDING, account=MEMBER)
    assert findings_from_json(findings_to_json([member])) == (member,)
    assert "account" not in json.loads(findings_to_json([FINDING]))[0]  # the hub's own: stored as before
