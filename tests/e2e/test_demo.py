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
    code = cli.main(["demo", "--verbose"])
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


# What the default view leaves to --verbose: words of edgemedic's insides, not of the reader's problem.
INTERNAL_WORDS = ("idempotency", "loop guard", "auto-fix-queued", "-> decided", "notified", "FixesQueued",
                  "FixesApplied", "ApprovalsRequested", "OwnChangesIgnored", "Findings 15", "audit log", "FIFO",
                  "evaluate function", "apply function", "If-Match", "X-Slack-Signature", "Powertools")
LINES_PER_STORY = 20  # one screen per story, and room for a story more within the whole budget
WHOLE_DEMO_LINES = 120


@pytest.mark.slow
def test_default_demo_tells_each_story_on_one_screen(no_network: None, capsys: pytest.CaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    code = cli.main(["demo"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), out
    lines = out.splitlines()
    assert len(lines) < WHOLE_DEMO_LINES
    assert max(len(line) for line in lines) <= 100
    for word in INTERNAL_WORDS:
        assert word not in out, word

    titles = [story.title for story in scenarios.STORIES]
    starts = [next(i for i, line in enumerate(lines) if line.startswith(title)) for title in titles]
    assert starts == sorted(starts)
    end = next(i for i, line in enumerate(lines) if "Before and after" in line)
    blocks = {story.name: lines[a:b] for story, a, b in zip(scenarios.STORIES, starts, (*starts[1:], end))}
    assert all(len(block) <= LINES_PER_STORY for block in blocks.values()), {k: len(v) for k, v in blocks.items()}
    # With six stories there was room for one more story of a full screen within the budget; the seventh took it.
    assert len(lines) + LINES_PER_STORY < WHOLE_DEMO_LINES or len(scenarios.STORIES) > 6

    # Per story: what users see (the tale), each finding with its one-line fix, healed, what is left.
    expected = {name: [rule for rule, _, _ in found] for name, (_, found, _, _) in HEALED.items()}
    for story in scenarios.STORIES:
        text = flat("\n".join(blocks[story.name]))
        assert flat(story.tale) in text, story.name
        rules = re.findall(r"(?:HIGH|MEDIUM|LOW|CRITICAL)\s+([a-z0-9-]+)\s+(?:auto|approve|manual):", text)
        assert rules == expected.get(story.name, []), story.name
    assert "Healed: dana's change reached edgemedic as it happened; edgemedic applied and re-read: /api/* origin " \
           "request policy: AllViewer -> AllViewerExceptHostHeader." in flat("\n".join(blocks["forbidden"]))
    assert "Left for a person: outside CloudFront, a ticket each: apigw-path-unroutable." \
        in flat("\n".join(blocks["forbidden"]))
    assert "Healed: lee's change reached edgemedic as it happened; @alice approved the fix in Slack and edgemedic " \
           "applied and re-read: origin shop-web-alb: DomainName shop-web-1.us-east-1.elb.amazonaws.com -> " \
           "app.example.com." in flat("\n".join(blocks["alb-tls"]))
    assert "Left for a person" not in flat("\n".join(blocks["alb-tls"]))
    assert "nothing to fix." in flat("\n".join(blocks["clean"]))

    closing = flat("\n".join(lines[end:]))
    assert ("Before: 15 findings: 12 high, 3 medium. edgemedic fixed 7 on its own as the changes arrived and 1 "
            "after @alice's approval; 7 are left for a person (1 waiting for a yes, 6 for a ticket).") in closing
    # Closing tips promise only what the commands show: scan has no diffs, fix --dry-run sends nothing.
    for tip in ("edgemedic scan read-only: findings and their evidence for your distributions",
                "edgemedic fix --dry-run the auto fixes as diffs; nothing is sent",
                "edgemedic trace https://HOST/PATH one request from the edge to the API, and why it fails",
                "edgemedic demo --verbose this demo in full: diffs, events, the Slack message"):
        assert tip in closing
    assert re.search(r"Done in \d+\.\d s on the emulator, without network\.$", closing)
