"""PagerDuty Events API v2: `trigger` when a (pipeline, code) fires, `resolve` when it recovers.

https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ and .../resolve-events/.
Both carry the same `dedup_key` (stable per pipeline and code), so PagerDuty keeps one incident open
while the failure lasts and closes it on recovery. The routing key is a `Secret`; it travels in the
body, as the API requires, and nowhere else. PagerDuty answers 202 with `{"status": "success"}`.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from connectors.base import Secret
from sync_engine.alerts.channels.base import Channel, Route, post
from sync_engine.alerts.model import Alert, AlertState

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
_SUMMARY_MAX = 1024  # PagerDuty truncates longer summaries


def pagerduty_event(alert: Alert, routing_key: str, source: str) -> dict[str, Any]:
    if alert.state is AlertState.RESOLVED:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": alert.dedup_key}
    what = alert.note or f"{alert.count} failed record(s)"  # monitors and reloads say what they saw
    summary = f"{alert.title}: {what}. Runbook: {alert.runbook}"
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": alert.dedup_key,
        "client": "revhub",
        "payload": {
            "summary": summary[:_SUMMARY_MAX],
            "source": source,
            "severity": alert.severity.value,  # info | warning | critical are PagerDuty severities too
            "timestamp": alert.occurred_at.isoformat(),
            "component": alert.pipeline,
            "group": "revhub",
            "class": alert.code,
            "custom_details": alert.details(),
        },
    }


class PagerDutyChannel(Channel):
    kind = "pagerduty"

    def __init__(self, name: str, route: Route, routing_key: Secret, *, events_url: str = EVENTS_URL,
                 source: str = "revhub", timeout: float = 10.0) -> None:
        super().__init__(name, route, timeout)
        self._routing_key, self.events_url, self.source = routing_key, events_url, source

    def secrets(self) -> Iterable[Secret]:
        return (self._routing_key,)

    def send(self, alert: Alert) -> None:
        event = pagerduty_event(alert, self._routing_key.reveal(), self.source)
        post(self.events_url, json.dumps(event).encode(), {"Content-Type": "application/json"},
             timeout=self.timeout)
