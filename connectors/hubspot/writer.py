"""Batch writes to HubSpot: creates with inline associations, updates plus v4 associations, one result per op.

Creates go through `batch/create`, each carrying its associations, so the normal case costs one call per
100 records (docs/decisions.md 14). A create HubSpot refuses because its unique key is already taken
(CONFLICT: a contact's `email`, or the unique property the mapping names as its upsert key,
`WriteOp.upsert`) lost a race with another worker's create of the same record: only those inputs are
re-sent through `batch/upsert` by that key (crm-apis.md B6), which updates the record the winner made,
and their links go through the v4 association batch with those of updated records. A batch create whose
answer was lost is never re-sent (it may have been applied): the next run's lookup finds what it made.

Every create and upsert input carries its own `objectWriteTraceId`, so HubSpot answers per input (207)
instead of failing the batch. Batch update has no such switch: a validation error refuses the whole
call, so the batch is split in halves until the bad inputs stand alone; one bad record never blocks 99
good ones. Whole-batch refusals of creates and upserts (upserts by `email` are not partial) get the same
treatment, so a duplicate among 100 creates is found and upserted on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.base import WriteOp, WriteResult
from connectors.errors import FailureCode, RemoteError
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.errors import HubSpotCallError, record_error

BATCH = 100
# HubSpot's own unique identifier per object: a create it refuses as taken is upserted by it (B6 idProperty).
UNIQUE_ID_PROPERTY = {"contacts": "email"}
# (from, to) -> (type id for the first linked record, type id for the others): the first company is primary.
LINK_TYPES: dict[tuple[str, str], tuple[int, int]] = {
    ("contacts", "companies"): (1, 279),
    ("deals", "companies"): (5, 341),
    ("deals", "contacts"): (3, 3),
}
Outcome = str | RemoteError  # the record id written, or why not
Item = tuple[int, dict[str, Any]]  # (op index, batch input)


def link_specs(obj: str, to_obj: str, ids: Sequence[str]) -> list[tuple[str, int]]:
    """(target id, association type id) for each link; unknown pairs are a mapping mistake."""
    types = LINK_TYPES.get((obj, to_obj))
    if types is None:
        raise ValueError(f"HubSpot has no {obj} -> {to_obj} association revhub can write")
    return [(to_id, types[0] if i == 0 else types[1]) for i, to_id in enumerate(ids)]


def _properties(op: WriteOp) -> dict[str, str]:
    """HubSpot takes strings; None clears a property, which HubSpot spells as the empty string."""
    out = {}
    for name, value in op.fields.items():
        if value is None:
            out[name] = ""
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out


class Writer:
    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        self._new: set[str] = set()  # ids HubSpot's upsert answers called new, during one `write`

    def write(self, obj: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        outcomes: dict[int, Outcome] = {}
        self._new.clear()
        creates = [(i, self._create_input(obj, i, op)) for i, op in enumerate(ops) if op.id is None]
        updates = [(i, {"id": op.id, "properties": _properties(op)}) for i, op in enumerate(ops) if op.id]
        for chunk in _chunks(creates):
            outcomes.update(self._send(obj, "create", chunk))
        # Creates refused because their unique key exists: another worker (or an earlier input of this
        # write) made the record first. Upserting them by the key updates that record instead of failing.
        keys = {i: key for i, _ in creates if _taken(outcomes[i]) and (key := upsert_key(obj, ops[i]))}
        upserts = [(i, self._upsert_input(i, ops[i], key)) for i, key in keys.items()]
        for chunk in (c for wave in _waves(upserts) for c in _chunks(wave)):
            outcomes.update(self._send(obj, "upsert", chunk))
        for chunk in (c for wave in _waves(updates) for c in _chunks(wave)):
            outcomes.update(self._send(obj, "update", chunk))
        self._link_updated(obj, ops, outcomes, upserted=set(keys))
        results = []
        for i, op in enumerate(ops):
            got = outcomes[i]
            if isinstance(got, RemoteError):
                results.append(WriteResult(op.ref, op.id, created=False, error=got))
            else:  # an upsert that found the record (the race's winner made it) reports it updated
                results.append(WriteResult(op.ref, got, created=op.id is None and (i not in keys or got in self._new)))
        return results

    @staticmethod
    def _upsert_input(index: int, op: WriteOp, key: str) -> dict[str, Any]:
        props = _properties(op)
        return {"id": props[key], "idProperty": key, "properties": props, "objectWriteTraceId": str(index)}

    def _create_input(self, obj: str, index: int, op: WriteOp) -> dict[str, Any]:
        associations = [
            {
                "to": {"id": to_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
            }
            for to_obj, ids in op.links.items()
            for to_id, type_id in link_specs(obj, to_obj, ids)
        ]
        return {"properties": _properties(op), "associations": associations, "objectWriteTraceId": str(index)}

    def _send(self, obj: str, kind: str, items: list[Item]) -> dict[int, Outcome]:
        api = self.client.api(f"{obj}.batch_api")
        method = {"create": api.create, "upsert": api.upsert, "update": api.update}[kind]
        try:  # an upsert is idempotent (resent after a lost answer); a batch create never is
            reply = self.client.call("write", method, {"inputs": [body for _, body in items]},
                                     idempotent=kind != "create")
        except HubSpotCallError as err:
            if err.remote is None:
                raise  # not about records: auth, quota, outage
            return self._isolate(obj, kind, items, err.remote)
        if kind == "upsert":
            self._new |= {str(r.get("id")) for r in reply.body.get("results") or [] if r.get("new")}
        return self._read_batch(items, reply.body, by_trace=kind != "update")

    def _isolate(self, obj: str, kind: str, items: list[Item], error: RemoteError) -> dict[int, Outcome]:
        """The whole batch was refused for some input(s): find them without giving up on the others."""
        if len(items) == 1:
            return {items[0][0]: error}
        if error.code is FailureCode.SCHEMA_DRIFT and error.fields:
            # A property that does not exist fails every input carrying it: no need to bisect for those.
            bad = [it for it in items if set(error.fields) & set(it[1]["properties"])]
            rest = [it for it in items if it not in bad]
            if bad and rest:
                return {**{i: error for i, _ in bad}, **self._send(obj, kind, rest)}
        mid = len(items) // 2
        return {**self._send(obj, kind, items[:mid]), **self._send(obj, kind, items[mid:])}

    @staticmethod
    def _read_batch(items: list[Item], body: dict[str, Any], *, by_trace: bool) -> dict[int, Outcome]:
        """Map a 200/201/207 answer back to op indexes: creates by trace id, updates by record id."""
        out: dict[int, Outcome] = {}
        index_of = {(str(i) if by_trace else str(inp["id"])): i for i, inp in items}
        for result in body.get("results") or []:
            key = str(result.get("objectWriteTraceId") if by_trace else result.get("id"))
            if key in index_of:
                out[index_of[key]] = str(result["id"])
        for error in body.get("errors") or []:
            context = error.get("context") or {}
            for key in context.get("objectWriteTraceId" if by_trace else "ids", []):
                if str(key) in index_of:
                    out[index_of[str(key)]] = record_error(error)
        for i, _ in items:  # an input HubSpot neither wrote nor named: never report it written
            out.setdefault(i, RemoteError(FailureCode.UNKNOWN, "HubSpot returned no result for this input"))
        return out

    def _link_updated(self, obj: str, ops: Sequence[WriteOp], outcomes: dict[int, Outcome],
                      upserted: set[int]) -> None:
        """Associations asked for on updated and upserted records, by v4 batch create (creates carried
        theirs inline; upsert inputs cannot carry any)."""
        wanted: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for i, op in enumerate(ops):
            got = outcomes[i]
            if (op.id is None and i not in upserted) or isinstance(got, RemoteError):
                continue
            for to_obj, ids in op.links.items():
                for to_id, type_id in link_specs(obj, to_obj, ids):
                    wanted.setdefault(to_obj, []).append(
                        (
                            i,
                            {
                                "from": {"id": op.id or got},
                                "to": {"id": to_id},
                                "types": [
                                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}
                                ],
                            },
                        )
                    )
        api = self.client.api("associations.v4.batch_api")
        for to_obj, items in wanted.items():
            for chunk in _chunks(items):
                try:
                    reply = self.client.call(
                        "write", api.create, obj, to_obj, {"inputs": [b for _, b in chunk]}
                    )
                except HubSpotCallError as err:
                    if err.remote is None:
                        raise
                    outcomes.update({i: err.remote for i, _ in chunk})
                    continue
                _read_links(chunk, reply.body, outcomes)


def _read_links(chunk: list[Item], body: dict[str, Any], outcomes: dict[int, Outcome]) -> None:
    """An op whose association is missing from the results failed, with the error naming it if any does."""
    done = {(str(r.get("fromObjectId")), str(r.get("toObjectId"))) for r in body.get("results") or []}
    errors = body.get("errors") or []
    for i, item in chunk:
        pair = (str(item["from"]["id"]), str(item["to"]["id"]))
        if pair in done:
            continue
        named = [e for e in errors if tuple((e.get("context") or {}).get("ids", [])[:2]) == pair]
        error = (named or errors or [None])[0]
        outcomes[i] = (
            record_error(error)
            if error
            else RemoteError(
                FailureCode.UNKNOWN, f"HubSpot did not create the association {pair[0]} -> {pair[1]}"
            )
        )


def _taken(outcome: Outcome) -> bool:
    """A create refused because a unique value it carries already belongs to a record (409 CONFLICT)."""
    return isinstance(outcome, RemoteError) and outcome.code is FailureCode.DUPLICATE_CONFLICT


def upsert_key(obj: str, op: WriteOp) -> str | None:
    """The unique property a refused create is upserted by, when the record carries a value for it."""
    key = op.upsert or UNIQUE_ID_PROPERTY.get(obj)
    return key if key and op.fields.get(key) not in (None, "") else None


def _waves(updates: list[Item]) -> list[list[Item]]:
    """Updates split so no record id repeats in a batch (HubSpot answers per id): later ops, later waves."""
    waves: list[list[Item]] = []
    seen: dict[str, int] = {}
    for item in updates:
        n = seen[item[1]["id"]] = seen.get(item[1]["id"], -1) + 1
        if n == len(waves):
            waves.append([])
        waves[n].append(item)
    return waves


def _chunks(items: list[Any], size: int = BATCH) -> list[list[Any]]:
    return [items[k : k + size] for k in range(0, len(items), size)]
