"""Issue 6, tried as an on-call engineer would: a token is revoked in the emulator, the alert arrives at
the local Slack receiver, its runbook's "How to confirm" commands show the problem, the token is
fixed through the emulator's admin API, the runbook's replay command brings every record over once,
and the recovery alert arrives. Every command goes through the real CLI entry point."""
from __future__ import annotations

import json
import shlex
from collections import Counter
from typing import Any

import pytest
import requests

from drill.runbook import Runbook
from sync_engine.cli import main
from sync_engine.identity import normalize_email
from tests.e2e.conftest import World
from tests.sync_engine.alerts.conftest import Receiver, receiver  # noqa: F401 - the local Slack receiver

pytestmark = pytest.mark.e2e


def _admin(world: World, system: str, action: str, body: Any = None) -> Any:
    server = getattr(world, system)
    with requests.Session() as s:
        s.trust_env = False
        resp = s.post(f"{server.url}/__emulator__/{action}", json=body, timeout=10,
                      verify=world.ca_file if system == "salesforce" else True)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _revhub(world: World, capsys: pytest.CaptureFixture[str], command: str) -> tuple[int, str]:
    """Run one `revhub ...` line as on-call would type it, against the test's config."""
    words = shlex.split(command)
    assert words[0] == "revhub"
    capsys.readouterr()
    code = main(["--config", str(world.config), *words[1:]])
    return code, capsys.readouterr().out


def _alerts(receiver: Receiver, since: int) -> list[tuple[str, str]]:  # noqa: F811
    """(Slack text, whole payload as text) of each message since `since`."""
    return [(r.json()["text"], json.dumps(r.json())) for r in receiver.requests[since:]]


@pytest.mark.parametrize(("system", "code"), [("salesforce", "AUTH_EXPIRED"), ("hubspot", "AUTH_INVALID")])
def test_revoked_token_alert_runbook_confirm_fix_replay_recovery(
        world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str], system: str, code: str) -> None:
    monkeypatch.setenv("REVHUB_TEST_SLACK_URL", f"{receiver.url}/services/T000/B000/canarysecret")
    world.config.write_text(world.config.read_text() + '\n[[alerts.channels]]\ntype = "slack"\n'
                            'url_env = "REVHUB_TEST_SLACK_URL"\nmin_severity = "warning"\n')
    assert _revhub(world, capsys, "revhub sync --json")[0] == 0, "the steady state before the incident"
    quiet = len(receiver.requests)

    # new people in both systems while the token is bad: they must arrive once the incident is over
    new_hs = [f"oncall.hs{i}@walkthrough-example.com" for i in range(3)]
    new_sf = [f"oncall.sf{i}@walkthrough-example.com" for i in range(3)]
    _admin(world, "hubspot", "seed", {"contacts": [
        {"properties": {"email": e, "firstname": "On", "lastname": f"Call{i}"}} for i, e in enumerate(new_hs)]})
    _admin(world, "salesforce", "seed", {"Contact": [
        {"FirstName": "On", "LastName": f"Call{i}", "Email": e} for i, e in enumerate(new_sf)]})

    # the incident: the vendor revokes revhub's token
    assert _admin(world, system, "faults", {"revoke_tokens": True})["revoked_tokens"] >= 1
    exit_code, out = _revhub(world, capsys, "revhub sync --json")
    assert exit_code == 3
    stopped = [r["pipeline"] for r in json.loads(out)["runs"] if r["outcome"] == "stopped"]
    assert stopped and all(r["message"].startswith(f"{code}: ") for r in json.loads(out)["runs"]
                           if r["outcome"] == "stopped")

    # the alert arrives on Slack naming the code, the runbook and the command to inspect it
    firing = _alerts(receiver, quiet)
    assert {p for p in stopped if any(f"FIRING: {code} on {p}" in text for text, _ in firing)} == set(stopped)
    pipeline = stopped[0]
    text = next(t for t, _ in firing if f"on {pipeline}" in t)
    inspect = f"revhub failures list --pipeline {pipeline} --code {code}"
    assert f"Runbook: runbooks/{code}.md" in text and f"Inspect: {inspect}" in text
    assert not any("canarysecret" in whole or "local-emulator" in whole for _, whole in firing)

    # the alert's own command and the runbook's "How to confirm" commands show the problem
    exit_code, out = _revhub(world, capsys, inspect)
    assert exit_code == 0 and f"(run) {code}" in out and f"runbooks/{code}.md" in out
    book = Runbook.open(code)
    confirm = book.commands("How to confirm", pipeline)
    assert any(c.startswith("revhub failures list") for c in confirm), confirm
    for command in confirm:
        exit_code, out = _revhub(world, capsys, command)
        if command.startswith("revhub sync") and "--dry-run" in command:
            assert exit_code == 3, f"{command}: the dry run still hits the revoked token"
        elif command.startswith("revhub status --json"):
            last = {r["pipeline"]: r for r in json.loads(out)["runs"]}[pipeline]
            assert exit_code == 0 and last["outcome"] == "stopped" and last["message"].startswith(code)
        elif command.startswith("revhub failures list"):
            [row] = [line for line in out.splitlines() if line.startswith("#")]
            assert exit_code == 0 and f"{pipeline} {system}." in row and f"(run) {code}" in row, out
            assert "1 open failure(s)" in out

    # the fix: the token is good again (the emulator's admin API restores it)
    assert _admin(world, system, "faults", {"restore_tokens": True})["revoked_tokens"] == 0

    # the replay, as the runbook's Replay section says, for every pipeline that stopped (config order)
    recovered = len(receiver.requests)
    for name in stopped:
        [replay] = [c for c in book.commands("Replay", name) if c.startswith("revhub failures retry")]
        exit_code, out = _revhub(world, capsys, replay + " --json")
        doc = json.loads(out)
        assert exit_code == 0 and doc["retried"] == 1 and doc["still_failing"] == 0, (replay, doc)
        assert [r["outcome"] for r in doc["runs"]] == ["succeeded"]
    assert _revhub(world, capsys, f"revhub failures list --code {code}")[1].startswith("0 open")

    # every person present exactly once in both systems, the new ones included
    hs = Counter(normalize_email(c["properties"].get("email")) for c in world.dump("hubspot", "contacts")
                 if not c.get("archived"))
    sf = Counter(normalize_email(c.get("Email")) for c in world.dump("salesforce", "Contact")
                 if not c.get("IsDeleted"))
    for email in new_hs + new_sf:
        assert hs[email] == 1 and sf[email] == 1, email
    assert not {e: n for e, n in (hs + sf).items() if e and n > 2}, "no duplicates created by the incident"

    # the recovery alert arrives for each pipeline that fired
    resolved = [t for t, _ in _alerts(receiver, recovered) if t.startswith(f"RESOLVED: {code}")]
    assert {p for p in stopped if any(f"on {p}" in t for t in resolved)} == set(stopped)
