"""Merges end to end on the emulators: a merge made in one CRM is followed in the crosswalk and in the
other CRM (merged there when `[merge.<system>] enabled`, reported when not), and nothing is re-created."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

from connectors.salesforce.values import to18
from sync_engine.cli import main
from sync_engine.merge_log import merge_log, merged_ids
from sync_engine.store import crosswalk, cursors
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


def _enable(world: World, *systems: str, extra: str = "") -> None:
    text = world.config.read_text()
    for system in systems:
        text += f"\n[merge.{system}]\nenabled = true\n{extra}"
    world.config.write_text(text)


def _sync(world: World) -> list[Any]:
    app = world.app()
    try:
        return app.sync()
    finally:
        app.close()


def _rows(world: World, table: Any) -> list[dict[str, Any]]:
    app = world.app()
    try:
        with app.store.begin() as c:
            return [dict(r._mapping) for r in c.execute(select(table))]
    finally:
        app.close()


def _pairs(world: World) -> list[tuple[str, str, int]]:
    """(HubSpot company id, Salesforce account id, entity) of companies revhub linked one to one."""
    rows = _rows(world, crosswalk)
    by_entity: dict[int, dict[str, list[str]]] = {}
    for r in rows:
        if (r["system"], r["object"]) in (("hubspot", "companies"), ("salesforce", "Account")):
            by_entity.setdefault(r["entity_id"], {}).setdefault(r["system"], []).append(r["external_id"])
    return [(v["hubspot"][0], v["salesforce"][0], e) for e, v in sorted(by_entity.items())
            if len(v.get("hubspot", [])) == 1 and len(v.get("salesforce", [])) == 1]


def _live(world: World, system: str, obj: str) -> dict[str, dict[str, Any]]:
    if system == "hubspot":
        return {r["id"]: r for r in world.dump(system, obj) if not r.get("archived")}
    return {r["Id"]: r for r in world.dump(system, obj) if not r.get("IsDeleted")}


def _hubspot_merge(world: World, obj: str, survivor: str, loser: str) -> str:
    with requests.Session() as s:
        s.trust_env = False
        r = s.post(f"{world.hubspot.url}/crm/v3/objects/{obj}/merge", timeout=10,
                   headers={"Authorization": "Bearer a-person-in-hubspot"},
                   json={"primaryObjectId": survivor, "objectIdToMerge": loser})
    r.raise_for_status()
    return str(r.json()["id"])


def _entity_of(world: World, system: str, obj: str, external_id: str) -> int | None:
    return next((r["entity_id"] for r in _rows(world, crosswalk)
                 if (r["system"], r["object"], r["external_id"]) == (system, obj, external_id)), None)


def test_a_hubspot_merge_is_followed_in_salesforce_and_nothing_is_recreated(world: World) -> None:
    _enable(world, "salesforce")
    _sync(world)
    people = _live(world, "salesforce", "Contact").values()
    pairs = sorted(_pairs(world), key=lambda p: -sum(1 for c in people if c.get("AccountId") == p[1]))
    (hs_b, sf_b, _eb), (hs_a, sf_a, _ea) = pairs[:2]  # the loser has people: they must move to the survivor
    contacts_of_b = [c["Id"] for c in people if c.get("AccountId") == sf_b]
    assert contacts_of_b
    hs_before, sf_before = _live(world, "hubspot", "companies"), _live(world, "salesforce", "Account")

    kept = _hubspot_merge(world, "companies", hs_a, hs_b)
    _sync(world)
    reports = _sync(world)

    hs_after, sf_after = _live(world, "hubspot", "companies"), _live(world, "salesforce", "Account")
    assert set(hs_after) == set(hs_before) - {hs_b}, "HubSpot: one company fewer, none re-created"
    assert set(sf_after) == set(sf_before) - {sf_b}, "Salesforce: the loser's twin merged away, none created"
    gone = next(r for r in world.dump("salesforce", "Account") if r["Id"] == sf_b)
    assert gone["IsDeleted"] is True and gone["MasterRecordId"] == sf_a
    contacts = _live(world, "salesforce", "Contact")
    assert all(contacts[c]["AccountId"] == sf_a for c in contacts_of_b), "children re-parented to the survivor"

    entity = _entity_of(world, "hubspot", "companies", kept)
    assert entity is not None and _entity_of(world, "salesforce", "Account", sf_a) == entity
    assert _entity_of(world, "hubspot", "companies", hs_b) is None
    assert _entity_of(world, "salesforce", "Account", sf_b) is None
    aliases = {(r["system"], r["external_id"]): r["survivor_id"] for r in _rows(world, merged_ids)}
    assert aliases[("hubspot", hs_b)] == kept and aliases[("salesforce", sf_b)] == sf_a

    log = _rows(world, merge_log)
    assert [(r["system"], r["action"], r["survivor_id"], r["loser_ids"]) for r in log] == [
        ("hubspot", "followed", kept, [hs_b]), ("salesforce", "merged", sf_a, [sf_b])]
    assert log[1]["rule"].startswith("follows hubspot companies")
    assert sum(r.records["created"] for r in reports) == 0, "the runs after the merge create nothing"


def test_a_salesforce_merge_is_followed_in_hubspot(world: World) -> None:
    _enable(world, "hubspot")
    _sync(world)
    (hs_a, sf_a, _ea), (hs_b, sf_b, _eb) = _pairs(world)[:2]
    hs_before, sf_before = _live(world, "hubspot", "companies"), _live(world, "salesforce", "Account")
    app = world.app()
    try:  # a person merging two accounts in Salesforce (the SOAP merge() call)
        assert app.connectors["salesforce"].merge("Account", sf_a, sf_b) == sf_a
    finally:
        app.close()

    _sync(world)
    reports = _sync(world)

    assert set(_live(world, "salesforce", "Account")) == set(sf_before) - {sf_b}
    assert set(_live(world, "hubspot", "companies")) == set(hs_before) - {hs_b}, "merged in HubSpot too"
    merged = next(r for r in world.dump("hubspot", "companies") if r["id"] == hs_a)
    assert hs_b in merged["properties"]["hs_merged_object_ids"].split(";")
    assert _entity_of(world, "hubspot", "companies", hs_a) == _entity_of(world, "salesforce", "Account", sf_a)
    actions = [(r["system"], r["action"]) for r in _rows(world, merge_log)]
    assert actions == [("salesforce", "followed"), ("hubspot", "merged")]
    assert sum(r.records["created"] for r in reports) == 0


def test_the_losers_domain_seen_again_after_a_merge_is_the_survivor_not_a_new_company(world: World) -> None:
    """After two companies were merged in HubSpot, a Salesforce account carrying the loser's domain (a rep
    re-enters it) belongs to the survivor: HubSpot's survivor is updated, no company is created there."""
    _enable(world, "salesforce")
    _sync(world)
    (hs_a, _sf_a, _ea), (hs_b, _sf_b, _eb) = _pairs(world)[:2]
    companies = {r["id"]: r["properties"] for r in world.dump("hubspot", "companies")}
    loser_domain = companies[hs_b]["domain"]
    kept = _hubspot_merge(world, "companies", hs_a, hs_b)
    _sync(world)
    hs_before = _live(world, "hubspot", "companies")

    world.salesforce.emulator.seed({"Account": [{"Name": "Re-entered by a rep",
                                                 "Website": f"https://www.{loser_domain}/about"}]})
    reports = _sync(world)

    assert set(_live(world, "hubspot", "companies")) == set(hs_before), "no company re-created in HubSpot"
    assert sum(r.records["created"] for r in reports if r.pipeline == "companies-salesforce-to-hubspot") == 0
    [new_id] = [i for i, r in _live(world, "salesforce", "Account").items() if r["Name"] == "Re-entered by a rep"]
    assert _entity_of(world, "salesforce", "Account", new_id) == _entity_of(world, "hubspot", "companies", kept)


def test_without_write_back_the_twins_are_reported_and_revhub_merge_refuses(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    _sync(world)
    (hs_a, sf_a, _ea), (hs_b, sf_b, _eb) = _pairs(world)[:2]
    sf_before = _live(world, "salesforce", "Account")
    _hubspot_merge(world, "companies", hs_a, hs_b)
    _sync(world)
    reports = _sync(world)

    assert set(_live(world, "salesforce", "Account")) == set(sf_before), "nothing merged where it is off"
    assert sum(r.records["created"] for r in reports) == 0, "and nothing re-created"
    pending = [r for r in _rows(world, merge_log) if r["action"] == "pending"]
    assert [(r["system"], r["survivor_id"], r["loser_ids"]) for r in pending] == [("salesforce", sf_a, [sf_b])]

    assert main(["--config", str(world.config), "duplicates", "--system", "salesforce", "--object", "Account",
                 "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["pending_merges"]
    assert [(p["survivor_id"], p["loser_ids"], p["status"]) for p in listed] == [(sf_a, [sf_b], "pending")]

    assert main(["--config", str(world.config), "merge", "--system", "salesforce", "--object", "Account"]) == 2
    assert "[merge.salesforce] enabled = true" in capsys.readouterr().err
    code = main(["--config", str(world.config), "merge", "--system", "salesforce", "--object", "Account",
                 "--dry-run", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["dry_run"] is True
    assert {"survivor_id": sf_a, "loser_ids": [sf_b], "source": "pending"}.items() <= next(
        m for m in out["merges"] if m["source"] == "pending").items()
    assert set(_live(world, "salesforce", "Account")) == set(sf_before), "a dry run merges nothing"


def test_revhub_merge_writes_back_a_cluster_by_survivorship_with_overrides_and_one_audit_row(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    _enable(world, "salesforce", extra='survivor = ["most_complete", "most_recent"]\n'
                                       'fields = { industry = "when_blank", name = "never" }\n')
    old, new = to18("001Dn00000MRG01"), to18("001Dn00000MRG02")
    world.salesforce.emulator.seed({"Account": [
        {"Id": old, "Name": "Dupe Co", "Website": "https://www.dupe-merge-test.com/", "Industry": "Retail",
         "LastModifiedDate": "2026-01-01T10:00:00.000+0000"},
        {"Id": new, "Name": "Dupe Company", "Website": "dupe-merge-test.com", "NumberOfEmployees": 40,
         "Phone": "+1 555 0100", "LastModifiedDate": "2026-02-01T10:00:00.000+0000"}]})
    args = ["--config", str(world.config), "merge", "--system", "salesforce", "--object", "Account", "--json"]

    assert main([*args, "--dry-run"]) == 0
    preview = [m for m in json.loads(capsys.readouterr().out)["merges"] if new in [m["survivor_id"], *m["loser_ids"]]]
    code = main(args)
    raw = capsys.readouterr()
    assert code == 0, (raw.out, raw.err)
    done = [m for m in json.loads(raw.out)["merges"] if m["survivor_id"] == new]

    assert [(m["survivor_id"], m["loser_ids"], m["rule"], m["fields"]) for m in preview] == [
        (new, [old], "most_complete", ["Industry"])], "the fuller record survives and takes the blank industry"
    assert [(m["merged_id"], m["error"]) for m in done] == [(new, None)]
    accounts = {r["Id"]: r for r in world.dump("salesforce", "Account")}
    assert accounts[old]["IsDeleted"] is True and accounts[old]["MasterRecordId"] == new
    assert accounts[new]["Industry"] == "Retail" and accounts[new]["Name"] == "Dupe Company"
    log = [r for r in _rows(world, merge_log) if r["survivor_id"] == new]
    assert [(r["action"], r["loser_ids"], r["rule"], r["fields"]) for r in log] == [
        ("merged", [old], "most_complete", ["Industry"])], "one audit row, field names only"


def test_a_look_for_merges_longer_ago_than_salesforce_keeps_them_is_reported(world: World) -> None:
    """Salesforce drops merged records (and their MasterRecordId) after ~15 days: a pipeline that has not
    looked for longer says merges may have been missed; HubSpot keeps its merged ids, so its never does."""
    _sync(world)
    app = world.app()
    try:
        with app.store.begin() as c:
            c.execute(update(cursors).where(cursors.c.pipeline.like("merges:%")).values(
                updated_at=datetime.now(UTC) - timedelta(days=20)))
        first = {r.pipeline: r.message for r in app.sync()}
        again = {r.pipeline: r.message for r in app.sync()}
    finally:
        app.close()
    warned = {p for p, m in first.items() if "some may have been missed" in m}
    assert warned == {p for p in first if "salesforce-to" in p}
    assert "last look for salesforce Contact merges was 20 days ago" in first["contacts-salesforce-to-hubspot"]
    assert not any("may have been missed" in m for m in again.values()), "each look is remembered"
