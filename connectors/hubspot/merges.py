"""HubSpot merges: reading the ones made in the portal, and making one with the CRM v3 merge endpoint.

Reading (crm-apis.md B7, B12): the merged-away record is archived and never shows in search again; the
survivor lists every id it absorbed in `hs_merged_object_ids` (`;`-separated) and its modified stamp
moves. So the merges since a cursor are the survivors changed since then that have that property.
The list is cumulative: the engine ignores losers it has already followed.

Writing: `POST /crm/v3/objects/{type}/merge` `{"primaryObjectId", "objectIdToMerge"}` answers the
merged record, whose id may be NEW (accounts without "Primary ID Preservation"): the caller stores it.
Values to keep are set on the survivor first, by a plain update, because the merge call takes none.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from connectors.base import Merge
from connectors.errors import ConnectorError, FailureCode

if TYPE_CHECKING:
    from connectors.hubspot.connector import HubSpotConnector

MERGED_IDS = "hs_merged_object_ids"
MERGEABLE = ("contacts", "companies", "deals")
PAGE = 200
SEARCH_CAP = 10_000


def read_merges(conn: HubSpotConnector, object: str, since: datetime | None) -> list[Merge]:
    cursor = conn.spec(object).cursor_field
    filters: list[dict[str, Any]] = [{"propertyName": MERGED_IDS, "operator": "HAS_PROPERTY"}]
    if since is not None:
        if since.tzinfo is None:
            raise ValueError("`since` must be timezone-aware")
        filters.append({"propertyName": cursor, "operator": "GTE", "value": str(int(since.timestamp() * 1000))})
    out: list[Merge] = []
    after: str | None = None
    while True:
        body: dict[str, Any] = {"filterGroups": [{"filters": filters}], "properties": [MERGED_IDS, cursor],
                                "sorts": [{"propertyName": cursor, "direction": "ASCENDING"}], "limit": PAGE}
        if after:
            body["after"] = after
        reply = conn.client.call("read", conn.client.api(f"{object}.search_api").do_search, body)
        for raw in reply.body.get("results") or []:
            props = raw.get("properties") or {}
            losers = tuple(i.strip() for i in str(props.get(MERGED_IDS) or "").split(";") if i.strip())
            stamp = props.get(cursor) or raw.get("updatedAt")
            if losers and stamp:
                out.append(Merge(object, str(raw["id"]), losers, _instant(str(stamp))))
        after = ((reply.body.get("paging") or {}).get("next") or {}).get("after")
        if after is None or int(after) + PAGE > SEARCH_CAP:
            return out


def merge(conn: HubSpotConnector, object: str, survivor_id: str, loser_id: str, fields: Mapping[str, Any]) -> str:
    if object not in MERGEABLE:
        raise ConnectorError(FailureCode.CONFIG_ERROR, f"HubSpot merges {', '.join(MERGEABLE)}, not {object}")
    api = conn.client.api(f"{object}.basic_api")
    values = {k: "" if v is None else str(v) for k, v in fields.items()}
    if values:
        conn.client.call("write", api.update, survivor_id, {"properties": values})
    reply = conn.client.call("write", api.merge, {"primaryObjectId": survivor_id, "objectIdToMerge": loser_id},
                             idempotent=False)
    return str(reply.body.get("id") or survivor_id)


def _instant(value: str) -> datetime:
    if value.isdigit():  # a search answer's datetime properties may come as epoch milliseconds
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
