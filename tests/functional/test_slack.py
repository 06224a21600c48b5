"""Slack messages (Block Kit through slack_sdk's models) and their delivery to a real HTTP server on 127.0.0.1
standing in for Slack's Web API and an incoming webhook: exact requests, retries on 429 (Retry-After) and 5xx."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
from rich.console import Console

from builders import RecordingServer
from edgemedic import policies
from edgemedic.findings import Finding, Fix, FixClass, SetViewerProtocol, Severity
from edgemedic.notify.alert import Alert, DistributionInfo, Status, Trigger
from edgemedic.notify.exceptions import DeliveryError
from edgemedic.notify.render import render_message
from edgemedic.notify.slack import (
    APPROVE_ACTION_ID,
    REJECT_ACTION_ID,
    MessageRef,
    SlackMessage,
    SlackNotifier,
    build_message,
    trim_diff,
)
from edgemedic.plan import plan_from_config
from edgemedic.scenarios import behavior, custom_origin, distribution_config

DIST = "E2QWRUHAPOMQZL"
API = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
WHEN = datetime(2024, 2, 2, 19, 26, 1, tzinfo=timezone.utc)


def viewer_finding(pattern: str = "/api/*") -> Finding:
    return Finding(
        rule="apigw-viewer-http-allowed", severity=Severity.MEDIUM, distribution=DIST, behavior=pattern,
        origin="api", message=f"{pattern} lets viewers call the API over plain HTTP",
        symptom="Tokens and signatures sent in clear text",
        fix=Fix(FixClass.APPROVE, "ViewerProtocolPolicy redirect-to-https",
                (SetViewerProtocol(pattern, "redirect-to-https"),)),
        evidence=("ViewerProtocolPolicy: allow-all",))


def config(patterns: tuple[str, ...] = ("/api/*",)) -> dict:
    return distribution_config(
        "ref-1", "shop", origins=[custom_origin("api", API), custom_origin("site", "shop.example.com")],
        default=behavior(None, "site"), aliases=["shop.example.com"],
        behaviors=[behavior(p, "api", orp=policies.ALL_VIEWER_EXCEPT_HOST_HEADER, viewer="allow-all")
                   for p in patterns])


def approve_plan(patterns: tuple[str, ...] = ("/api/*",)):
    findings = [viewer_finding(p) for p in patterns]
    return plan_from_config(DIST, config(patterns), "E1OLD", findings,
                            classes=frozenset({FixClass.AUTO, FixClass.APPROVE}))


TRIGGER = Trigger("Admin/alice", "UpdateDistribution", WHEN, "", "arn:aws:sts::111122223333:assumed-role/Admin/alice")


def proposal() -> Alert:
    return Alert.for_plan(approve_plan(), plan_id="E2QWRUHAPOMQZL-1f2e3d", trigger=TRIGGER,
                          ticket_url="https://github.com/acme/ops/issues/7",
                          expires_at=datetime(2024, 2, 3, 19, 26, tzinfo=timezone.utc))


# --------------------------------------------------------------------------------------------- content


def test_approve_message_has_everything_a_person_needs():
    blocks = build_message(proposal()).block_dicts()
    assert blocks[0] == {"type": "header", "text": {
        "type": "plain_text", "text": ":raised_hand: Approval needed: fix for CloudFront E2QWRUHAPOMQZL", "emoji": True}}
    assert blocks[1]["fields"][0]["text"] == (
        "*Distribution*\n<https://us-east-1.console.aws.amazon.com/cloudfront/v4/home#/distributions/"
        "E2QWRUHAPOMQZL|E2QWRUHAPOMQZL>")
    assert blocks[1]["fields"][1]["text"] == "*Aliases*\nshop.example.com"
    assert blocks[2]["elements"][0]["text"] == (
        "Triggered by *Admin/alice*: `UpdateDistribution` at "
        "<!date^1706901961^{date_short_pretty} {time}|2024-02-02 19:26 UTC>")
    assert blocks[3]["text"]["text"] == f"*Behavior* `/api/*`  ·  *Origin* `api` → `{API}`"
    assert blocks[4]["text"]["text"].splitlines()[:2] == [
        ":large_yellow_circle: *medium*: /api/* lets viewers call the API over plain HTTP",
        "_What users see:_ Tokens and signatures sent in clear text"]
    assert blocks[6]["text"]["text"] == "*Proposed change*\n• /api/* viewer protocol policy: allow-all -&gt; redirect-to-https"
    assert blocks[7]["text"]["text"] == "\n".join([
        "```", "@@ -33,7 +33,7 @@", '         "PathPattern": "/api/*",', '         "SmoothStreaming": false,',
        '         "TargetOriginId": "api",', '-        "ViewerProtocolPolicy": "allow-all"',
        '+        "ViewerProtocolPolicy": "redirect-to-https"', "       }", "     ],", '     "Quantity": 1', "```"])
    actions = blocks[-1]
    assert actions["block_id"] == "edgemedic_plan_actions"
    assert [(e["action_id"], e["value"], e.get("style")) for e in actions["elements"]] == [
        (APPROVE_ACTION_ID, "E2QWRUHAPOMQZL-1f2e3d", "primary"), (REJECT_ACTION_ID, "E2QWRUHAPOMQZL-1f2e3d", "danger")]
    assert blocks[8]["elements"][0]["text"] == (
        "Expires <!date^1706988360^{date_short_pretty} {time}|2024-02-03 19:26 UTC> if nobody decides.")


def test_auto_and_manual_messages():
    auto = Alert.for_plan(approve_plan()).with_status(Status.APPLIED)
    blocks = build_message(auto).block_dicts()
    assert blocks[-1]["elements"][0]["text"].startswith("Applied automatically, here is the diff.")
    assert all(b["type"] != "actions" for b in blocks)

    manual_finding = Finding("apigw-edge-endpoint", Severity.MEDIUM, DIST, "/api/*", "api",
                             "The API behind /api/* is EDGE-optimized", "Two CloudFront hops",
                             Fix(FixClass.MANUAL, "Switch the API to REGIONAL", ticket="aws apigateway update-rest-api"))
    manual = Alert.for_manual(DistributionInfo(DIST, ("shop.example.com",)), [manual_finding],
                              ticket_url="https://acme.atlassian.net/browse/OPS-17")
    blocks = build_message(manual).block_dicts()
    assert blocks[0]["text"]["text"] == ":construction: CloudFront E2QWRUHAPOMQZL needs a person"
    assert "*Needs a person*: change to make\n• Switch the API to REGIONAL" == blocks[-2]["text"]["text"]
    assert blocks[-1]["elements"][0]["text"].endswith(
        "Tracked in <https://acme.atlassian.net/browse/OPS-17|the ticket>.")


def test_limits_hold_with_many_findings_and_a_huge_diff():
    patterns = tuple(f"/v{i}/*" for i in range(60))
    alert = Alert.for_plan(approve_plan(patterns), plan_id="p", ticket_url="https://t/1")
    blocks = build_message(alert).block_dicts()  # slack_sdk validates every block on to_dict()
    assert len(blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert any("more findings, listed in <https://t/1|the ticket>" in e.get("text", "")
               for b in blocks if b["type"] == "context" for e in b["elements"])
    diff_block = next(b for b in blocks if b["type"] == "section" and b.get("text", {}).get("text", "").startswith("```"))
    assert "more diff lines not shown: full diff in <https://t/1|the ticket>_" in diff_block["text"]["text"]
    assert blocks[-1]["type"] == "actions"


def test_trim_diff_cuts_on_lines_and_escapes():
    diff = "--- a\n+++ b\n@@ -1 +1 @@\n" + "\n".join(f"-<x{i}> & y" for i in range(400))
    out = trim_diff(diff, 3000, "<https://t/1|the ticket>")
    assert len(out) <= 3000
    body = out.split("```")[1].strip("\n").splitlines()
    assert body[0] == "@@ -1 +1 @@" and body[1] == "-&lt;x0&gt; &amp; y"
    assert all(line.startswith("-&lt;x") and line.endswith("&amp; y") for line in body[1:])  # whole lines only
    assert out.endswith(f"_{401 - len(body)} more diff lines not shown: full diff in <https://t/1|the ticket>_")


def test_render_in_terminal():
    console = Console(record=True, width=200, color_system=None)
    render_message(build_message(proposal()), console)
    text = console.export_text()
    assert "Approval needed: fix for CloudFront E2QWRUHAPOMQZL" in text
    assert "E2QWRUHAPOMQZL (https://us-east-1.console.aws.amazon.com/cloudfront/v4/home#/distributions/" in text
    assert " Approve " in text and " Reject " in text
    assert "Triggered by Admin/alice: UpdateDistribution at 2024-02-02 19:26 UTC" in text
    assert '+        "ViewerProtocolPolicy": "redirect-to-https"' in text


# --------------------------------------------------------------------------------------------- delivery


def test_bot_posts_then_updates_the_same_message_and_retries_429_and_5xx():
    with RecordingServer() as slack:
        slack.answer("POST", "/api/chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        slack.answer("POST", "/api/chat.postMessage", 200, {"ok": True, "channel": "C024BE91L", "ts": "1706901961.000200"})
        slack.answer("POST", "/api/chat.update", 502, b"<html>bad gateway</html>", {"Content-Type": "text/html"})
        slack.answer("POST", "/api/chat.update", 200, {"ok": True, "channel": "C024BE91L", "ts": "1706901961.000200"})
        notifier = SlackNotifier(token=lambda: "xoxb-test-token", channel="C024BE91L", api_url=slack.url + "/api/",
                                 backoff=0.01)
        started = time.monotonic()
        ref = notifier.post(build_message(proposal()))
        assert time.monotonic() - started >= 1.0  # Retry-After honoured
        assert ref == MessageRef("C024BE91L", "1706901961.000200")
        applied = proposal().with_status(Status.APPLIED, actor="U024BE7LH")
        assert notifier.update(ref, build_message(applied)) == ref

    assert [(r.method, r.path) for r in slack.requests] == [
        ("POST", "/api/chat.postMessage"), ("POST", "/api/chat.postMessage"),
        ("POST", "/api/chat.update"), ("POST", "/api/chat.update")]
    assert all(r.headers["Authorization"] == "Bearer xoxb-test-token" for r in slack.requests)
    first, retried = slack.requests[0].json(), slack.requests[1].json()
    assert first == retried
    assert first["channel"] == "C024BE91L" and first["unfurl_links"] is False
    assert first["blocks"] == build_message(proposal()).block_dicts()
    update = slack.requests[3].json()
    assert (update["channel"], update["ts"]) == ("C024BE91L", "1706901961.000200")
    assert update["blocks"][-1]["elements"][0]["text"].startswith("Approved by <@U024BE7LH> and applied")
    assert all(b["type"] != "actions" for b in update["blocks"])


def test_webhook_post_and_failure_after_retries():
    with RecordingServer() as slack:
        slack.answer("POST", "/services/T0/B0/x", 200, b"ok", {"Content-Type": "text/plain"})
        notifier = SlackNotifier(webhook_url=slack.url + "/services/T0/B0/x", backoff=0.01)
        assert notifier.post(build_message(proposal())) == MessageRef()
        body = slack.requests[0].json()
        assert body["text"].startswith(":raised_hand: Approval needed: fix for CloudFront E2QWRUHAPOMQZL: ")
        assert body["blocks"] == build_message(proposal()).block_dicts()

        slack.answer("POST", "/services/T0/B0/down", 503, b"service unavailable", {"Content-Type": "text/plain"})
        down = SlackNotifier(webhook_url=slack.url + "/services/T0/B0/down", max_retries=2, backoff=0.01)
        with pytest.raises(DeliveryError) as failed:
            down.post(build_message(proposal()))
    assert failed.value.retryable is True
    assert "/services/" not in str(failed.value)  # the webhook URL is a secret
    assert len([r for r in slack.requests if r.path == "/services/T0/B0/down"]) == 3  # 1 + 2 retries


def test_update_through_response_url_when_posted_by_webhook():
    with RecordingServer() as slack:
        slack.answer("POST", "/actions/T0/1/abc", 200, b"ok", {"Content-Type": "text/plain"})
        notifier = SlackNotifier(webhook_url="https://hooks.slack.com/services/unused")
        notifier.update(MessageRef(response_url=slack.url + "/actions/T0/1/abc"),
                        build_message(proposal().with_status(Status.REJECTED, actor="U1")))
    body = slack.requests[0].json()
    assert body["replace_original"] is True
    assert body["blocks"][0]["text"]["text"] == ":no_entry_sign: Fix for E2QWRUHAPOMQZL rejected"


def test_bad_token_is_not_retryable():
    with RecordingServer() as slack:
        slack.answer("POST", "/api/chat.postMessage", 200, {"ok": False, "error": "invalid_auth"})
        notifier = SlackNotifier(token="xoxb-bad", channel="C1", api_url=slack.url + "/api/")
        with pytest.raises(DeliveryError) as failed:
            notifier.post(build_message(proposal()))
    assert failed.value.retryable is False and "invalid_auth" in str(failed.value)
    assert "xoxb-bad" not in str(failed.value)
    assert len(slack.requests) == 1


def test_a_stored_message_comes_back_block_for_block():
    """What the outbox keeps for the sweep (``to_dict``) rebuilds the same validated message."""
    message = build_message(proposal())
    again = SlackMessage.from_dict(json.loads(json.dumps(message.to_dict())))
    assert again.to_dict() == message.to_dict()


def test_terminal_rendering_keeps_stars_and_underscores_slack_would_not_format() -> None:
    """Slack formats *bold* / _italic_ only at word boundaries; the demo's terminal view must show the same text."""
    from edgemedic.notify.render import _styled

    shown = _styled("*high*: behavior /api/* sends to the target of behavior * with AWS_IAM, COGNITO_USER_POOLS; "
                    "_Fix (approve):_ `redirect-to-https`")
    assert shown.plain == ("high: behavior /api/* sends to the target of behavior * with AWS_IAM, COGNITO_USER_POOLS; "
                           "Fix (approve): redirect-to-https")
    assert [(shown.plain[s.start:s.end], str(s.style)) for s in shown.spans] == [
        ("high", "bold"), ("Fix (approve):", "italic"), ("redirect-to-https", "cyan")]
