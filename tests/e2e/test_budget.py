"""The daily API budget: shared by pipelines, fed by what the APIs report, a clean stop and a resume."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from sync_engine.cli import main
from sync_engine.identity import normalize_email
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e
PIPELINE = "contacts-hubspot-to-salesforce"


def _set(world: World, system: str, line: str) -> None:
    text = world.config.read_text()
    world.config.write_text(text.replace(f"[systems.{system}]\n", f"[systems.{system}]\n{line}\n", 1))


def _sync(world: World, capsys: pytest.CaptureFixture[str], *names: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["--config", str(world.config), "sync", "--json", *names])
    return code, json.loads(capsys.readouterr().out)


def test_revhub_budget_stops_at_a_checkpoint_and_the_next_window_resumes(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    _set(world, "salesforce", "daily_budget = 2")
    code, doc = _sync(world, capsys, PIPELINE)
    [run] = doc["runs"]
    assert code == 3 and run["outcome"] == "stopped"
    assert "DAILY_QUOTA_EXHAUSTED" in run["message"] and "runbooks/DAILY_QUOTA_EXHAUSTED.md" in run["message"]
    code, doc = _sync(world, capsys, "contacts-salesforce-to-hubspot")  # the budget is shared by pipelines
    assert code == 3 and doc["runs"][0]["records"]["read"] == 0, "a spent budget stops before reading"
    world.config.write_text(world.config.read_text().replace("daily_budget = 2", "daily_budget = 100000"))
    code, doc = _sync(world, capsys, PIPELINE)
    assert code == 0 and doc["runs"][0]["outcome"] == "succeeded"
    emails = Counter(normalize_email(r.get("Email")) for r in world.dump("salesforce", "Contact") if r.get("Email"))
    assert max(emails.values()) == 1, "the stopped run left nothing half-written or duplicated"


def test_vendor_reported_quota_is_honoured_with_a_reserve(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    app = world.app()
    app.sync(["companies-hubspot-to-salesforce"])
    assert app.connectors["hubspot"].api_usage is not None, "HubSpot's daily headers are read"
    used, _max = app.connectors["salesforce"].api_usage
    app.close()
    world.salesforce.emulator.daily_max = used + 5  # the org has 5 calls left today
    _set(world, "salesforce", "quota_reserve = 10")
    code, doc = _sync(world, capsys, PIPELINE)
    assert code == 3 and "reports" in doc["runs"][0]["message"] and "left" in doc["runs"][0]["message"]
