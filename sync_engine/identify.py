"""Identify: give every record its canonical entity and find its twin in the target system.

Match order (DESIGN.md 1): the crosswalk first, then the normalized key (email for people,
registrable domain for companies, source id for deals), and only then create. Looking the key up
in the target before creating links records people made before revhub and gives the plan their
current values; the create itself is an upsert by a unique key where the target has one (load.py,
docs/decisions.md 14), which is what stops two workers or a resent create from making a twin.

Lead-to-account: a person with no company gets the company of their email's domain; when the target
holds several accounts of that company, `choose_accounts` applies `[identity] account_tie_break`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from connectors.base import Connector, Record
from sync_engine import identity
from sync_engine.config import TIE_BREAKS
from sync_engine.errors import RecordError
from sync_engine.mapping import Mapping_
from sync_engine.store import Store, crosswalk


def canonical_key(kind: str, canonical: Mapping[str, Any],
                  options: identity.EmailOptions = identity.DEFAULT_EMAIL_OPTIONS) -> str | None:
    """The normalized key of a canonical record, or None when it has none (`identity.entity_key`).

    `options` are the `[identity]` folding rules from config; every step must pass the same ones.
    """
    return identity.entity_key(kind, canonical, options)


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
                    resolve_ref: Any, options: identity.EmailOptions = identity.DEFAULT_EMAIL_OPTIONS,
                    ) -> dict[int, tuple[str, dict[str, Any]]]:
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
        key = canonical_key(kind, canonical, options)
        entity = by_key.get(key) if key else None
        if entity is not None and entity not in found:
            found[entity] = (record.id, canonical)
    return found


def link_to_accounts(store: Store, people: list[dict[str, Any]],
                     options: identity.EmailOptions = identity.DEFAULT_EMAIL_OPTIONS) -> None:
    """Lead-to-account: a person the source links to no company gets the company of their email's
    registrable domain, when revhub knows one (free-mail and ISP domains never). One query a page.

    The company is an entity (one per registrable domain); when the target holds several accounts of
    that entity, `choose_accounts` says which one the person's write names.
    """
    wanted, keys = {}, identity.email_keys_for(options)
    for person in people:
        if person.get("company") is None:
            domain = keys(person.get("email"))[1]
            if domain:
                wanted[id(person)] = domain
    if not wanted:
        return
    known = store.entities_by_key("company", set(wanted.values()), create=False)
    for person in people:
        domain = wanted.get(id(person))
        if domain in known:
            person["company"] = known[domain]


# --- lead-to-account: which of several accounts sharing a domain a person links to ----------------

_CUSTOMER_WORDS = frozenset({"customer", "true", "yes"})


@dataclass(frozen=True, slots=True)
class AccountCandidate:
    """One account record of the target system that carries the company key a person points at."""

    id: str                          # the account's id in the target system
    values: Mapping[str, Any]        # its canonical values as revhub last saw them (the crosswalk shadow)
    seen_at: datetime | None = None  # when revhub last read or wrote it: its most recent known activity


@dataclass(frozen=True, slots=True)
class AccountChoice:
    id: str
    reason: str  # why this account won, in words `revhub explain` shows; "" when there was no choice


def _is_customer(values: Mapping[str, Any]) -> bool:
    return any(str(values.get(f) or "").strip().lower() in _CUSTOMER_WORDS
               for f in ("customer", "lifecycle_stage", "type"))


def _size(values: Mapping[str, Any]) -> float:
    try:
        return float(values.get("employees") or 0)
    except (TypeError, ValueError):
        return 0.0


_RULES: dict[str, tuple[Callable[[AccountCandidate], Any], str]] = {
    "owner_present": (lambda c: bool(c.values.get("owner")), "has an owner"),
    "customer": (lambda c: _is_customer(c.values), "is a customer"),
    "recent_activity": (lambda c: c.seen_at.timestamp() if c.seen_at else 0.0, "changed most recently"),
    "size": (lambda c: _size(c.values), "is the largest (employees)"),
}


def choose_account(candidates: Sequence[AccountCandidate], rules: Sequence[str] = TIE_BREAKS) -> AccountChoice:
    """The account a person links to when several share their email's domain, and why.

    Rules from `[identity] account_tie_break` apply in order; each keeps only the candidates that do
    best on it, and the first rule that leaves one candidate decides. When none does, the lowest id
    (the oldest record in both HubSpot and Salesforce) wins, so the choice never flips between runs.
    """
    if not candidates:
        raise ValueError("choose_account needs at least one candidate")
    pool = sorted(candidates, key=lambda c: (len(c.id), c.id))
    if len(pool) == 1:
        return AccountChoice(pool[0].id, "")
    for rule in rules:
        score, words = _RULES[rule]
        best = max(score(c) for c in pool)
        kept = [c for c in pool if score(c) == best]
        if len(kept) == 1:
            return AccountChoice(kept[0].id, f"{len(candidates)} accounts share the domain; {kept[0].id} "
                                             f"won by {rule} ({kept[0].id} {words})")
        pool = kept
    return AccountChoice(pool[0].id, f"{len(candidates)} accounts share the domain; no rule of "
                                     f"{', '.join(rules) or 'none'} separated them, so the oldest "
                                     f"record ({pool[0].id}) won")


def choose_accounts(store: Store, system: str, object: str, entities: Iterable[int],
                    rules: Sequence[str] = TIE_BREAKS) -> dict[int, AccountChoice]:
    """For each company entity, the account of `system.object` people link to (`choose_account`).

    One query for all of a page's entities; reads every crosswalk row, where `Store.links_of_entities`
    keeps only the first of several.
    """
    found: dict[int, list[AccountCandidate]] = {}
    wanted = list(set(entities))
    with store.begin() as c:
        for i in range(0, len(wanted), 500):
            rows = c.execute(select(crosswalk).where(
                crosswalk.c.system == system, crosswalk.c.object == object,
                crosswalk.c.entity_id.in_(wanted[i:i + 500])))
            for r in rows:
                found.setdefault(r.entity_id, []).append(
                    AccountCandidate(r.external_id, dict(r.shadow or {}), r.updated_at))
    return {entity: choose_account(cands, rules) for entity, cands in found.items()}
