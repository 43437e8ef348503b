"""Validation rules through a real sync: the shipped rules let the seeded deals through, a rule RevOps add
quarantines exactly the deals it names (with its id) until they are fixed at the source, and the actions
that need the engine (history rules, drop_field, fail_run) do what mappings/README.md promises."""
from __future__ import annotations

import json
from typing import Any

import pytest

from sync_engine import sample_data
from sync_engine.pipeline import RunOutcome
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e

DEALS = "deals-salesforce-to-hubspot"
# drop_field, fail_run and transition/change rules need a few lines in pipeline._process (validate's
# `previous=`, `Verdict.drop_fields`, `Verdict.fail_run`); strict, so these turn red once wired: drop the mark.

def _add_rules(world: World, text: str) -> None:
    path = world.root / "mappings" / "rules.toml"
    path.write_text(path.read_text() + "\n" + text)


def _hs_deals(world: World) -> dict[str, dict[str, Any]]:
    rows = (d.get("properties") or {} for d in world.dump("hubspot", "deals"))
    return {p["salesforce_opportunity_id"]: p for p in rows if p.get("salesforce_opportunity_id")}


def _rule_failures(world: World, app: Any, prefix: str) -> dict[str, list[str]]:
    return {f["record_id"]: f["reasons"] for f in app.store.failures(pipeline=DEALS, code="RECORD_INVALID")
            if any(r.startswith(prefix) for r in f["reasons"])}


def _sync_all(world: World) -> Any:
    app = world.app()
    reports = {r.pipeline: r for r in app.sync()}
    return app, reports


def test_shipped_rules_quarantine_no_seeded_deal(world: World) -> None:
    app, reports = _sync_all(world)
    assert reports[DEALS].records["created"] > 0
    assert _rule_failures(world, app, "deal-") == {}
    app.close()


def test_a_conditional_rule_quarantines_the_deals_it_names_until_fixed_at_the_source(world: World) -> None:
    _add_rules(world, '''
[[rules]]
id = "deal-early-stage-cap"
kind = "deal"
field = "amount"
check = "max"
value = 30000
if = { field = "stage", one_of = ["prospecting", "qualification"] }
message = "an early-stage deal above 30k needs a manager's review first"
''')
    opps = world.data.salesforce["Opportunity"]
    # mappings/stages.toml: Needs Analysis reads as qualification; a Renewal's Qualification is renewal_due
    renewal = sample_data.sf_record_type_ids()["Renewal"]
    early = ("Prospecting", "Qualification", "Needs Analysis")
    big_early = {o["Id"] for o in opps if o["StageName"] in early and o["RecordTypeId"] != renewal
                 and o["Amount"] > 30_000}
    assert len(big_early) > 1, "the sample data should hold big early-stage deals"
    app, _ = _sync_all(world)
    stuck = _rule_failures(world, app, "deal-early-stage-cap")
    assert set(stuck) == big_early
    assert all(reasons == ["deal-early-stage-cap: an early-stage deal above 30k needs a manager's review first"]
               for reasons in stuck.values())
    assert not big_early & set(_hs_deals(world))

    fixed = sorted(big_early)[0]
    emulator = world.salesforce.emulator
    assert isinstance(emulator.store.update("Opportunity", fixed, {"Amount": 20_000}, emulator.clock()), tuple)
    app.sync([DEALS])
    assert set(_rule_failures(world, app, "deal-early-stage-cap")) == big_early - {fixed}
    assert float(_hs_deals(world)[fixed]["amount"]) == 20_000
    app.close()


def test_a_jump_from_prospecting_to_closed_won_is_quarantined(world: World) -> None:
    app, _ = _sync_all(world)
    synced = _hs_deals(world)
    early = next(o["Id"] for o in world.data.salesforce["Opportunity"]
                 if o["StageName"] == "Prospecting" and o["Id"] in synced)
    emulator = world.salesforce.emulator
    emulator.store.update("Opportunity", early, {"StageName": "Closed Won"}, emulator.clock())
    app.sync([DEALS])
    assert list(_rule_failures(world, app, "deal-no-jump-to-closed-won")) == [early]
    assert _hs_deals(world)[early]["dealstage"] == "appointmentscheduled"
    app.close()


def test_drop_field_writes_the_deal_without_that_field(world: World) -> None:
    _add_rules(world, '''
[[rules]]
id = "deal-close-date-too-early"
kind = "deal"
field = "close_date"
check = "min"
value = 2026-06-01
message = "close dates before June 2026 are not forecast in HubSpot"
action = "drop_field"
''')
    app, _ = _sync_all(world)
    deals = _hs_deals(world)
    opps = {o["Id"]: o for o in world.data.salesforce["Opportunity"] if o["Id"] in deals}
    early = {i for i, o in opps.items() if o["CloseDate"] < "2026-06-01"}
    assert early and early != set(opps)
    assert {i for i, p in deals.items() if not p.get("closedate")} == early
    assert _rule_failures(world, app, "deal-close-date-too-early") == {}
    app.close()


def test_fail_run_stops_the_run_and_names_the_rule(world: World) -> None:
    _add_rules(world, '''
[[rules]]
id = "deal-name-sanity"
kind = "deal"
field = "name"
check = "max_length"
value = 3
message = "deal names look wrong: stop and check the mapping"
action = "fail_run"
''')
    app, reports = _sync_all(world)
    assert reports[DEALS].outcome is RunOutcome.STOPPED
    assert "deal-name-sanity" in reports[DEALS].message
    assert _hs_deals(world) == {}
    app.close()


def test_warn_rules_show_in_the_dry_run_preview_and_do_not_block(world: World,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from sync_engine.cli import main

    rules = world.root / "mappings" / "rules.toml"
    rules.write_text(rules.read_text() + '\n[[rules]]\nid = "person-title-wanted"\nkind = "person"\n'
                     'field = "title"\ncheck = "required"\nmessage = "a title helps routing"\naction = "warn"\n')
    pipeline = "contacts-hubspot-to-salesforce"
    assert main(["--config", str(world.config), "sync", pipeline, "--dry-run", "--output", "json"]) == 0
    [run] = json.loads(capsys.readouterr().out)["runs"]
    warned = [p for p in run["plan"] if any("person-title-wanted" in r for r in p["reasons"])]
    assert warned and all(p["action"] in ("create", "update") for p in warned)


def test_a_large_deal_without_logged_activity_waits_until_one_is_logged(world: World) -> None:
    app, _ = _sync_all(world)
    opps = world.data.salesforce["Opportunity"]
    emulator = world.salesforce.emulator
    big, small = (next(o["Id"] for o in opps if o["Id"] in _hs_deals(world) and test(o["Amount"]))
                  for test in (lambda a: a >= 100_000, lambda a: a < 100_000))
    for opp in (big, small):
        emulator.store.update("Opportunity", opp, {"Activity_Count__c": 0, "Name": "Touched"}, emulator.clock())
    app.sync([DEALS])
    assert list(_rule_failures(world, app, "deal-large-needs-activity")) == [big]
    assert _hs_deals(world)[small]["dealname"] == "Touched" and _hs_deals(world)[big]["dealname"] != "Touched"
    emulator.store.update("Opportunity", big, {"Activity_Count__c": 2}, emulator.clock())
    app.sync([DEALS])
    assert _rule_failures(world, app, "deal-large-needs-activity") == {}
    assert _hs_deals(world)[big]["dealname"] == "Touched"
    app.close()


def test_an_amount_swing_goes_through_once_it_has_a_reason(world: World) -> None:
    app, _ = _sync_all(world)
    synced = _hs_deals(world)
    opp = next(o for o in world.data.salesforce["Opportunity"] if o["Id"] in synced and o["Amount"] < 60_000
               and not o["Amount_Change_Reason__c"])
    emulator = world.salesforce.emulator
    emulator.store.update("Opportunity", opp["Id"], {"Amount": opp["Amount"] * 3}, emulator.clock())
    app.sync([DEALS])
    assert list(_rule_failures(world, app, "deal-amount-swing")) == [opp["Id"]]
    assert float(_hs_deals(world)[opp["Id"]]["amount"]) == opp["Amount"]
    reason = "Seats added for the whole EMEA team"
    emulator.store.update("Opportunity", opp["Id"], {"Amount_Change_Reason__c": reason}, emulator.clock())
    app.sync([DEALS])
    assert _rule_failures(world, app, "deal-amount-swing") == {}
    deal = _hs_deals(world)[opp["Id"]]
    assert float(deal["amount"]) == opp["Amount"] * 3 and deal["amount_change_reason"] == reason
    app.close()
