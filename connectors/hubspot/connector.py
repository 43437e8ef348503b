"""The HubSpot connector: incremental reads by search, lookups, batch writes, schema from the properties API.

Reads follow HubSpot's own incremental pattern (crm-apis.md B7): search `cursor GTE since`, sorted ascending
on the cursor, 200 a page; search stops at 10,000 results, so past that the search restarts from the last
stamp seen and drops the records already yielded at that stamp.

Links: a contact's primary company comes from its `associatedcompanyid` property (no extra call); a deal's
companies and contacts are always read, by one associations v4 batch read per page and per object, because
a deal without them cannot be placed in the canonical model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors.base import (
    Connector,
    ConnectorSettings,
    FieldSchema,
    Merge,
    ObjectSchema,
    ObjectSpec,
    Record,
    WriteOp,
    WriteResult,
)
from connectors.errors import ConnectorError, FailureCode
from connectors.hubspot import merges
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.writer import BATCH, Writer

SEARCH_PAGE = 200
SEARCH_CAP = 10_000  # HubSpot answers 400 past this many results of one search
LOOKUP_IN_MAX = 100  # values in one IN filter
URL_FIELDS = frozenset({"domain", "website"})  # matched by token, not equality: "https://www.acme.com/"
DEAL_LINKS = ("companies", "contacts")


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("`since` must be timezone-aware")
    return int(moment.timestamp() * 1000)


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class HubSpotConnector(Connector):
    """HubSpot CRM through hubspot-api-client. Options: `rate_limit_wait` (s per attempt on a 429 without
    Retry-After, default 10), `lock_wait`, `retry_attempts`, `retry_max_wait`, `retry_total`."""

    system: ClassVar[str] = "hubspot"
    objects: ClassVar[dict[str, ObjectSpec]] = {
        "contacts": ObjectSpec("contacts", "lastmodifieddate", BATCH),
        "companies": ObjectSpec("companies", "hs_lastmodifieddate", BATCH),
        "deals": ObjectSpec("deals", "hs_lastmodifieddate", BATCH),
    }

    def __init__(self, settings: ConnectorSettings) -> None:
        super().__init__(settings)
        self.client = HubSpotClient(settings, self.calls)
        self.writer = Writer(self.client)

    # --- check, describe ------------------------------------------------------------------------
    def check(self) -> None:
        self.client.call("read", self.client.api("owners.owners_api").get_page, limit=1)

    def describe(self, object: str) -> ObjectSchema:
        self.spec(object)
        reply = self.client.call("read", self.client.api("properties.core_api").get_all, object)
        fields = {}
        for p in reply.body.get("results") or []:
            meta = p.get("modificationMetadata") or {}
            writable = not (meta.get("readOnlyValue") or p.get("calculated"))
            fields[p["name"]] = FieldSchema(
                name=p["name"],
                type=str(p.get("type", "string")),
                label=str(p.get("label", "")),
                createable=writable,
                updateable=writable,
                picklist=tuple(str(o["value"]) for o in p.get("options") or [] if not o.get("hidden")),
            )
        return ObjectSchema(object, fields)

    def pipeline_stages(self, object: str) -> dict[str, tuple[str, ...]]:
        """Pipeline id -> its stage ids, from the pipelines API (B11): stage ids are per pipeline."""
        self.spec(object)
        reply = self.client.call("read", self.client.api("pipelines.pipelines_api").get_all, object)
        return {str(p["id"]): tuple(str(s["id"]) for s in p.get("stages") or [])
                for p in reply.body.get("results") or [] if not p.get("archived")}

    # --- read -----------------------------------------------------------------------------------
    def read(self, object: str, since: datetime | None, fields: Sequence[str]) -> Iterator[list[Record]]:
        cursor = self.spec(object).cursor_field
        extra = ["associatedcompanyid"] if object == "contacts" else []
        props = list(dict.fromkeys([*fields, cursor, *extra]))
        floor = _ms(since) if since is not None else None
        restart_floor: int | None = None
        edge_ms, edge_ids = -1, set[str]()  # the newest stamp yielded and the ids yielded at it
        after: str | None = None
        while True:
            body = self._search_body(cursor, floor, props, after)
            reply = self.client.call("read", self.client.api(f"{object}.search_api").do_search, body)
            page = []
            for raw in reply.body.get("results") or []:
                record = self._record(object, raw, fields, cursor)
                stamp = _ms(record.modified_at)
                if stamp == edge_ms and record.id in edge_ids:
                    continue  # already yielded before a restart
                if stamp > edge_ms:
                    edge_ms, edge_ids = stamp, set()
                edge_ids.add(record.id)
                page.append(record)
            if page and object == "deals":
                page = self._with_deal_links(page)
            if page:
                yield page
            after = ((reply.body.get("paging") or {}).get("next") or {}).get("after")
            if after is None:
                return
            if int(after) + SEARCH_PAGE > SEARCH_CAP:
                if restart_floor == edge_ms:
                    raise ConnectorError(
                        FailureCode.REMOTE_REJECTED,
                        f"more than {SEARCH_CAP} {object} share "
                        f"{cursor}={edge_ms}; HubSpot search cannot page past them",
                    )
                floor = restart_floor = edge_ms
                after = None

    @staticmethod
    def _search_body(cursor: str, floor: int | None, props: list[str], after: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "filterGroups": []
            if floor is None
            else [{"filters": [{"propertyName": cursor, "operator": "GTE", "value": str(floor)}]}],
            "sorts": [{"propertyName": cursor, "direction": "ASCENDING"}],
            "properties": props,
            "limit": SEARCH_PAGE,
        }
        if after is not None:
            body["after"] = after
        return body

    @staticmethod
    def _record(object: str, raw: dict[str, Any], fields: Sequence[str], cursor: str) -> Record:
        props = raw.get("properties") or {}
        stamp = props.get(cursor) or raw.get("updatedAt")
        links = {}
        if object == "contacts" and props.get("associatedcompanyid"):
            links["companies"] = (str(props["associatedcompanyid"]),)
        return Record(
            object=object,
            id=str(raw["id"]),
            fields={f: props.get(f) for f in fields},
            modified_at=_instant(str(stamp)),
            links=links,
            deleted=bool(raw.get("archived")),
        )

    def _with_deal_links(self, page: list[Record]) -> list[Record]:
        api = self.client.api("associations.v4.batch_api")
        found: dict[str, dict[str, tuple[str, ...]]] = {r.id: {} for r in page}
        for to_obj in DEAL_LINKS:
            reply = self.client.call(
                "read", api.get_page, "deals", to_obj, {"inputs": [{"id": r.id} for r in page]}
            )
            # 207 lists deals with no such association as errors: nothing to link, not a failure.
            for result in reply.body.get("results") or []:
                ids = tuple(str(t["toObjectId"]) for t in result.get("to") or [])
                found[str(result["from"]["id"])][to_obj] = ids
        return [Record(r.object, r.id, r.fields, r.modified_at, found[r.id], r.deleted) for r in page]

    # --- lookup ---------------------------------------------------------------------------------
    def lookup(
        self, object: str, field: str, values: Sequence[str], fields: Sequence[str] = ()
    ) -> list[Record]:
        cursor = self.spec(object).cursor_field
        wanted = list(dict.fromkeys(v.strip().lower() for v in values if v and v.strip()))
        extra = ["associatedcompanyid"] if object == "contacts" else []
        props = list(dict.fromkeys([field, *fields, cursor, *extra]))
        raws: dict[str, dict[str, Any]] = {}
        if object == "contacts" and field == "email":
            api = self.client.api("contacts.batch_api")
            for k in range(0, len(wanted), BATCH):
                body = {
                    "inputs": [{"id": v} for v in wanted[k : k + BATCH]],
                    "idProperty": "email",
                    "properties": props,
                    "propertiesWithHistory": [],
                }
                reply = self.client.call("read", api.read, body)  # 207 = some emails are unknown: fine
                raws.update({str(r["id"]): r for r in reply.body.get("results") or []})
        else:
            for filter_groups in self._lookup_filters(field, wanted):
                raws.update(self._search_all(object, filter_groups, props))
        return [self._record(object, raw, [field, *fields], cursor) for raw in raws.values()]

    @staticmethod
    def _lookup_filters(field: str, values: list[str]) -> Iterator[list[dict[str, Any]]]:
        if field in URL_FIELDS:  # one OR-ed group per value; HubSpot allows five groups
            for k in range(0, len(values), 5):
                yield [
                    {"filters": [{"propertyName": field, "operator": "CONTAINS_TOKEN", "value": f"*{v}*"}]}
                    for v in values[k : k + 5]
                ]
        else:  # IN on string properties wants lower-case values (B7)
            for k in range(0, len(values), LOOKUP_IN_MAX):
                yield [
                    {
                        "filters": [
                            {"propertyName": field, "operator": "IN", "values": values[k : k + LOOKUP_IN_MAX]}
                        ]
                    }
                ]

    def _search_all(
        self, object: str, groups: list[dict[str, Any]], props: list[str]
    ) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        after: str | None = None
        while True:
            body: dict[str, Any] = {"filterGroups": groups, "properties": props, "limit": SEARCH_PAGE}
            if after:
                body["after"] = after
            reply = self.client.call("read", self.client.api(f"{object}.search_api").do_search, body)
            out.update({str(r["id"]): r for r in reply.body.get("results") or []})
            after = ((reply.body.get("paging") or {}).get("next") or {}).get("after")
            if after is None or int(after) >= SEARCH_CAP:
                return out

    # --- write ----------------------------------------------------------------------------------
    def write(self, object: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        self.spec(object)
        return self.writer.write(object, ops)

    # --- merges (merges.py: hs_merged_object_ids, the CRM v3 merge endpoint) ------------------------
    def merges(self, object: str, since: datetime | None) -> list[Merge]:
        self.spec(object)
        return merges.read_merges(self, object, since)

    def merge(self, object: str, survivor_id: str, loser_id: str, fields: Mapping[str, Any] | None = None) -> str:
        self.spec(object)
        return merges.merge(self, object, survivor_id, loser_id, fields or {})

    @property
    def api_usage(self) -> tuple[int, int] | None:
        return self.client.daily

    def close(self) -> None:
        self.client.close()
