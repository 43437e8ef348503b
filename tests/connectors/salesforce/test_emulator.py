"""The Salesforce emulator over real HTTPS, as any REST client (here plain `requests`) sees it."""
from __future__ import annotations

import re

import pytest
import requests

from connectors.emulator import EmulatorServer
from connectors.salesforce.emulator import SalesforceEmulator
from tests.connectors.salesforce.conftest import Api

SF_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
COMPOSITE = "POST /services/data/v{version}/composite/sobjects"


def contacts(n: int, **extra: object) -> list[dict]:
    return [{"attributes": {"type": "Contact"}, "LastName": f"Person{i}", "Email": f"p{i}@example.com",
             **extra} for i in range(n)]


def create(api: Api, records: list[dict], all_or_none: bool = False) -> requests.Response:
    return api.call("POST", "composite/sobjects", json={"allOrNone": all_or_none, "records": records})


def soql(api: Api, text: str, endpoint: str = "query/", **kwargs: object) -> dict:
    response = api.call("GET", endpoint, params={"q": text}, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def test_serves_https_that_only_its_own_ca_makes_trusted(sf_server: EmulatorServer,
                                                          emulator: SalesforceEmulator) -> None:
    assert sf_server.url.startswith("https://")
    assert emulator.banner(sf_server.url) == [f"ca file: {emulator.ca_file}"]
    untrusting = requests.Session()
    untrusting.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        untrusting.get(sf_server.url + "/services/data/v59.0/limits/", timeout=5)


def test_query_pages_through_next_records_url(api: Api, emulator: SalesforceEmulator) -> None:
    emulator.page_size = 2
    assert create(api, contacts(5)).status_code == 200
    page = soql(api, "SELECT Id, Email FROM Contact ORDER BY Email")
    seen = []
    while True:
        assert page["totalSize"] == 5
        seen += [r["Email"] for r in page["records"]]
        assert all(r["attributes"]["type"] == "Contact" for r in page["records"])
        if page["done"]:
            assert "nextRecordsUrl" not in page
            break
        assert len(page["records"]) == 2
        assert re.fullmatch(r"/services/data/v59\.0/query/\w+-\d+", page["nextRecordsUrl"])
        page = api.call("GET", page["nextRecordsUrl"]).json()
    assert seen == [f"p{i}@example.com" for i in range(5)]
    stale = api.call("GET", "query/01gNOPE-2")
    assert stale.status_code == 400 and stale.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_batch_size_header_chooses_the_page(api: Api, emulator: SalesforceEmulator) -> None:
    emulator.seed({"Account": [{"Name": f"Acct {i}"} for i in range(450)]})
    page = soql(api, "SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=200"})
    assert (len(page["records"]), page["totalSize"], page["done"]) == (200, 450, False)
    assert len(soql(api, "SELECT Id FROM Account")["records"]) == 450  # default page: 2000


def test_query_all_includes_soft_deleted_records(api: Api) -> None:
    ids = [r["id"] for r in create(api, contacts(2)).json()]
    assert api.call("DELETE", f"sobjects/Contact/{ids[0]}").status_code == 204
    live = soql(api, "SELECT Id FROM Contact")
    everything = soql(api, "SELECT Id, IsDeleted FROM Contact", "queryAll/")
    assert [r["Id"] for r in live["records"]] == [ids[1]]
    assert {r["Id"]: r["IsDeleted"] for r in everything["records"]} == {ids[0]: True, ids[1]: False}
    gone = api.call("PATCH", f"sobjects/Contact/{ids[0]}", json={"Title": "x"})
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_collections_are_capped_at_200_records(api: Api, emulator: SalesforceEmulator) -> None:
    too_many = create(api, contacts(201))
    assert too_many.status_code == 400
    assert too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert [r["LastName"] for r in emulator.dump("Contact")] == []
    ok = create(api, contacts(200))
    assert ok.status_code == 200 and all(r["success"] for r in ok.json())
    assert len(emulator.dump("Contact")) == 200


def test_all_or_none_false_keeps_the_good_records(api: Api, emulator: SalesforceEmulator) -> None:
    records = contacts(3)
    records[1]["Email"] = "not-an-email"
    results = create(api, records).json()
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"] == [{"statusCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"],
                                     "message": "Email: invalid email address: not-an-email"}]
    assert sorted(r["LastName"] for r in emulator.dump("Contact")) == ["Person0", "Person2"]


def test_all_or_none_true_rolls_everything_back(api: Api, emulator: SalesforceEmulator) -> None:
    first = create(api, contacts(2)).json()
    records = contacts(3)
    del records[2]["LastName"]
    results = create(api, records, all_or_none=True).json()
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK", "ALL_OR_NONE_OPERATION_ROLLED_BACK", "REQUIRED_FIELD_MISSING"]
    assert not any(r["success"] for r in results)
    updates = [{"attributes": {"type": "Contact"}, "id": first[0]["id"], "Title": "CEO"},
               {"attributes": {"type": "Contact"}, "id": first[1]["id"], "LeadSource": "Web", "Email": "bad"}]
    results = api.call("PATCH", "composite/sobjects", json={"allOrNone": True, "records": updates}).json()
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert [(r["Title"], r["LeadSource"]) for r in emulator.dump("Contact")] == [(None, None)] * 2


def test_upsert_by_external_id(api: Api, emulator: SalesforceEmulator) -> None:
    created = api.call("PATCH", "sobjects/Contact/External_Id__c/EXT-1", json={"LastName": "Ng"})
    assert created.status_code == 201
    assert created.json()["created"] is True
    updated = api.call("PATCH", "sobjects/Contact/External_Id__c/EXT-1", json={"Title": "CFO"})
    assert updated.status_code == 200
    assert updated.json() == {"id": created.json()["id"], "success": True, "errors": [], "created": False}
    assert [(r["LastName"], r["Title"]) for r in emulator.dump("Contact")] == [("Ng", "CFO")]
    emulator.seed({"Contact": [{"LastName": "A", "Email": "dup@x.com"},
                               {"LastName": "B", "Email": "DUP@x.com"}]})
    several = api.call("PATCH", "sobjects/Contact/Email/dup@x.com", json={"Title": "x"})
    assert several.status_code == 300 and len(several.json()) == 2
    bad_field = api.call("PATCH", "sobjects/Contact/Title/x", json={"LastName": "x"})
    assert bad_field.status_code == 404 and bad_field.json()[0]["errorCode"] == "NOT_FOUND"


def test_collection_upsert_reports_created_per_record(api: Api) -> None:
    body = {"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "External_Id__c": "A-1", "Name": "Acme"},
        {"attributes": {"type": "Account"}, "External_Id__c": "A-1", "Name": "Acme Corp"},
        {"attributes": {"type": "Account"}, "Name": "No key"}]}
    results = api.call("PATCH", "composite/sobjects/Account/External_Id__c", json=body).json()
    assert [(r["success"], r["created"]) for r in results] == [(True, True), (True, False), (False, False)]
    assert results[0]["id"] == results[1]["id"]


@pytest.mark.parametrize(("sobject", "body", "code", "message"), [
    ("Contact", {"FirstName": "Al"}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]"),
    ("Contact", {"LastName": "X", "Email": "x"}, "INVALID_EMAIL_ADDRESS", "Email: invalid email address: x"),
    ("Contact", {"LastName": "X" * 81}, "STRING_TOO_LONG", "max length=80"),
    ("Contact", {"LastName": "X", "Shoe_Size__c": 9}, "INVALID_FIELD", "No such column 'Shoe_Size__c'"),
    ("Contact", {"LastName": "X", "AccountId": "nonsense"}, "MALFORMED_ID", "id value of incorrect type"),
    ("Contact", {"LastName": "X", "AccountId": "001Dn0000000999IAA"}, "INVALID_CROSS_REFERENCE_KEY",
     "invalid cross reference id"),
    ("Opportunity", {"Name": "Big", "StageName": "Won", "CloseDate": "2026-03-01"},
     "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Stage: bad value for restricted picklist field: Won"),
    ("Opportunity", {"Name": "Big", "StageName": "Closed Won", "CloseDate": "2026-03-01", "IsWon": True},
     "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: IsWon"),
    ("Opportunity", {"Name": "Big", "StageName": "Prospecting", "CloseDate": "2026-03-01", "Amount": -5},
     "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Amount cannot be negative."),
    ("Lead", {"LastName": "X"}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Company]"),
])
def test_validation_errors_are_arrays_with_salesforce_codes(api: Api, sobject: str, body: dict, code: str,
                                                            message: str) -> None:
    response = api.call("POST", f"sobjects/{sobject}/", json=body)
    assert response.status_code == 400
    errors = response.json()
    assert isinstance(errors, list)
    assert errors[0]["errorCode"] == code
    assert message in errors[0]["message"]


def test_records_get_stamps_ids_and_derived_fields(api: Api, emulator: SalesforceEmulator) -> None:
    created = api.call("POST", "sobjects/Opportunity/", json={"Name": "Big", "StageName": "Closed Won",
                                                              "CloseDate": "2026-03-01", "Amount": 1000})
    assert created.status_code == 201
    opp_id = created.json()["id"]
    assert re.fullmatch(r"006[A-Za-z0-9]{15}", opp_id)
    record = api.call("GET", f"sobjects/Opportunity/{opp_id}").json()
    assert (record["IsClosed"], record["IsWon"], record["Probability"]) == (True, True, 100)
    assert all(SF_DATETIME.match(record[f]) for f in ("CreatedDate", "LastModifiedDate", "SystemModstamp"))
    assert record["OwnerId"].startswith("005")
    before = record["SystemModstamp"]
    lost = api.call("PATCH", f"sobjects/Opportunity/{opp_id}", json={"StageName": "Closed Lost"})
    assert lost.status_code == 204
    after = api.call("GET", f"sobjects/Opportunity/{opp_id}").json()
    assert (after["IsWon"], after["Probability"]) == (False, 0)
    assert after["SystemModstamp"] >= before and after["CreatedDate"] == record["CreatedDate"]


def test_seed_keeps_messy_data_and_fills_ids_and_stamps(emulator: SalesforceEmulator) -> None:
    counts = emulator.seed({"Contact": [
        {"attributes": {"type": "Contact"}, "Id": "003A0000006Vm9r", "LastName": "Given", "Email": "broken@",
         "SystemModstamp": "2026-01-02T03:04:05.000+0000"},
        {"LastName": "Generated", "Email": "ok@example.com"}]})
    assert counts == {"Contact": 2}
    given, generated = emulator.dump("Contact")
    # A 15-char id is stored in its 18-char form; the checksum is Salesforce's (001A0000006Vm9r -> ...IAC).
    assert given["Id"] == "003A0000006Vm9rIAC" and given["Email"] == "broken@"
    assert given["SystemModstamp"] == "2026-01-02T03:04:05.000+0000"
    assert given["attributes"]["type"] == "Contact"
    assert generated["Id"].startswith("003") and len(generated["Id"]) == 18
    assert SF_DATETIME.match(generated["SystemModstamp"])


def test_query_errors(api: Api) -> None:
    unknown = api.call("GET", "query/", params={"q": "SELECT Id, Emial FROM Contact"})
    malformed = api.call("GET", "query/", params={"q": "SELECT Id FROM"})
    assert (unknown.status_code, unknown.json()[0]["errorCode"]) == (400, "INVALID_FIELD")
    assert (malformed.status_code, malformed.json()[0]["errorCode"]) == (400, "MALFORMED_QUERY")


def test_expired_session_gets_a_401_list(api: Api, sf_server: EmulatorServer,
                                         emulator: SalesforceEmulator) -> None:
    assert api.call("GET", "limits/").status_code == 200
    api.admin("POST", "faults", json={"expire_tokens": True})
    expired = api.call("GET", "limits/")
    assert expired.status_code == 401
    assert expired.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert Api(sf_server, emulator.ca_file, token="fresh").call("GET", "limits/").status_code == 200


def test_daily_allocation_and_limit_info_header(api: Api, emulator: SalesforceEmulator) -> None:
    emulator.daily_max = 3
    first = api.call("GET", "limits/")
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/3"
    assert first.json()["DailyApiRequests"] == {"Max": 3, "Remaining": 2}
    assert api.call("GET", "sobjects").headers["Sforce-Limit-Info"] == "api-usage=2/3"
    assert api.call("GET", "limits/").status_code == 200
    refused = api.call("GET", "limits/")
    assert refused.status_code == 403
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert refused.json()[0]["message"] == "TotalRequests Limit exceeded."
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/3"


def test_rate_faults_answer_like_salesforce(api: Api) -> None:
    api.admin("POST", "faults", json={"rate_429": 1.0})
    concurrency = api.call("GET", "limits/")
    assert concurrency.status_code == 403
    assert concurrency.json()[0]["message"] == "ConcurrentPerOrgLongTxn Limit exceeded."
    api.admin("POST", "faults", json={"rate_429": 0.0, "rate_5xx": 1.0})
    down = api.call("GET", "limits/")
    assert (down.status_code, down.json()[0]["errorCode"]) == (503, "SERVER_UNAVAILABLE")


def test_lock_rows_fault_fails_record_writes(api: Api) -> None:
    api.admin("POST", "faults", json={"lock_rows": 1})
    results = create(api, contacts(2)).json()
    assert [r["success"] for r in results] == [False, True]
    assert results[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"


def test_stats_count_requests_per_route(api: Api) -> None:
    create(api, contacts(2))
    soql(api, "SELECT Id FROM Contact")
    soql(api, "SELECT Id FROM Contact")
    stats = api.stats()
    assert stats[COMPOSITE] == 1
    assert stats["GET /services/data/v{version}/query/"] == 2


def test_describe_carries_field_metadata(api: Api) -> None:
    listing = api.call("GET", "sobjects").json()
    assert {s["name"]: s["keyPrefix"] for s in listing["sobjects"]}["Lead"] == "00Q"
    fields = {f["name"]: f for f in api.call("GET", "sobjects/Opportunity/describe").json()["fields"]}
    stage = fields["StageName"]
    assert stage["restrictedPicklist"] and not stage["nillable"]
    assert stage["picklistValues"][0]["value"] == "Prospecting"
    assert "Closed Lost" in [p["value"] for p in stage["picklistValues"]]
    assert (fields["IsWon"]["createable"], fields["IsWon"]["updateable"]) == (False, False)
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert api.call("GET", "sobjects/Nope__c/describe").status_code == 404


def test_seed_refuses_unknown_objects_by_name(emulator: SalesforceEmulator) -> None:
    with pytest.raises(ValueError, match="unknown Salesforce object 'contacts'"):
        emulator.seed({"contacts": [{"LastName": "X"}]})
