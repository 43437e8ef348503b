"""Creates that lose a race become upserts by their unique key (docs/decisions.md 14), against the emulator."""

from __future__ import annotations

import pytest

from connectors.base import WriteOp
from connectors.errors import FailureCode
from connectors.hubspot import HubSpotConnector, writer
from tests.connectors.hubspot.conftest import Admin, contact

CREATE = "POST /crm/v3/objects/{object}/batch/create"
UPSERT = "POST /crm/v3/objects/{object}/batch/upsert"
LINKS = "POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/create"
SF_ID = {"objectType": "deals", "name": "salesforce_opportunity_id", "label": "Salesforce opportunity id",
         "type": "string", "fieldType": "text", "groupName": "dealinformation", "hasUniqueValue": True}


def test_creates_carry_their_links_inline_and_only_updates_use_the_association_batch(
    connector: HubSpotConnector, admin: Admin
) -> None:
    admin.seed({"companies": [{"id": "5", "properties": {"name": "Acme"}}],
                "contacts": [contact("101", "old@acme.com")]})
    results = connector.write("contacts", [
        WriteOp("new", None, {"email": "new@acme.com", "lastname": "New"}, {"companies": ("5",)}, upsert="email"),
        WriteOp("old", "101", {"lastname": "Old"}, {"companies": ("5",)}),
    ])
    assert [r.ok for r in results] == [True, True] and results[0].created and not results[1].created
    links = {(a["from"]["id"], a["to"]["id"]): {t["associationTypeId"] for t in a["types"]}
             for a in admin.dump("associations")}
    assert links[(results[0].id, "5")] == {1, 279}, "the primary company (plus the unlabeled link)"
    assert links[("101", "5")] == {1, 279}
    stats = admin.stats()
    assert stats[CREATE] == 1 and stats[LINKS] == 1 and UPSERT not in stats, "no race: the optimum, 1 + 1"


def test_a_create_whose_email_is_taken_updates_that_contact_and_links_it(
    connector: HubSpotConnector, admin: Admin
) -> None:
    """The race's loser: its lookup missed, but another worker created the person before its create."""
    admin.seed({"companies": [{"id": "5", "properties": {"name": "Acme"}}],
                "contacts": [contact("101", "taken@acme.com")]})
    results = connector.write("contacts", [
        WriteOp("fresh", None, {"email": "fresh@acme.com"}, {"companies": ("5",)}),
        WriteOp("twin", None, {"email": "TAKEN@acme.com", "jobtitle": "CFO"}, {"companies": ("5",)}),
        WriteOp("again", None, {"email": "fresh@acme.com", "jobtitle": "CEO"}),  # a twin in the same batch
    ])
    assert [(r.ok, r.created) for r in results] == [(True, True), (True, False), (True, False)]
    assert results[1].id == "101" and results[2].id == results[0].id
    stored = [c for c in admin.dump("contacts") if c["properties"]["email"].lower() in ("taken@acme.com",
                                                                                          "fresh@acme.com")]
    assert len(stored) == 2, "no twin"
    assert {c["properties"]["email"]: c["properties"].get("jobtitle") for c in stored} == {
        "taken@acme.com": "CFO", "fresh@acme.com": "CEO"}
    assert {(a["from"]["id"], a["to"]["id"]) for a in admin.dump("associations")} == {
        (results[0].id, "5"), ("101", "5")}, "the upserted contact is linked through the association batch"
    stats = admin.stats()
    assert (stats[CREATE], stats[UPSERT], stats[LINKS]) == (1, 1, 1), "only the refused inputs are re-sent"


def test_a_taken_email_is_a_conflict_when_the_create_has_no_upsert_key(
    connector: HubSpotConnector, admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "UNIQUE_ID_PROPERTY", {})
    admin.seed({"contacts": [contact("101", "taken@acme.com")]})
    [result] = connector.write("contacts", [WriteOp("twin", None, {"email": "taken@acme.com"})])
    assert result.error is not None and result.error.code is FailureCode.DUPLICATE_CONFLICT
    assert UPSERT not in admin.stats()


def test_a_resent_create_finds_the_record_the_first_one_made(connector: HubSpotConnector, admin: Admin) -> None:
    admin.seed({"properties": [SF_ID]})
    op = WriteOp("opp-1", None, {"dealname": "Big", "salesforce_opportunity_id": "006A"},
                 upsert="salesforce_opportunity_id")
    first, again = connector.write("deals", [op])[0], connector.write("deals", [op])[0]
    assert first.ok and first.created
    assert again.ok and again.id == first.id and not again.created
    deals = [d for d in admin.dump("deals") if d["properties"].get("salesforce_opportunity_id") == "006A"]
    assert len(deals) == 1


def test_a_create_without_its_upsert_key_value_is_a_plain_create(connector: HubSpotConnector, admin: Admin) -> None:
    admin.seed({"properties": [SF_ID]})
    op = WriteOp("d", None, {"dealname": "No key"}, upsert="salesforce_opportunity_id")
    [result] = connector.write("deals", [op])
    assert result.ok and result.created
    assert "POST /crm/v3/objects/{object}/batch/create" in admin.stats() and UPSERT not in admin.stats()
