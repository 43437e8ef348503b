"""On-call's path end to end: a revoked token stops a run, Slack gets the alert with its runbook, the
token is fixed, the replay succeeds and the recovery alert arrives."""
from __future__ import annotations

import json

import pytest

from sync_engine.cli import main
from tests.e2e.conftest import World
from tests.sync_engine.alerts.conftest import Receiver, receiver  # noqa: F401 - the local Slack receiver

pytestmark = pytest.mark.e2e


def test_token_revoked_alert_runbook_fix_replay_recovery(world: World, receiver: Receiver,  # noqa: F811
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REVHUB_TEST_SLACK_URL", f"{receiver.url}/services/T000/B000/canarysecret")
    world.config.write_text(world.config.read_text() + '\n[[alerts.channels]]\ntype = "slack"\n'
                            'url_env = "REVHUB_TEST_SLACK_URL"\nmin_severity = "warning"\n')
    pipeline = "contacts-salesforce-to-hubspot"
    world.salesforce.emulator._set_faults({"expire_tokens": ["local-emulator"]})
    assert main(["--config", str(world.config), "sync", "--json", pipeline]) == 3
    capsys.readouterr()
    [alert] = receiver.requests
    text = json.dumps(alert.json())
    assert "AUTH_EXPIRED" in text and "runbooks/AUTH_EXPIRED.md" in text and pipeline in text
    assert "canarysecret" not in text
    # the runbook's fix: a valid token again; then the replay
    world.salesforce.emulator.expired_tokens.clear()
    assert main(["--config", str(world.config), "sync", "--json", pipeline]) == 0
    assert json.loads(capsys.readouterr().out)["runs"][0]["outcome"] == "succeeded"
    assert len(receiver.requests) == 2
    recovery = json.dumps(receiver.requests[1].json())
    assert "AUTH_EXPIRED" in recovery and "resolved" in recovery.lower()
