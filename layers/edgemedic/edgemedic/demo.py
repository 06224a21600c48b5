"""``edgemedic demo``: the seed stories on the embedded emulator, told as a story, and the whole loop a team deploys.

1. Builds six broken setups and a healthy one with real boto3 calls (``edgemedic.scenarios``), scans them and
   shows the findings and the diffs of the safe fixes (what ``edgemedic scan`` shows on an account).
2. Runs the SAM app's own handlers (``functions/*/app.py``) on the emulator (``edgemedic.local``) and replays, per
   story, the CloudTrail event of the change that broke it: evaluate -> the apply queue -> apply. Then the same
   event delivered twice (acted once) and edgemedic's own update coming back (ignored).
3. Shows an ``approve`` plan as the Slack message a person sees (posted to a Slack stand-in on 127.0.0.1), and walks
   through a signed Approve click to the approve function, the apply and the updated message.
4. Counts before and after, what is left for a person, and the commands to run on a real account.

In-process, no network beyond loopback, a few seconds.

By default each story is told on a few lines (what users see, what edgemedic finds with the one-line fix, how it
healed, what is left), under 120 lines in all at 100 columns; ``--verbose`` tells everything above (diffs, events,
audit records, the Slack messages, idempotency and the loop guard).
"""
from __future__ import annotations

import copy
import io
import json
import re
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from rich.console import Group
from rich.padding import Padding
from rich.rule import Rule as Heading
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from . import report, scenarios
from .findings import Finding, FixClass

if TYPE_CHECKING:
    from rich.console import Console

    from .cli import ScanResult
    from .local import Person, SlackStandIn, Stack

SERVICE = "edgemedic-demo"
TABLE = "edgemedic-demo"
API_REGIONS = (scenarios.US_EAST_1, scenarios.EU_WEST_1)
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documented example secret; the demo's own
APPROVER_ID, APPROVER = "U024BE7LH", "alice"
PEOPLE_NAMES = {APPROVER_ID: APPROVER}  # what Slack shows for a user id
APPROVAL_STORY = "alb-tls"

INTRO = (
    "edgemedic reads each CloudFront distribution, follows every cache behavior to its origin and the API "
    "Gateway API behind it, and checks them against a catalog of the ways that setup breaks. Safe fixes "
    "(auto) it applies itself; patches a person should confirm (approve) go to Slack with an Approve button; "
    "changes outside the distribution (manual) become tickets.\n\n"
    "This demo runs on an AWS emulator inside this process (moto, with CloudFront's ETags, If-Match and "
    "managed policies added). It builds the six setups of the stories below, plus one that is done right, "
    "with the same API calls you would make, then:\n"
    "  1. scans them, as `edgemedic scan` does on your account;\n"
    "  2. runs edgemedic's SAM app (the real Lambda handlers) and replays, per story, the CloudTrail event of the "
    "change that broke it: edgemedic heals what is safe to heal, within seconds of the change;\n"
    "  3. walks through a fix that needs a person: the Slack message, the Approve click, the apply;\n"
    "  4. says what is left for a person, and what to run on your account."
)


@dataclass(frozen=True)
class Change:
    """The change that broke a story, as the person made it."""

    who: "Person"
    what: str  # "/api/* forwards every viewer header (origin request policy AllViewer)"


def _change_for(story: scenarios.Story, changes: Mapping[str, Change]) -> Change:
    """The story's own change, or a person saving the distribution as the story built it."""
    from .local import Person

    return changes.get(story.name) or Change(Person("sam", "Admin"), "saved the distribution as the story has it")


def _changes() -> dict[str, Change]:
    from .local import CLI_AGENT, CLOUDFORMATION_AGENT, TERRAFORM_AGENT, Person

    return {
        "forbidden": Change(Person("dana", "Admin"),
                            "saved the shop's distribution with /api/* forwarding every viewer header "
                            "(origin request policy AllViewer)"),
        "iam-signature": Change(Person("priya", "ApiDevelopers", CLI_AGENT, "203.0.113.7"),
                                "made GET /orders of orders-api require AWS_IAM (PutMethod)"),
        "get-only-cached": Change(Person("gitlab-ci", "terraform-deploy", TERRAFORM_AGENT, "192.0.2.44"),
                                  "applied the store's 2019 Terraform: /api/* GET/HEAD only with legacy cache "
                                  "settings, /assets/uploads/* after /assets/*"),
        "websocket": Change(Person("AWSCloudFormation", "chat-stack-deploy", CLOUDFORMATION_AGENT,
                                   invoked_by="cloudformation.amazonaws.com"),
                            "deployed the chat stack: behavior /ws to the WebSocket API, cached with "
                            "CachingOptimized, redirecting to HTTPS"),
        "alb-tls": Change(Person("lee", "WebTeam"),
                          "pointed origin shop-web-alb at the load balancer's own DNS name"),
        "spa-fallback": Change(Person("sam", "FrontendDevs"),
                               "copied the app's behavior for /api/* (origin request policy CORS-S3Origin)"),
    }


# --------------------------------------------------------------------------------------------- shared pieces


def _part(console: "Console", title: str) -> None:
    console.print()
    console.print(Heading(Text(title, style="bold"), characters="━"))


def _heading(console: "Console", title: str) -> None:
    console.print()
    console.print(Heading(Text(title, style="bold"), align="left"))


def _findings_grid(findings: Sequence[Finding], *, ticket: bool = False,
                   label: Callable[[Finding], str] | None = None) -> Table:
    """One finding per row: severity on the left, the rest wrapped in its own column (indented, readable)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=8, no_wrap=True)
    grid.add_column(ratio=1)
    for finding in findings:
        where = [f"behavior {report.behavior_label(finding.behavior)}"] if finding.behavior else []
        if finding.origin:
            where.append(f"origin {finding.origin}")
        head = Text.assemble((finding.rule, "bold"), "  ", (" -> ".join(where), "dim"))
        if label is not None:
            head.append(f"  ({label(finding)})", style="dim")
        lines: list[Text] = [head]
        if not ticket:
            lines.append(Text(finding.message))
            lines.append(Text.assemble(("why it hurts: ", "italic"), finding.symptom))
        lines.append(Text.assemble((f"fix ({finding.fix.fix_class.value}): ", "green"), finding.fix.summary))
        if ticket and finding.fix.ticket:
            lines.append(Text.assemble(("ticket: ", "cyan"), " ".join(finding.fix.ticket.split())))
        grid.add_row(Text(finding.severity.value.upper(), style=report.SEVERITY_STYLE[finding.severity]),
                     Group(*lines))
        grid.add_row("", "")
    return grid


def _facts(rows: Sequence[tuple[Any, Any]], width: int = 10) -> Table:
    """``label  value`` rows, the values wrapped in their own column."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(width=width, no_wrap=True, style="bold")
    grid.add_column(ratio=1)
    for label, value in rows:
        grid.add_row(label, value)
    return grid


# --------------------------------------------------------------------------------------------- 1. the scan


def _story(console: "Console", story: scenarios.Story, dist_id: str, result: "ScanResult") -> None:
    from . import plan

    _heading(console, story.title)
    console.print(Text(story.tale, style="italic"))
    dist = result.distribution(dist_id)
    own = [f for f in result.findings if f.distribution == dist_id]
    where = f"distribution {dist_id}" + (f" ({dist.domain_name})" if dist else "")
    if not own:
        console.print(Text(f"edgemedic on {where}: no findings.", style="green"))
        return
    console.print(Text(f"edgemedic on {where}: {report.counts_line(own)}", style="bold"))
    console.print(_findings_grid(own))
    auto = [f for f in own if f.fix.fix_class is FixClass.AUTO and f.fix.changes]
    if dist is not None and auto:
        built = plan.build_plan(dist, auto, classes=frozenset({FixClass.AUTO}))
        if built is not None:
            console.print(Text("The auto fix, as the change edgemedic will send:", style="bold"))
            for line in built.summary:
                console.print(Text(f"  - {line}"))
            console.print(Syntax(built.diff.rstrip("\n"), "diff", theme="ansi_dark", background_color="default",
                                 word_wrap=True))


# --------------------------------------------------------------------------------------------- 2. events


_MODE_WORDS = {"auto": "auto: queued for the apply function", "approve": "approve: posted to Slack for a yes",
               "notify": "told the channel: needs a person", "off": "off: recorded only"}


def _who(person: "Person") -> str:
    return f"{person.name} (role {person.role}) {person.tool}"


def _short_actor(actor: str) -> str:
    """``arn:aws:iam::111122223333:role/Admin`` -> ``role/Admin``."""
    return actor.rsplit(":", 1)[-1] if actor.startswith("arn:") else actor


def _audit_line(record: Mapping[str, Any]) -> str:
    at = str(record.get("at", ""))[11:19]
    what = record.get("event_name") or "approval"
    return (f"{at}  {what} by {_short_actor(str(record.get('actor', '')))}: "
            f"{str(record.get('action', '')).replace(',', ', ')} -> {record.get('result', '')}")


def _story_event(stack: "Stack", story: scenarios.Story, dist_id: str, change: Change) -> dict:
    """The person's change, made on the emulator where it is a CloudFront call, and its CloudTrail event."""
    from .local import put_method_event, update_distribution_event

    clients = stack.clients
    if story.name == "iam-signature":  # an API Gateway change: the PutMethod the story's setup made
        apigw = clients.apigateway(scenarios.US_EAST_1)
        api_id = next(a["id"] for a in apigw.get_rest_apis()["items"] if a["name"] == "orders-api")
        resource = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/orders")
        return put_method_event(change.who, region=scenarios.US_EAST_1, rest_api_id=api_id, resource_id=resource,
                                http_method="GET", authorization_type="AWS_IAM")
    cloudfront = clients.cloudfront()
    before = cloudfront.get_distribution_config(Id=dist_id)
    # The person saves the config as the story has it: a real UpdateDistribution with If-Match, a new ETag.
    after = cloudfront.update_distribution(Id=dist_id, IfMatch=before["ETag"],
                                           DistributionConfig=before["DistributionConfig"])
    return update_distribution_event(change.who, distribution_id=dist_id,
                                     domain_name=after["Distribution"]["DomainName"],
                                     config=before["DistributionConfig"], if_match=before["ETag"],
                                     etag=after["ETag"])


def _replay_story(console: "Console", stack: "Stack", story: scenarios.Story, dist_id: str,
                  change: Change) -> dict:
    _heading(console, story.title)
    event = _story_event(stack, story, dist_id, change)
    detail = event["detail"]
    result = stack.evaluate(event)
    applied = stack.drain()
    records = [r for r in stack.audit(dist_id) if r.get("event_id") == detail["eventID"]]
    decided = next((r for r in records if r.get("result") in {"decided", "clean"}), None)
    fixed = next((r for r in records if str(r.get("action", "")).startswith("auto-fix") and r is not decided), None)

    target = f"REST API {detail['requestParameters']['restApiId']}" if story.name == "iam-signature" \
        else f"distribution {dist_id}"
    rows: list[tuple[str, Any]] = [
        ("change", Text(f"{_who(change.who)} {change.what}.")),
        ("event", Text(f"{detail['eventName']} on {target}, EventBridge \"AWS API Call via CloudTrail\" "
                       f"{detail['eventID'][:8]}…", style="dim")),
    ]
    if decided is not None:
        count = len(decided["findings"])
        found = Text(f"{count} finding{'' if count == 1 else 's'} on distribution {dist_id}, read fresh from the API:")
        for f in decided["findings"]:
            found.append(f"\n  - {f['rule']} ({f['severity']}): {_MODE_WORDS.get(f.get('mode', ''), f.get('mode'))}")
        rows.append(("evaluate", found))
    else:
        rows.append(("evaluate", Text(json.dumps(result))))
    if fixed is not None:
        plan = fixed.get("plan") or {}
        attempts = re.search(r"attempts: (\d+)", str(fixed.get("detail", "")))
        done = Text(f"{fixed['result']}" + (f" in {attempts.group(1)} attempt(s), verified by a re-read"
                                            if fixed["result"] == "applied" and attempts else "") + ":")
        for line in plan.get("summary", ()):
            done.append(f"\n  - {line}")
        rows.append(("apply", done))
    elif not applied:
        rows.append(("apply", Text("nothing applied automatically", style="dim")))
    rows.append(("audit log", Text("\n".join(_audit_line(r) for r in records))))
    console.print(_facts(rows))
    return event


def _duplicate_and_own_change(console: "Console", stack: "Stack", event: dict, dist_id: str) -> tuple[str, str]:
    """The first story's event delivered again, then edgemedic's own fix coming back as an event."""
    from .local import EDGEMEDIC, update_distribution_event

    _heading(console, "EventBridge delivers at least once: the same event again")
    audit_before = len(stack.audit(dist_id))
    calls_before, updates_before = stack.emu.calls.copy(), stack.updates()
    again = stack.evaluate(copy.deepcopy(event))
    stack.drain()
    reads = sum(n for (service, _), n in (stack.emu.calls - calls_before).items() if service == "cloudfront")
    once = (again.get("status") == "evaluated" and reads == 0 and stack.updates() == updates_before
            and len(stack.audit(dist_id)) == audit_before)
    verdict = "acted once" if once else "ACTED AGAIN"
    console.print(Text(
        f"Event {event['detail']['eventID'][:8]}… a second time: evaluate answered from its idempotency record "
        f"(Powertools, keyed on the CloudTrail eventID): {reads} CloudFront calls, nothing queued, no new audit "
        f"record: {verdict}."))

    _heading(console, "edgemedic's own change comes back as an event too")
    cloudfront = stack.clients.cloudfront()
    current = cloudfront.get_distribution(Id=dist_id)
    own = update_distribution_event(EDGEMEDIC, distribution_id=dist_id,
                                    domain_name=current["Distribution"]["DomainName"],
                                    config=current["Distribution"]["DistributionConfig"], if_match="E1PREVIOUS",
                                    etag=current["ETag"])
    calls_before = sum(stack.emu.calls.values())
    ignored = stack.evaluate(own)
    calls = sum(stack.emu.calls.values()) - calls_before
    guard = ("ignored: our own change" if ignored.get("status") == "ignored" else f"NOT IGNORED: {ignored}")
    console.print(Text(
        f"The apply function's UpdateDistribution on {dist_id}, made by role {EDGEMEDIC.role}: {guard} "
        f"(loop guard, {calls} AWS calls; the EventBridge rule filters it out as well)."))
    return verdict, guard


def _cloudwatch(console: "Console", sink: Any) -> None:
    metrics = sink.metrics()
    shown = ", ".join(f"{name} {metrics[name]}" for name in
                      ("Findings", "FixesQueued", "FixesApplied", "ApprovalsRequested", "OwnChangesIgnored")
                      if metrics.get(name))
    console.print()
    console.print(Text(f"CloudWatch would have {len(sink.logs())} JSON log lines from the functions (correlation "
                       f"id = the CloudTrail eventID) and these metrics: {shown}.", style="dim"))


# --------------------------------------------------------------------------------------------- 3. approval


def _as_seen(request: Any) -> Any:
    """The message a chat.postMessage / chat.update carried, with user ids shown as names (as Slack does)."""
    from slack_sdk.models.blocks import Block

    from .notify.slack import SlackMessage

    sent = json.loads(request.body)
    blocks = json.loads(re.sub(r"<@([A-Z0-9]+)>", lambda m: "@" + PEOPLE_NAMES.get(m.group(1), m.group(1)),
                               json.dumps(sent.get("blocks") or [])))
    return SlackMessage(sent.get("text", ""), tuple(Block.parse_all(blocks)))


def _approval(console: "Console", stack: "Stack", slack: "SlackStandIn", dist_id: str) -> str:
    from .local import button_click, sign_slack_request
    from .notify.render import renderable
    from .notify.store import DynamoPlanStore

    _part(console, "3 · A fix that needs a person: approval in Slack")
    posts = [r for r in slack.to("/api/chat.postMessage") if dist_id in r.body.decode()
             and "edgemedic_approve" in r.body.decode()]
    if not posts:
        console.print(Text(f"No approval was posted for {dist_id}.", style="red"))
        return "no approval"
    story = scenarios.STORY_BY_NAME[APPROVAL_STORY]
    console.print(
        f"{story.title.split(':')[0]}'s fix changes where CloudFront connects, so it is approve-class: evaluate "
        "stored the plan (ETag and config hash included) in the table and the notifier posted it with "
        f"chat.postMessage. Slack here is a stand-in on {slack.url} that answers as Slack does. What the channel "
        "sees:")
    console.print(Padding(renderable(_as_seen(posts[-1])), (0, 0, 0, 2)))

    posted = json.loads(posts[-1].body)
    plan_id = next(e["value"] for b in posted["blocks"] if b["type"] == "actions" for e in b["elements"]
                   if e["action_id"] == "edgemedic_approve")
    message_ts = json.loads(posts[-1].answer).get("ts", "")
    body = button_click(plan_id, user_id=APPROVER_ID, user_name=APPROVER, channel=slack.channel,
                        message_ts=message_ts, response_url=slack.response_url("approve-1"))
    at = time.time()
    headers = sign_slack_request(SIGNING_SECRET, body, at)
    console.print(
        f"@{APPROVER} reads the diff and presses Approve (then Apply in the confirmation). Slack sends the click to "
        f"the approve function's URL, signed with the app's signing secret:")
    console.print(Text(f"  POST /slack/actions  X-Slack-Request-Timestamp: {headers['X-Slack-Request-Timestamp']}  "
                       f"X-Slack-Signature: {headers['X-Slack-Signature'][:19]}…", style="dim"))
    audited = len(stack.audit(dist_id))
    started = time.monotonic()
    response = stack.approve(body, at=at)
    answered_ms = (time.monotonic() - started) * 1000
    updates_before = stack.updates()
    stack.drain()
    record = DynamoPlanStore(stack.clients.client("dynamodb"), stack.table).get(plan_id)
    status = record.status if record else "unknown"
    console.print(
        f"approve function: signature and timestamp valid, @{APPROVER} is on the approver list: HTTP "
        f"{response['statusCode']} in {answered_ms:.0f} ms (Slack wants an answer within 3 s). The decision is one "
        "conditional write, and the approved plan goes to the FIFO apply queue. The apply function, the only "
        "writer, re-reads the distribution, checks the ETag and config hash are still the plan's, sends "
        f"UpdateDistribution with If-Match ({stack.updates() - updates_before} call), re-reads and checks the "
        "finding is gone.")
    updates = [r for r in slack.to("/api/chat.update") if plan_id in r.body.decode() or dist_id in r.body.decode()]
    if updates:
        console.print("The same message, replaced with chat.update:")
        console.print(Padding(renderable(_as_seen(updates[-1])), (0, 0, 0, 2)))
    verified = status == "applied"
    line = (f"Approved by @{APPROVER}, applied, verified." if verified
            else f"Approved by @{APPROVER}, but the plan ended {status}: {record.outcome if record else ''}")
    console.print(Text(line, style="bold green" if verified else "bold red"))
    for audited_record in stack.audit(dist_id)[audited:]:
        console.print(Text(f"audit log  {_audit_line(audited_record)}", style="dim"))

    # The same signed request again (a double click, or Slack retrying): one conditional write already won.
    again = stack.approve(body)
    stack.drain()
    replies = [json.loads(r.body).get("text", "") for r in slack.requests if r.path.startswith("/actions/")]
    told = re.sub(r"<@([A-Z0-9]+)>", lambda m: "@" + PEOPLE_NAMES.get(m.group(1), m.group(1)),
                  replies[-1]) if replies else "(no reply)"
    console.print(f"The same click again (a double click, or Slack retrying): HTTP {again['statusCode']}, "
                  f"UpdateDistribution calls still {stack.updates() - updates_before}; only {APPROVER} sees: "
                  f"\"{told}\"")
    forged = stack.approve(body, signed_with="not-the-signing-secret")
    console.print(f"A request signed with another secret: HTTP {forged['statusCode']}, and nothing from its "
                  "body is logged.")
    return line


# --------------------------------------------------------------------------------------------- 4. what is left


def _counts_table(columns: Sequence[tuple[str, Sequence[Finding]]]) -> Table:
    table = Table(title="Findings by severity", title_justify="left")
    table.add_column("Severity")
    for name, _ in columns:
        table.add_column(name, justify="right")
    counts = [report.severity_counts(findings) for _, findings in columns]
    for severity in report.SEVERITIES:
        table.add_row(Text(severity.value, style=report.SEVERITY_STYLE[severity]),
                      *(str(c[severity]) for c in counts))
    table.add_row(Text("total", style="bold"), *(str(len(findings)) for _, findings in columns))
    return table


def _left_for_a_person(console: "Console", after: Sequence[Finding], story_of: dict[str, scenarios.Story]) -> None:
    _part(console, "4 · What is left for a person")
    if not after:
        console.print("Nothing: every finding was fixed.")
        return

    def label(finding: Finding) -> str:
        story = story_of.get(finding.distribution)
        name = story.title.split(":")[0] if story else "distribution"
        return f"{name}, {finding.distribution}"

    for fix_class, intro in (
        (FixClass.APPROVE, "Waiting in Slack for a yes (or `edgemedic fix --class approve`):"),
        (FixClass.MANUAL, "Changes outside CloudFront: edgemedic told the channel, and with a ticket backend "
                          "(GitHub Issues, Jira) opens one ticket per distribution and rule:"),
        (FixClass.AUTO, "Auto fixes that did not apply (see above):"),
    ):
        chosen = [f for f in after if f.fix.fix_class is fix_class]
        if chosen:
            console.print(Text(intro, style="bold"))
            console.print(_findings_grid(chosen, ticket=True, label=label))


NEXT = (
    ("edgemedic scan", "read-only: the findings above with their evidence, for your distributions (--format html "
                       "or json adds the diffs)"),
    ("edgemedic fix --dry-run", "the auto fixes as diffs; `edgemedic fix` applies them, asking first"),
    ("edgemedic fix --class approve", "the approve-class patches, asking before each distribution"),
    ("edgemedic trace https://HOST/api/x", "one request followed from the edge to the API: which behavior, what "
                                          "reaches the API, and the rule that explains a failure"),
    ("sam build && sam deploy --guided", "the SAM app you just watched: heals changes as they happen, "
                                         "approvals in Slack (docs/deploy.md)"),
)


# --------------------------------------------------------------------------------------------- the short story

CLEAN_STORY = "clean"
SHORT_INTRO = (
    "Seven CloudFront setups, built on an AWS emulator inside this process with the calls you would make: six "
    "broken the way teams break them, one done right. For each: what users see, what edgemedic finds and the fix, "
    "and how it healed when the change that broke it reached edgemedic, deployed as it would be on your account.")
_CLASS_WORDS = {FixClass.AUTO: "auto", FixClass.APPROVE: "approve", FixClass.MANUAL: "manual"}


def _short_findings(findings: Sequence[Finding]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=8, no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    for f in findings:
        grid.add_row(Text(f.severity.value.upper(), style=report.SEVERITY_STYLE[f.severity]), Text(f.rule),
                     Text.assemble((f"{_CLASS_WORDS[f.fix.fix_class]}: ", "green"), f.fix.summary))
    return grid


def _healed(story: scenarios.Story, change: Change, records: Sequence[Mapping[str, Any]],
            fixed_by_person: bool) -> Text:
    applied = [r for r in records if r.get("result") == "applied"]
    head = Text("Healed: ", style="bold green")
    who = f"{change.who.name}'s change reached edgemedic as it happened"
    if not applied:
        return head.append(f"{who}; nothing in it was safe to change without a person.")
    lines: list[str] = []
    for record in applied:
        lines += list((record.get("plan") or {}).get("summary", ()))
    by = f"@{APPROVER} approved the fix in Slack and edgemedic" if fixed_by_person else "edgemedic"
    return head.append(f"{who}; {by} applied and re-read: " + "; ".join(lines) + ".")


def _left(findings: Sequence[Finding]) -> Text | None:
    waiting = [f.rule for f in findings if f.fix.fix_class is FixClass.APPROVE]
    tickets = [f.rule for f in findings if f.fix.fix_class is not FixClass.APPROVE]
    parts = []
    if waiting:
        parts.append(f"waiting in Slack for a person's yes: {', '.join(waiting)}")
    if tickets:
        parts.append(f"outside CloudFront, a ticket each: {', '.join(tickets)}")
    return Text.assemble(("Left for a person: ", "bold yellow"), "; ".join(parts) + ".") if parts else None


def _short_story(console: "Console", ids: Mapping[str, str], before: "ScanResult", after_events: "ScanResult",
                 after: "ScanResult", audit: Mapping[str, Sequence[Mapping[str, Any]]],
                 changes: Mapping[str, Change], approval: str) -> None:
    """Each story on a few lines: what users see, the findings with their one-line fixes, healed, what is left."""
    for story in scenarios.STORIES:
        dist_id = ids[story.name]
        dist = before.distribution(dist_id)
        own = [f for f in before.findings if f.distribution == dist_id]
        _heading(console, story.title)
        console.print(Text(story.tale, style="italic"))
        names = ", ".join(dist.aliases) if dist is not None and dist.aliases else (dist.domain_name if dist else "")
        if not own:
            console.print(Text(f"edgemedic on distribution {dist_id} ({names}): nothing to fix.", style="green"))
            continue
        console.print(Text(f"edgemedic on distribution {dist_id} ({names}): {report.counts_line(own)}", style="bold"))
        console.print(Padding(_short_findings(own), (0, 0, 0, 2)))
        by_person = story.name == APPROVAL_STORY and approval.startswith(f"Approved by @{APPROVER}, applied")
        console.print(_healed(story, _change_for(story, changes), audit.get(story.name, ()), by_person))
        left = _left([f for f in after.findings if f.distribution == dist_id])
        if left is not None:
            console.print(left)


SHORT_NEXT = (
    ("edgemedic scan", "read-only: findings and their evidence for your distributions"),
    ("edgemedic fix --dry-run", "the auto fixes as diffs; nothing is sent"),
    ("edgemedic trace https://HOST/PATH", "one request from the edge to the API, and why it fails"),
    ("edgemedic demo --verbose", "this demo in full: diffs, events, the Slack message"),
)


def _short_end(console: "Console", before: "ScanResult", after_events: "ScanResult", after: "ScanResult",
               ok: bool, elapsed: float) -> None:
    by_itself = len(before.findings) - len(after_events.findings)
    by_person = len(after_events.findings) - len(after.findings)
    waiting = sum(1 for f in after.findings if f.fix.fix_class is FixClass.APPROVE)
    _part(console, "Before and after")
    console.print(Text(
        f"Before: {report.counts_line(before.findings)}. edgemedic fixed {by_itself} on its own as the changes "
        f"arrived and {by_person} after @{APPROVER}'s approval; {len(after.findings)} are left for a person "
        f"({waiting} waiting for a yes, {len(after.findings) - waiting} for a ticket).", style="bold"))
    console.print()
    console.print(Text("On your account:", style="bold"))
    console.print(_facts([(Text(command, style="cyan"), what) for command, what in SHORT_NEXT],
                         width=max(len(command) for command, _ in SHORT_NEXT)))
    console.print(Text("Deployed with sam deploy (docs/deploy.md in the repository), edgemedic heals each change as "
                       "it happens, as above."))
    console.print(Text(f"Done in {elapsed:.1f} s on the emulator, without network."
                       + ("" if ok else " Something did not go as it should: run with --verbose to see what."),
                       style="dim" if ok else "bold red"))


# --------------------------------------------------------------------------------------------- the whole story


def run(console: "Console", *, verbose: bool = False) -> int:
    """Tell the story on ``console``, briefly or (``verbose``) in full; returns the exit code (1 when a step did not
    do what it should)."""
    from rich.console import Console

    from . import cli, local
    from .emulator import Emulator
    from .handlers import runtime
    started = time.monotonic()
    told = console
    if not verbose:  # the full story is still run and checked; only the short one is shown
        console = Console(file=io.StringIO(), width=told.width, no_color=True)
        told.print(Heading(Text("edgemedic demo", style="bold")))
        told.print(SHORT_INTRO)
    console.print(Heading(Text("edgemedic demo", style="bold")))
    console.print(INTRO)
    sink = local.CloudWatchSink()
    env = {**local.powertools_env(SERVICE), "AWS_DEFAULT_REGION": scenarios.US_EAST_1, "HTTPS_PROXY": None,
           "https_proxy": None, "HTTP_PROXY": None, "http_proxy": None}  # the Slack stand-in is on loopback
    changes = _changes()
    try:
        with warnings.catch_warnings(), local.environment(env), Emulator() as emu, local.SlackStandIn() as slack, \
                local.captured_logs(sink, SERVICE) as rewire:
            clients = emu.clients()
            ids = scenarios.build(clients)
            story_of = {dist_id: scenarios.STORY_BY_NAME[name] for name, dist_id in ids.items()}
            before = cli.run_scan(clients, summaries=False)  # its stories show the auto fix's diff

            _part(console, "1 · What edgemedic finds: a scan")
            for story in scenarios.STORIES:
                _story(console, story, ids[story.name], before)

            _part(console, "2 · Deployed: edgemedic heals each change as it happens")
            console.print(
                "On your account edgemedic is a SAM app: an EventBridge rule sends the CloudTrail record of every "
                "CloudFront and API Gateway change to the evaluate function, which reads the current config (never "
                "the event's copy), finds what is wrong and puts auto fixes on a FIFO queue; the apply function, "
                "the only one allowed to call UpdateDistribution, applies them with If-Match, re-reads and "
                "verifies. Here those functions (their handlers, Powertools included) run on the emulator "
                "with the stack's DynamoDB table and SQS queue; each story's change arrives as its CloudTrail "
                "event.")
            functions = local.fresh_functions(rewire)
            stack = local.start(emu, table=TABLE, api_regions=API_REGIONS, function=functions, slack=slack,
                                approvers=[APPROVER_ID], signing_secret=SIGNING_SECRET)
            events = {}
            for story in scenarios.STORIES:
                if story.name != CLEAN_STORY:
                    events[story.name] = _replay_story(console, stack, story, ids[story.name],
                                                       _change_for(story, changes))
            first = scenarios.STORIES[0].name
            verdict, guard = _duplicate_and_own_change(console, stack, events[first], ids[first])
            _cloudwatch(console, sink)
            after_events = cli.run_scan(clients)

            approval = _approval(console, stack, slack, ids[APPROVAL_STORY])
            after = cli.run_scan(clients)
            audit = {name: stack.audit(dist_id) for name, dist_id in ids.items()}
    finally:
        runtime.reset()

    ok = (verdict == "acted once" and guard.startswith("ignored")
          and approval.startswith(f"Approved by @{APPROVER}, applied"))
    if not verbose:
        _short_story(told, ids, before, after_events, after, audit, changes, approval)
        _short_end(told, before, after_events, after, ok, time.monotonic() - started)
        return 0 if ok else 1

    _part(console, "Before and after")
    console.print(_counts_table((("Before", before.findings), ("After the events", after_events.findings),
                                 ("After the approval", after.findings))))
    console.print(Text(f"Findings before: {report.counts_line(before.findings)}. "
                       f"After the events: {report.counts_line(after_events.findings)}. "
                       f"After @{APPROVER}'s approval: {report.counts_line(after.findings)}.", style="bold"))
    _left_for_a_person(console, after.findings, story_of)

    _part(console, "Next: on your account")
    console.print(_facts([(Text(command, style="cyan"), what) for command, what in NEXT],
                         width=max(len(command) for command, _ in NEXT)))
    elapsed = time.monotonic() - started
    console.print()
    console.print(Text(f"Done in {elapsed:.1f} s on the embedded emulator, without network (Slack was a stand-in on "
                       "127.0.0.1)." + ("" if ok else " Something above did not go as it should."), style="dim"))
    told = [*before.warnings, *after.warnings]
    if told:
        console.print(Text("Warnings: " + "; ".join(dict.fromkeys(told)), style="yellow"))
    return 0 if ok else 1
