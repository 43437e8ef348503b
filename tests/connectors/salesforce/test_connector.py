"""SalesforceConnector against the running HTTPS emulator: reads, lookups, writes, errors, describe."""
from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import ConnectorSettings, Secret, WriteOp
from connectors.emulator import EmulatorServer
from connectors.errors import ConnectorError, FailureCode
from connectors.salesforce import SalesforceConnector
from connectors.salesforce.emulator import SalesforceEmulator
from connectors.salesforce.tls import ensure_certificate
from tests.connectors.salesforce.conftest import Api

T1 = datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
T2 = datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC)
COMPOSITE_POST = "POST /services/data/v{version}/composite/sobjects"
COMPOSITE_PATCH = "PATCH /services/data/v{version}/composite/sobjects"
QUERY = "GET /services/data/v{version}/query/"


def seed_stamped(emulator: SalesforceEmulator) -> None:
    """Three contacts, two sharing the boundary stamp T1 (one transaction, as Salesforce does)."""
    emulator.seed({"Contact": [
        {"LastName": "Later", "Email": "c@example.com", "SystemModstamp": "2026-01-02T03:04:06.000+0000"},
        {"LastName": "Twin B", "Email": "b@example.com", "SystemModstamp": "2026-01-02T03:04:05.123+0000"},
        {"LastName": "Twin A", "Email": "a@example.com", "SystemModstamp": "2026-01-02T03:04:05.123+0000"},
        {"LastName": "Old", "Email": "o@example.com", "SystemModstamp": "2025-12-31T23:59:59.000+0000"},
    ]})


def test_incremental_read_is_inclusive_and_paged(connector: SalesforceConnector,
                                                  emulator: SalesforceEmulator) -> None:
    seed_stamped(emulator)
    emulator.page_size = 2
    pages = list(connector.read("Contact", T1, ["Email", "LastName"]))
    assert [len(p) for p in pages] == [2, 1]
    records = [r for page in pages for r in page]
    assert [r.fields["LastName"] for r in records] == ["Twin B", "Twin A", "Later"]  # stamp, then Id order
    assert [r.modified_at for r in records] == [T1, T1, T2]
    assert records[0].modified_at.tzinfo is not None
    assert "attributes" not in records[0].fields and records[0].id == records[0].fields["Id"]
    # The next run starts at the last stamp seen: the record sharing it is read again, not lost.
    assert [r.fields["LastName"] for p in connector.read("Contact", T2, ["LastName"]) for r in p] == ["Later"]
    everything = [r for p in connector.read("Contact", None, ["LastName"]) for r in p]
    assert len(everything) == 4


def test_read_refuses_unknown_fields_before_querying(connector: SalesforceConnector, api: Api) -> None:
    with pytest.raises(ConnectorError) as err:
        list(connector.read("Contact", None, ["Email", "Shoe_Size__c"]))
    assert err.value.code is FailureCode.SCHEMA_DRIFT
    assert QUERY not in api.stats()


def test_lookup_by_email_ignores_case(connector: SalesforceConnector, emulator: SalesforceEmulator) -> None:
    emulator.seed({"Contact": [{"LastName": "Pat", "Email": "Pat.Lee@Example.COM"},
                               {"LastName": "Kim", "Email": "kim@example.com"}]})
    found = connector.lookup("Contact", "Email", ["pat.lee@example.com", "nobody@example.com"])
    assert [r.fields["Email"] for r in found] == ["Pat.Lee@Example.COM"]
    assert connector.lookup("Contact", "Email", []) == []


def test_lookup_by_website_domain_matches_any_url_form(connector: SalesforceConnector,
                                                       emulator: SalesforceEmulator) -> None:
    emulator.seed({"Account": [{"Name": "Acme", "Website": "https://www.ACME.com/about"},
                               {"Name": "Acme Labs", "Website": "acme.com"},
                               {"Name": "Other", "Website": "https://acme.io"},
                               {"Name": "No site"}]})
    found = connector.lookup("Account", "Website", ["acme.com"])
    assert sorted(r.fields["Website"] for r in found) == ["acme.com", "https://www.ACME.com/about"]


def test_lookup_of_many_values_is_chunked(connector: SalesforceConnector, emulator: SalesforceEmulator,
                                          api: Api) -> None:
    emails = [f"person{i:04d}@example.com" for i in range(600)]
    emulator.seed({"Contact": [{"LastName": "P", "Email": e} for e in emails]})
    found = connector.lookup("Contact", "Email", emails)
    assert sorted(r.fields["Email"] for r in found) == emails
    assert api.stats()[QUERY] > 1


@pytest.mark.parametrize("count", [1, 200, 450])
def test_writes_use_one_collections_call_per_200(connector: SalesforceConnector, emulator: SalesforceEmulator,
                                                 api: Api, count: int) -> None:
    ops = [WriteOp(f"r{i}", None, {"LastName": f"L{i}", "Email": f"w{i}@example.com"}) for i in range(count)]
    results = connector.write("Contact", ops)
    assert api.stats()[COMPOSITE_POST] == math.ceil(count / 200) == connector.calls.write
    assert [r.ref for r in results] == [op.ref for op in ops]
    assert all(r.ok and r.created for r in results)
    by_id = {row["Id"]: row["LastName"] for row in emulator.dump("Contact")}
    assert [by_id[r.id] for r in results] == [f"L{i}" for i in range(count)]  # results line up with ops


def test_refused_records_get_their_code_while_the_rest_is_written(connector: SalesforceConnector,
                                                                   emulator: SalesforceEmulator) -> None:
    deal = {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-06-30"}
    emulator.seed({"Opportunity": [{**deal, "Name": "Gone", "IsDeleted": True}, {**deal, "Name": "Live"}],
                   "Account": [{"Name": "Taken", "External_Id__c": "EXT-9"}]})
    gone, live = (row["Id"] for row in emulator.dump("Opportunity"))
    results = connector.write("Opportunity", [
        WriteOp("good", None, deal),
        WriteOp("stage", None, {**deal, "StageName": "Won"}),
        WriteOp("rule", None, {**deal, "Amount": -1}),
        WriteOp("drift", None, {**deal, "Old_Field__c": "x"}),
        WriteOp("missing", None, {"Name": "No stage"}),
        WriteOp("deleted", gone, {"Amount": 5}),
        WriteOp("update", live, {"Amount": 7}),
    ])
    codes = {r.ref: (r.error.code if r.error else None) for r in results}
    assert codes == {"good": None, "stage": FailureCode.PICKLIST_MISMATCH,
                     "rule": FailureCode.REMOTE_REJECTED, "drift": FailureCode.SCHEMA_DRIFT,
                     "missing": FailureCode.REMOTE_REJECTED,
                     "deleted": FailureCode.RECORD_NOT_FOUND, "update": None}
    stage = next(r for r in results if r.ref == "stage").error
    assert stage is not None and stage.vendor_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert "Won" in stage.message and stage.fields == ("StageName",)
    amounts = {row["Name"]: row["Amount"] for row in emulator.dump("Opportunity") if not row["IsDeleted"]}
    assert amounts == {"Live": 7, "Deal": None}
    dup = connector.write("Account", [WriteOp("dup", None, {"Name": "Again", "External_Id__c": "ext-9"})])
    assert dup[0].error is not None and dup[0].error.code is FailureCode.DUPLICATE_CONFLICT


def test_locked_rows_are_retried_on_their_own(connector: SalesforceConnector, api: Api) -> None:
    api.admin("POST", "faults", json={"lock_rows": 2})
    results = connector.write("Contact", [WriteOp(str(i), None, {"LastName": f"L{i}"}) for i in range(3)])
    assert all(r.ok for r in results)
    assert connector.calls.write == 3  # the batch, then each of the two locked records alone


def test_locked_rows_give_up_after_bounded_retries(connector: SalesforceConnector, api: Api) -> None:
    api.admin("POST", "faults", json={"lock_rows": 100})
    results = connector.write("Contact", [WriteOp("a", None, {"LastName": "A"})])
    assert results[0].error is not None and results[0].error.code is FailureCode.LOCK_CONTENTION
    assert connector.calls.write == 4


def test_expired_session_is_auth_expired_and_not_retried(connector: SalesforceConnector, api: Api) -> None:
    connector.check()
    api.admin("POST", "faults", json={"expire_tokens": True})
    with pytest.raises(ConnectorError) as err:
        list(connector.read("Contact", None, ["Email"]))
    assert err.value.code is FailureCode.AUTH_EXPIRED and err.value.status == 401
    assert connector.calls.read == 2  # check, then one refused describe


def test_concurrency_limit_is_retried_then_succeeds(connector: SalesforceConnector, api: Api) -> None:
    # Seed 1 rolls 0.13 then 0.85: the first call gets 403 ConcurrentPerOrgLongTxn, the retry passes.
    api.admin("POST", "faults", json={"rate_429": 0.5, "seed": 1})
    connector.check()
    assert connector.calls.read == 2
    assert api.stats()["GET /services/data/v{version}/limits/"] == 2


def test_daily_allocation_spent_stops_at_once(connector: SalesforceConnector,
                                              emulator: SalesforceEmulator) -> None:
    connector.check()
    assert connector.api_usage == (1, 100_000)
    emulator.daily_max = 1
    with pytest.raises(ConnectorError) as err:
        connector.describe("Contact")
    assert err.value.code is FailureCode.DAILY_QUOTA_EXHAUSTED
    assert connector.calls.read == 2


def test_untrusted_certificate_is_a_config_error(sf_server: EmulatorServer, tmp_path: Path) -> None:
    other_ca = ensure_certificate(tmp_path).ca_file  # a valid CA, just not the one that signed the emulator
    settings = ConnectorSettings("salesforce", sf_server.url, Secret("tok"), {"ca_file": str(other_ca)},
                                 timeout=5)
    with pytest.raises(ConnectorError) as err:
        SalesforceConnector(settings).check()
    assert err.value.code is FailureCode.CONFIG_ERROR


def test_describe_reads_picklists_and_required_fields_once(connector: SalesforceConnector, api: Api) -> None:
    opportunity = connector.describe("Opportunity")
    stage = opportunity.fields["StageName"]
    assert stage.required and stage.type == "picklist"
    assert stage.picklist[0] == "Prospecting" and "Closed Won" in stage.picklist
    assert opportunity.fields["IsWon"].createable is False
    assert opportunity.fields["OwnerId"].required is False  # defaulted on create
    lead = connector.describe("Lead")
    assert lead.fields["Status"].required is False and "Working - Contacted" in lead.fields["Status"].picklist
    assert {n for n, f in lead.fields.items() if f.required} == {"LastName", "Company"}
    assert lead.fields["Email"].length == 80
    connector.describe("Opportunity")
    assert api.stats()["GET /services/data/v{version}/sobjects/{sobject}/describe"] == 2
