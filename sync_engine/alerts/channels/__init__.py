"""Alert channels, each speaking its service's own format: Slack, PagerDuty, email (SMTP), signed webhook."""
from __future__ import annotations

from sync_engine.alerts.channels.base import Channel, DeliveryError, Route
from sync_engine.alerts.channels.pagerduty import EVENTS_URL, PagerDutyChannel, pagerduty_event
from sync_engine.alerts.channels.slack import SlackChannel, slack_payload
from sync_engine.alerts.channels.smtp import EmailChannel, email_message
from sync_engine.alerts.channels.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookChannel,
    sign,
    verify_signature,
)

__all__ = ["EVENTS_URL", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "Channel", "DeliveryError", "EmailChannel",
           "PagerDutyChannel", "Route", "SlackChannel", "WebhookChannel", "email_message", "pagerduty_event",
           "sign", "slack_payload", "verify_signature"]
