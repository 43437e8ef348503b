"""sObject Collections semantics for the emulator: one outcome per record, and allOrNone rollback (A7).

Each `*_op` writes one record of a collections call and returns its per-record result with an undo;
`finish` assembles the HTTP 200 answer, undoing everything when `allOrNone` is set and one failed.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.salesforce import describe
from connectors.salesforce.store import ROLLED_BACK, DmlError, Store, Undo

Record = dict[str, Any]
# (per-record result, undo or None, whether the op created a record)
Outcome = tuple[dict[str, Any], Undo | None, bool]


def finish(outcomes: list[Outcome], all_or_none: bool) -> list[dict[str, Any]]:
    """The results in request order; with allOrNone one failure undoes the call's every write."""
    if not all_or_none or all(result["success"] for result, _, _ in outcomes):
        return [result for result, _, _ in outcomes]
    for _, undo, _ in reversed(outcomes):
        if undo:
            undo()
    rolled = {"success": False, "errors": [ROLLED_BACK.per_record()]}
    return [result if not result["success"] else {**result, **rolled, "id": None if created else result["id"]}
            for result, _, created in outcomes]


def _outcome(out: tuple[str, Undo] | list[DmlError], record_id: str | None, created: bool,
             upsert: bool = False) -> Outcome:
    extra = {"created": created} if upsert else {}
    if isinstance(out, list):
        errors = [e.per_record() for e in out]
        return {"id": record_id, "success": False, "errors": errors, **extra}, None, False
    return {"id": out[0], "success": True, "errors": [], **extra}, out[1], created


def _fields(record: Record) -> Record:
    return {k: v for k, v in record.items() if k not in ("attributes", "id")}


def _type(record: Record) -> str:
    return describe.object_name(record["attributes"]["type"]) or record["attributes"]["type"]


def create_op(store: Store, record: Record, now: datetime) -> Outcome:
    return _outcome(store.create(_type(record), _fields(record), now), None, True)


def update_op(store: Store, record: Record, now: datetime) -> Outcome:
    record_id = record.get("id") or record.get("Id")
    if not record_id:
        return _outcome([DmlError("MISSING_ARGUMENT", "Id not specified in an update call")], None, False)
    fields = {k: v for k, v in _fields(record).items() if k != "Id"}
    return _outcome(store.update(_type(record), str(record_id), fields, now), str(record_id), False)


def delete_op(store: Store, record_id: str, now: datetime) -> Outcome:
    by_prefix = {prefix: obj for obj, prefix in describe.KEY_PREFIXES.items()}
    obj = by_prefix.get(record_id[:3])
    malformed = [DmlError("MALFORMED_ID", f"malformed id {record_id}")]
    out = store.delete(obj, record_id, now) if obj else malformed
    return _outcome(out, record_id, False)


def upsert_op(store: Store, obj: str, key_field: str, record: Record, now: datetime) -> Outcome:
    """Match on `key_field` (an external id): none creates, one updates, several is an error."""
    values = _fields(record)
    key = next((k for k in values if k.lower() == key_field.lower()), None)
    if key is None or values[key] in (None, ""):
        return _outcome([DmlError("MISSING_ARGUMENT", f"{key_field} not specified")], None, False, True)
    rows = store.find(obj, key_field, values[key])
    if len(rows) > 1:
        ids = ", ".join(r["Id"] for r in rows)
        error = DmlError("DUPLICATE_EXTERNAL_ID", f"{key_field}: more than one record found for external id "
                         f"field: [{ids}]", (key_field,))
        return _outcome([error], None, False, True)
    if rows:
        return _outcome(store.update(obj, rows[0]["Id"], values, now), rows[0]["Id"], False, True)
    return _outcome(store.create(obj, values, now), None, True, True)
