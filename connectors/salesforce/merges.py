"""Salesforce merges: reading the ones made in the org, and making one through the SOAP `merge()` call.

Reading: a merged-away record stays in the recycle bin with `IsDeleted = true` and `MasterRecordId`
naming the survivor, which only `queryAll` shows (the documented way to list merges:
`SELECT Id FROM Contact WHERE IsDeleted = true AND MasterRecordId != null AND SystemModstamp > ...`).
Records leave the bin after about 15 days, so a pipeline idle longer than that misses merges
(`merge_memory`: the run then says some may have been missed).

Writing: REST has no merge and simple-salesforce no helper, so the envelope from `soap.py` is posted
with the connector's own session (same timeout, same CA) to `/services/Soap/u/{version}`.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from simple_salesforce import format_soql

from connectors.base import Merge
from connectors.errors import ConnectorError, FailureCode, classify_status
from connectors.salesforce import soap
from connectors.salesforce.errors import CALL_CODES, RECORD_CODES, classify_request_limit
from connectors.salesforce.values import parse_datetime

if TYPE_CHECKING:
    from connectors.salesforce.connector import SalesforceConnector


def read_merges(conn: SalesforceConnector, object: str, since: datetime | None) -> list[Merge]:
    """One `Merge` per deleted loser with a `MasterRecordId`, oldest first (objects that cannot merge: none)."""
    if object not in soap.MERGEABLE:
        return []
    soql = (f"SELECT Id, MasterRecordId, SystemModstamp FROM {object} "  # noqa: S608 - a name from MERGEABLE
            "WHERE IsDeleted = true AND MasterRecordId != null")
    if since is not None:
        aware = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
        soql += format_soql(" AND SystemModstamp >= {}", aware)
    soql += " ORDER BY SystemModstamp, Id"
    out = []
    for page in _pages_all(conn, soql):
        for raw in page:
            stamp = parse_datetime(str(raw["SystemModstamp"]))
            if since is not None and stamp < since:
                continue  # format_soql drops milliseconds: the query starts at the whole second
            out.append(Merge(object, str(raw["MasterRecordId"]), (str(raw["Id"]),), stamp))
    return out


def _pages_all(conn: SalesforceConnector, soql: str) -> Iterator[list[dict[str, Any]]]:
    page = conn._call("read", lambda: conn.sf.query(soql, include_deleted=True))
    while True:
        yield [dict(r) for r in page["records"]]
        if page.get("done", True) or not page.get("nextRecordsUrl"):
            return
        url = page["nextRecordsUrl"]
        page = conn._call("read", partial(conn.sf.query_more, url, identifier_is_url=True, include_deleted=True))


def merge(conn: SalesforceConnector, object: str, survivor_id: str, loser_id: str,
          fields: Mapping[str, Any]) -> str:
    """Merge `loser_id` into `survivor_id` (setting `fields` on it); returns the master's id."""
    if object not in soap.MERGEABLE:
        raise ConnectorError(FailureCode.CONFIG_ERROR, f"Salesforce merges only {', '.join(soap.MERGEABLE)}, "
                             f"not {object}")
    names = conn._fields(object, list(fields)) if fields else []
    request = soap.MergeRequest(object, survivor_id, (loser_id,), dict(zip(names, fields.values(), strict=True)))
    url = conn.settings.base_url.rstrip("/") + soap.soap_path(str(conn.sf.sf_version))

    def post() -> list[soap.MergeResult]:
        body = soap.merge_envelope(conn.settings.token.reveal(), request)
        response = conn.sf.session.post(url, data=body.encode(), headers={
            "Content-Type": soap.CONTENT_TYPE, "SOAPAction": "merge"})
        try:
            return soap.parse_merge_response(response.content)
        except soap.SoapFault as fault:
            raise _fault_error(fault, response.status_code) from None

    # Not idempotent: a merge whose answer was lost is not sent again (the loser would be gone, and the
    # retry would fail); the next run's `merges()` read shows what happened.
    results = conn._call("write", post, idempotent=False)
    if not results:
        raise ConnectorError(FailureCode.UNKNOWN, "merge() answered no MergeResult")
    result = results[0]
    if not result.success:
        first = result.errors[0] if result.errors else soap.MergeError("", "merge() failed without an error")
        code = RECORD_CODES.get(first.status_code, FailureCode.REMOTE_REJECTED)
        raise ConnectorError(code, f"merge of {object} {loser_id} into {survivor_id}: {first.message}",
                             vendor_code=first.status_code)
    return str(result.id or survivor_id)


def _fault_error(fault: soap.SoapFault, status: int) -> ConnectorError:
    """A SOAP fault through the same table as REST errors (a fault is HTTP 500 whatever its cause)."""
    if fault.code == "REQUEST_LIMIT_EXCEEDED":
        code = classify_request_limit(fault.message)
    elif fault.code in CALL_CODES or fault.code in RECORD_CODES:
        code = CALL_CODES.get(fault.code) or RECORD_CODES[fault.code]
    elif fault.code in ("MALFORMED_ID", "INVALID_ID_FIELD", "INVALID_TYPE", "LIMIT_EXCEEDED"):
        code = FailureCode.REMOTE_REJECTED
    elif status != 500:
        code = classify_status(status, {})
    else:
        code = FailureCode.UNKNOWN
    return ConnectorError(code, fault.message, vendor_code=fault.code, status=status)
