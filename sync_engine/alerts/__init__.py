"""Alerts, the last step of a run: one alert per state change of a (pipeline, failure code), routed to channels.

    alerter = Alerter.from_config(config.alerts, store)   # at start-up: secrets read, channels built
    report = run_pipeline(...)
    alerter.after_run(report)                             # evaluate (alert_log) -> dispatch (channels)

Or the two halves on their own: `evaluate(AlertLog(store), run_facts(report, store))` then
`dispatch(alerts, channels)`. Every alert carries its runbook and the exact command to inspect it.
The run monitors (`monitor.py`: stuck, slow, failed-record rate, newly dead failures) and the
daemon's config reloads alert the same way.
"""
from __future__ import annotations

from sync_engine.alerts.alerter import Alerter
from sync_engine.alerts.channels import (
    Channel,
    DeliveryError,
    EmailChannel,
    PagerDutyChannel,
    Route,
    SlackChannel,
    WebhookChannel,
    sign,
    verify_signature,
)
from sync_engine.alerts.config import AlertsConfig, build_channels
from sync_engine.alerts.engine import Delivery, Policy, dispatch, evaluate
from sync_engine.alerts.log import AlertLog, alert_log
from sync_engine.alerts.model import (
    ALL_PIPELINES,
    Alert,
    AlertState,
    ReportLike,
    RunFacts,
    inspect_command,
    run_facts,
)
from sync_engine.alerts.monitor import Limits

__all__ = ["ALL_PIPELINES", "Alert", "AlertLog", "AlertState", "Alerter", "AlertsConfig", "Channel", "Delivery",
           "DeliveryError", "EmailChannel", "Limits", "PagerDutyChannel", "Policy", "ReportLike", "Route",
           "RunFacts", "SlackChannel", "WebhookChannel", "alert_log", "build_channels", "dispatch", "evaluate",
           "inspect_command", "run_facts", "sign", "verify_signature"]
