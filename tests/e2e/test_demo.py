"""``edgemedic demo`` end to end: the whole story on the embedded emulator, in-process, without network (the Slack
stand-in listens on 127.0.0.1; any other connection fails the test).

The scan, then the SAM app's real handlers (functions/*/app.py) healing each story's CloudTrail event, the same
event delivered twice, edgemedic's own change coming back, an approval through Slack, the counts and what is left.
"""
from __future__ import annotations

import re
import socket
import time

import pytest

from edgemedic import cli, scenarios

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection beyond loopback fails the test: the demo must run offline."""
    create_connection, connect = socket.create_connection, socket.socket.connect

    def guarded_create(address, *args, **kwargs):
        if address[0] not in LOOPBACK:
            raise AssertionError(f"the demo tried to open a network connection: {address!r}")
        return create_connection(address, *args, **kwargs)

    def guarded_connect(sock, address):
        if not isinstance(address, tuple) or address[0] not in LOOPBACK:
            raise AssertionError(f"the demo tried to open a network connection: {address!r}")
        return connect(sock, address)

    monkeypatch.setattr(socket, "create_connection", guarded_create)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


def section(out: str, start: str, end: str | None) -> str:
    """The text from heading ``start`` to heading ``end`` (exclusive)."""
    begin = out.index(start)
    return out[begin:out.index(end, begin)] if end else out[begin:]


def flat(text: str) -> str:
    """Wrapped table cells joined back into one line of words."""
    return " ".join(text.split())


PARTS = ("1 · What edgemedic finds: a scan", "2 · Deployed: edgemedic heals each change as it happens",
         "3 · A fix that needs a person: approval in Slack", "Before and after", "4 · What is left for a person",
         "Next: on your account")

# Per story, what evaluate found (rule, severity, what it did) and what apply applied, in order.
HEALED = {
    "forbidden": (
        "dana (role Admin) in the console saved the shop's distribution",
        [("apigw-host-forwarded", "high", "auto"), ("apigw-path-unroutable", "high", "told")],
        ["/api/* origin request policy: AllViewer -> AllViewerExceptHostHeader"],
        ["UpdateDistribution by role/Admin: auto-fix-queued, notified -> decided",
         "UpdateDistribution by role/Admin: auto-fix -> applied"]),
    "iam-signature": (
        "priya (role ApiDevelopers) with the AWS CLI made GET /orders of orders-api require AWS_IAM (PutMethod)",
        [("apigw-auth-header-dropped", "high", "auto"), ("apigw-iam-host-mismatch", "high", "told"),
         ("apigw-edge-endpoint", "medium", "told")],
        ["/orders* origin request policy: (none) -> AllViewerExceptHostHeader"],
        ["PutMethod by role/ApiDevelopers: auto-fix-queued, notified -> decided",
         "PutMethod by role/ApiDevelopers: auto-fix -> applied"]),
    "get-only-cached": (
        "gitlab-ci (role terraform-deploy) with Terraform applied the store's 2019 Terraform",
        [("apigw-methods-blocked", "high", "auto"), ("apigw-response-cached", "high", "auto"),
         ("behavior-shadowed", "medium", "approve")],
        ["/api/* cache settings: legacy ForwardedValues and TTLs -> cache policy CachingDisabled",
         "/api/* origin request policy: (none) -> AllViewerExceptHostHeader",
         "/api/* allowed methods: GET,HEAD -> GET,HEAD,OPTIONS,PUT,PATCH,POST,DELETE"],
        ["UpdateDistribution by role/terraform-deploy: auto-fix-queued, approval-requested -> decided",
         "UpdateDistribution by role/terraform-deploy: auto-fix -> applied"]),
    "websocket": (
        "AWSCloudFormation (role chat-stack-deploy) via cloudformation.amazonaws.com deployed the chat stack",
        [("apigw-path-unroutable", "high", "told"), ("apigw-response-cached", "high", "auto"),
         ("websocket-handshake-dropped", "high", "auto"), ("websocket-redirect-to-https", "high", "told")],
        ["/ws cache policy: CachingOptimized -> CachingDisabled",
         "/ws origin request policy: (none) -> AllViewerExceptHostHeader"],
        ["UpdateDistribution by role/chat-stack-deploy: auto-fix-queued, notified -> decided",
         "UpdateDistribution by role/chat-stack-deploy: auto-fix -> applied"]),
    "alb-tls": (
        "lee (role WebTeam) in the console pointed origin shop-web-alb at the load balancer's own DNS name",
        [("origin-tls-name-mismatch", "high", "approve")],
        [],
        ["UpdateDistribution by role/WebTeam: approval-requested -> decided"]),
    "spa-fallback": (
        "sam (role FrontendDevs) in the console copied the app's behavior for /api/*",
        [("apigw-identity-header-dropped", "high", "auto"), ("custom-error-masks-api", "medium", "told")],
        ["/api/* origin request policy: CORS-S3Origin -> AllViewerExceptHostHeader"],
        ["UpdateDistribution by role/FrontendDevs: auto-fix-queued, notified -> decided",
         "UpdateDistribution by role/FrontendDevs: auto-fix -> applied"]),
}


@pytest.mark.slow
def test_demo_tells_the_whole_loop(no_network: None, capsys: pytest.CaptureFixture) -> None:
    started = time.monotonic()
    code = cli.main(["demo"])
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 0, out[-3000:] + err
    assert err == ""
    assert elapsed < 60
    assert "\x1b[" not in out  # NO_COLOR (conftest) and not a terminal

    positions = [out.index(part) for part in PARTS]
    assert positions == sorted(positions), "parts are told in order"
    parts = {name: section(out, name, following) for name, following in zip(PARTS, (*PARTS[1:], None))}

    # 1. The scan: every story, in order, with its findings and the auto fix's diff.
    scan = parts[PARTS[0]]
    positions = [scan.index(story.title) for story in scenarios.STORIES]
    assert positions == sorted(positions), "stories are told in order"
    assert "Story 1: the API answers 403 Forbidden through CloudFront but works directly" in scan
    assert scan.count("The auto fix, as the change edgemedic will send:") == 5

    # 2. Each story's change as a CloudTrail event through evaluate -> the apply queue -> apply.
    healed = parts[PARTS[1]]
    titles = [story.title for story in scenarios.STORIES if story.name in HEALED]
    positions = [healed.index(title) for title in titles]
    assert positions == sorted(positions), "stories are replayed in order"
    for story, title, following in zip(HEALED, titles, (*titles[1:], "EventBridge delivers at least once")):
        who, found, applied, audit = HEALED[story]
        block = flat(section(healed, title, following))
        assert who in block, story
        assert re.findall(r"- ([a-z0-9-]+) \((high|medium|low|critical)\): (auto|approve|told|off)", block) == found
        if applied:
            assert "apply applied in 1 attempt(s), verified by a re-read: " \
                   + " ".join(f"- {line}" for line in applied) + " audit log" in block, story
        else:
            assert "apply nothing applied automatically" in block
        assert re.findall(r"\d\d:\d\d:\d\d (\S+ by \S+: .+?-> \w+)", block) == audit, story
    assert "UpdateDistribution on distribution" in healed and "PutMethod on REST API" in healed
    rest = flat(section(healed, "EventBridge delivers at least once", None))
    assert "0 CloudFront calls, nothing queued, no new audit record: acted once." in rest
    assert "made by role edgemedic-ApplyFunctionRole-EXAMPLE: ignored: our own change (loop guard, 0 AWS calls" \
        in rest
    assert "metrics: Findings 15, FixesQueued 5, FixesApplied 7, ApprovalsRequested 2, OwnChangesIgnored 1." in rest

    # 3. The approval: the message as posted, the signed click, the apply, the updated message.
    approval = parts[PARTS[2]]
    alb = re.search(r"Approval needed: fix for CloudFront (\w+)", approval).group(1)
    assert f"Fixed CloudFront {alb}" in approval
    assert (approval.index("Approval needed") < approval.index("POST /slack/actions")
            < approval.index("Fixed CloudFront"))
    assert "origin shop-web-alb: DomainName shop-web-1.us-east-1.elb.amazonaws.com -> app.example.com" in approval
    assert re.search(r"X-Slack-Signature: v0=[0-9a-f]{16}…", approval)
    assert "Approved by @alice and applied; CloudFront is deploying it to the edge." in approval
    flat_approval = flat(approval)
    assert "@alice is on the approver list: HTTP 200 in" in flat_approval
    assert "UpdateDistribution with If-Match (1 call)" in flat_approval
    assert "\nApproved by @alice, applied, verified.\n" in approval
    assert re.search(r"audit log \d\d:\d\d:\d\d \w+ by slack:U024BE7LH: approved-fix -> applied", flat_approval)
    assert "HTTP 200, UpdateDistribution calls still 1; only alice sees: \"Already applied by @alice; nothing more " \
           "was done.\"" in flat_approval
    assert "A request signed with another secret: HTTP 401" in flat_approval

    # Counts: 15 before; the events' auto fixes leave 8; alice's approval fixes story 5's origin.
    counts = parts["Before and after"]
    assert ("Findings before: 15 findings: 12 high, 3 medium. After the events: 8 findings: 5 high, 3 medium. "
            "After @alice's approval: 7 findings: 4 high, 3 medium.") in flat(counts)
    rows = {m.group(1): tuple(int(m.group(i)) for i in (2, 3, 4))
            for m in re.finditer(r"(critical|high|medium|low|total)\s*│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\d+)", counts)}
    assert rows == {"critical": (0, 0, 0), "high": (12, 5, 4), "medium": (3, 3, 3), "low": (0, 0, 0),
                    "total": (15, 8, 7)}

    # 4. What is left: the pending approval, the manual tickets; then the commands for a real account.
    left = parts[PARTS[4]]
    waiting, tickets = left.split("Changes outside CloudFront")
    assert re.findall(r"(?m)^\w+\s+([a-z0-9-]+)  ", waiting) == ["behavior-shadowed"]
    assert re.findall(r"(?m)^\w+\s+([a-z0-9-]+)  ", tickets) == [
        "apigw-path-unroutable", "apigw-iam-host-mismatch", "apigw-edge-endpoint", "apigw-path-unroutable",
        "websocket-redirect-to-https", "custom-error-masks-api"]
    assert tickets.count("ticket: ") == 6
    assert "function handler(event) {" in flat(tickets)  # story 6's ticket carries the SPA fallback function
    nxt = parts["Next: on your account"]
    for command in ("edgemedic scan", "edgemedic fix --dry-run", "edgemedic fix --class approve",
                    "edgemedic trace https://HOST/api/x", "sam build && sam deploy --guided"):
        assert command in nxt
    assert re.search(r"Done in \d+\.\d s on the embedded emulator, without network", nxt)
