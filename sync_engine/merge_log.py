"""The merge tables: one audit row per merge, the merged-away ids, and the crosswalk re-pointing.

`merge_log` is the audit: when, system, object, survivor, losers, the rule that chose the survivor
and the names (never the values: emails are personal data) of the fields changed. Its `action` says
what revhub did: `followed` (a merge made inside a CRM, re-pointed in the crosswalk), `merged` (revhub
merged there itself), `pending` (two records of one entity in a system where merging is off: a
duplicate for a person, listed by `revhub duplicates`), `failed` (the merge call was refused).

`merged_ids` keeps each loser id with its survivor, so a loser is recognised whenever it shows up
again and followed once only. Both tables live on the store's `metadata` (created by `migrate()`
once this module is imported), like `sync_engine/alerts/log.py`. The crosswalk changes of one merge
happen in one transaction here, so a crash never leaves an entity half folded.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, delete, insert, select, update
from sqlalchemy.engine import Connection

from sync_engine.store import Store, crosswalk, entities, entity_aliases, metadata, now
from sync_engine.store_base import inserted_id

merge_log = Table(
    "merge_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("system", String(60), nullable=False, index=True),
    Column("object", String(80), nullable=False),
    Column("action", String(20), nullable=False, index=True),  # followed | merged | pending | failed | resolved
    Column("survivor_id", String(120), nullable=False),
    Column("loser_ids", JSON, nullable=False, default=list),
    Column("rule", String(120), nullable=False),
    Column("fields", JSON, nullable=False, default=list),  # names of the fields changed, never values
    Column("message", String(500), nullable=False, default=""),
)

merged_ids = Table(
    "merged_ids", metadata,
    Column("system", String(60), primary_key=True),
    Column("object", String(80), primary_key=True),
    Column("external_id", String(120), primary_key=True),  # the loser
    Column("survivor_id", String(120), nullable=False),
    Column("merged_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True, slots=True)
class Row:
    """What one record holds in the crosswalk: its system object, id and entity."""

    system: str
    object: str
    external_id: str
    entity_id: int


def audit(store: Store, system: str, object: str, action: str, survivor_id: str, loser_ids: Sequence[str],
          rule: str, fields: Iterable[str] = (), message: str = "") -> int:
    with store.begin() as c:
        res = c.execute(insert(merge_log).values(
            at=now(), system=system, object=object, action=action, survivor_id=survivor_id,
            loser_ids=list(loser_ids), rule=rule, fields=sorted(set(fields)), message=message[:500]))
        return inserted_id(res)


def entries(store: Store, *, system: str | None = None, object: str | None = None,
            actions: Sequence[str] | None = None) -> list[dict[str, Any]]:
    q = select(merge_log).order_by(merge_log.c.id)
    if system:
        q = q.where(merge_log.c.system == system)
    if object:
        q = q.where(merge_log.c.object == object)
    if actions:
        q = q.where(merge_log.c.action.in_(list(actions)))
    with store.begin() as c:
        return [dict(r._mapping) for r in c.execute(q)]


def resolve_pending(store: Store, system: str, object: str, ids: Iterable[str]) -> None:
    """Pending duplicates that name one of `ids` are settled (merged since, by revhub or a person)."""
    wanted = set(ids)
    with store.begin() as c:
        rows = c.execute(select(merge_log.c.id, merge_log.c.survivor_id, merge_log.c.loser_ids).where(
            merge_log.c.system == system, merge_log.c.object == object, merge_log.c.action.in_(["pending", "failed"])))
        done = [r.id for r in rows if wanted & {r.survivor_id, *r.loser_ids}]
        if done:
            c.execute(update(merge_log).where(merge_log.c.id.in_(done)).values(action="resolved"))


def followed(store: Store, system: str, object: str, ids: Iterable[str]) -> dict[str, str]:
    """Loser id -> survivor id, for the `ids` already known as merged away."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    with store.begin() as c:
        rows = c.execute(select(merged_ids.c.external_id, merged_ids.c.survivor_id).where(
            merged_ids.c.system == system, merged_ids.c.object == object, merged_ids.c.external_id.in_(wanted)))
        return {r.external_id: r.survivor_id for r in rows}


def entity_rows(store: Store, entity_id: int) -> list[Row]:
    with store.begin() as c:
        rows = c.execute(select(crosswalk.c.system, crosswalk.c.object, crosswalk.c.external_id,
                                crosswalk.c.entity_id).where(crosswalk.c.entity_id == entity_id))
        return [Row(r.system, r.object, r.external_id, r.entity_id) for r in rows]


def merge_away(store: Store, system: str, object: str, survivor_id: str, loser_id: str,
               merged_at: datetime | None = None, *, fold: tuple[int, int] | None = None,
               renamed_from: str | None = None) -> None:
    """Record `loser_id` as merged into `survivor_id`, in one transaction:

    - the loser's crosswalk row goes (a merged-away record has nothing left to sync), and its id is
      kept in `merged_ids` so it is recognised and never followed twice;
    - `renamed_from`: the survivor came back with a new id (HubSpot): its row is re-keyed;
    - `fold=(from_entity, into_entity)`: every record of the loser's entity now belongs to the
      survivor's, in every system, and so does its key (`entity_aliases`): the loser's email or
      domain seen again later is the survivor, not a new person or company.
    """
    with store.begin() as c:
        if renamed_from and renamed_from != survivor_id:
            _rekey(c, system, object, renamed_from, survivor_id)
        if fold and fold[0] != fold[1]:
            c.execute(update(crosswalk).where(crosswalk.c.entity_id == fold[0]).values(
                entity_id=fold[1], updated_at=now()))
            _alias(c, *fold)
        c.execute(delete(crosswalk).where(crosswalk.c.system == system, crosswalk.c.object == object,
                                          crosswalk.c.external_id == loser_id))
        exists = c.execute(select(merged_ids.c.external_id).where(
            merged_ids.c.system == system, merged_ids.c.object == object,
            merged_ids.c.external_id == loser_id)).first()
        values = {"survivor_id": survivor_id, "merged_at": merged_at or now()}
        if exists:
            c.execute(update(merged_ids).where(merged_ids.c.system == system, merged_ids.c.object == object,
                                               merged_ids.c.external_id == loser_id).values(**values))
        else:
            c.execute(insert(merged_ids).values(system=system, object=object, external_id=loser_id, **values))


def _alias(c: Connection, loser: int, survivor: int) -> None:
    """The loser entity's key (and keys merged into it before) now name the survivor; its row goes."""
    c.execute(update(entity_aliases).where(entity_aliases.c.entity_id == loser).values(entity_id=survivor))
    row = c.execute(select(entities.c.kind, entities.c.key).where(entities.c.id == loser)).first()
    if row is None:
        return
    c.execute(delete(entities).where(entities.c.id == loser))
    c.execute(delete(entity_aliases).where(entity_aliases.c.kind == row.kind, entity_aliases.c.key == row.key))
    c.execute(insert(entity_aliases).values(kind=row.kind, key=row.key, entity_id=survivor, created_at=now()))


def link(store: Store, system: str, object: str, external_id: str, entity_id: int,
         shadow: dict[str, Any] | None = None) -> None:
    """Point one record at an entity (the survivor of a merge that revhub had not linked yet)."""
    with store.begin() as c:
        res = c.execute(update(crosswalk).where(
            crosswalk.c.system == system, crosswalk.c.object == object, crosswalk.c.external_id == external_id,
        ).values(entity_id=entity_id, updated_at=now()))
        if res.rowcount == 0:
            c.execute(insert(crosswalk).values(system=system, object=object, external_id=external_id,
                                               entity_id=entity_id, shadow=shadow or {}, updated_at=now()))


def _rekey(c: Connection, system: str, object: str, old: str, new: str) -> None:
    where = (crosswalk.c.system == system, crosswalk.c.object == object)
    if c.execute(select(crosswalk.c.external_id).where(*where, crosswalk.c.external_id == new)).first():
        c.execute(delete(crosswalk).where(*where, crosswalk.c.external_id == old))
    else:
        c.execute(update(crosswalk).where(*where, crosswalk.c.external_id == old).values(external_id=new))
