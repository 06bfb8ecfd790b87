"""A Layout as each channel wants it: Adaptive Card, Block Kit, e-mail text and HTML, JSON.

Untrusted text (device and token names, Graph's error reasons) never reaches a markup parser:
Teams gets it in RichTextBlock text runs (not Markdown-parsed), Slack in mrkdwn with `&`, `<`
and `>` escaped (no links or mentions can be injected), HTML through jinja2's autoescape.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import Enum
from pathlib import Path
from typing import Any

import jinja2

from auditor.notify.layout import Layout
from auditor.notify.message import Message, RunFailure

ADAPTIVE_CARD_VERSION = "1.4"  # rendered by Teams on desktop, web and mobile
WEBHOOK_SCHEMA = "auditor-notification/1"
_TEAMS_COLOR = {"good": "Good", "attention": "Warning", "warning": "Attention"}
_SLACK_LIMITS = {"header": 150, "section": 3000, "field": 2000, "fields": 10, "context": 10}
_HTML = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)
_HTML_COLOUR = {"good": "#1e7b34", "attention": "#9a6700", "warning": "#b3261e"}


def plain_text(layout: Layout) -> str:
    """The layout as plain text (e-mail text part, webhook `text`)."""
    lines = [layout.title, "", layout.summary, ""]
    width = max((len(label) for label, _ in layout.facts), default=0)
    lines += [f"{label.ljust(width)}  {value}" for label, value in layout.facts]
    for section in layout.sections:
        lines += ["", section.heading, *(f"  - {line}" for line in section.lines)]
    if layout.link:
        lines += ["", f"Open the reports: {layout.link}"]
    lines += ["", *layout.footer]
    return "\n".join(lines) + "\n"


def html(layout: Layout) -> str:
    """The layout as an HTML e-mail body (every value escaped)."""
    return _HTML.get_template("email.html").render(l=layout, colour=_HTML_COLOUR[layout.tone])


def teams_payload(layout: Layout) -> dict[str, Any]:
    """A Teams Workflows webhook request: a message carrying one Adaptive Card.

    The "Post to a channel when a webhook request is received" flow posts each attachment of
    type `application/vnd.microsoft.card.adaptive` as a card.
    """
    body: list[dict[str, Any]] = [
        _rich(layout.title, weight="Bolder", size="Medium", color=_TEAMS_COLOR[layout.tone]),
        _rich(layout.summary, wrap_spacing="Small"),
        {
            "type": "FactSet",
            "facts": [{"title": label, "value": value} for label, value in layout.facts],
        },
    ]
    for section in layout.sections:
        body.append(_rich(section.heading, weight="Bolder", wrap_spacing="Medium"))
        body += [_rich(line, wrap_spacing="None") for line in section.lines]
    body += [
        _rich(line, isSubtle=True, size="Small", wrap_spacing="Small") for line in layout.footer
    ]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "fallbackText": layout.summary,
        "body": body,
    }
    if layout.link:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open the reports", "url": layout.link}
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _rich(text: str, wrap_spacing: str | None = None, **run: Any) -> dict[str, Any]:
    """A RichTextBlock with one TextRun: shown as written, never parsed as Markdown."""
    block: dict[str, Any] = {
        "type": "RichTextBlock",
        "inlines": [{"type": "TextRun", "text": text, **run}],
    }
    if wrap_spacing is not None:
        block["spacing"] = wrap_spacing
    return block


def slack_payload(layout: Layout) -> dict[str, Any]:
    """A Slack incoming-webhook request in Block Kit, within Slack's published limits."""
    limits = _SLACK_LIMITS
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(layout.title, limits["header"])},
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _cut(_esc(layout.summary), limits["section"])},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _cut(f"*{_esc(label)}*\n{_esc(value)}", limits["field"])}
                for label, value in layout.facts[: limits["fields"]]
            ],
        },
    ]
    for section in layout.sections:
        text = f"*{_esc(section.heading)}*\n" + "\n".join(f"• {_esc(x)}" for x in section.lines)
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, limits["section"])}}
        )
    if layout.link:
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open the reports"},
            "url": layout.link,
        }
        blocks.append({"type": "actions", "elements": [button]})
    context = [
        {"type": "mrkdwn", "text": _esc(line)} for line in layout.footer[: limits["context"]]
    ]
    if context:
        blocks.append({"type": "context", "elements": context})
    return {"text": layout.summary, "blocks": blocks}


def _esc(text: str) -> str:
    """Slack's escaping for mrkdwn: only &, < and > are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def webhook_payload(layout: Layout, subject: Message | RunFailure | None) -> dict[str, Any]:
    """The generic JSON webhook body: the rendered text plus the message's data as fields."""
    event = {Message: "audit.completed", RunFailure: "audit.failed"}.get(type(subject), "test")
    return {
        "schema": WEBHOOK_SCHEMA,
        "event": event,
        "title": layout.title,
        "summary": layout.summary,
        "text": plain_text(layout),
        "link": layout.link,
        "data": None if subject is None else _plain(dataclasses.asdict(subject)),
    }


def _plain(value: Any) -> Any:
    """JSON-able: dates as ISO text, paths and enums as strings, tuples as lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value
