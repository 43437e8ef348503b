"""Slack incoming webhook: a `text` fallback plus Block Kit `blocks`.

https://api.slack.com/messaging/webhooks and https://api.slack.com/reference/block-kit/blocks.
The webhook URL carries the token, so it is a `Secret`. Slack answers 200 `ok`, or 4xx with one word
(`invalid_payload`, `channel_not_found`, `channel_is_archived`, ...).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from connectors.base import Secret
from sync_engine.alerts.channels.base import Channel, Route, post
from sync_engine.alerts.model import Alert, AlertState

_HEADER_MAX = 150  # Slack's limit for a header block's plain_text
_EMOJI = {AlertState.FIRING: ":rotating_light:", AlertState.RESOLVED: ":white_check_mark:"}


def escape(text: str) -> str:
    """Slack mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: Alert) -> dict[str, Any]:
    header = f"{_EMOJI[alert.state]} {alert.title}"
    count = (f"*Failed records*\n{alert.count}" if alert.state is AlertState.FIRING
             else f"*Was failing*\n{alert.previous_count}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:_HEADER_MAX], "emoji": True}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Pipeline*\n`{escape(alert.pipeline)}`"},
            {"type": "mrkdwn", "text": f"*Code*\n`{alert.code}`"},
            {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity.value}"},
            {"type": "mrkdwn", "text": count},
        ]},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(alert.summary)}},
    ]
    if alert.message:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"> {escape(alert.message)}"}})
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
        f"*Runbook:* `{alert.runbook}`\n*Inspect:* `{escape(alert.command)}`")}})
    context = f"revhub · run {alert.run_id if alert.run_id is not None else '-'} · {alert.occurred_at.isoformat()}"
    if alert.held_back:
        context += f" · {alert.held_back} change(s) held back by throttling"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    text = escape(f"{alert.title}. {alert.summary}. Runbook: {alert.runbook}. Inspect: {alert.command}")
    return {"text": text, "blocks": blocks}


class SlackChannel(Channel):
    kind = "slack"

    def __init__(self, name: str, route: Route, url: Secret, timeout: float = 10.0) -> None:
        super().__init__(name, route, timeout)
        self._url = url

    def secrets(self) -> Iterable[Secret]:
        return (self._url,)

    def send(self, alert: Alert) -> None:
        body = json.dumps(slack_payload(alert)).encode()
        post(self._url, body, {"Content-Type": "application/json"}, timeout=self.timeout)
