"""A local HubSpot CRM over plain HTTP: routes, rate limits, auth answers, seeding, portal metadata APIs.

Serves what hubspot-api-client 12 calls (crm-apis.md B4-B11 and PART C): CRM v3 objects, search,
associations v4, properties, owners and deal pipelines, in HubSpot's own shapes. Point the client at it with
`HubSpot(access_token=..., host=url)`. Object endpoints live in `emulator_objects`, search in
`emulator_search`, associations in `emulator_assoc`, the property catalog and custom properties in
`emulator_properties`, the data and its write rules in `emulator_store`. Each emulator has its own catalog.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from connectors.emulator import Emulator, Handler, Reply, Request, Response
from connectors.hubspot import catalog
from connectors.hubspot.emulator_assoc import AssociationHandlers
from connectors.hubspot.emulator_objects import ObjectHandlers
from connectors.hubspot.emulator_properties import PropertyHandlers, object_type
from connectors.hubspot.emulator_search import SearchLimits
from connectors.hubspot.emulator_store import CANONICAL_PAIRS, HubSpotStore, StoredRecord, sort_key
from connectors.hubspot.wire import (
    SeedRefused,
    as_wire,
    bad_request,
    correlation_id,
    error_body,
    not_found,
    now_iso,
    seed_refused,
)

OBJ = "/crm/v3/objects/{object}"
V4 = "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch"
WINDOW_MS = 10_000


@dataclass(slots=True)
class RateLimits:
    """The app's burst window, the account's daily quota and the search limit (crm-apis.md B8)."""

    per_10s: int = 190
    daily: int = 1_000_000
    search_per_second: int = 5


def _rate_limit_body(policy: str, message: str) -> dict[str, Any]:
    # `errorType` per HubSpot's docs; `category` too: some answers carry it and the spec's Error needs it.
    return {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "category": "RATE_LIMITS",
        "correlationId": correlation_id(),
        "policyName": policy,
        "requestId": correlation_id(),
    }


class HubSpotEmulator(Emulator):
    """HubSpot CRM emulator. `rate_limits` and `search_limits` default to HubSpot's Enterprise figures."""

    system = "hubspot"
    default_port = 8710

    def __init__(
        self,
        *,
        token: str | None = None,
        page_size: int | None = None,
        rate_limits: RateLimits | None = None,
        search_limits: SearchLimits | None = None,
    ) -> None:
        self.store = HubSpotStore()
        self.rate_limits = rate_limits or RateLimits()
        self.search_limits = search_limits or SearchLimits()
        self._window: deque[float] = deque()
        self._search_window: deque[float] = deque()
        self._day, self._daily_used = time.strftime("%Y-%m-%d", time.gmtime()), 0
        self.objects = ObjectHandlers(self.store, self.search_limits)
        self.assoc = AssociationHandlers(self.store)
        self.props = PropertyHandlers(self.store)
        super().__init__(token=token, page_size=page_size)

    # --- routes ---------------------------------------------------------------------------------
    def register_routes(self) -> None:
        o, a, p = self.objects, self.assoc, self.props
        table: list[tuple[str, str, Handler]] = [
            ("GET", OBJ, o.list),
            ("POST", OBJ, o.create),
            ("POST", OBJ + "/search", o.search),
            ("POST", OBJ + "/merge", o.merge),
            ("POST", OBJ + "/batch/read", o.batch_read),
            ("POST", OBJ + "/batch/create", o.batch_create),
            ("POST", OBJ + "/batch/update", o.batch_update),
            ("POST", OBJ + "/batch/upsert", o.batch_upsert),
            ("POST", OBJ + "/batch/archive", o.batch_archive),
            ("GET", OBJ + "/{id}", o.get),
            ("PATCH", OBJ + "/{id}", o.update),
            ("DELETE", OBJ + "/{id}", o.archive),
            (
                "PUT",
                "/crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}",
                a.put_default,
            ),
            (
                "PUT",
                "/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}",
                a.put_labelled,
            ),
            (
                "DELETE",
                "/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}",
                a.delete,
            ),
            ("GET", "/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}", a.get_page),
            ("POST", V4 + "/create", a.batch_create),
            ("POST", V4 + "/associate/default", a.batch_default),
            ("POST", V4 + "/read", a.batch_read),
            ("POST", V4 + "/archive", a.batch_archive),
            ("GET", "/crm/v3/properties/{objectType}", p.list),
            ("POST", "/crm/v3/properties/{objectType}", p.create),
            ("POST", "/crm/v3/properties/{objectType}/batch/create", p.batch_create),
            ("GET", "/crm/v3/properties/{objectType}/{propertyName}", p.get),
            # The client calls `/crm/v3/owners/` (trailing slash); HubSpot's docs show it without.
            ("GET", "/crm/v3/owners/", self.owners),
            ("GET", "/crm/v3/owners", self.owners),
            ("GET", "/crm/v3/owners/{ownerId}", self.owner),
            ("GET", "/crm/v3/pipelines/{objectType}", self.pipelines),
            ("GET", "/crm/v3/pipelines/{objectType}/{pipelineId}", self.pipeline),
            ("GET", "/crm/v3/pipelines/{objectType}/{pipelineId}/stages", self.stages),
        ]
        for method, template, handler in table:
            self.route(method, template, self._limited(handler, search=template.endswith("/search")))

    # --- rate limits ----------------------------------------------------------------------------
    def _limited(self, handler: Handler, *, search: bool) -> Handler:
        def run(request: Request) -> Response:
            self._admit(search)
            return handler(request)

        return run

    def _prune(self, now: float) -> None:
        while self._window and now - self._window[0] >= WINDOW_MS / 1000:
            self._window.popleft()
        while self._search_window and now - self._search_window[0] >= 1.0:
            self._search_window.popleft()
        today = time.strftime("%Y-%m-%d", time.gmtime())
        if today != self._day:
            self._day, self._daily_used = today, 0

    def _admit(self, search: bool) -> None:
        """Count the call in the rolling windows, or refuse it with HubSpot's 429 (called under the lock)."""
        now = time.monotonic()
        self._prune(now)
        limits = self.rate_limits
        if self._daily_used >= limits.daily:
            raise Reply(Response(429, _rate_limit_body("DAILY", "You have reached your daily limit.")))
        if len(self._window) >= limits.per_10s:
            raise Reply(self.error_rate_limited())
        if search and len(self._search_window) >= limits.search_per_second:
            raise Reply(Response(429, _rate_limit_body("SECONDLY", "You have reached your secondly limit.")))
        self._window.append(now)
        self._daily_used += 1
        if search:
            self._search_window.append(now)

    def decorate(self, request: Request, response: Response) -> None:
        with self.lock:
            self._prune(time.monotonic())
            limits = self.rate_limits
            response.headers.update(
                {
                    "X-HubSpot-RateLimit-Max": str(limits.per_10s),
                    "X-HubSpot-RateLimit-Remaining": str(max(0, limits.per_10s - len(self._window))),
                    "X-HubSpot-RateLimit-Interval-Milliseconds": str(WINDOW_MS),
                    "X-HubSpot-RateLimit-Daily": str(limits.daily),
                    "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, limits.daily - self._daily_used)),
                    "X-HubSpot-Correlation-Id": correlation_id(),
                }
            )

    # --- vendor error answers -------------------------------------------------------------------
    def error_unauthorized(self, expired: bool) -> Response:
        if expired:
            return Response(
                401,
                error_body(
                    "EXPIRED_AUTHENTICATION",
                    "The OAuth token used to make this call expired 0 second(s) ago.",
                ),
            )
        return Response(
            401,
            error_body(
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            ),
        )

    def error_rate_limited(self) -> Response:
        # HubSpot does not promise Retry-After, so none is sent: clients must fall back to the window.
        return Response(
            429, _rate_limit_body("TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.")
        )

    def error_unavailable(self) -> Response:
        return Response(503, error_body("SERVICE_UNAVAILABLE", "The service is temporarily unavailable."))

    def not_found_body(self, request: Request) -> Any:
        return error_body("OBJECT_NOT_FOUND", f"Unknown path {request.method} {request.path}")

    # --- owners, pipelines ---------------------------------------------------------------------
    def owners(self, request: Request) -> Response:
        rows = [
            o
            for o in self.store.portal.owners
            if o["archived"] == ((request.arg("archived") or "false").lower() == "true")
        ]
        if wanted := (request.arg("email") or "").lower():
            rows = [o for o in rows if o.get("email", "").lower() == wanted]
        limit, offset = int(request.arg("limit") or 100), int(request.arg("after") or 0)
        body: dict[str, Any] = {"results": rows[offset : offset + limit]}
        if offset + limit < len(rows):
            body["paging"] = {"next": {"after": str(offset + limit)}}
        return Response(200, body)

    def owner(self, request: Request) -> Response:
        key = "userId" if request.arg("idProperty") == "userId" else "id"
        found = next(
            (o for o in self.store.portal.owners if str(o.get(key)) == request.params["ownerId"]), None
        )
        if found is None:
            raise not_found()
        return Response(200, found)

    def _pipeline(self, request: Request) -> catalog.Pipeline:
        if request.params["objectType"] != "deals":
            raise bad_request("Only deal pipelines are emulated.")
        found = catalog.PIPELINE_BY_ID.get(request.params["pipelineId"])
        if found is None:
            raise not_found(f"Pipeline {request.params['pipelineId']} not found")
        return found

    def pipelines(self, request: Request) -> Response:
        if request.params["objectType"] != "deals":
            raise bad_request("Only deal pipelines are emulated.")
        return Response(200, {"results": [_pipeline_json(p) for p in catalog.PIPELINES]})

    def pipeline(self, request: Request) -> Response:
        return Response(200, _pipeline_json(self._pipeline(request)))

    def stages(self, request: Request) -> Response:
        return Response(200, {"results": _pipeline_json(self._pipeline(request))["stages"]})

    # --- admin hooks ----------------------------------------------------------------------------
    def reset_data(self) -> None:
        self.store.reset()
        self._window.clear()
        self._search_window.clear()
        self._daily_used = 0

    def seed(self, payload: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
        """Load custom properties, then native records (`SimplePublicObject`), owners (`PublicOwner`) and
        associations; ids kept. `properties` entries are `PropertyCreate` bodies plus their `objectType`:
        `{"objectType": "deals", "name": "salesforce_opportunity_id", "label": ..., "type": "string", ...}`.

        A refused seed raises `SeedRefused`: a ValueError to a caller, HubSpot's 4xx body over the admin API.
        """
        if not isinstance(payload, dict):
            raise SeedRefused(Response(400, error_body("VALIDATION_ERROR", "a seed is a JSON object")))
        allowed = {*catalog.OBJECTS, "owners", "associations", "properties"}
        unknown = set(payload) - allowed
        if unknown:
            raise SeedRefused(
                Response(
                    400,
                    error_body(
                        "VALIDATION_ERROR",
                        f"unknown seed keys: {sorted(unknown)}; expected any of {sorted(allowed)}",
                    ),
                )
            )
        counts: dict[str, int] = {}
        with self.lock:
            counts["properties"] = self._seed_properties(payload.get("properties") or [])
            for obj in catalog.OBJECTS:
                for raw in payload.get(obj) or []:
                    self._seed_record(obj, raw)
                counts[obj] = len(payload.get(obj) or [])
            for raw in payload.get("owners") or []:
                self._seed_owner(raw)
            counts["owners"] = len(payload.get("owners") or [])
            for link in payload.get("associations") or []:
                types = {int(t["associationTypeId"]) for t in link.get("types") or []} or None
                frm, to = link["from"], link["to"]
                self.store.associate(
                    catalog.OBJECT_ALIASES.get(frm["object"], frm["object"]),
                    str(frm["id"]),
                    catalog.OBJECT_ALIASES.get(to["object"], to["object"]),
                    str(to["id"]),
                    types,
                    touch=False,
                )
            counts["associations"] = len(payload.get("associations") or [])
        return counts

    def _seed_properties(self, specs: list[dict[str, Any]]) -> int:
        """Every definition is checked before any is added, so a refused seed leaves the catalog as it was."""
        defs: list[tuple[str, catalog.PropertyDef]] = []
        taken = {obj: set(props) for obj, props in self.store.properties.items()}
        for i, spec in enumerate(specs):
            where = f"properties[{i}]"
            try:
                if not isinstance(spec, dict):
                    raise bad_request("a seeded property is a PropertyCreate object with an objectType")
                obj = object_type(str(spec.get("objectType", "")))
                d = self.props.parse({k: v for k, v in spec.items() if k != "objectType"})
                if d.name in taken[obj]:
                    message = f"Property named '{d.name}' already exists."
                    raise Reply(Response(409, error_body("CONFLICT", message)))
            except Reply as reply:
                raise seed_refused(reply, where) from None
            taken[obj].add(d.name)
            defs.append((obj, d))
        for obj, d in defs:
            self.store.add_property(obj, d)
        return len(defs)

    def _seed_record(self, obj: str, raw: dict[str, Any]) -> None:
        props = {k: as_wire(v) for k, v in (raw.get("properties") or {}).items() if v is not None}
        rid = str(raw.get("id") or props.get("hs_object_id") or self.store.new_id())
        self.store.note_id(rid)
        cursor = catalog.CURSOR[obj]
        created = raw.get("createdAt") or props.get("createdate") or now_iso()
        updated = raw.get("updatedAt") or props.get(cursor) or created
        if "email" in props:
            props["email"] = props["email"].strip().lower()
        props.update({"hs_object_id": rid, "createdate": props.get("createdate", created), cursor: updated})
        if obj == "deals":
            props.setdefault("pipeline", "default")
        rec = StoredRecord(rid, props, created, updated, bool(raw.get("archived")), raw.get("archivedAt"))
        if obj == "deals":
            self.store.derive_deal(rec)
        self.store.table(obj)[rid] = rec

    def _seed_owner(self, raw: dict[str, Any]) -> None:
        stamp = now_iso()
        owner = {
            "id": str(raw.get("id") or self.store.new_id()),
            "type": "PERSON",
            "archived": False,
            "createdAt": stamp,
            "updatedAt": stamp,
            "teams": [],
            **raw,
        }
        owner["id"] = str(owner["id"])
        self.store.portal.owners = [o for o in self.store.portal.owners if o["id"] != owner["id"]] + [owner]

    def dump(self, object: str) -> list[dict[str, Any]]:
        with self.lock:
            if object == "owners":
                return list(self.store.portal.owners)
            if object == "properties":  # the custom ones, in the seed's shape, so a dump seeds back
                return [
                    {"objectType": obj, **d.to_json()}
                    for obj, defs in self.store.properties.items()
                    for d in defs.values()
                    if d.custom
                ]
            if object == "associations":
                return [
                    {
                        "from": {"object": frm, "id": fid},
                        "to": {"object": to, "id": tid},
                        "types": [
                            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t}
                            for t in sorted(types)
                        ],
                    }
                    for (frm, fid, to), targets in sorted(self.store.portal.links.items())
                    if (frm, to) in CANONICAL_PAIRS
                    for tid, types in sorted(targets.items())
                    if types
                ]
            obj = catalog.OBJECT_ALIASES.get(object, object)
            if obj not in catalog.OBJECTS:
                raise ValueError(f"unknown object {object}")
            return [
                self.store.render(obj, r, list(r.properties))
                for r in sorted(self.store.table(obj).values(), key=sort_key)
            ]


def _pipeline_json(p: catalog.Pipeline) -> dict[str, Any]:
    stamp = "2020-01-01T00:00:00.000Z"
    return {
        "id": p.id,
        "label": p.label,
        "displayOrder": 0,
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
        "stages": [
            {
                "id": s.id,
                "label": s.label,
                "displayOrder": i,
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
                "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                "metadata": {"isClosed": "true" if s.closed else "false", "probability": s.probability},
            }
            for i, s in enumerate(p.stages)
        ],
    }
