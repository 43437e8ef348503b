"""Custom properties on the HubSpot emulator: created over the properties API or seeded, kept per emulator,
enforced when `hasUniqueValue`, and found by search, `idProperty` and describe.

revhub keeps the Salesforce opportunity id on each deal in `salesforce_opportunity_id` (unique), so a rerun
after a crash finds the deal it already created instead of creating it twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.properties import ApiException, PropertyCreate

from connectors.emulator import EmulatorServer
from connectors.hubspot import HubSpotConnector
from connectors.hubspot.emulator import HubSpotEmulator
from tests.connectors.hubspot.conftest import Admin
from tests.connectors.hubspot.test_emulator_openapi import Api

SF_ID = "salesforce_opportunity_id"
SF_PROPERTY = {
    "name": SF_ID,
    "label": "Salesforce Opportunity ID",
    "type": "string",
    "fieldType": "text",
    "groupName": "dealinformation",
    "hasUniqueValue": True,
    "description": "Set by revhub",
}
DEALS = "/crm/v3/objects/deals"


@pytest.fixture
def api(server: EmulatorServer, emulator: HubSpotEmulator) -> Api:
    return Api(server.url)


def _deal(name: str, sf_id: str | None = None, trace: str | None = None) -> dict[str, Any]:
    props = {"dealname": name, "pipeline": "default", "dealstage": "qualifiedtobuy"}
    if sf_id:
        props[SF_ID] = sf_id
    body: dict[str, Any] = {"properties": props, "associations": []}
    if trace:
        body["objectWriteTraceId"] = trace
    return body


def _with_sf_property(api: Api) -> None:
    api.call("POST", "/crm/v3/properties/deals", expect=201, json=SF_PROPERTY)


def test_create_property_over_http_matches_the_spec(api: Api) -> None:
    made = api.call("POST", "/crm/v3/properties/0-3", expect=201, json=SF_PROPERTY).json()
    assert made["name"] == SF_ID and made["hasUniqueValue"] is True and made["hubspotDefined"] is False
    assert made["modificationMetadata"]["readOnlyValue"] is False and made["description"] == "Set by revhub"
    assert api.call("GET", f"/crm/v3/properties/deals/{SF_ID}", expect=200).json() == made
    listed = api.call("GET", "/crm/v3/properties/deals", expect=200).json()["results"]
    assert [p["name"] for p in listed].count(SF_ID) == 1
    enum = {
        "name": "sync_state",
        "label": "Sync state",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "dealinformation",
        "options": [{"label": "Synced", "value": "synced", "hidden": False, "displayOrder": 1}],
    }
    made_enum = api.call("POST", "/crm/v3/properties/deals", expect=201, json=enum).json()
    assert made_enum["options"] == [
        {"label": "Synced", "value": "synced", "displayOrder": 1, "hidden": False, "description": ""}
    ]
    bad_value = api.call(
        "POST", DEALS, expect=400, json={"properties": {"sync_state": "nope"}, "associations": []}
    ).json()
    assert "INVALID_OPTION" in bad_value["message"]  # the new enumeration validates like a default one


@pytest.mark.parametrize(
    ("change", "status", "category", "words"),
    [
        ({}, 409, "CONFLICT", f"Property named '{SF_ID}' already exists"),
        ({"name": "dealname"}, 409, "CONFLICT", "Property named 'dealname' already exists"),
        ({"name": "other", "type": "text"}, 400, "VALIDATION_ERROR", "type 'text' is not one of"),
        ({"name": "other", "fieldType": "dropdown"}, 400, "VALIDATION_ERROR", "fieldType 'dropdown'"),
        ({"name": "other", "fieldType": "select"}, 400, "VALIDATION_ERROR", "not valid for type 'string'"),
        (
            {"name": "other", "label": None},
            400,
            "VALIDATION_ERROR",
            "required attributes are not set ['label']",
        ),
        ({"name": None}, 400, "VALIDATION_ERROR", "required attributes are not set ['name']"),
        ({"name": "Bad Name"}, 400, "VALIDATION_ERROR", "Property name 'Bad Name' is invalid"),
        (
            {"name": "other", "type": "enumeration", "fieldType": "select"},
            400,
            "VALIDATION_ERROR",
            "needs at least one option",
        ),
        ({"name": "other", "fieldType": "textarea"}, 400, "VALIDATION_ERROR", "cannot require unique values"),
    ],
)
def test_property_create_refusals(
    api: Api, change: dict[str, Any], status: int, category: str, words: str
) -> None:
    _with_sf_property(api)
    body = {k: v for k, v in {**SF_PROPERTY, **change}.items() if v is not None}
    err = api.call("POST", "/crm/v3/properties/deals", expect=status, json=body).json()
    assert err["status"] == "error" and err["category"] == category and words in err["message"], err


def test_batch_create_answers_per_input(api: Api) -> None:
    _with_sf_property(api)
    good = {**SF_PROPERTY, "name": "sf_account_id", "label": "SF Account", "hasUniqueValue": False}
    body = api.call(
        "POST", "/crm/v3/properties/deals/batch/create", expect=207, json={"inputs": [good, SF_PROPERTY]}
    ).json()
    assert [r["name"] for r in body["results"]] == ["sf_account_id"] and body["numErrors"] == 1
    assert body["errors"][0]["category"] == "CONFLICT" and body["errors"][0]["context"] == {"name": [SF_ID]}
    fresh = {**good, "name": "sf_owner_id"}
    done = api.call(
        "POST", "/crm/v3/properties/deals/batch/create", expect=201, json={"inputs": [fresh]}
    ).json()
    assert done["status"] == "COMPLETE" and [r["name"] for r in done["results"]] == ["sf_owner_id"]


def test_hubspot_client_creates_the_property_and_describe_sees_it(
    server: EmulatorServer, emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    client = HubSpot(access_token="pat-test", host=server.url)
    spec = PropertyCreate(
        name=SF_ID,
        label="Salesforce Opportunity ID",
        type="string",
        field_type="text",
        group_name="dealinformation",
        has_unique_value=True,
    )
    made = client.crm.properties.core_api.create("deals", spec)
    assert made.name == SF_ID and made.has_unique_value is True and made.hubspot_defined is False
    assert client.crm.properties.core_api.get_by_name("deals", SF_ID).label == "Salesforce Opportunity ID"
    with pytest.raises(ApiException) as caught:
        client.crm.properties.core_api.create("deals", spec)
    assert caught.value.status == 409 and json.loads(caught.value.body)["category"] == "CONFLICT"
    field = connector.describe("deals").fields[SF_ID]
    assert field.createable and field.updateable and field.type == "string"


def test_unique_value_is_enforced_on_create_update_and_batches(api: Api, admin: Admin) -> None:
    _with_sf_property(api)
    first = api.call("POST", DEALS, expect=201, json=_deal("One", "006A")).json()
    dup = api.call("POST", DEALS, expect=409, json=_deal("Again", "006a")).json()
    assert dup["category"] == "CONFLICT" and dup["message"] == f"A deal with {SF_ID}=006a already exists"
    other = api.call("POST", DEALS, expect=201, json=_deal("Two")).json()
    api.call("PATCH", f"{DEALS}/{other['id']}", expect=409, json={"properties": {SF_ID: "006A"}})
    api.call("PATCH", f"{DEALS}/{first['id']}", expect=200, json={"properties": {SF_ID: "006A"}})  # its own
    # With objectWriteTraceIds each input answers for itself: the duplicate is a per-input CONFLICT.
    traced = {"inputs": [_deal("Three", "006C", "t1"), _deal("Dup", "006A", "t2")]}
    body = api.call("POST", f"{DEALS}/batch/create", expect=207, json=traced).json()
    assert [r["properties"][SF_ID] for r in body["results"]] == ["006C"]
    assert body["errors"][0]["category"] == "CONFLICT" and body["errors"][0]["context"] == {
        "objectWriteTraceId": ["t2"]
    }
    assert body["errors"][0]["message"] == f"A deal with {SF_ID}=006A already exists"
    # Without them one duplicate fails the whole call, also a duplicate inside the batch itself.
    untraced = {"inputs": [_deal("Four", "006D"), _deal("Four again", "006D")]}
    assert (
        api.call("POST", f"{DEALS}/batch/create", expect=409, json=untraced).json()["category"] == "CONFLICT"
    )
    clash = {
        "inputs": [
            {"id": other["id"], "properties": {SF_ID: "006E"}},
            {"id": first["id"], "properties": {SF_ID: "006E"}},
        ]
    }
    api.call("POST", f"{DEALS}/batch/update", expect=409, json=clash)
    held = sorted(d["properties"].get(SF_ID, "") for d in admin.dump("deals"))
    assert held == ["", "006A", "006C"]  # nothing of the refused calls was written
    # The unique property is an idProperty: read and upsert by it.
    got = api.call("GET", f"{DEALS}/006a?idProperty={SF_ID}&properties=dealname", expect=200).json()
    assert got["id"] == first["id"]
    upsert = {
        "inputs": [
            {"id": "006A", "idProperty": SF_ID, "properties": {"amount": "5"}},
            {"id": "006F", "idProperty": SF_ID, "properties": {"dealname": "Five", "dealstage": "closedwon"}},
        ]
    }
    results = api.call("POST", f"{DEALS}/batch/upsert", expect=200, json=upsert).json()["results"]
    assert [(r["id"] == first["id"], r["new"]) for r in results] == [(True, False), (False, True)]
    assert results[1]["properties"][SF_ID] == "006F"


def test_search_eq_and_in_find_deals_by_the_custom_property(
    api: Api, admin: Admin, connector: HubSpotConnector
) -> None:
    admin.seed(
        {
            "properties": [{"objectType": "deals", **SF_PROPERTY}],
            "deals": [
                {"id": "901", "properties": {"dealname": "A", SF_ID: "006Aa"}},
                {"id": "902", "properties": {"dealname": "B", SF_ID: "006Bb"}},
                {"id": "903", "properties": {"dealname": "C"}},
            ],
        }
    )

    def ids(flt: dict[str, Any]) -> list[str]:
        body = {"filterGroups": [{"filters": [flt]}], "properties": [SF_ID], "limit": 10}
        return [r["id"] for r in api.call("POST", f"{DEALS}/search", expect=200, json=body).json()["results"]]

    assert ids({"propertyName": SF_ID, "operator": "EQ", "value": "006AA"}) == ["901"]
    assert ids({"propertyName": SF_ID, "operator": "IN", "values": ["006aa", "006bb", "006zz"]}) == [
        "901",
        "902",
    ]
    assert ids({"propertyName": SF_ID, "operator": "NOT_HAS_PROPERTY"}) == ["903"]
    found = connector.lookup("deals", SF_ID, ["006Bb", "006ZZ"], ["dealname"])
    assert [(r.id, r.fields[SF_ID], r.fields["dealname"]) for r in found] == [("902", "006Bb", "B")]


def test_seeded_properties_come_first_and_dump_seeds_back(
    emulator: HubSpotEmulator, admin: Admin, tmp_path: Path
) -> None:
    counts = admin.seed(
        {
            "deals": [{"id": "901", "properties": {"dealname": "A", SF_ID: "006A"}}],
            "properties": [{"objectType": "0-3", **SF_PROPERTY}],
        }
    )["seeded"]
    assert counts["properties"] == 1 and counts["deals"] == 1
    dumped = admin.dump("properties")
    assert [(p["objectType"], p["name"], p["hasUniqueValue"]) for p in dumped] == [("deals", SF_ID, True)]
    # seed_dir: `properties.json` is one more file of the directory.
    emulator.reset()
    (tmp_path / "properties.json").write_text(json.dumps(dumped), encoding="utf-8")
    deals = [{"id": "7", "properties": {"dealname": "Seeded", SF_ID: "006X"}}]
    (tmp_path / "deals.json").write_text(json.dumps(deals), encoding="utf-8")  # read before properties.json
    assert emulator.seed_dir(tmp_path)["properties"] == 1
    assert emulator.store.properties["deals"][SF_ID].unique
    assert admin.dump("deals")[0]["properties"][SF_ID] == "006X"


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        ({"opportunities": []}, 400, "unknown seed keys: ['opportunities']"),
        ({"properties": [{"objectType": "deals", **SF_PROPERTY, "type": "text"}]}, 400, "properties[0]: "),
        ({"properties": [{"objectType": "tickets", **SF_PROPERTY}]}, 400, "Unable to infer object type"),
        (
            {"properties": [{"objectType": "deals", **SF_PROPERTY}, {"objectType": "deal", **SF_PROPERTY}]},
            409,
            f"properties[1]: Property named '{SF_ID}' already exists",
        ),
        (
            {
                "associations": [
                    {"from": {"object": "deals", "id": "1"}, "to": {"object": "contacts", "id": "2"}}
                ]
            },
            404,
            "does not exist",
        ),
    ],
)
def test_admin_seed_refusals_answer_4xx_with_hubspot_bodies(
    server: EmulatorServer, emulator: HubSpotEmulator, payload: dict[str, Any], status: int, words: str
) -> None:
    r = requests.post(f"{server.url}/__emulator__/seed", json=payload, timeout=10)
    body = r.json()
    assert r.status_code == status and body["status"] == "error" and words in body["message"], body
    assert body["category"] in ("VALIDATION_ERROR", "CONFLICT", "OBJECT_NOT_FOUND") and body["correlationId"]
    assert SF_ID not in emulator.store.properties["deals"]  # a refused seed adds no property


def test_seed_refusal_is_a_value_error_to_direct_callers(emulator: HubSpotEmulator) -> None:
    with pytest.raises(ValueError, match=r"unknown seed keys: \['bogus'\]"):
        emulator.seed({"bogus": []})


def test_two_emulators_do_not_share_custom_properties(api: Api, emulator: HubSpotEmulator) -> None:
    _with_sf_property(api)
    with EmulatorServer(HubSpotEmulator()) as other:
        other_api = Api(other.url)
        other_api.call("GET", f"/crm/v3/properties/deals/{SF_ID}", expect=404)
        err = other_api.call("POST", DEALS, expect=400, json=_deal("X", "006A")).json()
        assert err["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
        search = {"filterGroups": [{"filters": [{"propertyName": SF_ID, "operator": "EQ", "value": "1"}]}]}
        other_api.call("POST", f"{DEALS}/search", expect=400, json=search)
        other_api.call(
            "POST", "/crm/v3/properties/deals", expect=201, json={**SF_PROPERTY, "hasUniqueValue": False}
        )
    assert emulator.store.properties["deals"][SF_ID].unique  # the other one's definition did not leak back
    api.call("POST", DEALS, expect=201, json=_deal("Mine", "006A"))
    emulator.reset()  # a reset goes back to HubSpot's defaults
    assert SF_ID not in emulator.store.properties["deals"]
