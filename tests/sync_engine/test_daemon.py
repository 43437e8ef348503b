"""A real `Daemon` on a short watch interval: changed files are checked and swapped in or refused with one
alert naming file:line, never during a run; stuck runs of another replica are seen from the store."""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from sync_engine import redact
from sync_engine.app import open_app
from sync_engine.daemon import Daemon
from sync_engine.store import Store
from tests.sync_engine.alerts.conftest import Receiver, receiver  # noqa: F401 - the local Slack receiver

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = "contacts-hubspot-to-salesforce"


def wait_for(condition: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture
def config(tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    """The shipped config and mappings, pipelines disabled (no emulators here), alerts to a local Slack."""
    monkeypatch.delenv("REVHUB_STORE_URL", raising=False)
    monkeypatch.setenv("REVHUB_TEST_SLACK_URL", f"{receiver.url}/services/T000/B000/canarysecret")
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    text = (ROOT / "config.example.toml").read_text()
    text = text.replace('url = "sqlite:///.revhub/state.db"', f'url = "sqlite:///{tmp_path / "state.db"}"')
    text = text.replace("every_minutes = 5\n", "every_minutes = 5\nenabled = false\n")
    text = text.replace("[alerts]\n", "[alerts]\nstuck_minutes = 0.001\n")
    text += '\n[[alerts.channels]]\ntype = "slack"\nurl_env = "REVHUB_TEST_SLACK_URL"\nmin_severity = "warning"\n'
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.fixture
def daemon(config: Path) -> Iterator[Daemon]:
    d = Daemon(open_app(config), port=0, watch_seconds=0.1)
    d.start()
    yield d
    d.stop()


def slack_texts(receiver: Receiver) -> list[str]:  # noqa: F811
    return [json.dumps(r.json()) for r in list(receiver.requests)]


def health(d: Daemon) -> dict:
    return requests.get(f"http://127.0.0.1:{d.port}/healthz", timeout=5).json()


def test_bad_edit_is_refused_with_one_alert_and_a_good_edit_swaps_in_with_recovery(
        daemon: Daemon, config: Path, receiver: Receiver) -> None:  # noqa: F811
    mapping = config.parent / "mappings" / "hubspot" / "contacts.toml"
    live_app, live_version = daemon.app, daemon.version.hash
    good = mapping.read_text()
    line = good[:good.index('read = ["strip"]')].count("\n") + 1  # where the broken transform is
    mapping.write_text(good.replace('read = ["strip"]', 'read = ["stirp"]', 1))

    wait_for(lambda: receiver.requests)
    time.sleep(0.3)  # a few more watch ticks: the same refused files must not alert again
    [alert] = slack_texts(receiver)
    assert "CONFIG_ERROR" in alert and "all pipelines" in alert
    assert f"mappings/hubspot/contacts.toml:{line}" in alert and "did you mean `strip`" in alert
    assert "runbooks/CONFIG_ERROR.md" in alert and f"revhub check --config {config}" in alert
    assert live_version in alert and "canarysecret" not in alert
    assert daemon.app is live_app and daemon.version.hash == live_version  # the last good version runs on
    refused = health(daemon)["config"]["refused"]
    assert refused["version"] != live_version and f"contacts.toml:{line}" in refused["error"]
    metrics = requests.get(f"http://127.0.0.1:{daemon.port}/metrics", timeout=5).text
    assert f'revhub_config_info{{version="{live_version}"}} 1' in metrics
    assert f'revhub_config_refused{{version="{refused["version"]}"}} 1' in metrics

    mapping.write_text(good.replace('read = ["strip"]', 'read = ["strip", "title"]', 1))  # a good edit
    wait_for(lambda: len(receiver.requests) == 2)
    recovery = slack_texts(receiver)[1]
    assert "RESOLVED" in recovery and "CONFIG_ERROR" in recovery
    assert daemon.app is not live_app and daemon.version.hash not in (live_version, refused["version"])
    new = health(daemon)["config"]
    assert new["version"] == daemon.version.hash and new["refused"] is None
    [first_name] = [f for f in daemon.app.mappings[("hubspot", "contacts")].fields if f.field == "firstname"]
    assert [name for name, _fn in first_name.read] == ["strip", "title"]  # the new mapping is what runs


def test_a_reverted_bad_edit_recovers_without_a_swap(daemon: Daemon, config: Path,
                                                      receiver: Receiver) -> None:  # noqa: F811
    live_app = daemon.app
    text = config.read_text()
    config.write_text(text.replace("throttle_minutes = 30", "throttle_minutes = -1"))
    wait_for(lambda: receiver.requests)
    assert "config.toml" in slack_texts(receiver)[0] and "throttle_minutes" in slack_texts(receiver)[0]
    config.write_text(text)
    wait_for(lambda: len(receiver.requests) == 2)
    assert "RESOLVED" in slack_texts(receiver)[1]
    assert daemon.app is live_app and health(daemon)["config"]["refused"] is None


def test_a_good_version_waits_for_the_run_in_flight(daemon: Daemon, config: Path) -> None:
    live_app, live_version = daemon.app, daemon.version.hash
    with daemon._run_lock:  # what a run in flight holds
        config.write_text(config.read_text().replace("throttle_minutes = 30", "throttle_minutes = 10"))
        wait_for(lambda: daemon._pending is not None)
        time.sleep(0.3)  # several watch ticks while the run is still going
        assert daemon.app is live_app and daemon.version.hash == live_version
    wait_for(lambda: daemon.app is not live_app)
    assert daemon.app.config.alerts.throttle_minutes == 10
    assert health(daemon)["config"]["version"] == daemon.version.hash != live_version


def test_a_stuck_run_of_another_replica_alerts_and_recovers(daemon: Daemon, config: Path,
                                                            receiver: Receiver) -> None:  # noqa: F811
    other = Store(daemon.app.config.store_url)  # another replica, on the same database
    other.migrate()
    holder = other.acquire(f"pipeline:{PIPELINE}")
    assert holder is not None
    run_id = other.start_run(PIPELINE, dry_run=False)
    wait_for(lambda: receiver.requests)
    [alert] = slack_texts(receiver)
    assert "RUN_STUCK" in alert and PIPELINE in alert and f"run {run_id}" in alert
    assert "runbooks/RUN_STUCK.md" in alert and "revhub status --json" in alert and "critical" in alert
    other.finish_run(run_id, "succeeded", {}, {})
    other.release(f"pipeline:{PIPELINE}", holder)
    wait_for(lambda: len(receiver.requests) == 2)
    assert "RESOLVED" in slack_texts(receiver)[1] and "RUN_STUCK" in slack_texts(receiver)[1]
    other.engine.dispose()


def test_a_refused_edit_never_changes_how_emails_leave_the_process(
        daemon: Daemon, config: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """An edit that switches `[privacy]` to hashing in the same change as a broken mapping is refused whole:
    emails stay masked; the fixed edit goes live and only then are emails hashed."""
    monkeypatch.setenv("REVHUB_TEST_HASH_KEY", "a-long-random-secret")
    mapping = config.parent / "mappings" / "hubspot" / "contacts.toml"
    good = mapping.read_text()
    try:
        config.write_text(config.read_text() + '\n[privacy]\nemail_in_failures = "hash"\n'
                          'hash_key_env = "REVHUB_TEST_HASH_KEY"\n')
        mapping.write_text(good.replace('read = ["strip"]', 'read = ["stirp"]', 1))
        wait_for(lambda: receiver.requests)
        assert daemon.refused is not None
        assert redact.redact("jane@acme.com") == "j***@acme.com", "a refused version must not apply its [privacy]"
        mapping.write_text(good)
        wait_for(lambda: daemon.refused is None and daemon.app.config.privacy.emails == "hash")
        assert redact.redact("jane@acme.com") == redact.email_token("jane@acme.com", b"a-long-random-secret")
    finally:
        redact.configure(redact.Privacy())


def test_a_different_bad_edit_while_refused_sends_its_own_error(daemon: Daemon, config: Path,
                                                                receiver: Receiver) -> None:  # noqa: F811
    """Someone fixing a refused file makes another mistake: they are told the new file:line, once."""
    mapping = config.parent / "mappings" / "hubspot" / "contacts.toml"
    good = mapping.read_text()
    mapping.write_text(good.replace('read = ["strip"]', 'read = ["stirp"]', 1))
    wait_for(lambda: receiver.requests)
    mapping.write_text(good.replace('read = ["strip"]', 'read = ["strip", "titel"]', 1))
    wait_for(lambda: len(receiver.requests) == 2)
    time.sleep(0.3)  # more watch ticks on the same bad files: nothing more
    first, second = slack_texts(receiver)
    assert "stirp" in first and "titel" not in first
    assert "STILL FIRING" in second and "CONFIG_ERROR" in second and "another change was refused" in second
    assert "did you mean `title`" in second and "mappings/hubspot/contacts.toml:" in second
    mapping.write_text(good)
    wait_for(lambda: len(receiver.requests) == 3)
    assert "RESOLVED" in slack_texts(receiver)[2]
