"""Pins the exact HTTP requests the connector sends (URL, query string, JSON body) with `responses`.

Every mock must be called (`assert_all_requests_are_fired`), so a request the connector stops making
fails the test as surely as a request with a changed shape.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
import responses
import urllib3
from responses import matchers

from connectors.base import ConnectorSettings, Secret, WriteOp
from connectors.errors import ConnectorError, FailureCode
from connectors.salesforce import SalesforceConnector

BASE = "https://acme.my.salesforce.com/services/data/v59.0/"
AUTH = matchers.header_matcher({"Authorization": "Bearer sess-1"})
DESCRIBE = {"name": "Contact", "fields": [
    {"name": n, "type": t, "nillable": True, "createable": True, "updateable": True}
    for n, t in (("Id", "id"), ("SystemModstamp", "datetime"), ("Email", "email"))]}


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def connector() -> SalesforceConnector:
    settings = ConnectorSettings("salesforce", "https://acme.my.salesforce.com", Secret("sess-1"))
    return SalesforceConnector(settings)


def test_composite_create_request(mock: responses.RequestsMock, connector: SalesforceConnector) -> None:
    mock.post(BASE + "composite/sobjects", match=[AUTH, matchers.json_params_matcher({
        "allOrNone": False,
        "records": [{"attributes": {"type": "Contact"}, "LastName": "Doe", "Email": "jd@example.com"},
                    {"attributes": {"type": "Contact"}, "LastName": "Roe"}],
    }, strict_match=True)], json=[{"id": "003Dn0000000001IAA", "success": True, "errors": []},
                                  {"success": False, "errors": [{"statusCode": "DUPLICATES_DETECTED",
                                                                 "message": "Use one of these records?",
                                                                 "fields": []}]}],
             headers={"Sforce-Limit-Info": "api-usage=42/15000"})
    results = connector.write("Contact", [WriteOp("a", None, {"LastName": "Doe", "Email": "jd@example.com"}),
                                          WriteOp("b", None, {"LastName": "Roe"})])
    assert results[0].id == "003Dn0000000001IAA" and results[0].created
    assert results[1].error is not None and results[1].error.code is FailureCode.DUPLICATE_CONFLICT
    assert connector.api_usage == (42, 15000)


def test_composite_update_request(mock: responses.RequestsMock, connector: SalesforceConnector) -> None:
    mock.patch(BASE + "composite/sobjects", match=[matchers.json_params_matcher({
        "allOrNone": False,
        "records": [{"attributes": {"type": "Contact"}, "id": "003Dn0000000001IAA", "Title": "CEO"}],
    }, strict_match=True)], json=[{"id": "003Dn0000000001IAA", "success": True, "errors": []}])
    assert connector.write("Contact", [WriteOp("a", "003Dn0000000001IAA", {"Title": "CEO"})])[0].ok


def test_incremental_soql_and_next_page(mock: responses.RequestsMock, connector: SalesforceConnector) -> None:
    mock.get(BASE + "sobjects/Contact/describe", match=[AUTH], json=DESCRIBE)
    soql = ("SELECT Id, SystemModstamp, Email FROM Contact WHERE SystemModstamp >= 2024-01-02T03:04:05+00:00 "
            "ORDER BY SystemModstamp, Id")
    record = {"attributes": {"type": "Contact", "url": "/x"}, "Id": "003Dn0000000001IAA",
              "SystemModstamp": "2024-01-02T03:04:05.000+0000", "Email": "a@example.com"}
    mock.get(BASE + "query/", match=[AUTH, matchers.query_param_matcher({"q": soql})],
             json={"totalSize": 2, "done": False, "records": [record],
                   "nextRecordsUrl": "/services/data/v59.0/query/01gXX-1"})
    mock.get(BASE + "query/01gXX-1", match=[AUTH],
             json={"totalSize": 2, "done": True, "records": [
                 {**record, "Id": "003Dn0000000002IAA", "SystemModstamp": "2024-01-02T03:04:05.678+0000"}]})
    since = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    pages = list(connector.read("Contact", since, ["email"]))
    # format_soql drops the ms, so the query reads from 03:04:05.000; what precedes `since` is dropped, what
    # is stamped exactly `since` is kept (inclusive).
    assert [[r.id for r in page] for page in pages] == [[], ["003Dn0000000002IAA"]]
    assert connector.calls.read == 3


@pytest.mark.parametrize(("status", "body", "code"), [
    (403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}],
     FailureCode.DAILY_QUOTA_EXHAUSTED),
    (403, [{"errorCode": "INSUFFICIENT_ACCESS", "message": "no"}], FailureCode.PERMISSION_DENIED),
    (401, [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}],
     FailureCode.AUTH_EXPIRED),
    (400, [{"errorCode": "MALFORMED_QUERY", "message": "unexpected token"}], FailureCode.SCHEMA_DRIFT),
])
def test_whole_call_errors_are_classified_without_retry(mock: responses.RequestsMock,
                                                        connector: SalesforceConnector, status: int,
                                                        body: list, code: FailureCode) -> None:
    mock.get(BASE + "limits/", status=status, json=body)
    with pytest.raises(ConnectorError) as err:
        connector.check()
    assert err.value.code is code and err.value.vendor_code == body[0]["errorCode"]
    assert connector.calls.read == 1


def test_unavailable_is_retried(mock: responses.RequestsMock, connector: SalesforceConnector) -> None:
    mock.get(BASE + "limits/", status=503, json=[{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}])
    mock.get(BASE + "limits/", json={"DailyApiRequests": {"Max": 15000, "Remaining": 14000}})
    connector.check()
    assert connector.calls.read == 2


def test_creates_with_an_external_id_are_one_collections_upsert_by_that_field(
        mock: responses.RequestsMock, connector: SalesforceConnector) -> None:
    """docs/decisions.md 14: a create carrying its upsert key goes to `PATCH composite/sobjects/{object}/{field}`;
    `created` says whether Salesforce made the record or found it (another worker's, or a lost answer's)."""
    mock.patch(BASE + "composite/sobjects/Contact/External_Id__c", match=[AUTH, matchers.json_params_matcher({
        "allOrNone": False,
        "records": [{"attributes": {"type": "Contact"}, "LastName": "Doe", "External_Id__c": "jd@example.com"},
                    {"attributes": {"type": "Contact"}, "LastName": "Roe", "External_Id__c": "rr@example.com"}],
    }, strict_match=True)], json=[{"id": "003Dn0000000001IAA", "success": True, "errors": [], "created": True},
                                  {"id": "003Dn0000000002IAA", "success": True, "errors": [], "created": False}])
    mock.post(BASE + "composite/sobjects", match=[matchers.json_params_matcher({
        "allOrNone": False, "records": [{"attributes": {"type": "Contact"}, "LastName": "Keyless"}],
    }, strict_match=True)], json=[{"id": "003Dn0000000003IAA", "success": True, "errors": []}])
    ops = [WriteOp("a", None, {"LastName": "Doe", "External_Id__c": "jd@example.com"}, upsert="External_Id__c"),
           WriteOp("b", None, {"LastName": "Roe", "External_Id__c": "rr@example.com"}, upsert="External_Id__c"),
           WriteOp("c", None, {"LastName": "Keyless"}, upsert="External_Id__c")]
    results = connector.write("Contact", ops)
    assert [(r.ref, r.id, r.created) for r in results] == [
        ("a", "003Dn0000000001IAA", True), ("b", "003Dn0000000002IAA", False), ("c", "003Dn0000000003IAA", True)]
    assert connector.calls.write == 2


def test_a_locked_upsert_is_retried_as_an_upsert(mock: responses.RequestsMock, connector: SalesforceConnector) -> None:
    url = BASE + "composite/sobjects/Contact/External_Id__c"
    body = {"allOrNone": False, "records": [{"attributes": {"type": "Contact"}, "External_Id__c": "jd@example.com"}]}
    mock.patch(url, match=[matchers.json_params_matcher(body, strict_match=True)],
               json=[{"success": False, "created": False, "errors": [{
                   "statusCode": "UNABLE_TO_LOCK_ROW", "message": "unable to obtain exclusive access", "fields": []}]}])
    mock.patch(url, match=[matchers.json_params_matcher(body, strict_match=True)],
               json=[{"id": "003Dn0000000001IAA", "success": True, "errors": [], "created": False}])
    [result] = connector.write("Contact", [WriteOp("a", None, {"External_Id__c": "jd@example.com"},
                                                   upsert="External_Id__c")])
    assert result.ok and result.id == "003Dn0000000001IAA" and not result.created


def _quick_retries() -> SalesforceConnector:
    options = {"retry_base_wait": 0.01, "retry_max_wait": 0.01}
    return SalesforceConnector(ConnectorSettings("salesforce", "https://acme.my.salesforce.com", Secret("sess-1"),
                                                 options))


def test_a_create_whose_connection_drops_is_not_sent_again(mock: responses.RequestsMock) -> None:
    """A connection reset after the create went out may hide a record Salesforce made: sending it again
    could make an Account twice. The run stops with NETWORK; the next run's lookup finds what was made."""
    connector = _quick_retries()
    mock.post(BASE + "composite/sobjects", body=requests.exceptions.ConnectionError(
        "('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))"))
    with pytest.raises(ConnectorError) as err:
        connector.write("Account", [WriteOp("a", None, {"Name": "Acme"})])
    assert err.value.code is FailureCode.NETWORK and err.value.system == "salesforce"
    assert len(mock.calls) == 1 and connector.calls.write == 1


def test_a_create_whose_connection_was_refused_is_retried(mock: responses.RequestsMock) -> None:
    """A refused connection sent nothing, so the create is safe to send again."""
    connector = _quick_retries()
    refused = urllib3.exceptions.MaxRetryError(None, "/", urllib3.exceptions.NewConnectionError(  # type: ignore[arg-type]
        None, "Failed to establish a new connection: [Errno 111] Connection refused"))
    mock.post(BASE + "composite/sobjects", body=requests.exceptions.ConnectionError(refused))
    mock.post(BASE + "composite/sobjects", json=[{"id": "001Dn0000000001IAA", "success": True, "errors": []}])
    [result] = connector.write("Account", [WriteOp("a", None, {"Name": "Acme"})])
    assert result.ok and result.id == "001Dn0000000001IAA" and len(mock.calls) == 2


def test_an_update_whose_connection_drops_is_sent_again(mock: responses.RequestsMock) -> None:
    """An update sets the same values twice without harm: a reset connection is retried."""
    connector = _quick_retries()
    mock.patch(BASE + "composite/sobjects", body=requests.exceptions.ConnectionError("Connection reset by peer"))
    mock.patch(BASE + "composite/sobjects", json=[{"id": "001Dn0000000001IAA", "success": True, "errors": []}])
    assert connector.write("Account", [WriteOp("a", "001Dn0000000001IAA", {"Name": "Acme"})])[0].ok
    assert len(mock.calls) == 2
