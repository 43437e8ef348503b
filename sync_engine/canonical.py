"""The canonical model every system maps into and out of (hub and spoke: N mappings, not N squared)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    key: str  # the canonical field that identifies an entity of this kind
    fields: frozenset[str]
    refs: frozenset[str] = frozenset()  # fields holding a link to another entity


KINDS: dict[str, Kind] = {
    "person": Kind("person", "email", frozenset({
        "email", "first_name", "last_name", "phone", "title", "company", "lifecycle_stage", "owner"}),
        refs=frozenset({"company"})),
    "company": Kind("company", "domain", frozenset({
        "domain", "name", "website", "industry", "employees", "phone", "owner"})),
    "deal": Kind("deal", "source_key", frozenset({
        "source_key", "name", "amount", "stage", "close_date", "company", "contact", "pipeline", "deal_type",
        "owner", "amount_change_reason", "activity_count"}), refs=frozenset({"company", "contact"})),
}

# Which kind a reference field points at.
REF_KIND = {"company": "company", "contact": "person"}
