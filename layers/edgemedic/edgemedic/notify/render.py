"""A Slack message drawn in the terminal (``edgemedic demo``): what a person would see in the channel.

    render_message(build_message(alert), console)
"""
from __future__ import annotations

import re
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.text import Text

from .slack import SlackMessage

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_DATE = re.compile(r"<!date\^\d+\^[^|]*\|([^>]+)>")
_USER = re.compile(r"<@([A-Z0-9]+)>")
_EMOJI = {":red_circle:": "🔴", ":large_orange_circle:": "🟠", ":large_yellow_circle:": "🟡", ":white_circle:": "⚪",
          ":raised_hand:": "✋", ":white_check_mark:": "✅", ":construction:": "🚧", ":no_entry_sign:": "🚫",
          ":hourglass:": "⌛", ":hourglass_flowing_sand:": "⏳", ":arrows_counterclockwise:": "🔄", ":x:": "❌",
          ":leftwards_arrow_with_hook:": "↩"}


def _plain(mrkdwn: str) -> str:
    text = _DATE.sub(r"\1", mrkdwn)
    text = _LINK.sub(r"\2 (\1)", text)
    text = _USER.sub(r"@\1", text)
    for code, glyph in _EMOJI.items():
        text = text.replace(code, glyph)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _marked(marker: str) -> str:
    """Slack's rule for *bold* and _italic_: the marker opens at the start or after a space or "(", before a
    non-space, and closes after a non-space, before a space, punctuation or the end. So "/api/* ... behavior *"
    and "AWS_IAM, COGNITO_USER_POOLS" stay as written."""
    m = re.escape(marker)
    return rf"(?<![^\s(]){m}(?=\S)[^{m}\n]*?(?<=\S){m}(?![^\s.,;:!?)])"


_FORMATTED = re.compile(f"({_marked('*')}|{_marked('_')}|`[^`\\n]+`)")


def _styled(mrkdwn: str) -> Text:
    """*bold*, _italic_ and `code` as rich styles; everything else as is."""
    out = Text()
    for part in _FORMATTED.split(_plain(mrkdwn)):
        if len(part) > 2 and part[0] == part[-1] == "*":
            out.append(part[1:-1], "bold")
        elif len(part) > 2 and part[0] == part[-1] == "_":
            out.append(part[1:-1], "italic")
        elif len(part) > 2 and part[0] == part[-1] == "`":
            out.append(part[1:-1], "cyan")
        else:
            out.append(part)
    return out


def _section(text: str) -> Any:
    if "```" not in text:
        return _styled(text)
    before, _, rest = text.partition("```\n")
    code, _, after = rest.partition("\n```")
    parts: list[Any] = [_styled(before)] if before.strip() else []
    parts.append(Syntax(_plain(code), "diff", theme="ansi_dark", word_wrap=True))
    if after.strip():
        parts.append(_styled(after.strip()))
    return Group(*parts)


def renderable(message: SlackMessage) -> Panel:
    parts: list[Any] = []
    title = ""
    for block in message.block_dicts():
        kind = block["type"]
        if kind == "header":
            title = _plain(block["text"]["text"])
        elif kind == "section":
            if "text" in block:
                parts.append(_section(block["text"]["text"]))
            if "fields" in block:
                parts.append(Text("   ").join(_styled(f["text"].replace("\n", ": ")) for f in block["fields"]))
        elif kind == "context":
            context = Text(" ").join(_styled(e.get("text", "")) for e in block["elements"])
            context.stylize("dim")
            parts.append(context)
        elif kind == "divider":
            parts.append(Rule(style="dim"))
        elif kind == "actions":
            buttons = Text()
            for element in block["elements"]:
                style = {"primary": "bold white on green", "danger": "bold white on red"}.get(element.get("style"),
                                                                                             "reverse")
                buttons.append(f" {element['text']['text']} ", style)
                buttons.append("  ")
            parts.append(buttons)
    return Panel(Group(*parts), title=Text(title, style="bold"), title_align="left", border_style="magenta",
                 subtitle="edgemedic · Slack", subtitle_align="right")


def render_message(message: SlackMessage, console: Console | None = None) -> None:
    (console or Console()).print(renderable(message))
