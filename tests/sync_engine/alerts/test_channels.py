"""Each channel speaks its service's real format, checked against local receivers."""
from __future__ import annotations

import time

import pytest

from connectors.base import Secret
from connectors.errors import Severity
from sync_engine.alerts import (
    DeliveryError,
    EmailChannel,
    PagerDutyChannel,
    Route,
    SlackChannel,
    WebhookChannel,
    dispatch,
    sign,
    verify_signature,
)
from sync_engine.alerts.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from tests.sync_engine.alerts.conftest import Receiver, SmtpServer
from tests.sync_engine.alerts.helpers import firing, resolved

ROUTE = Route(Severity.INFO)
P = "contacts-hubspot-to-salesforce"


def test_slack_posts_text_and_exact_blocks(receiver: Receiver) -> None:
    channel = SlackChannel("slack", ROUTE, Secret(receiver.url + "/services/T000/B000/XXXX"))
    channel.send(firing(message="AUTH_EXPIRED: session expired for <ops> & co"))

    (req,) = receiver.requests
    assert req.path == "/services/T000/B000/XXXX"
    assert req.headers["Content-Type"] == "application/json"
    body = req.json()
    assert set(body) == {"text", "blocks"}
    assert "runbooks/AUTH_EXPIRED.md" in body["text"]
    assert body["blocks"] == [
        {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": f":rotating_light: FIRING: AUTH_EXPIRED on {P} (critical)"}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Pipeline*\n`{P}`"},
            {"type": "mrkdwn", "text": "*Code*\n`AUTH_EXPIRED`"},
            {"type": "mrkdwn", "text": "*Severity*\ncritical"},
            {"type": "mrkdwn", "text": "*Failed records*\n3"},
        ]},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{P}: 3 x AUTH_EXPIRED in run 42 (outcome stopped)"}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": "> AUTH_EXPIRED: session expired for &lt;ops&gt; &amp; co"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            "*Runbook:* `runbooks/AUTH_EXPIRED.md`\n"
            f"*Inspect:* `revhub failures list --pipeline {P} --code AUTH_EXPIRED`")}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "revhub · run 42 · 2025-03-03T09:00:00+00:00"}]},
    ]


def test_slack_recovery_says_resolved(receiver: Receiver) -> None:
    SlackChannel("slack", ROUTE, Secret(receiver.url + "/hook")).send(resolved())
    blocks = receiver.requests[0].json()["blocks"]
    assert blocks[0]["text"]["text"] == f":white_check_mark: RESOLVED: AUTH_EXPIRED on {P}"
    assert blocks[1]["fields"][3] == {"type": "mrkdwn", "text": "*Was failing*\n3"}


def test_pagerduty_trigger_then_resolve_share_the_dedup_key(receiver: Receiver) -> None:
    receiver.answer(202, '{"status":"success","message":"Event processed"}')
    receiver.answer(202, '{"status":"success","message":"Event processed"}')
    channel = PagerDutyChannel("pd", ROUTE, Secret("R0UTINGKEY0000000000000000000000"),
                               events_url=receiver.url + "/v2/enqueue", source="revhub-test")
    channel.send(firing())
    channel.send(resolved())

    trigger, resolve = (r.json() for r in receiver.requests)
    assert [r.path for r in receiver.requests] == ["/v2/enqueue", "/v2/enqueue"]
    assert trigger["event_action"] == "trigger" and resolve["event_action"] == "resolve"
    assert trigger["dedup_key"] == resolve["dedup_key"] == f"revhub/{P}/AUTH_EXPIRED"
    assert trigger["routing_key"] == resolve["routing_key"] == "R0UTINGKEY0000000000000000000000"
    payload = trigger["payload"]
    assert payload["severity"] == "critical" and payload["source"] == "revhub-test"
    assert payload["summary"] == f"FIRING: AUTH_EXPIRED on {P} (critical): 3 failed record(s). " \
                                 "Runbook: runbooks/AUTH_EXPIRED.md"
    details = payload["custom_details"]
    assert details["runbook"] == "runbooks/AUTH_EXPIRED.md"
    assert details["command"] == f"revhub failures list --pipeline {P} --code AUTH_EXPIRED"
    assert details["count"] == 3 and details["pipeline"] == P
    assert set(resolve) == {"routing_key", "event_action", "dedup_key"}


def test_webhook_signature_verifies_with_the_key_and_fails_with_another(receiver: Receiver) -> None:
    WebhookChannel("hook", ROUTE, receiver.url + "/alerts", Secret("the-shared-key")).send(firing())
    (req,) = receiver.requests
    ts, sig = req.headers[TIMESTAMP_HEADER], req.headers[SIGNATURE_HEADER]
    assert sig.startswith("sha256=") and len(sig) == len("sha256=") + 64
    assert abs(int(ts) - time.time()) < 60
    assert req.headers["X-Revhub-Event"] == "alert.firing"
    assert verify_signature("the-shared-key", req.body, ts, sig)
    assert not verify_signature("another-key", req.body, ts, sig)
    assert not verify_signature("the-shared-key", req.body.replace(b"AUTH_EXPIRED", b"AUTH_INVALID"), ts, sig)
    assert not verify_signature("the-shared-key", req.body, ts, sig, now=int(ts) + 3600)  # a replay, later
    body = req.json()
    assert body["schema"] == "revhub.alert/v1"
    assert body["alert"]["runbook"] == "runbooks/AUTH_EXPIRED.md" and body["alert"]["state"] == "firing"


def test_sign_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k", "1700000000", b"{}") == f"sha256={expected}"


def test_email_arrives_naming_pipeline_code_and_runbook(smtp_server: SmtpServer) -> None:
    channel = EmailChannel("mail", ROUTE, host=smtp_server.host, port=smtp_server.port,
                           sender="revhub@example.com", recipients=["oncall@example.com", "revops@example.com"])
    channel.send(firing())
    (mail,) = smtp_server.mails
    assert mail.sender == "revhub@example.com"
    assert mail.recipients == ["oncall@example.com", "revops@example.com"]
    assert mail.message["Subject"] == f"[revhub] FIRING: AUTH_EXPIRED on {P} (critical)"
    assert mail.message["X-Revhub-Code"] == "AUTH_EXPIRED"
    assert P in mail.body and "Runbook: runbooks/AUTH_EXPIRED.md" in mail.body
    assert f"Inspect: revhub failures list --pipeline {P} --code AUTH_EXPIRED" in mail.body


def test_email_over_starttls_with_login(smtps_server: SmtpServer) -> None:
    channel = EmailChannel("mail", ROUTE, host=smtps_server.host, port=smtps_server.port, sender="revhub@example.com",
                           recipients=["oncall@example.com"], starttls=True, user="revhub",
                           password=Secret("right-password"), ca_file=smtps_server.ca_file)
    channel.send(resolved())
    assert smtps_server.logins == [("revhub", "right-password")]
    assert smtps_server.mails[0].message["Subject"] == f"[revhub] RESOLVED: AUTH_EXPIRED on {P}"


def test_email_wrong_password_is_a_delivery_error_without_the_password(smtps_server: SmtpServer) -> None:
    channel = EmailChannel("mail", ROUTE, host=smtps_server.host, port=smtps_server.port, sender="revhub@example.com",
                           recipients=["oncall@example.com"], starttls=True, user="revhub",
                           password=Secret("wrong-password"), ca_file=smtps_server.ca_file)
    with pytest.raises(DeliveryError) as err:
        channel.send(firing())
    assert "SMTP 535" in str(err.value) and "wrong-password" not in str(err.value)
    assert smtps_server.mails == []


def test_transient_answers_are_retried_then_delivered(receiver: Receiver) -> None:
    receiver.answer(500, "oops")
    receiver.answer(429, "rate_limited", {"Retry-After": "0"})
    (delivery,) = dispatch([firing()], [SlackChannel("slack", ROUTE, Secret(receiver.url + "/hook"))])
    assert delivery.ok
    assert len(receiver.requests) == 3


def test_a_refusal_is_not_retried_and_does_not_stop_other_channels(receiver: Receiver) -> None:
    receiver.answer(404, "channel_not_found")
    slack = SlackChannel("slack", ROUTE, Secret(receiver.url + "/services/T/B/TOKEN123"))
    hook = WebhookChannel("hook", ROUTE, receiver.url + "/alerts", Secret("k"))
    bad, good = dispatch([firing()], [slack, hook])
    assert bad.error == "HTTP 404: channel_not_found" and good.ok
    assert [r.path for r in receiver.requests] == ["/services/T/B/TOKEN123", "/alerts"]


def test_an_unreachable_receiver_is_reported_without_its_url() -> None:
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    slack = SlackChannel("slack", ROUTE, Secret(f"http://127.0.0.1:{port}/services/T/B/TOKEN123"), timeout=2)
    (delivery,) = dispatch([firing()], [slack])
    assert delivery.error is not None and "NETWORK" in delivery.error
    assert "TOKEN123" not in delivery.error and str(port) not in delivery.error
