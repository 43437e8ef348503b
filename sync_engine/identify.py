"""Identify: give every record its canonical entity and find its twin in the target system.

Match order (DESIGN.md 1): the crosswalk first, then the normalized key (email for people,
registrable domain for companies, source id for deals), and only then create. Looking the key up
in the target before creating is also what makes a rerun after a crash find what the crashed run
already wrote, instead of writing it twice.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import Connector, Record
from sync_engine import identity
from sync_engine.errors import RecordError
from sync_engine.mapping import Mapping_
from sync_engine.store import Store


def canonical_key(kind: str, canonical: Mapping[str, Any]) -> str | None:
    """The normalized key of a canonical record, or None when it has none."""
    if kind == "person":
        email = identity.analyze_email(canonical.get("email"))
        return email.value if email.valid else None
    if kind == "company":  # a free-mail domain (a sole trader's gmail.com website) is never a company key
        return identity.company_domain(canonical.get("domain") or canonical.get("website"))
    value = canonical.get("source_key")
    return str(value) if value not in (None, "") else None


@dataclass(slots=True)
class EntityIds:
    """Entity ids by key; in a dry run, ids for new keys are negative placeholders never stored."""

    store: Store
    kind: str
    dry_run: bool

    def resolve(self, keys: Iterable[str]) -> dict[str, int]:
        keys = list(keys)
        found = self.store.entities_by_key(self.kind, keys, create=not self.dry_run)
        for n, key in enumerate(k for k in keys if k not in found):
            found[key] = -(n + 1)
        return found


def match_in_target(target: Connector, mapping: Mapping_, kind: str, keys: Mapping[int, str],
                    resolve_ref: Any) -> dict[int, tuple[str, dict[str, Any]]]:
    """For entities with no crosswalk entry in the target, find a target record with the same key.

    Returns entity id -> (target record id, its canonical values). Candidates the connector returns
    are re-checked with revhub's own normalization, so a loose connector search never mis-links.
    """
    if not keys or not mapping.lookup:
        return {}
    lookup_field = mapping.lookup
    by_key = {key: entity for entity, key in keys.items()}
    found: dict[int, tuple[str, dict[str, Any]]] = {}
    candidates: list[Record] = target.lookup(mapping.object, lookup_field, sorted(by_key),
                                             mapping.source_fields())
    for record in sorted(candidates, key=lambda r: r.id):
        try:
            canonical = mapping.to_canonical(record, resolve_ref)
        except RecordError:
            continue
        key = canonical_key(kind, canonical)
        entity = by_key.get(key) if key else None
        if entity is not None and entity not in found:
            found[entity] = (record.id, canonical)
    return found


def link_to_accounts(store: Store, people: list[dict[str, Any]]) -> None:
    """Lead-to-account: a person the source links to no company gets the company of their email's
    registrable domain, when revhub knows one (free-mail and ISP domains never). One query a page.
    """
    wanted = {}
    for person in people:
        if person.get("company") is None:
            domain = identity.company_domain_of_email(identity.normalize_email(person.get("email")))
            if domain:
                wanted[id(person)] = domain
    if not wanted:
        return
    known = store.entities_by_key("company", set(wanted.values()), create=False)
    for person in people:
        domain = wanted.get(id(person))
        if domain in known:
            person["company"] = known[domain]
