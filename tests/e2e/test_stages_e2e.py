"""Deal pipelines through a real sync: a Salesforce renewal lands in HubSpot's Renewals pipeline, a stage
change shows up in the stage history, and a record type missing from mappings/stages.toml is quarantined."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from sync_engine import sample_data, stage_history
from sync_engine.explain import explain, render_text
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e

DEALS = "deals-salesforce-to-hubspot"


def _create_opportunity(world: World, **values: Any) -> str:
    emulator = world.salesforce.emulator
    created = emulator.store.create("Opportunity", {"Name": "Acme - Renewal 2027", "CloseDate": "2027-01-31",
                                                    "Amount": 42_000.0, **values}, emulator.clock())
    assert isinstance(created, tuple), created
    return created[0]


def _hs_deal(world: World, opportunity_id: str) -> dict[str, Any]:
    rows = (d.get("properties") or {} for d in world.dump("hubspot", "deals"))
    return next(p for p in rows if p.get("salesforce_opportunity_id") == opportunity_id)


def test_a_salesforce_renewal_lands_in_hubspots_renewals_pipeline_and_its_stage_moves_are_kept(world: World) -> None:
    renewal = sample_data.sf_record_type_ids()["Renewal"]
    opp = _create_opportunity(world, RecordTypeId=renewal, StageName="Negotiation/Review")
    app = world.app()
    try:
        app.sync([DEALS])
        deal = _hs_deal(world, opp)
        assert (deal["pipeline"], deal["dealstage"]) == ("75e28846", "1002")  # Renewals: Renewal Negotiation

        entity = app.store.links("salesforce", "Opportunity", [opp])[opp].entity_id
        first = stage_history.history(app.store, entity, "salesforce")
        assert [(c.pipeline, c.from_stage, c.to_stage) for c in first] == [("renewal", None, "negotiation")]

        emulator = world.salesforce.emulator
        assert isinstance(emulator.store.update("Opportunity", opp, {"StageName": "Closed Won"}, emulator.clock()),
                          tuple)
        modified = next(r for r in world.dump("salesforce", "Opportunity") if r["Id"] == opp)["SystemModstamp"]
        app.sync([DEALS])
        assert _hs_deal(world, opp)["dealstage"] == "1003"  # Renewed
        read = stage_history.history(app.store, entity, "salesforce")
        assert [(c.from_stage, c.to_stage) for c in read] == [(None, "negotiation"), ("negotiation", "closed_won")]
        assert read[-1].changed_at.strftime("%Y-%m-%dT%H:%M:%S") == modified[:19]  # the record's modified time
        written = stage_history.history(app.store, entity, "hubspot")
        assert [(c.to_stage, c.how) for c in written] == [("negotiation", "write"), ("closed_won", "write")]
        spans = stage_history.time_in_stage(app.store, entity, "salesforce")
        assert [s.stage for s in spans] == ["negotiation", "closed_won"] and spans[0].left_at is not None

        app.sync([DEALS])  # nothing moved: no new rows
        assert len(stage_history.history(app.store, entity)) == 4

        text = render_text(explain(app, DEALS, opp))  # on-call sees the history of the deal they ask about
        assert "stage history:" in text and "salesforce (read): renewal: negotiation -> closed_won" in text
    finally:
        app.close()


def test_a_record_type_missing_from_the_stage_map_is_quarantined_with_its_file_and_line(world: World) -> None:
    emulator = world.salesforce.emulator
    partner = emulator.store.seed("RecordType", {"Name": "Partner", "DeveloperName": "Partner",
                                                 "SobjectType": "Opportunity"}, emulator.clock())
    opp = _create_opportunity(world, RecordTypeId=partner["Id"], StageName="Prospecting")
    app = world.app()
    try:
        app.sync([DEALS])
        failure = next(f for f in app.store.failures(pipeline=DEALS) if f["record_id"] == opp)
        assert failure["code"] == "PICKLIST_MISMATCH"
        assert "'Partner'" in failure["reasons"][0] and "stages.toml:" in failure["reasons"][0]
        assert all(d.get("properties", {}).get("salesforce_opportunity_id") != opp
                   for d in world.dump("hubspot", "deals"))
    finally:
        app.close()


def test_a_deal_write_hubspot_refuses_leaves_no_written_stage_and_one_that_lands_does(world: World) -> None:
    """The written history says where a deal stands in the target, so a refused write must add nothing there."""
    stages = world.root / "mappings" / "stages.toml"  # a stage id HubSpot's Renewals pipeline does not have
    stages.write_text(stages.read_text().replace('negotiation = { hubspot = "1002"',
                                                 'negotiation = { hubspot = "1999"'))
    renewal = sample_data.sf_record_type_ids()["Renewal"]
    refused = _create_opportunity(world, RecordTypeId=renewal, StageName="Negotiation/Review")
    landed = _create_opportunity(world, Name="Acme - Renewal 2028", RecordTypeId=renewal, StageName="Closed Won")
    app = world.app()
    try:
        app.sync([DEALS])
        failure = next(f for f in app.store.failures(pipeline=DEALS) if f["record_id"] == refused)
        assert failure["step"] == "load" and "1999" in failure["message"], failure
        t = stage_history.stage_history
        with app.store.engine.connect() as c:
            rows = [(r.system, r.pipeline, r.to_stage, r.how, r.entity_id) for r in c.execute(select(t))]
        # every renewal in negotiation was refused (the sample data has more than ours): read, never written
        assert ("salesforce", "renewal", "negotiation", "read") in {r[:4] for r in rows}
        assert not [r for r in rows if r[0] == "hubspot" and r[1:3] == ("renewal", "negotiation")]
        written = {r[4] for r in rows if r[0] == "hubspot"}
        in_hubspot = {link.entity_id for link in app.store.links_of_entities("hubspot", "deals", written).values()}
        assert written and written == in_hubspot, "a written stage row for a deal that is not in HubSpot"
        assert _hs_deal(world, landed)["dealstage"] == "1003"
        entity = app.store.links("salesforce", "Opportunity", [landed])[landed].entity_id
        assert [(c.pipeline, c.to_stage, c.how) for c in stage_history.history(app.store, entity, "hubspot")] == [
            ("renewal", "closed_won", "write")]
    finally:
        app.close()
