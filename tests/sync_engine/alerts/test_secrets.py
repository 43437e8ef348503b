"""Canaries: no secret and no personal email address leaves through any alert path or log record."""
from __future__ import annotations

import json
import logging

import pytest

from sync_engine.alerts import Alerter, AlertsConfig
from sync_engine.pipeline import RunOutcome, RunReport
from sync_engine.store import FailureRow, PageOutcome, Store
from tests.sync_engine.alerts.conftest import Receiver, SmtpServer

P = "contacts-hubspot-to-salesforce"
CANARY_EMAIL = "jane.canary@example.org"
CANARY_TOKEN = "00DCANARYsessionTOKEN9f3a"
SECRETS = {
    "SLACK_URL_TOKEN": "CANARYslackT0KEN",
    "BROKEN_URL_TOKEN": "CANARYbrokenT0KEN",
    "PD_KEY": "CANARYpagerdutyROUTINGkey0000000",
    "HMAC_KEY": "CANARYhmacSIGNINGkey",
    "SMTP_PASSWORD": "right-password",  # what the local SMTP server accepts
}


def test_canaries_never_leave(store: Store, receiver: Receiver, smtps_server: SmtpServer,
                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 logs request paths at DEBUG: a Slack URL path is its token
    env = {"SLACK": f"{receiver.url}/services/T/B/{SECRETS['SLACK_URL_TOKEN']}",
           "BROKEN": f"{receiver.url}/gone/{SECRETS['BROKEN_URL_TOKEN']}",
           "PD": SECRETS["PD_KEY"], "HMAC": SECRETS["HMAC_KEY"], "SMTP_PW": SECRETS["SMTP_PASSWORD"]}
    config = AlertsConfig.model_validate({"channels": [
        {"type": "slack", "url_env": "SLACK", "min_severity": "info"},
        {"type": "slack", "name": "broken", "url_env": "BROKEN", "min_severity": "info"},
        {"type": "pagerduty", "routing_key_env": "PD", "events_url": receiver.url + "/v2/enqueue"},
        {"type": "webhook", "url": receiver.url + "/hook", "secret_env": "HMAC"},
        {"type": "email", "host": smtps_server.host, "port": smtps_server.port, "starttls": True,
         "ca_file": smtps_server.ca_file, "from": "revhub@example.com", "to": ["oncall@example.com"],
         "user": "revhub", "password_env": "SMTP_PW"},
    ]})
    alerter = Alerter.from_config(config, store, environ=env)
    receiver.answer(200, "ok")  # slack
    receiver.answer(404, f"no such hook {SECRETS['BROKEN_URL_TOKEN']}")  # the broken slack echoes its URL

    run_id = store.start_run(P, dry_run=False)
    store.commit_page(P, run_id, PageOutcome(failures=[FailureRow(
        "load", "salesforce", "Contact", "003A", "AUTH_EXPIRED", f"session expired for {CANARY_EMAIL}")]))
    message = f"AUTH_EXPIRED: Bearer {CANARY_TOKEN} refused while writing {CANARY_EMAIL}"
    firing = alerter.after_run(RunReport(P, RunOutcome.STOPPED, message=message, run_id=run_id))
    resolved = alerter.after_run(RunReport(P, RunOutcome.SUCCEEDED, run_id=store.start_run(P, dry_run=False)))

    assert [(d.channel, d.ok) for d in firing] == [
        ("slack[0]", True), ("broken", False), ("pagerduty[2]", True), ("webhook[3]", True), ("email[4]", True)]
    assert [d.alert.state.value for d in resolved] == ["resolved"] * 5
    assert len(smtps_server.mails) == 2 and len(receiver.requests) == 8

    outgoing: list[str] = []
    for req in receiver.requests:
        body = req.json()
        if req.path == "/v2/enqueue":  # the routing key belongs in the body, and only in its own field
            assert body.pop("routing_key") == SECRETS["PD_KEY"]
        outgoing.append(json.dumps(body))
        outgoing.append(json.dumps(dict(req.headers)))
    outgoing += [m.raw.decode() for m in smtps_server.mails]
    outgoing += [d.error or "" for d in firing + resolved]
    outgoing += [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    text = "\n".join(outgoing)

    for canary in (CANARY_EMAIL, CANARY_TOKEN, *SECRETS.values()):
        assert canary not in text, canary
    assert "j***@example.org" in text and "Bearer ****" in text  # redacted, still useful
    assert any("not delivered to broken: HTTP 404" in r.getMessage() for r in caplog.records)
    assert "runbooks/AUTH_EXPIRED.md" in smtps_server.mails[0].raw.decode()


def test_secrets_print_as_stars_in_channel_reprs(receiver: Receiver) -> None:
    config = AlertsConfig.model_validate({"channels": [{"type": "pagerduty", "routing_key_env": "PD"},
                                                       {"type": "webhook", "url_env": "U", "secret_env": "K"}]})
    from sync_engine.alerts import build_channels

    channels = build_channels(config, environ={"PD": SECRETS["PD_KEY"], "U": receiver.url + "/x/CANARYu",
                                               "K": SECRETS["HMAC_KEY"]})
    dumped = repr(channels) + str([vars(c) for c in channels])
    assert SECRETS["PD_KEY"] not in dumped and SECRETS["HMAC_KEY"] not in dumped and "CANARYu" not in dumped
