"""The failure lifecycle as on-call uses it: list, show, retry exactly a set, dead after the attempt limit,
resolve and ignore."""
from __future__ import annotations

import json

import pytest

from sync_engine.cli import main
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e

DEALS = "deals-salesforce-to-hubspot"


def _cli(world: World, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--config", str(world.config), *args])
    return code, capsys.readouterr().out


def test_picklist_mismatch_fixed_in_the_mapping_then_retried_by_code(world: World,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    mapping = world.root / "mappings" / "stages.toml"
    good = mapping.read_text()
    broken = [line for line in good.split("\n") if not line.startswith("closed_won = ")]
    assert len(broken) < len(good.split("\n"))
    mapping.write_text("\n".join(broken))  # RevOps dropped closed_won from every pipeline's stage map
    main(["--config", str(world.config), "sync", "companies-hubspot-to-salesforce",
          "companies-salesforce-to-hubspot", "contacts-hubspot-to-salesforce", "contacts-salesforce-to-hubspot"])
    code, out = _cli(world, capsys, "sync", DEALS, "--json")
    run = json.loads(out)["runs"][0]
    assert code == 0 and run["records"]["quarantined"] > 0
    code, out = _cli(world, capsys, "failures", "list", "--code", "PICKLIST_MISMATCH", "--json")
    stuck = json.loads(out)["failures"]
    assert stuck and {f["pipeline"] for f in stuck} == {DEALS}
    assert all("'Closed Won'" in f["message"] and "stages.toml:" in f["message"] for f in stuck)
    code, out = _cli(world, capsys, "failures", "show", str(stuck[0]["id"]))
    assert "runbooks/PICKLIST_MISMATCH.md" in out and f"revhub failures retry {stuck[0]['id']}" in out

    mapping.write_text(good)  # the fix
    before = world.stats("salesforce")
    code, out = _cli(world, capsys, "failures", "retry", "--code", "PICKLIST_MISMATCH", "--pipeline", DEALS,
                     "--json")
    doc = json.loads(out)
    assert code == 0 and doc["retried"] == len(stuck) and doc["still_failing"] == 0
    assert doc["runs"][0]["records"]["created"] == len(stuck)
    assert world.stats("salesforce") == before, "a retry replays the kept records; it reads nothing again"
    _, out = _cli(world, capsys, "failures", "list", "--code", "PICKLIST_MISMATCH", "--json")
    assert json.loads(out)["failures"] == []
    _, out = _cli(world, capsys, "failures", "list", "--status", "resolved", "--json")
    assert {f["id"] for f in stuck} <= {f["id"] for f in json.loads(out)["failures"]}


def test_retryable_failure_is_retried_each_run_until_dead_then_replayed_by_hand(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.config.write_text(world.config.read_text() + "\n[failures]\nmax_attempts = 2\n")
    pipeline = "companies-hubspot-to-salesforce"
    world.salesforce.emulator._set_faults({"lock_rows": 10_000})  # every write hits UNABLE_TO_LOCK_ROW
    code, out = _cli(world, capsys, "sync", pipeline, "--json")
    run = json.loads(out)["runs"][0]
    assert code == 1 and run["records"]["failed"] > 0
    failed = run["records"]["failed"]
    _, out = _cli(world, capsys, "failures", "list", "--code", "LOCK_CONTENTION", "--json")
    assert len(json.loads(out)["failures"]) == failed
    code, out = _cli(world, capsys, "sync", pipeline, "--json")  # nothing new: only the replays
    assert json.loads(out)["runs"][0]["records"]["read"] == failed
    assert "now dead" in json.loads(out)["runs"][0]["message"]
    _, out = _cli(world, capsys, "failures", "list", "--status", "dead", "--json")
    dead = json.loads(out)["failures"]
    assert len(dead) == failed and all(f["attempts"] == 2 for f in dead)
    code, out = _cli(world, capsys, "sync", pipeline, "--json")
    assert json.loads(out)["runs"][0]["records"]["read"] == 0, "dead failures are not retried automatically"

    world.salesforce.emulator._set_faults({"lock_rows": 0})
    code, out = _cli(world, capsys, "failures", "retry", "--pipeline", pipeline, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["still_failing"] == 0 and doc["runs"][0]["records"]["created"] > 0


def test_resolve_and_ignore_by_id(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--config", str(world.config), "sync", "contacts-hubspot-to-salesforce", "contacts-salesforce-to-hubspot"])
    _, out = _cli(world, capsys, "failures", "list", "--json")
    rows = json.loads(out)["failures"]
    assert len(rows) >= 2
    assert _cli(world, capsys, "failures", "resolve", str(rows[0]["id"]))[0] == 0
    assert _cli(world, capsys, "failures", "ignore", str(rows[1]["id"]))[0] == 0
    _, out = _cli(world, capsys, "failures", "list", "--status", "all", "--json")
    status = {f["id"]: f["status"] for f in json.loads(out)["failures"]}
    assert status[rows[0]["id"]] == "resolved" and status[rows[1]["id"]] == "ignored"
    assert _cli(world, capsys, "failures", "retry")[0] == 2, "retry with no selection is refused"
