"""The emulator's CRM v3 object endpoints: list, get, create, update, archive, merge, batch and search.

Batch semantics (crm-apis.md B6): at most 100 inputs; ids that are not found come back as a 207 with
`context.ids`; create/upsert answer per input (207, `context.objectWriteTraceId`) only when every input
carries a unique `objectWriteTraceId`, otherwise one bad input fails the whole call and nothing is written.
Batch update refuses the whole call on a validation error too, which is why the connector splits batches.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from connectors.emulator import Reply, Request, Response
from connectors.hubspot import catalog
from connectors.hubspot.emulator_search import SearchLimits, search
from connectors.hubspot.emulator_store import HubSpotStore, StoredRecord, sort_key
from connectors.hubspot.wire import PropertyError, bad_request, batch_body, missing_standard, now_iso

BATCH_MAX = 100
LIST_MAX = 100


def object_of(request: Request) -> str:
    raw = request.params.get("object", "")
    obj = catalog.OBJECT_ALIASES.get(raw, raw)
    if obj not in catalog.OBJECTS:
        raise bad_request(f"Unable to infer object type from: {raw}")
    return obj


def flag(request: Request, name: str) -> bool:
    """Booleans arrive as `true`, `false` or, from the Python client, `True`/`False`."""
    return (request.arg(name) or "false").lower() == "true"


def _encode(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def _decode(after: str) -> str:
    try:
        return base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise bad_request(f"Invalid paging cursor: {after}") from exc


def batch_inputs(request: Request, cap: int = BATCH_MAX) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise bad_request("Invalid input JSON: `inputs` must be a list.")
    inputs = body["inputs"]
    if len(inputs) > cap:
        raise bad_request(f"Batch input size {len(inputs)} exceeds the maximum of {cap} inputs.")
    return body, inputs


def _fail(err: PropertyError) -> Reply:
    return Reply(Response(err.status, err.body()))


def _traced(inputs: list[dict[str, Any]]) -> bool:
    traces = [i.get("objectWriteTraceId") for i in inputs]
    return bool(traces) and all(traces) and len(set(traces)) == len(traces)


class ObjectHandlers:
    """Route handlers over one `HubSpotStore`; the emulator registers them and holds the lock."""

    def __init__(self, store: HubSpotStore, limits: SearchLimits) -> None:
        self.store = store
        self.limits = limits

    def _out(self, obj: str, rec: StoredRecord, trace: str | None = None) -> dict[str, Any]:
        out = self.store.render(obj, rec, list(rec.properties))
        if trace:
            out["objectWriteTraceId"] = trace
        return out

    # --- single records -------------------------------------------------------------------------
    def list(self, request: Request) -> Response:
        obj = object_of(request)
        limit = int(request.arg("limit") or 10)
        if not 1 <= limit <= LIST_MAX:
            raise bad_request(f"limit must be between 1 and {LIST_MAX}.")
        archived = flag(request, "archived")
        rows = sorted((r for r in self.store.table(obj).values() if r.archived == archived), key=sort_key)
        after = request.arg("after")
        if after:
            start = sort_key(StoredRecord(_decode(after), {}, "", ""))
            rows = [r for r in rows if sort_key(r) > start]
        page = rows[:limit]
        body: dict[str, Any] = {
            "results": [
                self.store.render(obj, r, request.args("properties") or None, request.args("associations"))
                for r in page
            ]
        }
        if len(rows) > limit:
            cursor = _encode(page[-1].id)
            host = request.headers.get("host", "api.hubapi.com")
            body["paging"] = {
                "next": {"after": cursor, "link": f"http://{host}{request.path}?after={cursor}"}
            }
        return Response(200, body)

    def get(self, request: Request) -> Response:
        obj = object_of(request)
        rec = self.store.find(
            obj,
            request.params["id"],
            id_property=request.arg("idProperty"),
            archived=flag(request, "archived"),
        )
        return Response(
            200, self.store.render(obj, rec, request.args("properties") or None, request.args("associations"))
        )

    def create(self, request: Request) -> Response:
        obj, body = object_of(request), request.json() or {}
        try:
            rec = self.store.create(obj, body.get("properties") or {}, body.get("associations"))
        except PropertyError as err:
            raise _fail(err) from None
        return Response(201, self._out(obj, rec))

    def update(self, request: Request) -> Response:
        obj = object_of(request)
        rec = self.store.find(obj, request.params["id"], id_property=request.arg("idProperty"))
        try:
            self.store.update(obj, rec, (request.json() or {}).get("properties") or {})
        except PropertyError as err:
            raise _fail(err) from None
        return Response(200, self._out(obj, rec))

    def archive(self, request: Request) -> Response:
        obj = object_of(request)
        rec = self.store.lookup(obj, request.params["id"])
        if rec is not None:  # archiving twice is not an error
            self.store.archive(obj, rec)
        return Response(204)

    def merge(self, request: Request) -> Response:
        obj, body = object_of(request), request.json() or {}
        primary = self.store.find(obj, str(body.get("primaryObjectId", "")))
        loser = self.store.find(obj, str(body.get("objectIdToMerge", "")))
        return Response(200, self._out(obj, self.store.merge(obj, primary, loser)))

    def search(self, request: Request) -> Response:
        return Response(200, search(self.store, object_of(request), request.json() or {}, self.limits))

    # --- batches --------------------------------------------------------------------------------
    def batch_read(self, request: Request) -> Response:
        obj, started = object_of(request), now_iso()
        body, inputs = batch_inputs(request)
        id_property, archived = body.get("idProperty"), flag(request, "archived")
        results, missing = [], []
        for item in inputs:
            key = str(item.get("id", ""))
            rec = self.store.lookup(obj, key, id_property=id_property, archived=archived)
            if rec is None:
                missing.append(key)
            else:
                results.append(self.store.render(obj, rec, body.get("properties") or None))
        errors = [missing_standard(catalog.SINGULAR[obj].upper(), missing)] if missing else []
        return Response(207 if errors else 200, batch_body(results, errors, started))

    def batch_create(self, request: Request) -> Response:
        obj, started = object_of(request), now_iso()
        _, inputs = batch_inputs(request)
        if not _traced(inputs):
            created: list[StoredRecord] = []
            try:
                for item in inputs:
                    created.append(
                        self.store.create(obj, item.get("properties") or {}, item.get("associations"))
                    )
            except PropertyError as err:
                self._rollback(obj, created)  # all or nothing: one bad input fails the call
                raise _fail(err) from None
            return Response(201, batch_body([self._out(obj, r) for r in created], [], started))
        results, errors = [], []
        for item in inputs:
            trace = item["objectWriteTraceId"]
            try:
                rec = self.store.create(obj, item.get("properties") or {}, item.get("associations"))
                results.append(self._out(obj, rec, trace))
            except PropertyError as err:
                errors.append(err.standard({"objectWriteTraceId": [trace]}))
        return Response(207 if errors else 201, batch_body(results, errors, started))

    def _rollback(self, obj: str, created: Sequence[StoredRecord]) -> None:  # `list` is a method here
        for rec in created:
            self.store.archive(obj, rec)
            del self.store.table(obj)[rec.id]

    def batch_update(self, request: Request) -> Response:
        obj, started = object_of(request), now_iso()
        _, inputs = batch_inputs(request)
        found: list[tuple[StoredRecord, dict[str, Any]]] = []
        missing = []
        for item in inputs:
            rec = self.store.lookup(obj, str(item.get("id", "")), id_property=item.get("idProperty"))
            if rec is None:
                missing.append(str(item.get("id", "")))
            else:
                found.append((rec, item.get("properties") or {}))
        try:  # validate everything first: a validation error refuses the whole batch
            checked = [(rec, self.store.validate(obj, props, rec)) for rec, props in found]
            self.store.unique_clashes(obj, checked)
            results = [self._out(obj, self.store.update(obj, rec, props)) for rec, props in found]
        except PropertyError as err:
            raise _fail(err) from None
        errors = [missing_standard(catalog.SINGULAR[obj].upper(), missing)] if missing else []
        return Response(207 if errors else 200, batch_body(results, errors, started))

    def batch_upsert(self, request: Request) -> Response:
        obj, started = object_of(request), now_iso()
        _, inputs = batch_inputs(request)
        traced = _traced(inputs)
        results, errors = [], []
        for item in inputs:
            key, id_property = str(item.get("id", "")), item.get("idProperty")
            props = dict(item.get("properties") or {})
            try:
                rec = self.store.lookup(obj, key, id_property=id_property)
                if rec is None:
                    if id_property and id_property != "hs_object_id":
                        props.setdefault(id_property, key)
                    rec, new = self.store.create(obj, props), True
                else:
                    rec, new = self.store.update(obj, rec, props), False
            except PropertyError as err:
                if not traced:
                    raise _fail(err) from None
                errors.append(err.standard({"objectWriteTraceId": [item["objectWriteTraceId"]]}))
                continue
            results.append({**self._out(obj, rec, item.get("objectWriteTraceId")), "new": new})
        return Response(207 if errors else 200, batch_body(results, errors, started))

    def batch_archive(self, request: Request) -> Response:
        obj = object_of(request)
        _, inputs = batch_inputs(request)
        for item in inputs:
            rec = self.store.lookup(obj, str(item.get("id", "")))
            if rec is not None:
                self.store.archive(obj, rec)
        return Response(204)
