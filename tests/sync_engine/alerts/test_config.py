"""The `[alerts]` section: strict, variable names only, channels built with secrets from the environment."""
from __future__ import annotations

import tomllib
from datetime import timedelta

import pytest
from pydantic import ValidationError

import sync_engine.alerts
from connectors.errors import Severity
from sync_engine.alerts import (
    AlertsConfig,
    EmailChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
    build_channels,
)
from sync_engine.errors import ConfigError

EXAMPLE = """
[alerts]
throttle_minutes = 30
repeat_minutes = 240

[[alerts.channels]]
type = "slack"
name = "revops-alerts"
url_env = "REVHUB_SLACK_WEBHOOK_URL"
min_severity = "warning"

[[alerts.channels]]
type = "pagerduty"
routing_key_env = "REVHUB_PAGERDUTY_ROUTING_KEY"
min_severity = "critical"
pipelines = ["contacts-hubspot-to-salesforce"]

[[alerts.channels]]
type = "email"
host = "smtp.example.com"
port = 587
starttls = true
from = "revhub@example.com"
to = ["revops-oncall@example.com"]
user = "revhub"
password_env = "REVHUB_SMTP_PASSWORD"

[[alerts.channels]]
type = "webhook"
url = "https://hooks.example.com/revhub"
secret_env = "REVHUB_WEBHOOK_SECRET"
min_severity = "info"
"""

ENV = {"REVHUB_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X", "REVHUB_PAGERDUTY_ROUTING_KEY": "r" * 32,
       "REVHUB_SMTP_PASSWORD": "pw", "REVHUB_WEBHOOK_SECRET": "k"}


def _config(text: str = EXAMPLE) -> AlertsConfig:
    return AlertsConfig.model_validate(tomllib.loads(text)["alerts"])


def test_the_documented_example_builds_every_channel() -> None:
    config = _config()
    assert config.policy().throttle == timedelta(minutes=30) and config.policy().repeat == timedelta(hours=4)
    channels = build_channels(config, environ=ENV)
    assert [type(c) for c in channels] == [SlackChannel, PagerDutyChannel, EmailChannel, WebhookChannel]
    assert [c.name for c in channels] == ["revops-alerts", "pagerduty[1]", "email[2]", "webhook[3]"]
    assert channels[1].route.pipelines == frozenset({"contacts-hubspot-to-salesforce"})
    assert channels[1].route.min_severity is Severity.CRITICAL
    assert "hooks.slack.com" not in repr(channels[0])


def test_a_missing_variable_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError) as err:
        build_channels(_config(), environ={k: v for k, v in ENV.items() if k != "REVHUB_PAGERDUTY_ROUTING_KEY"})
    assert err.value.key == "alerts.channels.1.routing_key_env"
    assert "REVHUB_PAGERDUTY_ROUTING_KEY" in err.value.render()


@pytest.mark.parametrize("channel, fragment", [
    ('type = "slack"\nurl_env = "https://hooks.slack.com/services/T/B/X"', "environment variable"),
    ('type = "slack"\nurl_env = "X"\nwebhook = "y"', "Extra inputs"),
    ('type = "sms"', "does not match"),
    ('type = "webhook"\nsecret_env = "K"', "exactly one of url or url_env"),
    ('type = "email"\nhost = "h"\nfrom = "revhub"\nto = ["a@b.c"]', "not an email address"),
    ('type = "slack"\nurl_env = "X"\nmin_severity = "urgent"', "Input should be"),
])
def test_mistakes_are_refused(channel: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        _config(f"[alerts]\n[[alerts.channels]]\n{channel}\n")
    assert fragment in str(err.value)


def test_unknown_pipelines_are_reported_with_their_key_path() -> None:
    assert _config().unknown_pipelines(["contacts-hubspot-to-salesforce"]) == []
    assert _config().unknown_pipelines(["deals"]) == [
        (("alerts", "channels", 1, "pipelines"), "contacts-hubspot-to-salesforce")]


def test_no_alerts_section_means_no_channels() -> None:
    assert build_channels(AlertsConfig(), environ={}) == []


def test_public_api_is_pinned() -> None:
    assert sorted(sync_engine.alerts.__all__) == [
        "ALL_PIPELINES", "Alert", "AlertLog", "AlertState", "Alerter", "AlertsConfig", "Channel", "Delivery",
        "DeliveryError", "EmailChannel", "Limits", "PagerDutyChannel", "Policy", "ReportLike", "Route",
        "RunFacts", "SlackChannel", "WebhookChannel", "alert_log", "build_channels", "dispatch", "evaluate",
        "inspect_command", "run_facts", "sign", "verify_signature"]
