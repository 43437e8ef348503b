"""The emulator's CRM search: filter groups, operators, one sort, offset paging and the 10,000-result cap.

Rules follow HubSpot's search guide (crm-apis.md B7): filters AND within a group, groups OR; string values
compare case-insensitively except enumerations; IN/NOT_IN on strings expect lower-case values.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.hubspot import catalog
from connectors.hubspot.emulator_store import HubSpotStore, StoredRecord, sort_key
from connectors.hubspot.wire import bad_request, to_ms

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
_TOKENS = re.compile(r"[^\w]+")


@dataclass(slots=True)
class SearchLimits:
    """HubSpot's documented limits; configurable because the sources disagree (crm-apis.md D1)."""

    max_groups: int = 5
    max_filters_per_group: int = 6
    max_filters: int = 18
    max_results: int = 10_000
    max_limit: int = 200


def _typed(store: HubSpotStore, obj: str, name: str) -> Callable[[str], Any]:
    """How values of a property compare: numbers as numbers, instants as epoch ms, strings folded."""
    d = store.properties[obj].get(name)
    kind = d.type if d else "string"
    if kind == "number":
        return lambda v: _float(v)
    if kind in ("datetime", "date"):
        return lambda v: to_ms(v)
    if kind == "enumeration":
        return lambda v: v
    return lambda v: v.lower()


def _float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _matches(store: HubSpotStore, obj: str, rec: StoredRecord, f: dict[str, Any]) -> bool:
    name, op = str(f.get("propertyName", "")), str(f.get("operator", "EQ"))
    if name.startswith("associations."):
        to_obj = catalog.OBJECT_ALIASES.get(name.split(".", 1)[1], name.split(".", 1)[1])
        ids = {to_id for to_id, _ in store.linked(obj, rec.id, to_obj)}
        wanted = set(f.get("values") or [f.get("value")])
        return bool(ids & {str(w) for w in wanted}) != (op in ("NEQ", "NOT_IN"))
    raw = rec.properties.get(name)
    if op == "HAS_PROPERTY":
        return raw is not None
    if op == "NOT_HAS_PROPERTY":
        return raw is None
    negated = op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
    if raw is None:
        return negated
    conv = _typed(store, obj, name)
    if op in ("IN", "NOT_IN"):
        # IN on strings compares stored lower-case text to the values as sent (values must be lower-case).
        values = [str(v) for v in f.get("values") or []]
        d = store.properties[obj].get(name)
        kind = d.type if d else "string"
        have = raw.lower() if kind not in ("enumeration", "number", "datetime", "date") else conv(raw)
        want = values if kind not in ("number", "datetime", "date") else [conv(v) for v in values]
        return (have in want) != negated
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(f.get("value", "")).lower()
        text = raw.lower()
        tokens = [t for t in _TOKENS.split(text) if t] + [text]
        hit = any(fnmatch.fnmatchcase(t, pattern) for t in tokens) if "*" in pattern else pattern in tokens
        return hit != negated
    have, value = conv(raw), conv(str(f.get("value", "")))
    if have is None or value is None:
        return negated
    if op == "EQ":
        return bool(have == value)
    if op == "NEQ":
        return bool(have != value)
    if op == "BETWEEN":
        high = conv(str(f.get("highValue", "")))
        return high is not None and value <= have <= high
    return bool({"LT": have < value, "LTE": have <= value, "GT": have > value, "GTE": have >= value}[op])


def _check_filters(store: HubSpotStore, obj: str, groups: list[dict[str, Any]], limits: SearchLimits) -> None:
    if len(groups) > limits.max_groups:
        raise bad_request(f"Too many filter groups ({len(groups)}); the maximum is {limits.max_groups}.")
    total = 0
    for group in groups:
        filters = group.get("filters") or []
        total += len(filters)
        if len(filters) > limits.max_filters_per_group:
            raise bad_request(
                f"Too many filters in a group ({len(filters)}); the maximum is "
                f"{limits.max_filters_per_group}."
            )
        for f in filters:
            op, name = f.get("operator"), str(f.get("propertyName", ""))
            if op not in OPERATORS:
                raise bad_request(f"Unknown operator {op!r}.")
            if not name.startswith("associations.") and name not in store.properties[obj]:
                raise bad_request(f'Property "{name}" does not exist on {obj}.')
    if total > limits.max_filters:
        raise bad_request(f"Too many filters ({total}); the maximum is {limits.max_filters}.")


def _sort(store: HubSpotStore, obj: str, records: list[StoredRecord], sorts: list[Any]) -> list[StoredRecord]:
    records = sorted(records, key=sort_key)
    if not sorts:
        return records
    if len(sorts) > 1:
        raise bad_request("Only one sort is allowed per search.")
    spec = sorts[0]
    if isinstance(spec, str):  # the spec types sorts as strings: "prop" or "-prop"
        name, descending = spec.lstrip("-"), spec.startswith("-")
    else:
        name, descending = (
            str(spec.get("propertyName", "")),
            spec.get("direction", "ASCENDING") == "DESCENDING",
        )
    conv = _typed(store, obj, name)
    present: list[StoredRecord] = []
    missing: list[StoredRecord] = []
    for r in records:  # records without a value sort last, whatever the direction
        (present if name in r.properties and conv(r.properties[name]) is not None else missing).append(r)
    present.sort(key=lambda r: conv(r.properties[name]), reverse=descending)
    return present + missing


def _query_hit(obj: str, rec: StoredRecord, query: str) -> bool:
    words = [w for w in _TOKENS.split(query.lower()) if w]
    text = " ".join(rec.properties.get(p, "") for p in catalog.QUERY_PROPERTIES[obj]).lower()
    tokens = [t for t in _TOKENS.split(text) if t]
    return all(any(t.startswith(w) for t in tokens) for w in words)


def search(store: HubSpotStore, obj: str, body: dict[str, Any], limits: SearchLimits) -> dict[str, Any]:
    """One page of a `PublicObjectSearchRequest`, as `CollectionResponseWithTotalSimplePublicObject`."""
    if not isinstance(body, dict):
        raise bad_request("Invalid input JSON: the body must be an object.")
    groups = body.get("filterGroups") or []
    _check_filters(store, obj, groups, limits)
    limit = int(body.get("limit") or 10)
    if not 1 <= limit <= limits.max_limit:
        raise bad_request(f"limit must be between 1 and {limits.max_limit}.")
    after = str(body.get("after") or "0")
    if not after.isdigit():
        raise bad_request(f"after must be an integer offset, got {after!r}.")
    offset = int(after)
    if offset >= limits.max_results:
        raise bad_request(
            f"Search can page through at most {limits.max_results} results; after={offset} is "
            "beyond it. Narrow the filters instead."
        )
    hits = [
        r
        for r in store.live(obj)
        if (
            not groups or any(all(_matches(store, obj, r, f) for f in g.get("filters") or []) for g in groups)
        )
        and (not body.get("query") or _query_hit(obj, r, str(body["query"])))
    ]
    ordered = _sort(store, obj, hits, body.get("sorts") or [])
    page = ordered[offset : min(offset + limit, limits.max_results)]
    out: dict[str, Any] = {
        "total": len(ordered),
        "results": [store.render(obj, r, body.get("properties") or None) for r in page],
    }
    if offset + limit < len(ordered):
        # Like HubSpot, the cursor is offered even where following it hits the cap (and answers 400).
        out["paging"] = {"next": {"after": str(offset + limit)}}
    return out
