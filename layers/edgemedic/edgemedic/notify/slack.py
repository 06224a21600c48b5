"""Slack: Block Kit messages built with slack_sdk's models (validated by the library), and their delivery.

    message = build_message(alert)
    notifier = SlackNotifier(token=lambda: get_secret("edgemedic/slack-bot-token"), channel="C0123456789")
    ref = notifier.post(message)                  # chat.postMessage
    notifier.update(ref, build_message(alert.with_status(Status.APPLIED, actor="U024BE7LH")))   # chat.update

An incoming webhook cannot edit what it posted: with a webhook, ``update`` replaces the message through the
``response_url`` of the button click that changed it (valid 30 minutes) and otherwise posts a new message.
Rate limits (429, Retry-After honoured) and 5xx are retried by slack_sdk's retry handlers; what still fails raises
``DeliveryError`` for the caller to record, so the sweep can post it later.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.webhook import WebhookClient

from ..findings import Finding, FixClass
from .alert import Alert, Status
from .exceptions import DeliveryError

ACTIONS_BLOCK_ID = "edgemedic_plan_actions"
APPROVE_ACTION_ID = "edgemedic_approve"  # stable: the approval endpoint dispatches on these
REJECT_ACTION_ID = "edgemedic_reject"

MAX_BLOCKS = 50
SECTION_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
FALLBACK_TEXT_MAX = 4000  # chat.postMessage truncates `text` beyond 40,000; keep notifications short

SEVERITY_EMOJI = {"critical": ":red_circle:", "high": ":large_orange_circle:", "medium": ":large_yellow_circle:",
                  "low": ":white_circle:"}

_HEADERS = {
    Status.PROPOSED: ":raised_hand: Approval needed: fix for CloudFront {id}",
    Status.APPROVED: ":hourglass_flowing_sand: Approved, applying the fix to {id}",
    Status.APPLIED: ":white_check_mark: Fixed CloudFront {id}",
    Status.NEEDS_PERSON: ":construction: CloudFront {id} needs a person",
    Status.REJECTED: ":no_entry_sign: Fix for {id} rejected",
    Status.EXPIRED: ":hourglass: Fix for {id} expired, not applied",
    Status.SUPERSEDED: ":arrows_counterclockwise: Fix for {id} not applied: the distribution changed",
    Status.FAILED: ":x: Fix for {id} failed, nothing changed",
    Status.ROLLED_BACK: ":leftwards_arrow_with_hook: Fix for {id} rolled back",
}


@dataclass(frozen=True)
class SlackMessage:
    """Fallback text (notifications, screen readers) and validated blocks."""

    text: str
    blocks: tuple[Block, ...]

    def block_dicts(self) -> list[dict]:
        return [block.to_dict() for block in self.blocks]  # to_dict() runs slack_sdk's validation

    def to_dict(self) -> dict:
        return {"text": self.text, "blocks": self.block_dicts()}

    @classmethod
    def from_dict(cls, data: dict) -> "SlackMessage":
        """Back from ``to_dict`` (a message stored for the sweep to post again)."""
        return cls(data["text"], tuple(Block.parse(b) for b in data["blocks"]))


# --------------------------------------------------------------------------------------------- text helpers


def escape(text: str) -> str:
    """Slack's mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fit(text: str, limit: int, tail: str = "…") -> str:
    """Cut at a line (else a character) boundary so the result, tail included, is at most ``limit``."""
    if len(text) <= limit:
        return text
    room = limit - len(tail)
    cut = text.rfind("\n", 0, room)
    cut = cut if cut > room // 2 else room
    text = text[:cut]
    # never leave half an entity (&am…) behind
    amp = text.rfind("&")
    if amp != -1 and ";" not in text[amp:]:
        text = text[:amp]
    return text + tail


def _code(text: str) -> str:
    return "`" + escape(text).replace("`", "'") + "`"


def _date(at: datetime) -> str:
    """A Slack date token (shown in the reader's time zone) with a UTC fallback."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def trim_diff(diff: str, limit: int, more: str = "") -> str:
    """A unified diff as a Slack code block of at most ``limit`` characters.

    File headers (``---``/``+++``) are dropped and whole hunks kept while they fit, so what is shown is the
    changed behavior with its context; the rest is counted in a last line pointing at ``more`` (the ticket).
    """
    lines = [line for line in diff.splitlines() if not line.startswith(("--- ", "+++ "))]
    hunks: list[list[str]] = []
    for line in lines:
        if line.startswith("@@") or not hunks:
            hunks.append([])
        hunks[-1].append(escape(line).replace("```", "'''"))
    fence_open, fence_close = "```\n", "\n```"
    shown: list[str] = []
    used = len(fence_open) + len(fence_close)
    total = sum(len(h) for h in hunks)
    note_room = 120 + len(more)
    for hunk in hunks:
        size = sum(len(line) + 1 for line in hunk)
        if used + size + note_room <= limit:
            shown.extend(hunk)
            used += size
            continue
        for line in hunk:  # the first hunk that does not fit is cut at a line boundary
            if used + len(line) + 1 + note_room > limit:
                break
            shown.append(line)
            used += len(line) + 1
        break
    text = fence_open + "\n".join(shown) + fence_close
    hidden = total - len(shown)
    if hidden:
        text += f"\n_{hidden} more diff lines not shown" + (f": full diff in {more}_" if more else "_")
    return text


# --------------------------------------------------------------------------------------------- the message


def _finding_text(finding: Finding) -> str:
    emoji = SEVERITY_EMOJI.get(str(finding.severity), "")
    lines = [
        # not in bold: messages hold path patterns, and their '*' would end the bold early
        f"{emoji} *{finding.severity}*: {escape(finding.message)}",
        f"_What users see:_ {escape(finding.symptom)}",
        f"_Rule:_ `{finding.rule}` · _Fix ({finding.fix.fix_class}):_ {escape(finding.fix.summary)}",
    ]
    if finding.evidence:
        lines.append("_Evidence:_ " + "; ".join(escape(e) for e in finding.evidence))
    if finding.notes:
        lines.append("_Note:_ " + "; ".join(escape(n) for n in finding.notes))
    return _fit("\n".join(lines), SECTION_TEXT_MAX)


def _location_text(alert: Alert, behavior: str, origin: str) -> str:
    parts = []
    if behavior:
        parts.append(f"*Behavior* {_code(behavior)}" + (" (default)" if behavior == "*" else ""))
    if origin:
        domain = alert.distribution.origins.get(origin)
        parts.append(f"*Origin* {_code(origin)}" + (f" → {_code(domain)}" if domain else ""))
    return "  ·  ".join(parts) or "*Distribution-wide*"


def _groups(findings: Sequence[Finding]) -> list[tuple[tuple[str, str], list[Finding]]]:
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.behavior, finding.origin), []).append(finding)
    return list(groups.items())


def _ticket_link(alert: Alert, label: str = "the ticket") -> str:
    return f"<{alert.ticket_url}|{label}>" if alert.ticket_url else ""


def _status_context(alert: Alert) -> str | None:
    who = f"<@{alert.actor}>" if alert.actor else ""
    note = f" {escape(alert.note)}" if alert.note else ""
    status = alert.status
    if status is Status.PROPOSED:
        expires = f" Expires {_date(alert.expires_at)} if nobody decides." if alert.expires_at else ""
        return (note + expires).strip() or None
    if status is Status.APPROVED:
        return f"Approved by {who}; applying with If-Match on the planned ETag.{note}"
    if status is Status.APPLIED:
        if who:
            return f"Approved by {who} and applied; CloudFront is deploying it to the edge.{note}"
        return f"Applied automatically, here is the diff. CloudFront is deploying it to the edge.{note}"
    if status is Status.NEEDS_PERSON:
        link = _ticket_link(alert)
        return "Needs a change outside the distribution: edgemedic never applies it." + (
            f" Tracked in {link}." if link else "")
    if status is Status.REJECTED:
        return f"Rejected by {who}. Nothing was changed.{note}"
    if status is Status.EXPIRED:
        return f"Nobody decided before it expired; nothing was changed.{note}"
    if status is Status.SUPERSEDED:
        return f"Not applied: the distribution changed after this plan was made.{note} A fresh proposal follows."
    if status is Status.ROLLED_BACK:
        return f"Applied, but the findings stayed, so the previous config was restored.{note}"
    return f"Nothing was changed.{note}"


def build_message(alert: Alert) -> SlackMessage:
    """The Slack message for ``alert`` (at most 50 blocks; each text within Block Kit's limits)."""
    dist = alert.distribution
    header = _HEADERS[alert.status].format(id=dist.id)
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=header[:HEADER_TEXT_MAX], emoji=True))]

    facts = [f"*Distribution*\n<{dist.console_url}|{dist.id}>"]
    if alert.account:
        facts.append(f"*Account*\n{escape(alert.account)}")
    if dist.aliases:
        facts.append("*Aliases*\n" + _fit(", ".join(escape(a) for a in dist.aliases), 1900))
    elif dist.domain_name:
        facts.append(f"*Domain*\n{escape(dist.domain_name)}")
    blocks.append(SectionBlock(fields=[MarkdownTextObject(text=f) for f in facts]))
    if alert.trigger:
        t = alert.trigger
        via = f" via {escape(t.via)}" if t.via else ""
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=_fit(f"Triggered by *{escape(t.actor)}*{via}: `{escape(t.event)}` at {_date(t.at)}", 2900))]))

    # Fixed tail: divider, summary, diff, diff note/ticket, status, actions; the findings share what is left.
    room = MAX_BLOCKS - len(blocks) - 7
    finding_blocks: list[Block] = []
    shown = 0
    for (behavior, origin), findings in _groups(alert.findings):
        if len(finding_blocks) + 2 > room:
            break
        finding_blocks.append(SectionBlock(text=MarkdownTextObject(text=_location_text(alert, behavior, origin))))
        for finding in findings:
            if len(finding_blocks) + 1 > room:
                break
            finding_blocks.append(SectionBlock(text=MarkdownTextObject(text=_finding_text(finding))))
            shown += 1
    blocks.extend(finding_blocks)
    if shown < len(alert.findings):
        link = _ticket_link(alert)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"…and {len(alert.findings) - shown} more findings" + (f", listed in {link}" if link else ""))]))

    blocks.append(DividerBlock())
    if alert.has_plan:
        summary = "\n".join(f"• {escape(line)}" for line in alert.summary)
        title = "*Applied change*" if alert.status is Status.APPLIED else "*Proposed change*"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_fit(f"{title}\n{summary}", SECTION_TEXT_MAX))))
        if alert.diff:
            more = _ticket_link(alert)
            blocks.append(SectionBlock(text=MarkdownTextObject(text=trim_diff(alert.diff, SECTION_TEXT_MAX, more))))
    elif alert.fix_class is FixClass.MANUAL:
        todo = "\n".join(f"• {escape(f.fix.summary)}" for f in alert.findings)
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text=_fit(f"*Needs a person*: change to make\n{todo}", SECTION_TEXT_MAX))))

    context = _status_context(alert)
    if context:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_fit(context, 2900))]))
    if alert.status is Status.PROPOSED and alert.plan_id:
        blocks.append(ActionsBlock(block_id=ACTIONS_BLOCK_ID, elements=[
            ButtonElement(text=PlainTextObject(text="Approve"), action_id=APPROVE_ACTION_ID, value=alert.plan_id,
                          style="primary", confirm=ConfirmObject(
                              title="Apply this fix?",
                              text=MarkdownTextObject(text=f"edgemedic will update CloudFront distribution "
                                                           f"*{dist.id}* as shown."),
                              confirm="Apply", deny="Cancel")),
            ButtonElement(text=PlainTextObject(text="Reject"), action_id=REJECT_ACTION_ID, value=alert.plan_id,
                          style="danger"),
        ]))

    top = alert.findings[0].message if alert.findings else "no findings"
    text = _fit(f"{header}: {top}", FALLBACK_TEXT_MAX)
    return SlackMessage(text=text, blocks=tuple(blocks[:MAX_BLOCKS]))


# --------------------------------------------------------------------------------------------- delivery


class AnyServerErrorRetryHandler(RetryHandler):
    """Retries every 5xx (slack_sdk's ServerErrorRetryHandler only retries 500 and 503; Slack also answers 502/504)."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:  # noqa: ANN001 - slack_sdk's shape
        return response is not None and 500 <= response.status_code <= 599


def retry_handlers(max_retries: int = 3, backoff: float = 0.5) -> list[RetryHandler]:
    """429 waits Retry-After (slack_sdk's handler); 5xx and connection errors back off exponentially."""
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff)
    return [
        ConnectionErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
        RateLimitErrorRetryHandler(max_retry_count=max_retries),
        AnyServerErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
    ]


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Where a message is, to update it: channel + ts (bot token), or the response_url of an interaction."""

    channel: str | None = None
    ts: str | None = None
    response_url: str | None = None


Secret = str | Callable[[], str]


def _reveal(secret: Secret) -> str:
    return secret() if callable(secret) else secret


@dataclass
class SlackNotifier:
    """Posts and updates edgemedic's messages. Give ``token`` + ``channel`` (bot), or ``webhook_url``.

    Secrets may be callables, resolved at each call (Secrets Manager rotation is picked up; nothing is kept).
    ``api_url`` points the Web API elsewhere (tests).
    """

    token: Secret | None = None
    channel: str | None = None
    webhook_url: Secret | None = None
    api_url: str = "https://slack.com/api/"
    timeout: int = 10
    max_retries: int = 3
    backoff: float = 0.5
    _handlers: list[RetryHandler] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not (self.token and self.channel) and not self.webhook_url:
            raise ValueError("SlackNotifier needs token and channel, or webhook_url")
        self._handlers = retry_handlers(self.max_retries, self.backoff)

    def _web(self) -> WebClient:
        return WebClient(token=_reveal(self.token), base_url=self.api_url, timeout=self.timeout,
                         retry_handlers=self._handlers)

    def _webhook(self, url: str) -> WebhookClient:
        return WebhookClient(url, timeout=self.timeout, retry_handlers=self._handlers)

    def post(self, message: SlackMessage) -> MessageRef:
        """A new message; raises ``DeliveryError`` when Slack still refuses after the retries."""
        if self.token and self.channel:
            data = self._call("chat.postMessage", lambda c: c.chat_postMessage(
                channel=self.channel, text=message.text, blocks=message.block_dicts(), unfurl_links=False))
            return MessageRef(channel=data["channel"], ts=data["ts"])
        self._send(_reveal(self.webhook_url), "webhook post", text=message.text, blocks=message.block_dicts(),
                   unfurl_links=False)
        return MessageRef()

    def update(self, ref: MessageRef, message: SlackMessage) -> MessageRef:
        """Show ``message`` in place of the one at ``ref``; a new message when it cannot be edited."""
        if self.token and ref.channel and ref.ts:
            self._call("chat.update", lambda c: c.chat_update(channel=ref.channel, ts=ref.ts, text=message.text,
                                                              blocks=message.block_dicts()))
            return ref
        if ref.response_url:
            self._send(ref.response_url, "message update", text=message.text, blocks=message.block_dicts(),
                       replace_original=True)
            return ref
        return self.post(message)

    def ephemeral(self, response_url: str, text: str) -> None:
        """A note only the clicking user sees (unknown approver, expired plan, ...)."""
        self._send(response_url, "ephemeral reply", text=text, response_type="ephemeral", replace_original=False)

    def _call(self, method: str, call: Callable[[WebClient], Any]) -> dict:
        try:
            return call(self._web()).data  # type: ignore[return-value]
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            raise DeliveryError(method, f"HTTP {status} {error or ''}".strip(),
                                retryable=status == 429 or status >= 500) from None
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(method, type(exc).__name__, retryable=True) from None

    def _send(self, url: str, what: str, **body: Any) -> None:
        try:
            response = self._webhook(url).send(**body)
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(what, type(exc).__name__, retryable=True) from None
        if response.status_code != 200:
            # webhook errors are plain text such as "invalid_blocks" or "no_service"; never echo the URL
            raise DeliveryError(what, f"HTTP {response.status_code} {response.body[:100]}",
                                retryable=response.status_code == 429 or response.status_code >= 500)

