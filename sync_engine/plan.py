"""Decide what to write: diff the desired canonical values against what revhub knows the target holds.

Unchanged fields and echoes of revhub's own writes are dropped here; this is what stops two-way
ping-pong and saves API calls. Per-field ownership decides which side may overwrite a value.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync_engine.mapping import Mapping_


def same(a: Any, b: Any) -> bool:
    """Equal as a person would judge: empty is empty, 250 == 250.0 == "250"."""
    if a in (None, "") and b in (None, ""):
        return True
    if a is None or b is None:
        return False
    if isinstance(a, int | float) or isinstance(b, int | float):
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False
    return str(a) == str(b)


def unchanged(canonical: Mapping[str, Any], shadow: Mapping[str, Any]) -> bool:
    return all(same(v, shadow.get(k)) for k, v in canonical.items())


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    old: Any
    new: Any


def plan_fields(canonical: Mapping[str, Any], source_system: str, source: Mapping_, target: Mapping_,
                target_shadow: Mapping[str, Any] | None) -> list[Change]:
    """The canonical fields to write to the target. `target_shadow=None` means the record is new."""
    creating = target_shadow is None
    shadow = target_shadow or {}
    out: list[Change] = []
    for name, value in canonical.items():
        if target.field_for(name) is None:
            continue
        owner = source.owner_of(name) or target.owner_of(name)
        if owner and owner != source_system and not creating and shadow.get(name) not in (None, ""):
            continue  # another system owns this field and the target already has a value
        if value in (None, ""):
            continue  # never clear a target value from an empty source (first version: no deletes)
        if creating or not same(value, shadow.get(name)):
            out.append(Change(name, shadow.get(name), value))
    return out
