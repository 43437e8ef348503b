"""Opportunity record types: the emulator's RecordType object, describe's recordTypeInfos, the UI API's
stage values per record type, its stage checks on writes; and the connector reading and writing them."""
from __future__ import annotations

from typing import Any

from connectors.base import WriteOp
from connectors.salesforce import SalesforceConnector
from connectors.salesforce.describe import MASTER_RECORD_TYPE
from connectors.salesforce.emulator import SalesforceEmulator
from tests.connectors.salesforce.conftest import Api

DEAL = {"Name": "Acme renewal", "CloseDate": "2027-01-31"}


def _record_types(emulator: SalesforceEmulator) -> dict[str, str]:
    rows = [{"Name": n.replace("_", " "), "DeveloperName": n, "SobjectType": "Opportunity"}
            for n in ("New_Business", "Expansion", "Renewal")]
    rows.append({"Name": "Old", "DeveloperName": "Old", "SobjectType": "Opportunity", "IsActive": False})
    emulator.seed({"RecordType": rows})
    return {r["DeveloperName"]: r["Id"] for r in emulator.dump("RecordType")}


def test_record_types_are_queryable_and_listed_by_describe(emulator: SalesforceEmulator, api: Api) -> None:
    ids = _record_types(emulator)
    q = "SELECT Id, DeveloperName, Name, SobjectType, IsActive FROM RecordType WHERE SobjectType = 'Opportunity'"
    rows = api.call("GET", "query", params={"q": q}).json()["records"]
    assert {r["DeveloperName"]: r["IsActive"] for r in rows} == {"New_Business": True, "Expansion": True,
                                                                 "Renewal": True, "Old": False}
    infos = api.call("GET", "sobjects/Opportunity/describe").json()["recordTypeInfos"]
    assert [i["developerName"] for i in infos] == ["New_Business", "Expansion", "Renewal", "Master"]
    assert infos[-1]["recordTypeId"] == MASTER_RECORD_TYPE and infos[-1]["master"] is True
    assert infos[0]["recordTypeId"] == ids["New_Business"] and infos[0]["defaultRecordTypeMapping"] is True
    field = next(f for f in api.call("GET", "sobjects/Opportunity/describe").json()["fields"]
                 if f["name"] == "RecordTypeId")
    assert field["referenceTo"] == ["RecordType"] and field["relationshipName"] == "RecordType"


def test_the_ui_api_gives_the_stages_each_record_type_allows(emulator: SalesforceEmulator, api: Api) -> None:
    ids = _record_types(emulator)
    def stages(rt_id: str) -> list[str]:
        body = api.call("GET", f"ui-api/object-info/Opportunity/picklist-values/{rt_id}").json()
        return [v["value"] for v in body["picklistFieldValues"]["StageName"]["values"]]
    assert stages(ids["Renewal"]) == ["Qualification", "Negotiation/Review", "Closed Won", "Closed Lost"]
    assert "Prospecting" in stages(ids["New_Business"]) and "Prospecting" in stages(MASTER_RECORD_TYPE)
    missing = api.call("GET", "ui-api/object-info/Opportunity/picklist-values/012000000000099AAA")
    assert missing.status_code == 404


def test_a_stage_the_record_type_does_not_allow_is_refused(emulator: SalesforceEmulator, api: Api) -> None:
    ids = _record_types(emulator)
    def create(**values: Any) -> dict[str, Any]:
        body = {"allOrNone": False, "records": [{"attributes": {"type": "Opportunity"}, **DEAL, **values}]}
        return api.call("POST", "composite/sobjects", json=body).json()[0]
    refused = create(RecordTypeId=ids["Renewal"], StageName="Prospecting")
    assert not refused["success"] and refused["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert create(RecordTypeId=ids["Renewal"], StageName="Qualification")["success"]
    assert create(StageName="Prospecting")["success"]  # no record type: the master one allows every stage


def test_connector_writes_a_record_type_by_name_and_reads_it_back(connector: SalesforceConnector,
                                                                  emulator: SalesforceEmulator) -> None:
    ids = _record_types(emulator)
    results = connector.write("Opportunity", [
        WriteOp("a", None, {**DEAL, "StageName": "Qualification", "RecordType.DeveloperName": "Renewal"}),
        WriteOp("b", None, {**DEAL, "StageName": "Qualification", "RecordType.DeveloperName": "Nope"})])
    assert results[0].ok and not results[1].ok  # an unknown name is refused for that record only
    stored = next(r for r in emulator.dump("Opportunity") if r["Id"] == results[0].id)
    assert stored["RecordTypeId"] == ids["Renewal"]
    records = [r for page in connector.read("Opportunity", None, ["RecordType.DeveloperName", "StageName"])
               for r in page]
    assert [(r.fields["RecordType.DeveloperName"], r.fields["StageName"]) for r in records] == \
        [("Renewal", "Qualification")]
    assert connector.pipeline_stages("Opportunity")["Renewal"] == (
        "Qualification", "Negotiation/Review", "Closed Won", "Closed Lost")
    assert "Old" not in connector.pipeline_stages("Opportunity")


def test_a_record_type_added_while_the_connector_runs_is_found_without_a_restart(
        connector: SalesforceConnector, emulator: SalesforceEmulator) -> None:
    """A daemon keeps its connector for weeks; an admin adds a record type: the first write naming it
    looks again, and a name that stays unknown is looked up only once."""
    _record_types(emulator)
    assert connector.write("Opportunity", [WriteOp("a", None, {**DEAL, "StageName": "Qualification",
                                                               "RecordType.DeveloperName": "Renewal"})])[0].ok
    emulator.seed({"RecordType": [{"Name": "Upsell", "DeveloperName": "Upsell", "SobjectType": "Opportunity"}]})
    upsell = next(r["Id"] for r in emulator.dump("RecordType") if r["DeveloperName"] == "Upsell")
    [result] = connector.write("Opportunity", [WriteOp("b", None, {**DEAL, "StageName": "Qualification",
                                                                   "RecordType.DeveloperName": "Upsell"})])
    assert result.ok
    assert next(r for r in emulator.dump("Opportunity") if r["Id"] == result.id)["RecordTypeId"] == upsell
    before = emulator.counts.get("GET /services/data/v{version}/query/", 0)
    for _ in range(3):
        connector.write("Opportunity", [WriteOp("c", None, {**DEAL, "StageName": "Qualification",
                                                            "RecordType.DeveloperName": "Nope"})])
    assert emulator.counts.get("GET /services/data/v{version}/query/", 0) - before == 1
