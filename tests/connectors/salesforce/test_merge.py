"""Salesforce merges: the SOAP merge() request the connector sends and how it reads the answers, pinned
with `responses`; the queryAll that lists merges; and the emulator's merge() against the same client."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from responses import matchers

from connectors.base import ConnectorSettings, Merge, Secret
from connectors.emulator import EmulatorServer
from connectors.errors import ConnectorError, FailureCode
from connectors.salesforce import SalesforceConnector, soap
from connectors.salesforce.emulator import SalesforceEmulator

HOST = "https://acme.my.salesforce.com"
SOAP_URL = HOST + "/services/Soap/u/59.0"
BASE = HOST + "/services/data/v59.0/"
MASTER, LOSER = "001Dn0000000001IAA", "001Dn0000000002IAA"
DESCRIBE = {"name": "Account", "fields": [
    {"name": n, "type": t, "nillable": True, "createable": True, "updateable": True}
    for n, t in (("Id", "id"), ("SystemModstamp", "datetime"), ("Phone", "phone"), ("Website", "url"))]}
P = f"{{{soap.PARTNER}}}"
OBJ = f"{{{soap.SOBJECT}}}"


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def connector() -> SalesforceConnector:
    return SalesforceConnector(ConnectorSettings("salesforce", HOST, Secret("sess-1")))


@pytest.fixture
def sf_emulator_connector(sf_server: EmulatorServer, emulator: SalesforceEmulator
                          ) -> Iterator[tuple[SalesforceEmulator, SalesforceConnector]]:
    settings = ConnectorSettings("salesforce", sf_server.url, Secret("tok"), {"ca_file": emulator.ca_file},
                                 timeout=10)
    conn = SalesforceConnector(settings)
    yield emulator, conn
    conn.close()


def _ok(merged: list[str], related: list[str] = ()) -> str:  # type: ignore[assignment]
    return soap.merge_response([soap.MergeResult(True, MASTER, tuple(merged), tuple(related))])


def test_merge_posts_the_partner_envelope_with_the_session_and_the_master_values(
        mock: responses.RequestsMock, connector: SalesforceConnector) -> None:
    mock.get(BASE + "sobjects/Account/describe", json=DESCRIBE)
    call = mock.post(SOAP_URL, body=_ok([LOSER], ["003Dn0000000009IAA"]), content_type=soap.CONTENT_TYPE,
                     match=[matchers.header_matcher({"SOAPAction": "merge", "Content-Type": soap.CONTENT_TYPE})])
    assert connector.merge("Account", MASTER, LOSER, {"phone": "+1 555 0100"}) == MASTER

    root = ET.fromstring(call.calls[0].request.body)
    assert root.findtext(f".//{P}SessionHeader/{P}sessionId") == "sess-1"
    request = root.find(f".//{P}merge/{P}request")
    assert request is not None
    master = request.find(f"{P}masterRecord")
    assert [(child.tag, child.text) for child in master] == [
        (f"{OBJ}type", "Account"), (f"{OBJ}Id", MASTER), (f"{OBJ}Phone", "+1 555 0100")], "field names from describe"
    assert [e.text for e in request.findall(f"{P}recordToMergeIds")] == [LOSER]
    assert connector.calls.write == 1


def test_a_failed_merge_result_raises_with_the_record_code(mock: responses.RequestsMock,
                                                          connector: SalesforceConnector) -> None:
    body = soap.merge_response([soap.MergeResult(False, errors=(
        soap.MergeError("ENTITY_IS_DELETED", "entity is deleted", ()),))])
    mock.post(SOAP_URL, body=body, content_type=soap.CONTENT_TYPE)
    with pytest.raises(ConnectorError) as err:
        connector.merge("Account", MASTER, LOSER)
    assert err.value.code is FailureCode.RECORD_NOT_FOUND and err.value.vendor_code == "ENTITY_IS_DELETED"


@pytest.mark.parametrize(("fault", "code"), [
    ("INVALID_SESSION_ID", FailureCode.AUTH_EXPIRED),
    ("MALFORMED_ID", FailureCode.REMOTE_REJECTED),
])
def test_a_soap_fault_is_classified_like_the_rest_api_errors(mock: responses.RequestsMock,
                                                             connector: SalesforceConnector,
                                                             fault: str, code: FailureCode) -> None:
    mock.post(SOAP_URL, status=500, body=soap.fault_envelope(fault, "refused"), content_type=soap.CONTENT_TYPE)
    with pytest.raises(ConnectorError) as err:
        connector.merge("Account", MASTER, LOSER)
    assert err.value.code is code and err.value.vendor_code == fault
    assert len(mock.calls) == 1, "a fault that cannot pass is not retried"


def test_an_object_salesforce_cannot_merge_is_refused_without_a_call(connector: SalesforceConnector) -> None:
    with pytest.raises(ConnectorError) as err:
        connector.merge("Opportunity", "006Dn0000000001IAA", "006Dn0000000002IAA")
    assert err.value.code is FailureCode.CONFIG_ERROR
    assert connector.merges("Opportunity", None) == []


def test_merges_reads_deleted_losers_with_their_master_through_query_all(mock: responses.RequestsMock,
                                                                        connector: SalesforceConnector) -> None:
    since = datetime(2026, 2, 1, 10, 0, 0, tzinfo=UTC)
    soql = ("SELECT Id, MasterRecordId, SystemModstamp FROM Account WHERE IsDeleted = true AND "
            "MasterRecordId != null AND SystemModstamp >= 2026-02-01T10:00:00+00:00 ORDER BY SystemModstamp, Id")
    mock.get(BASE + "queryAll/", match=[matchers.query_param_matcher({"q": soql})], json={
        "totalSize": 1, "done": True, "records": [{
            "attributes": {"type": "Account"}, "Id": LOSER, "MasterRecordId": MASTER,
            "SystemModstamp": "2026-02-01T10:00:03.000+0000"}]})
    assert connector.merges("Account", since) == [
        Merge("Account", MASTER, (LOSER,), datetime(2026, 2, 1, 10, 0, 3, tzinfo=UTC))]


def test_the_emulator_serves_merge_over_soap_and_faults_a_malformed_id(
        sf_emulator_connector: tuple[SalesforceEmulator, SalesforceConnector]) -> None:
    emulator, conn = sf_emulator_connector
    ids = []
    for name in ("Keep", "Lose"):
        out = emulator.store.create("Account", {"Name": name, "Website": f"{name.lower()}.example"},
                                    datetime.now(UTC))
        ids.append(out[0])
    child = emulator.store.create("Contact", {"LastName": "Child", "AccountId": ids[1]}, datetime.now(UTC))[0]
    assert conn.merge("Account", ids[0], ids[1], {"Phone": "555"}) == ids[0]
    assert emulator.store.get("Account", ids[1])["IsDeleted"] is True
    assert emulator.store.get("Account", ids[1])["MasterRecordId"] == ids[0]
    assert emulator.store.get("Account", ids[0])["Phone"] == "555"
    assert emulator.store.get("Contact", child)["AccountId"] == ids[0]
    assert [m.loser_ids for m in conn.merges("Account", None)] == [(ids[1],)]
    with pytest.raises(ConnectorError) as err:
        conn.merge("Account", ids[0], "not-an-id")
    assert err.value.vendor_code == "MALFORMED_ID" and err.value.code is FailureCode.REMOTE_REJECTED
    with pytest.raises(ConnectorError) as err:
        conn.merge("Account", ids[0], ids[1])
    assert err.value.vendor_code == "ENTITY_IS_DELETED"


def test_the_emulator_answers_a_merge_without_a_session_with_a_soap_fault(api: Any) -> None:
    envelope = soap.merge_envelope("", soap.MergeRequest("Account", MASTER, (LOSER,)))
    api.session.headers.pop("Authorization")
    response = api.call("POST", "/services/Soap/u/59.0", data=envelope, headers={"SOAPAction": "merge"})
    assert response.status_code == 500 and response.headers["Content-Type"].startswith("text/xml")
    with pytest.raises(soap.SoapFault) as fault:
        soap.parse_merge_response(response.content)
    assert fault.value.code == "INVALID_SESSION_ID"
    assert api.stats().get("POST /services/Soap/u/{version}") == 1
