"""The emulator's associations v4 endpoints: default and labelled PUT, page reads, batch create/read/archive.

Associations are two-way (crm-apis.md B10): the store writes the reverse direction with the inverse type id.
"""

from __future__ import annotations

from typing import Any

from connectors.emulator import Reply, Request, Response
from connectors.hubspot import catalog
from connectors.hubspot.emulator_objects import batch_inputs
from connectors.hubspot.emulator_store import HubSpotStore
from connectors.hubspot.wire import bad_request, batch_body, now_iso

READ_MAX = 1_000  # batch read, since Feb 2025
WRITE_MAX = 1_000
PAGE_MAX = 500


def _obj(raw: str) -> str:
    obj = catalog.OBJECT_ALIASES.get(raw, raw)
    if obj not in catalog.OBJECTS:
        raise bad_request(f"Unable to infer object type from: {raw}")
    return obj


def _types(from_obj: str, to_obj: str, type_ids: set[int]) -> list[dict[str, Any]]:
    """`AssociationSpecWithLabel` entries; the unlabeled association has no `label`."""
    out = []
    for t in sorted(type_ids):
        spec: dict[str, Any] = {"category": "HUBSPOT_DEFINED", "typeId": t}
        label = catalog.ASSOC_TYPES[(from_obj, to_obj, t)].label
        if label:
            spec["label"] = label
        out.append(spec)
    return out


def _spec_ids(specs: Any) -> set[int]:
    if not isinstance(specs, list) or not specs:
        raise bad_request("Invalid input JSON: a list of association specs is required.")
    return {int(s.get("associationTypeId", 0)) for s in specs}


class AssociationHandlers:
    """v4 handlers over one `HubSpotStore`; the emulator registers them and holds the lock."""

    def __init__(self, store: HubSpotStore) -> None:
        self.store = store

    def _pair(self, frm: str, frm_id: str, to: str, to_id: str) -> dict[str, Any]:
        labels = [
            catalog.ASSOC_TYPES[(frm, to, t)].label for t in dict(self.store.linked(frm, frm_id, to))[to_id]
        ]
        return {
            "fromObjectTypeId": catalog.OBJECT_TYPE_IDS[frm],
            "fromObjectId": frm_id,
            "toObjectTypeId": catalog.OBJECT_TYPE_IDS[to],
            "toObjectId": to_id,
            "labels": sorted(label for label in labels if label),
        }

    def _default_results(self, frm: str, frm_id: str, to: str, to_id: str) -> list[dict[str, Any]]:
        return [
            {
                "from": {"id": frm_id},
                "to": {"id": to_id},
                "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t},
            }
            for t in sorted(dict(self.store.linked(frm, frm_id, to))[to_id])
        ]

    def put_default(self, request: Request) -> Response:
        p, started = request.params, now_iso()
        frm, to = _obj(p["fromObjectType"]), _obj(p["toObjectType"])
        self.store.associate(frm, p["fromObjectId"], to, p["toObjectId"], None)
        return Response(
            200, batch_body(self._default_results(frm, p["fromObjectId"], to, p["toObjectId"]), [], started)
        )

    def put_labelled(self, request: Request) -> Response:
        p = request.params
        frm, to = _obj(p["objectType"]), _obj(p["toObjectType"])
        self.store.associate(frm, p["objectId"], to, p["toObjectId"], _spec_ids(request.json()))
        return Response(201, self._pair(frm, p["objectId"], to, p["toObjectId"]))

    def get_page(self, request: Request) -> Response:
        p = request.params
        frm, to = _obj(p["objectType"]), _obj(p["toObjectType"])
        limit = min(int(request.arg("limit") or PAGE_MAX), PAGE_MAX)
        offset = int(request.arg("after") or 0)
        linked = self.store.linked(frm, p["objectId"], to)
        page = linked[offset : offset + limit]
        body: dict[str, Any] = {
            "results": [
                {"toObjectId": to_id, "associationTypes": _types(frm, to, types)} for to_id, types in page
            ]
        }
        if offset + limit < len(linked):
            body["paging"] = {"next": {"after": str(offset + limit)}}
        return Response(200, body)

    def delete(self, request: Request) -> Response:
        p = request.params
        self.store.dissociate(_obj(p["objectType"]), p["objectId"], _obj(p["toObjectType"]), p["toObjectId"])
        return Response(204)

    def _batch(self, request: Request, cap: int) -> tuple[str, str, list[dict[str, Any]]]:
        _, inputs = batch_inputs(request, cap)
        return _obj(request.params["fromObjectType"]), _obj(request.params["toObjectType"]), inputs

    def batch_create(self, request: Request) -> Response:
        frm, to, inputs = self._batch(request, WRITE_MAX)
        started, results, errors = now_iso(), [], []
        for item in inputs:
            frm_id, to_id = str(item["from"]["id"]), str(item["to"]["id"])
            try:
                self.store.associate(frm, frm_id, to, to_id, _spec_ids(item.get("types")))
                results.append(self._pair(frm, frm_id, to, to_id))
            except Reply as reply:
                errors.append(_standard(reply, [frm_id, to_id]))
        return Response(207 if errors else 201, batch_body(results, errors, started))

    def batch_default(self, request: Request) -> Response:
        frm, to, inputs = self._batch(request, WRITE_MAX)
        started, results, errors = now_iso(), [], []
        for item in inputs:
            frm_id, to_id = str(item["from"]["id"]), str(item["to"]["id"])
            try:
                self.store.associate(frm, frm_id, to, to_id, None)
                results.extend(self._default_results(frm, frm_id, to, to_id))
            except Reply as reply:
                errors.append(_standard(reply, [frm_id, to_id]))
        body = batch_body(results, errors, started)
        body.setdefault("errors", [])  # BatchResponsePublicDefaultAssociation always lists errors
        body.setdefault("numErrors", len(errors))
        return Response(200, body)

    def batch_read(self, request: Request) -> Response:
        frm, to, inputs = self._batch(request, READ_MAX)
        started, results, empty = now_iso(), [], []
        for item in inputs:
            frm_id = str(item.get("id", ""))
            linked = self.store.linked(frm, frm_id, to)
            if not linked:
                empty.append(frm_id)
                continue
            results.append(
                {
                    "from": {"id": frm_id},
                    "to": [
                        {"toObjectId": to_id, "associationTypes": _types(frm, to, types)}
                        for to_id, types in linked
                    ],
                }
            )
        errors = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": f"No {to} is associated with {catalog.SINGULAR[frm]} {i}.",
                "context": {"fromObjectId": [i]},
                "errors": [],
                "links": {},
            }
            for i in empty
        ]
        return Response(207 if errors else 200, batch_body(results, errors, started))

    def batch_archive(self, request: Request) -> Response:
        frm, to, inputs = self._batch(request, WRITE_MAX)
        for item in inputs:
            for target in item.get("to") or []:
                self.store.dissociate(frm, str(item["from"]["id"]), to, str(target["id"]))
        return Response(204)


def _standard(reply: Reply, ids: list[str]) -> dict[str, Any]:
    body = reply.response.body or {}
    return {
        "status": "error",
        "category": body.get("category", "VALIDATION_ERROR"),
        "message": body.get("message", ""),
        "context": {"ids": ids},
        "errors": [],
        "links": {},
    }
