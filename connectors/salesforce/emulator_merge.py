"""The emulator's `merge()`: what a Salesforce merge does to the org, one MergeRequest at a time.

As the SOAP API documents it: only Account, Contact and Lead merge; up to two records into a master;
the master keeps its own values except those set in the request's `masterRecord`; the losers go to the
recycle bin with `MasterRecordId` naming the master (so `queryAll` finds them); children pointing at
a loser (an account's contacts and opportunities) are re-parented to the master. A malformed id or an
unmergeable object is a SOAP fault; a loser or master that is gone is a failed MergeResult.
"""
from __future__ import annotations

from datetime import datetime

from connectors.salesforce import describe
from connectors.salesforce.soap import MAX_MERGED, MERGEABLE, MergeError, MergeRequest, MergeResult, SoapFault
from connectors.salesforce.store import DmlError, Store
from connectors.salesforce.values import format_datetime, is_id, to18

CHILDREN: dict[str, tuple[tuple[str, str], ...]] = {  # object -> (child object, reference field)
    "Account": (("Contact", "AccountId"), ("Opportunity", "AccountId")),
    "Contact": (),
    "Lead": (),
}


def merge(store: Store, request: MergeRequest, now: datetime) -> MergeResult:
    obj = describe.object_name(request.object)
    if obj not in MERGEABLE:
        raise SoapFault("INVALID_TYPE", f"merge() is not supported for {request.object}")
    for record_id in (request.master_id, *request.loser_ids):
        if not is_id(record_id) or not record_id.startswith(describe.KEY_PREFIXES[obj]):
            raise SoapFault("MALFORMED_ID", f"{obj} ID: id value of incorrect type: {record_id}")
    if not request.loser_ids or len(request.loser_ids) > MAX_MERGED:
        return _failed("LIMIT_EXCEEDED", "merge() takes one or two records to merge into the master")
    master = store.get(obj, request.master_id)
    if master is None or master.get("IsDeleted"):
        return _failed("ENTITY_IS_DELETED" if master else "INVALID_CROSS_REFERENCE_KEY",
                       "entity is deleted" if master else "invalid cross reference id", ("Id",))
    losers = []
    for record_id in request.loser_ids:
        row = store.get(obj, record_id)
        if row is None:
            return _failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ("recordToMergeIds",))
        if row.get("IsDeleted"):
            return _failed("ENTITY_IS_DELETED", "entity is deleted", ("recordToMergeIds",))
        if row["Id"] == master["Id"]:
            return _failed("INVALID_ID_FIELD", "cannot merge a record with itself", ("recordToMergeIds",))
        losers.append(row)
    if request.fields:
        out = store.update(obj, master["Id"], dict(request.fields), now)
        if isinstance(out, list):
            return MergeResult(False, errors=tuple(_error(e) for e in out))
    stamp = format_datetime(now)
    related: list[str] = []
    loser_ids = {row["Id"] for row in losers}
    for child_obj, ref in CHILDREN[obj]:
        for child in store.records[child_obj].values():
            if child.get(ref) and to18(str(child[ref])) in loser_ids and not child.get("IsDeleted"):
                child.update({ref: master["Id"], "LastModifiedDate": stamp, "SystemModstamp": stamp})
                related.append(child["Id"])
    for row in losers:
        row.update(IsDeleted=True, MasterRecordId=master["Id"], LastModifiedDate=stamp, SystemModstamp=stamp)
    master.update(LastModifiedDate=stamp, SystemModstamp=stamp)
    return MergeResult(True, master["Id"], tuple(row["Id"] for row in losers), tuple(related))


def _failed(code: str, message: str, fields: tuple[str, ...] = ()) -> MergeResult:
    return MergeResult(False, errors=(MergeError(code, message, fields),))


def _error(e: DmlError) -> MergeError:
    return MergeError(e.code, e.message, e.fields)
